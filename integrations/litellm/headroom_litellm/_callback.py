"""``HeadroomCallback``: a LiteLLM ``CustomLogger`` that compresses tool results and answers retrievals.

Where it acts (checked against litellm 1.110):

- ``async_pre_call_deployment_hook``: runs for ``acompletion`` (streamed or not), ``Router.acompletion``
  and ``anthropic_messages`` right before the request goes to the deployment. Compresses the
  conversation (CPU work off the event loop), adds ``headroom_retrieve`` when something was dropped,
  and, for a streamed chat call that carries the tool, asks LiteLLM to run it unstreamed and replay the
  answer as a stream (``as_converted_stream``) so the retrieval loop can run first.
- ``async_should_run_agentic_loop`` / ``async_build_agentic_loop_plan``: when the model calls
  ``headroom_retrieve``, LiteLLM re-runs the request with the answers appended; the caller only sees
  the final answer. Mixed with the caller's own tool calls, ours are answered and held back, the
  caller's are returned (see ``_loop.PendingAnswers``).
- ``async_pre_call_hook``: the proxy's once-per-request hook (it must be defined in this class body:
  the proxy skips an inherited one). Compresses with the tenant the proxy authenticated and records
  the savings in the request metadata (spend logs); ``async_post_call_response_headers_hook`` returns
  them to the client as ``x-headroom-tokens-*`` headers.
- ``log_pre_api_call``: sync ``completion`` has no hook that can rewrite the request; when one goes
  out with large uncompressed tool results, one warning says so and points to the drop-in.

Fail-open everywhere: an internal error logs a warning and the request goes out as the caller made it.
The one deliberate error is a configuration conflict with LiteLLM's own Headroom guardrail.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.types.integrations.custom_logger import (
    HEADROOM_INTERCEPTION_PREFIX,
    AgenticLoopPlan,
    AgenticLoopRequestPatch,
    as_converted_stream,
)
from litellm.types.utils import CallTypes

from headroom_middleware import (
    RETRIEVE_TOOL_NAME,
    Config,
    Pipeline,
    Report,
    Store,
    carries_marker,
)
from headroom_middleware.ccr import configured_store

from ._loop import (
    PendingAnswers,
    RetrievalCall,
    answer_calls,
    anthropic_followup,
    is_anthropic_response,
    is_responses_response,
    openai_followup,
    split_calls,
    strip_calls,
)
from ._responses import chat_view, merge_outputs, responses_followup, responses_retrieval_tool
from ._tenant import TenantScopedStore, tenant_of_auth, tenant_of_request, tenant_scope

__all__ = ["HeadroomCallback", "HeadroomConflictError"]

log = logging.getLogger("headroom_litellm")

# Chat calls: their streamed form can be converted so the retrieval loop runs before the replay.
_CHAT_CALLS = frozenset({CallTypes.acompletion, CallTypes.completion})
_MESSAGES_CALLS = frozenset({CallTypes.anthropic_messages})
_RESPONSES_CALLS = frozenset({CallTypes.aresponses, CallTypes.responses})
_PROXY_CALL_TYPES = frozenset({"completion", "acompletion", "anthropic_messages"})
_GUARDRAIL_MODULE = "litellm.proxy.guardrails.guardrail_hooks.headroom"


class HeadroomConflictError(RuntimeError):
    """LiteLLM's own Headroom guardrail is active next to this callback.

    Both answer the same ``headroom_retrieve`` tool (with different arguments) and share LiteLLM's
    ``_headroom_interception`` stream-conversion prefix, so a retrieval could be answered by the wrong
    one. Enable one of them.
    """


@dataclass
class Counters:
    """What the callback did since it was created (read with ``HeadroomCallback.stats()``)."""

    scans: int = 0
    """Conversations scanned (on the proxy: by the pre-call hook, then again, for free, per deployment)."""
    requests_compressed: int = 0
    results_compressed: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    tokens_saved: int = 0
    retrievals_answered: int = 0
    retrievals_held_for_caller_turn: int = 0
    streams_converted: int = 0
    errors: int = 0
    sync_calls_uncompressed: int = 0


class HeadroomCallback(CustomLogger):
    """Compress large tool results before LiteLLM sends them; answer the model's retrieval calls.

    ``store``: where originals go. ``None``: the store the ``HEADROOM_STORE`` environment variable names
    (``hm.open_store``: ``sqlite:///path.db`` or ``redis://host:6379/0`` for a proxy with several
    workers), a ``MemoryStore`` when it is unset.
    ``config``: the pipeline's ``Config``. ``tenant_isolation``: file originals per tenant (LiteLLM's
    user/team/key) so one tenant can never retrieve another's. ``max_rounds``: retrieval rounds per
    request before the turn is handed back. ``pipeline``: bring your own (its store is used as is).
    """

    # LiteLLM holds these tool calls back in streamed /v1/messages until the loop has run.
    server_fulfilled_tool_names: ClassVar[frozenset[str]] = frozenset({RETRIEVE_TOOL_NAME})

    def __init__(
        self,
        store: Store | None = None,
        config: Config | None = None,
        *,
        tenant_isolation: bool = True,
        max_rounds: int = 3,
        pipeline: Pipeline | None = None,
    ) -> None:
        super().__init__()
        if pipeline is None:
            # No store given: the one HEADROOM_STORE names (a proxy's workers share SQLite or Redis).
            base: Store = store if store is not None else configured_store()
            pipeline = Pipeline(store=TenantScopedStore(base) if tenant_isolation else base, config=config)
        self.pipeline = pipeline
        self.max_rounds = max(int(max_rounds), 1)
        self.pending = PendingAnswers()
        self.counters = Counters()
        self._lock = threading.Lock()
        self._warned_sync = False

    # -- public helpers -------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters."""
        with self._lock:
            return asdict(self.counters)

    async def compress(
        self, messages: Sequence[Any], tools: Sequence[Any] | None, tenant: str | None
    ) -> tuple[list[Any], Report]:
        """Compress ``messages`` for ``tenant`` (splicing held-back retrieval answers back in first)."""
        with tenant_scope(tenant):
            spliced = self.pending.splice(messages, tenant)
            new_messages, report = await self.pipeline.acompress(
                spliced if spliced is not None else messages, tools
            )
        self._count(report)
        return new_messages, report

    def compress_sync(
        self, messages: Sequence[Any], tools: Sequence[Any] | None, tenant: str | None
    ) -> tuple[list[Any], Report]:
        """``compress`` for sync callers (the drop-in ``completion``)."""
        with tenant_scope(tenant):
            spliced = self.pending.splice(messages, tenant)
            new_messages, report = self.pipeline.compress(spliced if spliced is not None else messages, tools)
        self._count(report)
        return new_messages, report

    def answer(self, calls: Sequence[RetrievalCall], tenant: str | None) -> list[str]:
        """Answer retrieval calls from ``tenant``'s originals (blocking; see ``aanswer``)."""
        with tenant_scope(tenant):
            answers = answer_calls(self.pipeline, calls)
        with self._lock:
            self.counters.retrievals_answered += len(calls)
        for call, text in zip(calls, answers, strict=True):
            # Sizes and arguments only, never the content.
            log.info(
                "headroom: answered %s(%s) with %d characters", call.name, _short(call.arguments), len(text)
            )
        return answers

    async def aanswer(self, calls: Sequence[RetrievalCall], tenant: str | None) -> list[str]:
        """``answer`` off the event loop (a store may be a network call; a query filters a big original)."""
        return await asyncio.to_thread(self.answer, calls, tenant)

    def hold_for_caller_turn(
        self,
        tenant: str | None,
        others: Sequence[RetrievalCall],
        ours: Sequence[RetrievalCall],
        answers: Sequence[str],
    ) -> None:
        """Keep our answers until the caller sends back the turn whose ``others`` calls it ran."""
        self.pending.remember(tenant, others, ours, answers)
        with self._lock:
            self.counters.retrievals_held_for_caller_turn += len(ours)

    def check_conflicts(self) -> None:
        """Raise ``HeadroomConflictError`` when LiteLLM's Headroom guardrail is registered too."""
        for cb in litellm.callbacks:
            if type(cb).__module__.startswith(_GUARDRAIL_MODULE) or type(cb).__name__ == "HeadroomGuardrail":
                raise HeadroomConflictError(
                    "headroom_litellm.HeadroomCallback and LiteLLM's built-in Headroom guardrail are both "
                    "active. They answer the same 'headroom_retrieve' tool and use the same "
                    "'_headroom_interception' stream prefix; remove the guardrail (guardrails: "
                    "guardrail: headroom) or the callback."
                )

    # -- LiteLLM hooks: SDK, Router and proxy ---------------------------------------------------------

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, object], call_type: CallTypes | None
    ) -> dict[str, Any] | None:
        if (
            call_type not in _CHAT_CALLS
            and call_type not in _MESSAGES_CALLS
            and call_type not in _RESPONSES_CALLS
        ):
            return None
        self.check_conflicts()
        if _depth(kwargs) > 0:
            return None  # a retrieval follow-up: compressed already, tool list already ours
        try:
            return await self._rewrite(kwargs, call_type)
        except Exception as exc:
            self._failed("deployment hook", exc)
            return None

    async def async_pre_call_hook(
        self,
        user_api_key_dict: Any,
        cache: Any,
        data: dict[str, Any],
        call_type: Any,
    ) -> dict[str, Any] | None:
        kind = str(getattr(call_type, "value", call_type))
        if kind not in _PROXY_CALL_TYPES:
            return None
        self.check_conflicts()
        try:
            messages = data.get("messages")
            if not isinstance(messages, list):
                return None
            tenant = tenant_of_auth(user_api_key_dict, data)
            new_messages, report = await self.compress(messages, _tools(data), tenant)
            if not report.changed and new_messages is messages:
                return None
            out = {**data, "messages": new_messages}
            if report.tools is not None:
                out["tools"] = report.tools
            # The proxy owns this metadata dict and keeps references to it: update it in place.
            field = "litellm_metadata" if kind == "anthropic_messages" else "metadata"
            _record_savings(out, report, field, in_place=True)
            return out
        except Exception as exc:
            self._failed("proxy pre-call hook", exc)
            return None

    async def async_post_call_response_headers_hook(  # proxy: read from this class body
        self,
        data: dict[str, Any],
        user_api_key_dict: Any,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, object] | None = None,
    ) -> dict[str, str] | None:
        """Proxy responses carry the request's savings: ``x-headroom-tokens-before/after/saved``."""
        for field in ("metadata", "litellm_metadata"):
            meta = data.get(field)
            savings = meta.get("headroom") if isinstance(meta, Mapping) else None
            if isinstance(savings, Mapping):
                return {
                    f"x-headroom-tokens-{name}": str(savings.get(f"tokens_{name}", 0))
                    for name in ("before", "after", "saved")
                }
        return None

    async def async_should_run_agentic_loop(
        self,
        response: object,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stream: bool,
        custom_llm_provider: str,
        kwargs: dict[str, Any],
    ) -> tuple[bool, dict[str, Any]]:
        try:
            if not _has_retrieval_tool(tools):
                return False, {}
            ours, others = split_calls(response)
            if not ours:
                return False, {}
            claimed = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in ours]
            if others or _depth(kwargs) >= self.max_rounds:
                if is_anthropic_response(response):
                    # /v1/messages holds our tool_use blocks back and must get a replacement turn
                    # (else it ends the stream with an error): the plan returns it as an override.
                    return True, {"tool_calls": claimed, "hand_back": True}
                await self._hand_back(response, ours, others, tenant_of_request(kwargs))
                return False, {}
            return True, {"tool_calls": claimed}
        except Exception as exc:
            self._failed("agentic-loop gate", exc)
            return False, {}

    async def async_build_agentic_loop_plan(
        self,
        tools: dict[str, Any],
        model: str,
        messages: list[dict[str, Any]],
        response: object,
        anthropic_messages_provider_config: Any,
        anthropic_messages_optional_request_params: dict[str, Any],
        logging_obj: Any,
        stream: bool,
        kwargs: dict[str, Any],
    ) -> AgenticLoopPlan:
        try:
            ours, others = split_calls(response)
            if tools.get("hand_back"):
                await self._hand_back(response, ours, others, tenant_of_request(kwargs))
                return AgenticLoopPlan(response_override=response, metadata={"tool_type": RETRIEVE_TOOL_NAME})
            answers = await self.aanswer(ours, tenant_of_request(kwargs))
            if is_responses_response(response):
                followup = responses_followup(messages, ours, answers)
            elif is_anthropic_response(response):
                followup = anthropic_followup(messages, response, ours, answers)
            else:
                followup = openai_followup(messages, response, ours, answers)
            return AgenticLoopPlan(
                run_agentic_loop=True,
                request_patch=AgenticLoopRequestPatch(messages=followup),
                metadata={"tool_type": RETRIEVE_TOOL_NAME},
            )
        except Exception as exc:
            self._failed("agentic-loop plan", exc)
            return AgenticLoopPlan(run_agentic_loop=False)

    def log_pre_api_call(self, model: str, messages: Any, kwargs: dict[str, Any]) -> None:
        """Sync calls cannot be rewritten by a callback: say so once when one carries a large result."""
        try:
            if kwargs.get("call_type") != CallTypes.completion.value or not isinstance(messages, list):
                return  # only sync chat completions go out without our deployment hook
            if not self._has_uncompressed_result(messages):
                return
            with self._lock:
                self.counters.sync_calls_uncompressed += 1
                first = not self._warned_sync
                self._warned_sync = True
            if first:
                log.warning(
                    "headroom: a sync litellm.completion / Router.completion call went out with large tool "
                    "results UNCOMPRESSED: LiteLLM has no hook that can rewrite a sync request. Use "
                    "headroom_litellm.completion (drop-in) or acompletion. (Logged once; counted in "
                    "HeadroomCallback.stats()['sync_calls_uncompressed'].)"
                )
        except Exception as exc:
            self._failed("sync-call check", exc)

    # -- internals ------------------------------------------------------------------------------------

    async def _rewrite(self, kwargs: dict[str, object], call_type: CallTypes | None) -> dict[str, Any] | None:
        if call_type in _RESPONSES_CALLS:
            out = await self._rewrite_responses(kwargs)
        else:
            out = await self._rewrite_messages(kwargs, call_type)
        request = out if out is not None else kwargs
        convertible = call_type in _CHAT_CALLS or call_type in _RESPONSES_CALLS
        streamed = convertible and request.get("stream") and not request.get("background")
        if streamed and _has_retrieval_tool(request.get("tools")):
            with self._lock:
                self.counters.streams_converted += 1
            return as_converted_stream(request, HEADROOM_INTERCEPTION_PREFIX)
        return out

    async def _rewrite_messages(
        self, kwargs: dict[str, object], call_type: CallTypes | None
    ) -> dict[str, Any] | None:
        messages = kwargs.get("messages")
        if not isinstance(messages, list):
            return None
        new_messages, report = await self.compress(messages, _tools(kwargs), tenant_of_request(kwargs))
        if not report.changed and new_messages is messages:
            return None
        out = {**kwargs, "messages": new_messages}
        if report.tools is not None:
            out["tools"] = report.tools
        field = "litellm_metadata" if call_type in _MESSAGES_CALLS else "metadata"
        _record_savings(out, report, field)  # a new dict: the caller's metadata stays as it was
        if call_type in _MESSAGES_CALLS and out.get("max_agentic_loops") is None:
            # /v1/messages can only hand a turn back through a plan, which LiteLLM's own loop cap
            # (3 by default) would refuse at our last round: keep its cap one above ours.
            out["max_agentic_loops"] = self.max_rounds + 1
        _record_savings_on_logging(kwargs, report, field)
        return out

    async def _rewrite_responses(self, kwargs: dict[str, object]) -> dict[str, Any] | None:
        items = kwargs.get("input")
        if not isinstance(items, list):
            return None
        chat, outputs = chat_view(items)
        if not outputs:
            return None
        new_chat, report = await self.compress(chat, None, tenant_of_request(kwargs))
        new_items = merge_outputs(items, chat, new_chat, outputs)
        if new_items is None and report.tools is None:
            return None
        out = {**kwargs, "input": new_items if new_items is not None else items}
        tools = _tools(kwargs) or []
        if report.tools is not None and not _has_retrieval_tool(tools):
            out["tools"] = [*tools, responses_retrieval_tool()]
        _record_savings(out, report, "litellm_metadata")
        _record_savings_on_logging(kwargs, report, "litellm_metadata")
        return out

    async def _hand_back(
        self, response: object, ours: list[RetrievalCall], others: list[RetrievalCall], tenant: str | None
    ) -> None:
        """Return the caller's calls without ours; keep our answers for the caller's next turn."""
        if others:
            self.hold_for_caller_turn(tenant, others, ours, await self.aanswer(ours, tenant))
        else:
            log.warning("headroom: retrieval round limit (%d) reached; returning the turn", self.max_rounds)
        strip_calls(response, frozenset(c.id for c in ours))

    def _count(self, report: Report) -> None:
        with self._lock:
            c = self.counters
            c.scans += 1
            c.errors += report.errors
            if report.messages:
                c.requests_compressed += 1
                c.results_compressed += len(report.messages)
                c.tokens_before += report.tokens_before
                c.tokens_after += report.tokens_after
                c.tokens_saved += report.tokens_saved

    def _failed(self, where: str, exc: Exception) -> None:
        if isinstance(exc, HeadroomConflictError):
            raise exc
        with self._lock:
            self.counters.errors += 1
        log.warning(
            "headroom: %s failed (%s: %s); the request goes out unchanged", where, type(exc).__name__, exc
        )

    def _has_uncompressed_result(self, messages: list[Any]) -> bool:
        limit = self.pipeline.config.min_tokens * 4  # characters: generous, a hint rather than a count
        for m in messages:
            if not isinstance(m, Mapping):
                continue
            for text in _tool_result_texts(m):
                if len(text) > limit and not carries_marker(text):
                    return True
        return False


