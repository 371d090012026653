"""Drop-in ``completion`` / ``acompletion``: compress, call LiteLLM, answer retrieval calls, return.

Sync ``litellm.completion`` (and ``Router.completion``) offers no hook that can rewrite a request, so
these functions do the callback's work around the call instead:

    from headroom_litellm import completion
    response = completion(model="gpt-4o-mini", messages=messages, tools=tools)

Same arguments and return value as LiteLLM's. When the model calls ``headroom_retrieve``, the answer
is appended and the model asked again (up to ``max_rounds``); the caller gets the final answer. With
``stream=True`` and the retrieval tool in play, each round is read to the end before anything is
returned (a round that calls ``headroom_retrieve`` is never shown), then the final round's chunks are
replayed; with nothing compressed the stream passes straight through.

Both use the shared ``headroom_litellm.callback`` (its store, counters and tenant isolation) unless a
``headroom=HeadroomCallback(...)`` is given, so retrievals work whichever path compressed the content.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import litellm

from ._callback import HeadroomCallback, _has_retrieval_tool
from ._loop import (
    RetrievalCall,
    anthropic_followup,
    is_anthropic_response,
    openai_followup,
    split_calls,
    strip_calls,
)
from ._tenant import tenant_of_request

__all__ = ["acompletion", "completion"]

_default: HeadroomCallback | None = None


def default_callback() -> HeadroomCallback:
    """The package's shared callback (``headroom_litellm.callback``)."""
    global _default
    if _default is None:
        _default = HeadroomCallback()
    return _default


def completion(
    model: str, messages: Sequence[Any], *, headroom: HeadroomCallback | None = None, **kwargs: Any
) -> Any:
    """``litellm.completion`` with tool results compressed and retrieval calls answered."""
    cb = headroom or default_callback()
    tenant = tenant_of_request(kwargs)
    msgs, tools = _prepare_sync(cb, messages, kwargs, tenant)
    if not _has_retrieval_tool(tools):
        return litellm.completion(model=model, messages=msgs, **_with_tools(kwargs, tools))
    stream = bool(kwargs.get("stream"))
    for round_no in range(cb.max_rounds + 1):
        if stream:
            chunks = list(litellm.completion(model=model, messages=msgs, **_with_tools(kwargs, tools)))
            response = litellm.stream_chunk_builder(chunks, messages=msgs)
        else:
            response = litellm.completion(model=model, messages=msgs, **_with_tools(kwargs, tools))
        ours, others = split_calls(response)
        if not ours:
            return iter(chunks) if stream else response
        if others or round_no == cb.max_rounds:
            return _hand_back_sync(cb, response, ours, others, tenant, stream)
        msgs = _followup(msgs, response, ours, cb.answer(ours, tenant))
    raise AssertionError("unreachable")  # pragma: no cover


async def acompletion(
    model: str, messages: Sequence[Any], *, headroom: HeadroomCallback | None = None, **kwargs: Any
) -> Any:
    """``litellm.acompletion`` with tool results compressed (off the event loop) and retrievals answered.

    With ``HeadroomCallback`` registered in ``litellm.callbacks`` this adds nothing (the callback does
    it all inside LiteLLM); without it, this is the way to get compression for one call site.
    """
    cb = headroom or default_callback()
    tenant = tenant_of_request(kwargs)
    msgs, report = await cb.compress(messages, kwargs.get("tools"), tenant)
    tools = report.tools if report.tools is not None else kwargs.get("tools")
    if not _has_retrieval_tool(tools):
        return await litellm.acompletion(model=model, messages=msgs, **_with_tools(kwargs, tools))
    stream = bool(kwargs.get("stream"))
    for round_no in range(cb.max_rounds + 1):
        if stream:
            wrapper = await litellm.acompletion(model=model, messages=msgs, **_with_tools(kwargs, tools))
            chunks = [chunk async for chunk in wrapper]
            response = litellm.stream_chunk_builder(chunks, messages=msgs)
        else:
            response = await litellm.acompletion(model=model, messages=msgs, **_with_tools(kwargs, tools))
        ours, others = split_calls(response)
        if not ours:
            return _replay(chunks) if stream else response
        if others or round_no == cb.max_rounds:
            if others:
                cb.hold_for_caller_turn(tenant, others, ours, await cb.aanswer(ours, tenant))
            strip_calls(response, frozenset(c.id for c in ours))
            return _replay(_rechunk(response)) if stream else response
        msgs = _followup(msgs, response, ours, await cb.aanswer(ours, tenant))
    raise AssertionError("unreachable")  # pragma: no cover


def _prepare_sync(
    cb: HeadroomCallback, messages: Sequence[Any], kwargs: dict[str, Any], tenant: str | None
) -> tuple[list[Any], Any]:
    msgs, report = cb.compress_sync(messages, kwargs.get("tools"), tenant)
    return msgs, report.tools if report.tools is not None else kwargs.get("tools")


def _with_tools(kwargs: dict[str, Any], tools: Any) -> dict[str, Any]:
    return kwargs if tools is None or kwargs.get("tools") is tools else {**kwargs, "tools": tools}


def _followup(msgs: list[Any], response: Any, ours: list[RetrievalCall], answers: list[str]) -> list[Any]:
    build = anthropic_followup if is_anthropic_response(response) else openai_followup
    return build(msgs, response, ours, answers)


def _hand_back_sync(
    cb: HeadroomCallback,
    response: Any,
    ours: list[RetrievalCall],
    others: list[RetrievalCall],
    tenant: str | None,
    stream: bool,
) -> Any:
    if others:
        cb.hold_for_caller_turn(tenant, others, ours, cb.answer(ours, tenant))
    strip_calls(response, frozenset(c.id for c in ours))
    return iter(_rechunk(response)) if stream else response


def _rechunk(response: Any) -> list[Any]:
    """A finished response as stream chunks (after our calls were taken out of it)."""
    from litellm.llms.base_llm.base_model_iterator import MockResponseIterator

    return list(MockResponseIterator(model_response=response))


async def _replay(chunks: list[Any]) -> AsyncIterator[Any]:
    for chunk in chunks:
        yield chunk
