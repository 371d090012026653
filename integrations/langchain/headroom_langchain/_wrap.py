"""``compress_tool``: one tool whose large results come back compressed, for ToolNode or any tool loop.

The wrapper is a ``BaseTool`` that copies the inner tool's public fields (name, description,
args_schema, return_direct, response_format, tags, metadata, error handling, extras) and delegates
``invoke``/``ainvoke`` to it unchanged, then compresses what comes back. Delegating the whole call
keeps everything the inner tool does: artifacts (``content_and_artifact``), injected arguments
(``InjectedToolCallId``, ``InjectedState``, ``ToolRuntime``: ToolNode finds them through the delegated
input schema), ``Command`` results and callbacks. Rebuilding the tool with
``StructuredTool.from_function`` loses artifacts and breaks injected args; ``tool | RunnableLambda``
and ``with_config`` stop being tools at all.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, Tool
from langchain_core.tools.base import ArgsSchema
from pydantic import Field

import headroom_middleware as hm

from ._compress import Outcome, Settings, acompress_output, compress_output
from ._default_store import default_store
from ._retrieve_tool import HeadroomRetrieveTool
from ._savings import SavingsCounter
from ._store import as_core_store

# Public BaseTool fields copied from the inner tool so binding, ToolNode and agents see the same tool.
_COPIED_FIELDS = (
    "name",
    "description",
    "args_schema",
    "return_direct",
    "response_format",
    "tags",
    "metadata",
    "handle_tool_error",
    "handle_validation_error",
    "verbose",
    "extras",
)


class CompressedTool(BaseTool):
    """A tool that runs ``inner`` and compresses its large results (see ``compress_tool``)."""

    inner: BaseTool
    store: Any = None
    settings: Settings = Field(default_factory=Settings)
    query: str | None = None
    counter: SavingsCounter = Field(default_factory=SavingsCounter)

    # -- the call: delegate, then compress -------------------------------------------------------
    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        out = self.inner.invoke(input, config, **kwargs)
        return self._account(compress_output(out, self.store, self.query, self.settings, tool_name=self.name))

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        out = await self.inner.ainvoke(input, config, **kwargs)
        outcome = await acompress_output(out, self.store, self.query, self.settings, tool_name=self.name)
        return self._account(outcome)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> CompressedTool:
        # A copy shares the store (and counter): it must serve and write the same originals. Stores
        # hold locks, which cannot be deep-copied anyway.
        return self.model_copy()

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        # Only reached through the legacy ``run()`` path: hand the parsed arguments to the inner tool.
        kwargs.pop("run_manager", None)
        out = self.inner.invoke(kwargs if kwargs or not args else args[0])
        return self._account(compress_output(out, self.store, self.query, self.settings, tool_name=self.name))

    def _account(self, outcome: Outcome) -> Any:
        for meta in outcome.changed:
            self.counter.add(meta)
        return outcome.value

    # -- the schema: exactly the inner tool's ----------------------------------------------------
    @property
    def tool_call_schema(self) -> ArgsSchema:
        return self.inner.tool_call_schema

    @property
    def args(self) -> dict[str, Any]:
        return self.inner.args

    @property
    def is_single_input(self) -> bool:
        return self.inner.is_single_input

    def get_input_schema(self, config: RunnableConfig | None = None) -> Any:
        return self.inner.get_input_schema(config)

    def get_output_schema(self, config: RunnableConfig | None = None) -> Any:
        return self.inner.get_output_schema(config)


class CompressedSimpleTool(CompressedTool, Tool):
    """``CompressedTool`` for a single-string-input ``Tool`` without ``args_schema``.

    LangChain describes such a tool to the model with its legacy one-string schema only when it *is* a
    ``Tool``; being one keeps that schema. Calls still go through ``CompressedTool.invoke``.
    """


def compress_tool(
    tool: BaseTool,
    store: Any = None,
    *,
    query: str | None = None,
    min_tokens: int = 500,
    max_tokens: int | None = None,
    strict: bool = False,
    counter: SavingsCounter | None = None,
) -> BaseTool:
    """``tool`` with its large results compressed; the originals go to ``store`` under CCR keys.

    ``store``: a core ``Store`` or a LangGraph ``BaseStore`` (``None``: the process-wide default store,
    which ``retrieve_tool()`` also serves). ``query`` steers what is kept; ``min_tokens`` is the size
    below which results pass untouched; ``max_tokens`` the budget per result. Share one ``counter``
    between wrappers to total their savings. Fail-open: an internal error returns the tool's own
    result and logs a warning (``strict=True`` raises instead).

    The retrieval tool is returned unchanged (its results are never compressed), and so is a tool
    that is already wrapped. Any other tool named ``headroom_retrieve`` is refused.
    """
    if isinstance(tool, (HeadroomRetrieveTool, CompressedTool)):
        return tool
    if tool.name == hm.RETRIEVE_TOOL_NAME:
        raise ValueError(
            f"compress_tool: a tool named {hm.RETRIEVE_TOOL_NAME!r} is not headroom's retrieval tool. "
            "That name is reserved for headroom_langchain.retrieve_tool(); rename your tool."
        )
    fields = {f: getattr(tool, f) for f in _COPIED_FIELDS if f in BaseTool.model_fields}
    cls: type[CompressedTool] = CompressedTool
    if isinstance(tool, Tool) and not tool.args_schema:
        cls = CompressedSimpleTool
        fields.update(func=tool.func, coroutine=tool.coroutine)
    return cls(
        **fields,
        inner=tool,
        store=default_store() if store is None else as_core_store(store),
        settings=Settings(min_tokens=min_tokens, max_tokens=max_tokens, strict=strict),
        query=query,
        counter=counter if counter is not None else SavingsCounter(),
    )
