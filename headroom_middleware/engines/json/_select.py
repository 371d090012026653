"""Lossy selection: crush the big arrays of a document in place, within the token budget.

``_nodes`` builds the tree of arrays and ranks every item; ``_render`` turns a choice into text. This
module chooses by measurement: the most detail that fits ``max_tokens`` (cutting long strings before
dropping important items), then representatives, a title index and a few ordinary items only while
they stay cheap. The output is never padded up to the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .._base import Compressed, Context
from ._derived import title_path
from ._lossless import Span
from ._maps import entry_bytes, record_maps, under
from ._nodes import BAND, Node, build_nodes, score_nodes
from ._render import RenderConfig, render_document
from ._stats import query_terms

CHEAP_SHARE = 0.03
"""Representatives and ordinary items are added while they cost at most this share of the input…"""
CHEAP_OF_BUDGET = 0.25
"""…and at most this share of the budget (a huge input does not buy a full budget of filler)."""
CUT_LENGTHS: tuple[int | None, ...] = (None, 200, 100, 50)


def select(
    value: object, spans: list[Span], ctx: Context, input_tokens: int, *, ndjson: bool = False
) -> Compressed | None:
    """The lossy form of ``value`` within ``ctx.max_tokens``; None when no selection fits."""
    top = _top_nodes(value, spans)
    if not any(node.crushable for node in top):
        return None
    for node in top:
        found = title_path(node.items) if node.crushable else None
        node.title = tuple(found.split(".")) if found else None
    nodes = build_nodes(top)
    score_nodes(nodes, query_terms(ctx.query))
    hard = ctx.max_tokens
    allowance = min(CHEAP_SHARE * input_tokens, CHEAP_OF_BUDGET * hard)

    def attempt(cfg: RenderConfig) -> tuple[str, list[tuple[str, bytes]], int] | None:
        rendered = render_document(value, top, cfg, ndjson)
        if rendered is None:
            return None
        text, originals = rendered
        return text, originals, ctx.count_tokens(text)

    def under(limit: float) -> _Attempt:
        def fits(cfg: RenderConfig) -> tuple[str, list[tuple[str, bytes]], int] | None:
            got = attempt(cfg)
            return got if got is not None and got[2] <= limit else None

        return fits

    def floors_between(low: float, high: float) -> list[float]:
        return sorted({p for node in nodes for p in node.priority if low <= p < high}, reverse=True)

    # 1. Everything of tier 2 or better, cutting long strings shorter until it fits.
    # Uncut first; then the shortest cut, and only if that fits, the longest cut that fits.
    fits_hard = under(hard)
    chosen = RenderConfig(BAND[2] - 0.5, CUT_LENGTHS[0], True)
    base = fits_hard(chosen)
    if base is None:
        shortest = RenderConfig(BAND[2] - 0.5, CUT_LENGTHS[-1], True)
        base = fits_hard(shortest)
        if base is not None:
            chosen = shortest
            for cut in CUT_LENGTHS[1:-1]:
                got = fits_hard(RenderConfig(BAND[2] - 0.5, cut, True))
                if got is not None:
                    base, chosen = got, RenderConfig(BAND[2] - 0.5, cut, True)
                    break
    if base is None:
        # 2. Drop the least important items (lowest priority first) at a short cut.
        cut = 32
        base = fits_hard(RenderConfig(math.inf, cut, True))
        if base is None:
            cut = 24
            base = fits_hard(RenderConfig(math.inf, cut, True))
        if base is None:
            return None
        base, chosen = _most_that_fits(floors_between(BAND[2] - 0.5, math.inf), cut, fits_hard, base)
    else:
        # 3. Room to spare: tier-3 items (common errors, representatives) by priority, then a few
        # ordinary items, while they cost at most the allowance.
        limit = min(hard, base[2] + allowance)
        base, chosen = _most_that_fits(
            floors_between(BAND[3] - 0.5, BAND[2] - 0.5), chosen.cut, under(limit), base, chosen
        )
        # 4. An index of the omitted items' titles (commit subjects, issue titles) when it is cheap.
        if any(node.title is not None for node in top):
            with_titles = RenderConfig(chosen.floor, chosen.cut, chosen.slim, titles=True)
            got = under(limit)(with_titles)
            if got is not None:
                base, chosen = got, with_titles
        base = _fill(value, top, chosen, ndjson, base, limit, ctx)
    text, originals, _ = base
    strategy = "json:select" if chosen.cut is None else "json:select+cut"
    return Compressed(text, strategy, tuple(originals), is_json=not ndjson)


def _top_nodes(value: object, spans: list[Span]) -> list[Node]:
    """A node per span, and per object of records (``_maps``): the arrays inside such an object are
    its items' children, not nodes of their own."""
    maps = record_maps(value)
    paths = [p for p, _ in maps]
    top = [Node(s.path, s.items, s.item_bytes, (s.path,)) for s in spans if not under(s.path, paths)]
    for path, node in maps:
        top.append(Node(path, list(node.values()), entry_bytes(node), (path,), keys=list(node)))
    return top


_Result = tuple[str, list[tuple[str, bytes]], int]
_Attempt = Callable[[RenderConfig], "_Result | None"]


def _most_that_fits(
    floors: list[float], cut: int | None, fits: _Attempt, base: _Result, chosen: RenderConfig | None = None
) -> tuple[_Result, RenderConfig]:
    """Binary search for the lowest floor (most items kept) whose rendering still fits."""
    best, best_cfg = base, chosen or RenderConfig(math.inf, cut, True)
    lo, hi = 0, len(floors)  # items with priority >= floors[k - 1] kept; the largest k that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        cfg = RenderConfig(floors[mid - 1], cut, True)
        got = fits(cfg)
        if got is not None:
            best, best_cfg, lo = got, cfg, mid
        else:
            hi = mid - 1
    return best, best_cfg


def _fill(
    value: object,
    top: list[Node],
    cfg: RenderConfig,
    ndjson: bool,
    base: tuple[str, list[tuple[str, bytes]], int],
    limit: float,
    ctx: Context,
) -> tuple[str, list[tuple[str, bytes]], int]:
    """Add evenly spaced ordinary items of the biggest crushed array while the total stays <= limit."""
    crushed = [node for node in top if node.crushable and not node.scalars]  # numbers have a summary
    if not crushed:
        return base
    node = max(crushed, key=lambda nd: (len(nd.items), -top.index(nd)))
    seen: dict[bytes, None] = {}  # exact duplicates of an item already in view add nothing
    ordinary = []
    for i, raw in enumerate(node.item_bytes):
        if raw not in seen:
            seen[raw] = None
            if node.priority[i] < cfg.floor:
                ordinary.append(i)
    best, best_extra = base, frozenset[int]()
    k = 1
    while ordinary and k <= len(ordinary):
        step = len(ordinary) / (k + 1)
        node.extra = frozenset(ordinary[min(len(ordinary) - 1, math.floor(step * (j + 1)))] for j in range(k))
        rendered = render_document(value, top, cfg, ndjson)
        if rendered is None:
            break
        tokens = ctx.count_tokens(rendered[0])
        if tokens > limit:
            break
        best, best_extra = (rendered[0], rendered[1], tokens), node.extra
        k *= 2
    node.extra = best_extra
    return best


__all__ = ["select"]