def _short(arguments: str | Mapping[str, Any]) -> str:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _depth(kwargs: Mapping[str, Any]) -> int:
    try:
        return int(kwargs.get("_agentic_loop_depth") or 0)
    except (TypeError, ValueError):
        return 0


def _tools(kwargs: Mapping[str, Any]) -> list[Any] | None:
    tools = kwargs.get("tools")
    return tools if isinstance(tools, list) else None


def _tool_name(tool: Any) -> str | None:
    if not isinstance(tool, Mapping):
        return None
    fn = tool.get("function")
    name = fn.get("name") if isinstance(fn, Mapping) else tool.get("name")
    return name if isinstance(name, str) else None


def _has_retrieval_tool(tools: Any) -> bool:
    return isinstance(tools, list) and any(_tool_name(t) == RETRIEVE_TOOL_NAME for t in tools)


def _tool_result_texts(message: Mapping[str, Any]) -> list[str]:
    content = message.get("content")
    if message.get("role") in ("tool", "function"):
        if isinstance(content, str):
            return [content]
        return (
            [p.get("text", "") for p in content or () if isinstance(p, Mapping)]
            if isinstance(content, list)
            else []
        )
    if message.get("role") == "user" and isinstance(content, list):
        texts: list[str] = []
        for block in content:
            if isinstance(block, Mapping) and block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    texts.append(inner)
                elif isinstance(inner, list):
                    texts += [p.get("text", "") for p in inner if isinstance(p, Mapping)]
        return texts
    return []


