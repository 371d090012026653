"""The Anthropic Messages format: ``tool_result`` blocks in user messages, ``tool_use`` in assistant ones.

{"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "search", "input": {}}]}
{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                              "content": "..." | [{"type": "text", "text": "..."}, {"type": "image"}]}]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._markers import RETRIEVE_TOOL_NAME
from ._conversation import Scan, Slot, is_mapping


def scan(messages: Sequence[Any]) -> Scan:
    """Every tool-result text, the call names and the question in force at each result."""
    out = Scan("anthropic")
    last_user = -1
    for i, m in enumerate(messages):
        if not is_mapping(m):
            continue
        role = m.get("role")
        content = m.get("content")
        if role == "assistant":
            if isinstance(content, list):
                _read_calls(content, out)
            continue
        if role != "user":
            continue
        if isinstance(content, str):
            if content and not content.isspace():
                last_user = i
            continue
        if not isinstance(content, list):
            continue
        # One pass over the blocks: the user's own text in this message is the question for the
        # results beside it, so the results are read after it.
        results: list[tuple[int, Mapping[str, Any]]] = []
        asks = False
        for j, block in enumerate(content):
            if not is_mapping(block):
                continue
            kind = block.get("type")
            if kind == "tool_result":
                results.append((j, block))
            elif kind == "text" and not asks:
                text = block.get("text")
                asks = isinstance(text, str) and bool(text)
        if asks:
            last_user = i
        for j, block in results:
            call_id = block.get("tool_use_id")
            call_id = call_id if isinstance(call_id, str) else None
            inner = block.get("content")
            if isinstance(inner, str):
                out.slots.append(Slot(i, (j,), inner, call_id, None, last_user))
            elif isinstance(inner, list):
                for k, part in enumerate(inner):
                    if is_mapping(part) and part.get("type") == "text":
                        text = part.get("text")
                        if isinstance(text, str):
                            out.slots.append(Slot(i, (j, k), text, call_id, None, last_user))
    return out


def _read_calls(content: list[Any], out: Scan) -> None:
    for block in content:
        if is_mapping(block) and block.get("type") == "tool_use":
            name = block.get("name")
            if isinstance(name, str):
                if isinstance(block.get("id"), str):
                    out.call_names[block["id"]] = name
                if name == RETRIEVE_TOOL_NAME:
                    out.retrieve_called = True


def replace(message: Mapping[str, Any], path: tuple[int, ...], text: str) -> dict[str, Any]:
    """A copy of ``message`` with the text at ``path`` replaced; ``message`` itself is not touched."""
    blocks = list(message["content"])
    block = dict(blocks[path[0]])
    if len(path) == 1:
        block["content"] = text
    else:
        inner = list(block["content"])
        inner[path[1]] = {**inner[path[1]], "text": text}
        block["content"] = inner
    blocks[path[0]] = block
    new = dict(message)
    new["content"] = blocks
    return new
