"""Rendering a selection of lines: kept lines in order, gap markers between, one full marker.

Text engines decide *which* lines matter; this module turns that decision into what the model reads,
the same way for every engine, and never splits a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .. import _markers


def render_kept(
    lines: Sequence[str],
    kept: Iterable[int],
    key: str,
    *,
    unit: str = "lines",
    kept_note: str = "",
    notes: dict[int, str] | None = None,
) -> str:
    """Lines at the ``kept`` indices in order, a gap marker for each run left out, and a closing marker.

    ``notes`` maps a kept index to a short annotation appended to that line (e.g. ``(x12)`` for a
    collapsed run); it is the engine's way of summarising without adding lines.
    """
    idx = sorted(set(kept))
    total = len(lines)
    out: list[str] = []
    prev = -1
    for i in idx:
        if i - prev > 1:
            out.append(_markers.gap(i - prev - 1, unit))
        line = lines[i]
        if notes and i in notes:
            line = f"{line} {notes[i]}"
        out.append(line)
        prev = i
    if total - 1 - prev > 0:
        out.append(_markers.gap(total - 1 - prev, unit))
    dropped = total - len(idx)
    out.append(_markers.omitted(dropped, total, unit, key, kept_note))
    return "\n".join(out)
