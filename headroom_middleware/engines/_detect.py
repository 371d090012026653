"""Which engine a text calls for, from a cheap look at its first few KB (no full parse)."""

from __future__ import annotations

PEEK = 4096


def detect(text: str) -> str:
    """One of ``json``, ``ndjson``, ``text`` (richer kinds come with their engines)."""
    head = text[:PEEK].lstrip()
    if head[:1] in ("{", "["):
        first_line = head.split("\n", 1)[0].rstrip()
        if head[:1] == "{" and first_line.endswith("}") and "\n{" in head:
            return "ndjson"
        return "json"
    return "text"
