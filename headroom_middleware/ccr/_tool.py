"""The ``headroom_retrieve`` tool definition, in the OpenAI and Anthropic formats.

The model gets this tool when something was left out of a tool result; its calls are answered by
``retrieve`` (``Pipeline.handle_tool_call`` does that for you).
"""

from __future__ import annotations

from typing import Any

from .._markers import MARKER_PREFIX, RETRIEVE_TOOL_NAME

__all__ = ["RETRIEVAL_TOOL_FORMATS", "retrieval_tool"]

RETRIEVAL_TOOL_FORMATS = ("openai", "anthropic")

_DESCRIPTION = (
    "Fetch content that was left out of a tool result to save space. Where a tool result says "
    f"'{MARKER_PREFIX}N of M items (or lines) omitted ... {RETRIEVE_TOOL_NAME}(key='...')]', "
    "everything omitted is stored under that key. Call with the key alone to get the complete "
    "original back. Add a query to get only the JSON items or text lines that contain every query "
    'term (case-insensitive; "double quotes" keep a phrase together; field:value matches JSON '
    "fields), with a count of the rest. A long answer ends with the exact call for its next page."
)


def _parameters() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "key": {
                "type": "string",
                "description": "The key named in the omission marker: 24 lowercase hex characters.",
                "pattern": "^[0-9a-f]{24}$",
                "minLength": 24,
                "maxLength": 24,
            },
            "query": {
                "type": "string",
                "description": "Optional. Only return items or lines containing all of these terms.",
            },
            "offset": {
                "type": "integer",
                "minimum": 0,
                "description": "Optional. Matches to skip, to read the next page (default 0).",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "description": "Optional. Most matches to return.",
            },
        },
        "required": ["key"],
        "additionalProperties": False,
    }


def retrieval_tool(fmt: str = "openai") -> dict[str, Any]:
    """The ``headroom_retrieve`` tool definition for ``fmt`` (``"openai"`` or ``"anthropic"``).

    A fresh dict on every call, so callers may change it freely.
    """
    if fmt == "openai":
        return {
            "type": "function",
            "function": {
                "name": RETRIEVE_TOOL_NAME,
                "description": _DESCRIPTION,
                "parameters": _parameters(),
            },
        }
    if fmt == "anthropic":
        return {"name": RETRIEVE_TOOL_NAME, "description": _DESCRIPTION, "input_schema": _parameters()}
    raise ValueError(f"unknown tool format {fmt!r}; accepted: {', '.join(map(repr, RETRIEVAL_TOOL_FORMATS))}")
