"""The marker the model sees where content was left out, and how to recognise it.

Every engine words its markers through these functions so that the model always reads one format and
the pipeline can tell already-compressed content apart (re-sent conversations must not be crushed twice).

Full marker (one per stored original)::

    [headroom: 480 of 500 items omitted (kept: 12 errors, 3 rare). headroom_retrieve(key='3f2a…')]

Gap marker (inside text, where a run of lines was left out; the full marker names the key)::

    [… 120 lines omitted …]
"""

from __future__ import annotations

import re

RETRIEVE_TOOL_NAME = "headroom_retrieve"
MARKER_PREFIX = "[headroom: "

_CALL_RE = re.compile(r"headroom_retrieve\(key='([0-9a-f]{24})'")


def retrieve_call(key: str, *, query: str | None = None, offset: int = 0, limit: int | None = None) -> str:
    """The call the model makes to get ``key`` back (optionally filtered by ``query``, one page of it)."""
    args = f"key='{key}'"
    if query:
        args += f", query={query!r}"
    if offset:
        args += f", offset={offset}"
    if limit is not None:
        args += f", limit={limit}"
    return f"{RETRIEVE_TOOL_NAME}({args})"


def omitted(count: int, total: int, unit: str, key: str, kept: str = "") -> str:
    """Full marker: ``count`` of ``total`` ``unit`` were left out and are stored under ``key``."""
    detail = f" (kept: {kept})" if kept else ""
    return f"{MARKER_PREFIX}{count:,} of {total:,} {unit} omitted{detail}. {retrieve_call(key)}]"


def gap(count: int, unit: str = "lines") -> str:
    """Gap marker for a run of ``count`` ``unit`` left out in place (the full marker names the key)."""
    return f"[… {count:,} {unit} omitted …]"


def carries_marker(text: str) -> bool:
    """True when ``text`` already holds one of our full markers (it was compressed before)."""
    return RETRIEVE_TOOL_NAME in text and _CALL_RE.search(text) is not None


def marker_keys(text: str) -> list[str]:
    """The CCR keys named by the markers in ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for m in _CALL_RE.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)
