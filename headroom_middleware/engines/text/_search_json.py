"""``rg --json`` output read as grep lines: one JSON event per line (``begin``, ``match``, ``context``,
``end``, ``summary``) becomes ``path:12:text`` / ``path-12-text``, which the search engine already reads.

As JSON, each match repeats its path, byte offsets and submatch spans, and a JSON engine can only keep
or drop whole events; as grep lines the search engine ranks files, keeps definitions and odd matches and
counts the rest. Only the events' own fields are read; a line that is not an event stays as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

# rg prints compact JSON; a re-serialised stream may have spaces after the separators.
_EVENT_RE = re.compile(r'\{"type": ?"(begin|match|context|end|summary)", ?"data": ?\{')
_SAMPLE_LINES = 40


def looks_like_rg_json(head: str) -> bool:
    """True when the first lines of ``head`` are ripgrep JSON events (and at least one is a match or
    a file's beginning)."""
    lines = [line for line in head.split("\n")[:_SAMPLE_LINES] if line.strip()]
    if len(head) >= 4096 and len(lines) > 1:
        lines.pop()  # the last line of the peek may be cut short
    kinds = [m.group(1) for line in lines if (m := _EVENT_RE.match(line)) is not None]
    return len(kinds) >= 2 and len(kinds) == len(lines) and ("match" in kinds or "begin" in kinds)


def _text(field: Any) -> str:
    """A ripgrep ``{"text": ...}`` or ``{"bytes": base64}`` value as text (bytes decoded leniently)."""
    if not isinstance(field, dict):
        return ""
    text = field.get("text")
    if isinstance(text, str):
        return text
    raw = field.get("bytes")
    if isinstance(raw, str):
        try:
            return base64.b64decode(raw).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return ""
    return ""


def _summary(data: dict[str, Any]) -> str:
    stats = data.get("stats")
    if not isinstance(stats, dict):
        return "rg summary"
    elapsed = data.get("elapsed_total")
    human = elapsed.get("human", "") if isinstance(elapsed, dict) else ""
    return (
        f"rg summary: {stats.get('matches', '?')} matches in {stats.get('searches_with_match', '?')} of "
        f"{stats.get('searches', '?')} files searched" + (f" ({human})" if human else "")
    )


def _event_line(event: Any) -> str | None:
    """The grep line of one event: None for events grep prints nothing for (``begin``, ``end``)."""
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return None
    data = event["data"]
    kind = event.get("type")
    if kind in ("match", "context"):
        sep = ":" if kind == "match" else "-"
        # A multi-line match (``rg -U``) is one event: its lines joined, so the result stays one line.
        body = _text(data.get("lines")).rstrip("\n").replace("\n", "\\n")
        return f"{_text(data.get('path'))}{sep}{data.get('line_number', '')}{sep}{body}"
    if kind == "summary":
        return _summary(data)
    return None


def rg_json_to_grep(text: str) -> str:
    """``text`` (``rg --json`` output) as ``grep -n`` lines; lines that are not events are kept as is."""
    out: list[str] = []
    for line in text.split("\n"):
        if not line.startswith("{"):
            if line.strip():
                out.append(line)
            continue
        try:
            event = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        converted = _event_line(event)
        if converted is not None:
            out.append(converted)
    return "\n".join(out) + "\n"
