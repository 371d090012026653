"""Fitting a selection of lines into the token budget, shared by the search, diff and table engines.

Each engine orders its possible outputs from richest (level 0) to poorest (level ``levels``), e.g. all
matches, then fewer matches per file, then fewer files. ``fit_levels`` finds the richest level whose
rendering fits ``ctx.max_tokens`` by counting rendered candidates only (never the input), and
``render_selection`` writes kept lines with gap markers where the engine says something worth naming was
left out. Markers come from ``_markers`` only.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from ... import _markers
from .._base import Context
from . import _fit

GapDescriber = Callable[[int, int], "tuple[int, str] | None"]
"""``describe(start, end)`` for the dropped lines ``start..end-1``: ``(count, unit)`` for a gap marker
(``[… count unit omitted …]``), or None to leave the gap unmarked (e.g. only context lines)."""


def within_budget(text: str, ctx: Context) -> bool:
    """True when ``text`` fits ``ctx.max_tokens``, decided cheaply for big inputs (``_fit.within_budget``)."""
    return _fit.within_budget(text, ctx)


def fit_levels(
    at_level: Callable[[int], list[int]], levels: int, render: Callable[[list[int]], str], ctx: Context
) -> str:
    """The richest level (lowest ``t`` in ``0..levels``) whose rendering fits the budget.

    Levels shrink as ``t`` grows. Big inputs fit only near the poor end, so the search gallops up from
    there (1, 2, 4… levels richer) and then bisects: every candidate rendered is at most about twice the
    size of the answer, never the whole input. When even the poorest level does not fit (lines the
    engine could not place, a tiny budget), the longest prefix of that level that fits is shown, down to
    the full marker alone.
    """

    def fits(t: int) -> str | None:
        out = render(at_level(t))
        return out if ctx.count_tokens(out) <= ctx.max_tokens else None

    best = fits(levels)
    if best is None:
        return _longest_prefix(at_level(levels), render, ctx)
    good, bad, step = levels, -1, 1
    while good > 0:
        t = max(good - step, 0)
        out = fits(t)
        if out is None:
            bad = t
            break
        good, best, step = t, out, step * 2
    while good - bad > 1:
        t = (good + bad) // 2
        out = fits(t)
        if out is None:
            bad = t
        else:
            good, best = t, out
    return best


def _longest_prefix(kept: list[int], render: Callable[[list[int]], str], ctx: Context) -> str:
    """The rendering of the longest prefix of ``kept`` that fits (bisection; the empty one always wins)."""
    lo, hi = 0, len(kept)  # prefix ``lo`` is known to fit (or is empty), ``hi + 1`` not to
    best = render([])
    while lo < hi:
        mid = (lo + hi + 1) // 2
        out = render(kept[:mid])
        if ctx.count_tokens(out) <= ctx.max_tokens:
            lo, best = mid, out
        else:
            hi = mid - 1
    return best


def render_selection(
    lines: Sequence[str],
    kept: Sequence[int],
    describe: GapDescriber,
    marker: str,
    boundaries: Sequence[int] = (),
) -> str:
    """Kept lines in order, a gap marker where something worth naming was left out, the full marker last.

    ``boundaries`` (ascending line indices, e.g. where each file starts) split a run of dropped lines
    into one gap per section, so that each section is named by its own marker.
    """
    out: list[str] = []
    prev = 0
    for i in [*kept, len(lines)]:
        if i > prev:
            cuts = boundaries[bisect_right(boundaries, prev) : bisect_left(boundaries, i)]
            for start, end in zip([prev, *cuts], [*cuts, i], strict=True):
                if (gap := describe(start, end)) is not None:
                    out.append(_markers.gap(*gap))
        if i < len(lines):
            out.append(lines[i])
        prev = i + 1
    out.append(marker)
    return "\n".join(out)
