"""The OpenAI chat format: ``tool`` messages (string or content parts) and the legacy ``function`` role.

{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                      "function": {"name": "search", "arguments": "{...}"}}]}
{"role": "tool", "tool_call_id": "c1", "content": "..." | [{"type": "text", "text": "..."}]}
{"role": "function", "name": "search", "content": "..."}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._markers import RETRIEVE_TOOL_NAME
from ._conversation import Scan, Slot, has_text, is_mapping


def scan(messages: Sequence[Any]) -> Scan:
    """Every tool-result text, the call names and the question in force at each result."""
    out = Scan("openai")
    last_user = -1
    for i, m in enumerate(messages):
        if not is_mapping(m):
            continue
        role = m.get("role")
        if role == "user":
            if has_text(m.get("content")):
                last_user = i
        elif role == "assistant":
            _read_calls(m, out)
        elif role == "tool" or role == "function":
            content = m.get("content")
            call_id = m.get("tool_call_id")
            call_id = call_id if isinstance(call_id, str) else None
            name = m.get("name")
            name = name if isinstance(name, str) else None
            if isinstance(content, str):
                out.slots.append(Slot(i, (), content, call_id, name, last_user))
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    if is_mapping(part) and part.get("type") == "text":
                        text = part.get("text")
                        if isinstance(text, str):
                            out.slots.append(Slot(i, (j,), text, call_id, name, last_user))
    return out


def _read_calls(message: Mapping[str, Any], out: Scan) -> None:
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            if not is_mapping(call):
                continue
            fn = call.get("function")
            name = fn.get("name") if is_mapping(fn) else None
            if isinstance(name, str):
                if isinstance(call.get("id"), str):
                    out.call_names[call["id"]] = name
                if name == RETRIEVE_TOOL_NAME:
                    out.retrieve_called = True
    legacy = message.get("function_call")
    if is_mapping(legacy) and legacy.get("name") == RETRIEVE_TOOL_NAME:
        out.retrieve_called = True


def replace(message: Mapping[str, Any], path: tuple[int, ...], text: str) -> dict[str, Any]:
    """A copy of ``message`` with the text at ``path`` replaced; ``message`` itself is not touched."""
    new = dict(message)
    if not path:
        new["content"] = text
        return new
    parts = list(message["content"])
    parts[path[0]] = {**parts[path[0]], "text": text}
    new["content"] = parts
    return new
