"""``HeadroomMiddleware``: compress every large tool result of a ``create_agent`` agent at the source.

It works in ``wrap_tool_call``/``awrap_tool_call``, so the compressed form is what the agent's history
(its state, checkpoints, later turns) holds, not only what one model call sees; compressing in
``wrap_model_call`` would leave the history full size. ``self.tools`` registers ``headroom_retrieve``,
which adds it both to the model's bound tools and to the agent's tool node.

Per agent run the state gets ``headroom`` (totals of what this run compressed); ``counter`` totals
every run; each compressed ``ToolMessage`` carries its own figures in
``response_metadata["headroom"]``, and with LangSmith tracing on the same figures are added as
metadata of the ``HeadroomMiddleware.wrap_tool_call`` span.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, cast

from langchain.agents.middleware.types import (
    AgentMiddleware,
    AgentState,
    ModelRequest,
    ModelResponse,
    OmitFromInput,
    PrivateStateAttr,
    ToolCallRequest,
)
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command
from typing_extensions import NotRequired

import headroom_middleware as hm
from headroom_middleware.ccr import configured_store

from ._compress import Outcome, Settings, acompress_output, compress_output, latest_user_text
from ._retrieve_tool import HeadroomRetrieveTool
from ._savings import METADATA_KEY, ResultSavings, Savings, SavingsCounter, total
from ._store import LangGraphStore, as_core_store

log = logging.getLogger("headroom_langchain")

ToolResult = ToolMessage | Command[Any]


class HeadroomState(AgentState[Any]):
    """Agent state with this run's savings (``result["headroom"]``)."""

    headroom: NotRequired[Annotated[Savings, OmitFromInput]]
    headroom_anchor: NotRequired[Annotated[str | None, PrivateStateAttr]]
    """Id of the last message before this run: tool results after it belong to the run."""


