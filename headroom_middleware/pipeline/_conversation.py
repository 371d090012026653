"""What the pipeline needs to know about a conversation, whatever its format.

Each format module (``_openai``, ``_anthropic``) turns a message list into a ``Scan``: every tool-result
text with where it sits, which call produced it, and which user message was the question at that point.
The pipeline works on scans only, so adding a format means adding a module, not touching the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard

Format = Literal["openai", "anthropic"]
Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Slot:
    """One tool-result text in a conversation."""

    index: int
    """Index of the message holding it."""
    path: tuple[int, ...]
    """Where the text sits inside the message: () is the message's string content, else list indices."""
    text: str
    call_id: str | None
    """Id of the tool call it answers (resolved to a tool name through ``Scan.call_names``)."""
    name: str | None
    """Tool name carried by the message itself (legacy ``function`` role), if any."""
    query_index: int
    """Index of the latest user message with text at this point (-1: none)."""


@dataclass(slots=True)
class Scan:
    """The tool results of a conversation and what is needed to compress them."""

    format: Format
    slots: list[Slot] = field(default_factory=list)
    call_names: dict[str, str] = field(default_factory=dict)
    """Tool-call id -> tool name, from the assistant messages."""
    retrieve_called: bool = False
    """True when an assistant message calls headroom_retrieve (the tool must stay defined)."""

    def tool_name(self, slot: Slot) -> str | None:
        if slot.call_id is not None:
            name = self.call_names.get(slot.call_id)
            if name is not None:
                return name
        return slot.name


def is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)`` with a fast path for plain dicts (ABC checks cost ~0.3 us)."""
    return type(value) is dict or isinstance(value, Mapping)


def detect_format(messages: Sequence[Any], tools: Sequence[Any] | None = None) -> Format:
    """``anthropic`` when tool_use/tool_result blocks or Anthropic-style tools appear, else ``openai``."""
    for m in messages:
        if not is_mapping(m):
            continue
        role = m.get("role")
        if role == "tool" or role == "function" or m.get("tool_calls") or m.get("function_call"):
            return "openai"
        content = m.get("content")
        if isinstance(content, list):
            for block in content:
                if is_mapping(block) and block.get("type") in ("tool_result", "tool_use"):
                    return "anthropic"
    if tools:
        for t in tools:
            if is_mapping(t):
                if "input_schema" in t:
                    return "anthropic"
                if t.get("type") == "function":
                    return "openai"
    return "openai"


def text_of_parts(content: object) -> str:
    """The text of a message's content: the string itself, or its text parts/blocks joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            b["text"]
            for b in content
            if is_mapping(b) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        return "\n".join(texts)
    return ""


def has_text(content: object) -> bool:
    """True when the content holds some text (a user message that asks something)."""
    if isinstance(content, str):
        return bool(content) and not content.isspace()
    if isinstance(content, list):
        return any(
            is_mapping(b) and b.get("type") == "text" and isinstance(b.get("text"), str) and b["text"]
            for b in content
        )
    return False


def tool_names(tools: Sequence[Any] | None) -> list[str]:
    """Names of the tools in a tool list, in either format (OpenAI ``function.name`` or ``name``)."""
    names: list[str] = []
    for t in tools or ():
        if not is_mapping(t):
            continue
        fn = t.get("function")
        if is_mapping(fn) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
        elif isinstance(t.get("name"), str):
            names.append(t["name"])
    return names
