"""The Responses API (``litellm.aresponses``): its ``input`` items seen as a chat conversation.

The pipeline understands chat conversations; Responses input is a list of items (``message``,
``function_call``, ``function_call_output``, ...). ``chat_view`` maps the items the pipeline needs to
chat messages (keeping which item each tool message came from), ``merge_outputs`` writes compressed
tool outputs back into new items. Items the view does not cover (reasoning, images, ...) pass
through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from headroom_middleware import RETRIEVE_TOOL_NAME, retrieval_tool

from ._loop import RetrievalCall

__all__ = ["chat_view", "merge_outputs", "responses_followup", "responses_retrieval_tool"]

_TEXT_PARTS = ("input_text", "output_text", "text")


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping) and p.get("type") in _TEXT_PARTS]
        return "".join(p for p in parts if isinstance(p, str))
    return None


def chat_view(items: Sequence[Any]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """(chat messages, {chat index of a tool message: index of its function_call_output item})."""
    chat: list[dict[str, Any]] = []
    outputs: dict[int, int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "function_call":
            call = {
                "id": str(item.get("call_id")),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or ""},
            }
            chat.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            if isinstance(output, str):
                outputs[len(chat)] = i
                chat.append({"role": "tool", "tool_call_id": str(item.get("call_id")), "content": output})
        elif kind in (None, "message") and item.get("role") in ("user", "assistant", "system", "developer"):
            text = _text(item.get("content"))
            if text is not None:
                role = "system" if item.get("role") == "developer" else item.get("role")
                chat.append({"role": role, "content": text})
    return chat, outputs


def merge_outputs(
    items: Sequence[Any], before: Sequence[Any], after: Sequence[Any], outputs: Mapping[int, int]
) -> list[Any] | None:
    """``items`` with the tool outputs the pipeline changed; None when it changed none."""
    out: list[Any] | None = None
    for chat_index, item_index in outputs.items():
        if after[chat_index] is before[chat_index]:
            continue
        out = list(items) if out is None else out
        out[item_index] = {**items[item_index], "output": after[chat_index]["content"]}
    return out


def responses_retrieval_tool() -> dict[str, Any]:
    """``headroom_retrieve`` in the Responses API's flat tool format."""
    fn = retrieval_tool("openai")["function"]
    return {
        "type": "function",
        "name": RETRIEVE_TOOL_NAME,
        "description": fn["description"],
        "parameters": fn["parameters"],
    }


def responses_followup(
    items: Sequence[Any], calls: Sequence[RetrievalCall], answers: Sequence[str]
) -> list[Any]:
    """``items`` plus the model's retrieval calls and their outputs."""
    extra: list[Any] = []
    for call, answer in zip(calls, answers, strict=True):
        arguments = (
            call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, sort_keys=True)
        )
        extra.append({"type": "function_call", "call_id": call.id, "name": call.name, "arguments": arguments})
        extra.append({"type": "function_call_output", "call_id": call.id, "output": answer})
    return [*items, *extra]