class HeadroomMiddleware(AgentMiddleware[HeadroomState, Any, Any]):
    """Compress large tool results in the agent's history; add ``headroom_retrieve`` to its tools.

    ``store``: where originals are kept. ``None``: the store the ``HEADROOM_STORE`` environment variable
    names, else a private ``hm.MemoryStore``. A URL (``hm.open_store``: ``sqlite:///path.db``,
    ``redis://host:6379/0``): that store. A core ``Store``
    (``hm.MemoryStore``, SQLite, Redis…) or a LangGraph ``BaseStore``: that store. ``"langgraph"``:
    the store given to ``create_agent(store=...)``, read from the runtime on every call (originals
    then live wherever the graph's store does, e.g. Postgres shared by every worker).

    ``min_tokens``: results below it pass untouched. ``max_tokens``: the budget per result.
    ``exclude_tools``: names whose results are never compressed. ``strict``: raise on internal errors
    instead of passing the original through with a warning.
    """

    state_schema = HeadroomState

    def __init__(
        self,
        store: Any = None,
        *,
        min_tokens: int = 500,
        max_tokens: int | None = None,
        exclude_tools: Sequence[str] = (),
        strict: bool = False,
    ) -> None:
        super().__init__()
        self._use_graph_store = isinstance(store, str) and store == "langgraph"
        self.store: hm.Store | None
        if self._use_graph_store:
            self.store = None
        elif store is None or isinstance(store, str):  # a URL, or the one HEADROOM_STORE names
            try:
                self.store = configured_store() if store is None else hm.open_store(store)
            except ValueError as exc:
                raise ValueError(
                    f"HeadroomMiddleware: store must be a Store, a BaseStore, 'langgraph' or a URL ({exc})"
                ) from None
        else:
            self.store = as_core_store(store)
        self.settings = Settings(min_tokens=min_tokens, max_tokens=max_tokens, strict=strict)
        self.exclude_tools = frozenset(exclude_tools)
        self.counter = SavingsCounter()
        self._retrieve = HeadroomRetrieveTool(store=self.store)
        self.tools = [self._retrieve]
        self._warned_no_graph_store = False

    # -- tool calls: compress the result (the history keeps the compressed form) -------------------
    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        name = request.tool_call["name"]
        if name == hm.RETRIEVE_TOOL_NAME:
            return handler(self._retrieve_request(request))
        result = handler(request)  # the tool's own exceptions propagate as without us
        if name in self.exclude_tools:
            return result
        try:
            store, query = self._store_for(request), self._query_for(request)
        except Exception as exc:
            return self._fail_open(result, exc)
        return self._finish(compress_output(result, store, query, self.settings, tool_name=name))

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]
    ) -> ToolResult:
        name = request.tool_call["name"]
        if name == hm.RETRIEVE_TOOL_NAME:
            return await handler(self._retrieve_request(request))
        result = await handler(request)
        if name in self.exclude_tools:
            return result
        try:
            store, query = self._store_for(request), self._query_for(request)
        except Exception as exc:
            return self._fail_open(result, exc)
        # The crush (and the store writes) run in a worker thread: the event loop never waits on them.
        return self._finish(await acompress_output(result, store, query, self.settings, tool_name=name))

    # -- model calls: refuse a user tool that would silently replace headroom_retrieve --------------
    def wrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> ModelResponse[Any] | AIMessage:
        self._check_tools(request.tools)
        return handler(request)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | AIMessage:
        self._check_tools(request.tools)
        return await handler(request)

    # -- per-run savings -----------------------------------------------------------------------------
    def before_agent(self, state: HeadroomState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        messages = state.get("messages") or []
        return {"headroom_anchor": messages[-1].id if messages else None}

    async def abefore_agent(self, state: HeadroomState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self.before_agent(state, runtime)

    def after_agent(self, state: HeadroomState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        run = total(_run_savings(state.get("messages") or [], state.get("headroom_anchor")))
        if run["results"]:
            log.info(
                "headroom: %d tool results compressed this run, %d -> %d tokens (%d saved), %d keys",
                run["results"],
                run["tokens_before"],
                run["tokens_after"],
                run["tokens_saved"],
                len(run["keys"]),
            )
        return {"headroom": run}

    async def aafter_agent(self, state: HeadroomState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self.after_agent(state, runtime)

    # -- helpers ---------------------------------------------------------------------------------------
    def _retrieve_request(self, request: ToolCallRequest) -> ToolCallRequest:
        tool = request.tool
        if tool is not None and tool is not self._retrieve:
            raise ValueError(_CONFLICT)
        if self._use_graph_store:
            base = getattr(request.runtime, "store", None)
            return request.override(tool=HeadroomRetrieveTool(store=LangGraphStore(base) if base else None))
        return request

    def _store_for(self, request: ToolCallRequest) -> hm.Store | None:
        if not self._use_graph_store:
            return self.store
        base = getattr(request.runtime, "store", None)
        if base is None:
            if not self._warned_no_graph_store:
                self._warned_no_graph_store = True
                log.warning(
                    "headroom: store='langgraph' but the agent has no store (pass create_agent(store=...)); "
                    "only lossless compression is possible"
                )
            return None
        return LangGraphStore(base)

    @staticmethod
    def _query_for(request: ToolCallRequest) -> str | None:
        state = request.state
        messages = state.get("messages") if isinstance(state, dict) else getattr(state, "messages", None)
        return latest_user_text(messages)

    def _check_tools(self, tools: Sequence[Any]) -> None:
        for t in tools:
            if getattr(t, "name", None) == hm.RETRIEVE_TOOL_NAME and t is not self._retrieve:
                raise ValueError(_CONFLICT)

    def _finish(self, outcome: Outcome) -> ToolResult:
        if outcome.changed:
            for meta in outcome.changed:
                self.counter.add(meta)
            _annotate_trace(outcome.changed)
        return cast(ToolResult, outcome.value)

    def _fail_open(self, result: ToolResult, exc: Exception) -> ToolResult:
        if self.settings.strict:
            raise exc
        log.warning("headroom: tool result left as is (%s)", type(exc).__name__)
        return result


_CONFLICT = (
    f"HeadroomMiddleware: the agent has a tool named {hm.RETRIEVE_TOOL_NAME!r} that is not headroom's. "
    "That name is reserved for the retrieval tool the middleware adds, and create_agent would let yours "
    "silently replace it (the model could no longer fetch compressed-away content). Rename your tool."
)


def _run_savings(messages: Sequence[Any], anchor: str | None) -> list[ResultSavings]:
    """Figures of the compressed tool results added after ``anchor`` (this run's)."""
    start = 0
    if anchor is not None:
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].id == anchor:
                start = i + 1
                break
        else:  # the anchor was summarised away: count from the last human message
            start = next((i + 1 for i in range(len(messages) - 1, -1, -1) if messages[i].type == "human"), 0)
    out: list[ResultSavings] = []
    for m in messages[start:]:
        meta = m.response_metadata.get(METADATA_KEY) if isinstance(m, ToolMessage) else None
        if isinstance(meta, dict):
            out.append(meta)  # type: ignore[arg-type]
    return out


def _annotate_trace(changed: Sequence[ResultSavings]) -> None:
    """Add the figures to the current LangSmith span (``HeadroomMiddleware.wrap_tool_call``) if tracing."""
    try:
        from langsmith.run_helpers import get_current_run_tree

        run = get_current_run_tree()
        if run is not None:
            run.add_metadata({"headroom": dict(total(changed))})
    except Exception as exc:  # tracing must never affect the agent
        log.debug("headroom: could not annotate the trace (%s)", exc)
