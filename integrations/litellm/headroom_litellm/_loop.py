"""The retrieval round: find the model's ``headroom_retrieve`` calls, answer them, build the next request.

Shared by the callback (inside LiteLLM's agentic loop) and the drop-in ``completion`` (its own loop).
Three response shapes are understood: OpenAI chat completions (``ModelResponse`` or its dict form),
Anthropic Messages (``{"content": [..., {"type": "tool_use", ...}]}``) and the Responses API
(``output`` items of type ``function_call``).

When the model mixes a retrieval call with the caller's own tool calls, the retrieval calls are taken
out of the response and answered here, the caller's calls go back to the caller, and ``PendingAnswers``
remembers the answers by the caller's call ids: when the caller sends that assistant turn back with its
tool results, the retrieval calls and their answers are spliced into it (so the model sees the content
it asked for, and no tool call is lost on either side).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from headroom_middleware import RETRIEVE_TOOL_NAME, Pipeline

__all__ = [
    "PendingAnswers",
    "RetrievalCall",
    "answer_calls",
    "anthropic_followup",
    "openai_followup",
    "split_calls",
    "strip_calls",
]


@dataclass(frozen=True, slots=True)
class RetrievalCall:
    """One tool call made by the model."""

    id: str
    name: str
    arguments: str | dict[str, Any]
    """A JSON string (OpenAI) or an object (Anthropic)."""


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def is_anthropic_response(response: Any) -> bool:
    return isinstance(_get(response, "content"), list) and _get(response, "choices") is None


def _openai_calls(response: Any) -> list[RetrievalCall]:
    calls: list[RetrievalCall] = []
    for choice in _get(response, "choices") or ():
        message = _get(choice, "message")
        for tc in _get(message, "tool_calls") or ():
            fn = _get(tc, "function")
            calls.append(
                RetrievalCall(
                    str(_get(tc, "id") or ""), str(_get(fn, "name") or ""), _get(fn, "arguments") or ""
                )
            )
        break  # only the first choice is ever answered (n>1 keeps its calls)
    return calls


def _anthropic_calls(response: Any) -> list[RetrievalCall]:
    return [
        RetrievalCall(str(_get(b, "id") or ""), str(_get(b, "name") or ""), _get(b, "input") or {})
        for b in _get(response, "content") or ()
        if _get(b, "type") == "tool_use"
    ]


def is_responses_response(response: Any) -> bool:
    return isinstance(_get(response, "output"), list)


def _responses_calls(response: Any) -> list[RetrievalCall]:
    return [
        RetrievalCall(
            str(_get(item, "call_id") or ""), str(_get(item, "name") or ""), _get(item, "arguments") or ""
        )
        for item in _get(response, "output") or ()
        if _get(item, "type") == "function_call"
    ]


def split_calls(response: Any) -> tuple[list[RetrievalCall], list[RetrievalCall]]:
    """The response's tool calls: (ours, the caller's)."""
    if is_responses_response(response):
        calls = _responses_calls(response)
    elif is_anthropic_response(response):
        calls = _anthropic_calls(response)
    else:
        calls = _openai_calls(response)
    ours = [c for c in calls if c.name == RETRIEVE_TOOL_NAME]
    others = [c for c in calls if c.name != RETRIEVE_TOOL_NAME]
    return ours, others


def answer_calls(pipeline: Pipeline, calls: Sequence[RetrievalCall]) -> list[str]:
    """The answer text of each retrieval call (never raises: errors become text the model can act on)."""
    answers = []
    for call in calls:
        text = pipeline.handle_tool_call(call.name, call.arguments)
        answers.append(text if text is not None else f"{call.name}: not a retrieval call")
    return answers


def _arguments_json(arguments: str | dict[str, Any]) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True)


def _arguments_object(arguments: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _assistant_text(response: Any) -> str | None:
    if is_anthropic_response(response):
        texts = [
            str(_get(b, "text") or "") for b in _get(response, "content") or () if _get(b, "type") == "text"
        ]
        return "".join(texts) or None
    for choice in _get(response, "choices") or ():
        content = _get(_get(choice, "message"), "content")
        return content if isinstance(content, str) and content else None
    return None


def openai_call_messages(
    calls: Sequence[RetrievalCall], answers: Sequence[str], text: str | None = None
) -> list[dict[str, Any]]:
    """The assistant turn making ``calls`` and one tool message per answer (OpenAI chat format)."""
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": text,
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": _arguments_json(c.arguments)},
            }
            for c in calls
        ],
    }
    results = [
        {"role": "tool", "tool_call_id": c.id, "content": a} for c, a in zip(calls, answers, strict=True)
    ]
    return [assistant, *results]


def openai_followup(
    messages: Sequence[Any], response: Any, calls: Sequence[RetrievalCall], answers: Sequence[str]
) -> list[Any]:
    """``messages`` plus the model's retrieval turn and its answers."""
    return [*messages, *openai_call_messages(calls, answers, _assistant_text(response))]


def anthropic_blocks(calls: Sequence[RetrievalCall], answers: Sequence[str]) -> tuple[list[Any], list[Any]]:
    """(tool_use blocks, tool_result blocks) for ``calls`` and their answers (Anthropic format)."""
    uses = [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments_object(c.arguments)}
        for c in calls
    ]
    results = [
        {"type": "tool_result", "tool_use_id": c.id, "content": a}
        for c, a in zip(calls, answers, strict=True)
    ]
    return uses, results