def _savings(report: Report) -> dict[str, Any]:
    return {
        "tokens_before": report.tokens_before,
        "tokens_after": report.tokens_after,
        "tokens_saved": report.tokens_saved,
        "results_compressed": len(report.messages),
        "keys": list(report.keys),
    }


def _record_savings(data: dict[str, Any], report: Report, field: str, *, in_place: bool = False) -> None:
    """Put the savings into the request's LiteLLM metadata (proxy: the dict spend logs are built from).

    ``compression_savings`` is the key LiteLLM's spend accounting reads; ``headroom`` has the detail.
    A new dict unless ``in_place`` (the SDK caller's metadata is never written to).
    """
    if not report.messages:
        return
    current = data.get(field)
    if in_place and isinstance(current, dict):
        meta = current
    else:
        meta = dict(current) if isinstance(current, Mapping) else {}
    savings = _savings(report)
    meta["headroom"] = savings
    meta["compression_savings"] = {
        "tokens_before": savings["tokens_before"],
        "tokens_after": savings["tokens_after"],
        "tokens_saved": savings["tokens_saved"],
        "source": "headroom_middleware",
    }
    data[field] = meta


def _record_savings_on_logging(kwargs: Mapping[str, Any], report: Report, field: str) -> None:
    """Savings on the call's logging object, where success callbacks and spend logs read metadata.

    A new dict replaces the old one: the SDK's ``metadata`` is the caller's own object.
    """
    logging_obj = kwargs.get("litellm_logging_obj")
    details = getattr(logging_obj, "model_call_details", None)
    if not report.messages or not isinstance(details, dict):
        return
    params = details.get("litellm_params")
    if isinstance(params, dict):
        _record_savings(params, report, field)
