"""Which engine a text calls for, from a cheap look at its first few KB (no full parse).

Order matters: specific kinds first (``go test -json`` is NDJSON, but the test engine reads it better),
then JSON, then the text kinds each engine recognises, then generic text.
"""

from __future__ import annotations

from .text import TEXT_KINDS

PEEK = 4096


def detect(text: str) -> str:
    """The kind of ``text``: a text engine's kind, ``json``, ``ndjson`` or ``text``."""
    head = text[:PEEK]
    for kind, looks_like, _ in TEXT_KINDS:
        if kind in _BEFORE_JSON and looks_like(head):
            return kind
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        first_line = stripped.split("\n", 1)[0].rstrip()
        if stripped[:1] == "{" and first_line.endswith("}") and "\n{" in stripped:
            return "ndjson"
        return "json"
    return text_kind(text)


def text_kind(text: str) -> str:
    """The kind of ``text`` among the text engines (``text`` when none claims it), JSON not considered.

    Also for text that looked like JSON but did not parse (``[2026-11-25 08:00:00,619: INFO/…]`` logs).
    """
    head = text[:PEEK]
    for kind, looks_like, _ in TEXT_KINDS:
        if kind not in _BEFORE_JSON and looks_like(head):
            return kind
    return "text"


# Kinds whose content is JSON-shaped but better read by a text engine.
_BEFORE_JSON = frozenset({"gotest", "search_json"})