def anthropic_followup(
    messages: Sequence[Any], response: Any, calls: Sequence[RetrievalCall], answers: Sequence[str]
) -> list[Any]:
    """``messages`` plus the model's retrieval turn (text kept) and a user turn with the answers."""
    uses, results = anthropic_blocks(calls, answers)
    text = _assistant_text(response)
    assistant = {"role": "assistant", "content": ([{"type": "text", "text": text}] if text else []) + uses}
    return [*messages, assistant, {"role": "user", "content": results}]


def strip_calls(response: Any, ids: frozenset[str]) -> None:
    """Take the tool calls named by ``ids`` out of ``response`` (our own copy of the provider's answer)."""
    if is_responses_response(response):
        output = _get(response, "output")
        output[:] = [
            item
            for item in output
            if not (_get(item, "type") == "function_call" and _get(item, "call_id") in ids)
        ]
        return
    if is_anthropic_response(response):
        content = _get(response, "content")
        kept = [b for b in content if not (_get(b, "type") == "tool_use" and _get(b, "id") in ids)]
        content[:] = kept
        if (
            not any(_get(b, "type") == "tool_use" for b in kept)
            and _get(response, "stop_reason") == "tool_use"
        ):
            _set(response, "stop_reason", "end_turn")
        return
    for choice in _get(response, "choices") or ():
        message = _get(choice, "message")
        calls = _get(message, "tool_calls") or []
        kept = [tc for tc in calls if _get(tc, "id") not in ids]
        _set(message, "tool_calls", kept or None)
        if not kept and _get(choice, "finish_reason") == "tool_calls":
            _set(choice, "finish_reason", "stop")
        break


def _set(obj: Any, name: str, value: Any) -> None:
    if isinstance(obj, dict):
        obj[name] = value
    else:
        setattr(obj, name, value)


class PendingAnswers:
    """Retrieval answers waiting for the caller to send back the turn whose other calls it ran.

    Keyed by the caller's tool-call ids (and the tenant, so one tenant's answers never reach another's
    conversation). Bounded; in-process (a multi-worker proxy without sticky sessions simply lets the
    model ask again).
    """

    def __init__(self, maxsize: int = 4096) -> None:
        self._lock = threading.Lock()
        self._by_call: LRUCache[tuple[str | None, str], tuple[tuple[RetrievalCall, ...], tuple[str, ...]]] = (
            LRUCache(maxsize)
        )

    def remember(
        self,
        tenant: str | None,
        caller_calls: Sequence[RetrievalCall],
        calls: Sequence[RetrievalCall],
        answers: Sequence[str],
    ) -> None:
        entry = (tuple(calls), tuple(answers))
        with self._lock:
            for c in caller_calls:
                self._by_call[(tenant, c.id)] = entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_call)

    def splice(self, messages: Sequence[Any], tenant: str | None) -> list[Any] | None:
        """``messages`` with remembered retrieval turns put back in place; None when nothing applies."""
        if not len(self):
            return None
        out: list[Any] | None = None
        for i in range(len(messages) - 1, -1, -1):
            message = messages[i]
            if not isinstance(message, Mapping) or message.get("role") != "assistant":
                continue
            entry = self._entry_for(message, tenant)
            if entry is None:
                continue
            out = list(messages) if out is None else out
            calls, answers = entry
            if isinstance(message.get("content"), list) or not message.get("tool_calls"):
                self._splice_anthropic(out, i, calls, answers)
            else:
                self._splice_openai(out, i, calls, answers)
        return out

    def _entry_for(
        self, message: Mapping[str, Any], tenant: str | None
    ) -> tuple[tuple[RetrievalCall, ...], tuple[str, ...]] | None:
        ids = [str(_get(tc, "id")) for tc in message.get("tool_calls") or ()]
        content = message.get("content")
        if isinstance(content, list):
            ids += [str(_get(b, "id")) for b in content if _get(b, "type") == "tool_use"]
        if any(
            _get(_get(tc, "function"), "name") == RETRIEVE_TOOL_NAME for tc in message.get("tool_calls") or ()
        ):
            return None  # already spliced (or the caller kept our calls)
        with self._lock:
            for call_id in ids:
                entry = self._by_call.get((tenant, call_id))
                if entry is not None:
                    return entry
        return None

    @staticmethod
    def _splice_openai(
        out: list[Any], i: int, calls: Sequence[RetrievalCall], answers: Sequence[str]
    ) -> None:
        assistant = dict(out[i])
        ours = openai_call_messages(calls, answers)
        assistant["tool_calls"] = [*ours[0]["tool_calls"], *(assistant.get("tool_calls") or ())]
        out[i : i + 1] = [assistant, *ours[1:]]

    @staticmethod
    def _splice_anthropic(
        out: list[Any], i: int, calls: Sequence[RetrievalCall], answers: Sequence[str]
    ) -> None:
        uses, results = anthropic_blocks(calls, answers)
        content = out[i].get("content")
        blocks = (
            content if isinstance(content, list) else [{"type": "text", "text": content}] if content else []
        )
        if any(_get(b, "type") == "tool_use" and _get(b, "name") == RETRIEVE_TOOL_NAME for b in blocks):
            return
        out[i] = {**out[i], "content": [*blocks, *uses]}
        nxt = out[i + 1] if i + 1 < len(out) else None
        if isinstance(nxt, Mapping) and nxt.get("role") == "user":
            prior = nxt.get("content")
            prior_blocks = (
                prior if isinstance(prior, list) else [{"type": "text", "text": prior}] if prior else []
            )
            out[i + 1] = {**nxt, "content": [*results, *prior_blocks]}
        else:
            out.insert(i + 1, {"role": "user", "content": results})
