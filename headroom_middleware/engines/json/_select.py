"""Lossy selection: crush the big arrays of a document in place, within the token budget.

1. Every array reachable through objects is a node; arrays inside the items of a node (again through
   objects) are its children, a few levels deep (``groups[].rules[].alerts[]``). Each node's items are
   serialized once; those bytes are reused for rendering and are the stored payload.
2. Items of the same kind across the document form a population and get a tier (``_stats``). A signal
   deep inside an item (a firing alert inside a rule inside a group) lifts the item that holds it.
3. A crushed array keeps its items of tier <= T in order, gap markers where items were left out, and
   one closing marker (a JSON string) with the key of the array's bytes. The output stays valid JSON.
4. The budget picks T and a cut length for long strings by measurement: the most detail that fits
   ``max_tokens``, adding representatives and ordinary items only while they are cheap.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from ._lossless import Span, serialize_items
from ._parse import Path, object_arrays, rebuild_with_marks
from ._scalars import numeric_summary
from ._stats import (
    CHANGE,
    ERROR,
    EXTREME,
    FIRST_LAST,
    ORDINARY,
    OUTLIER,
    QUERY,
    RARE,
    REPRESENTATIVE,
    query_terms,
    score,
    title_path,
)

MAX_NESTING = 4
"""Array levels below the top arrays that are analysed and crushed (groups > rules > alerts > …)."""
CRUSH_MIN_ITEMS = 3
CRUSH_MIN_BYTES = 800
"""Arrays smaller than this stay whole: their marker would cost about as much as they do."""
CHEAP_SHARE = 0.03
"""Representatives and ordinary items are added while they cost at most this share of the input…"""
CHEAP_OF_BUDGET = 0.25
"""…and at most this share of the budget (a huge input does not buy a full budget of filler)."""
CUT_LENGTHS: tuple[int | None, ...] = (None, 200, 100, 50)
_BAND = {0: math.inf, 1: 1000.0, 2: 100.0, 3: 10.0, 4: 0.0}
"""Priority of each tier; an item's weight (< 90) orders items inside its band."""


@dataclass(eq=False, slots=True)
class Node:
    """One array of the document, with the arrays nested in its items."""

    path: Path
    """Where the array sits, relative to the item (or document) that holds it; object keys only."""
    items: list[object]
    item_bytes: list[bytes]
    pattern: tuple[Path, ...]
    children: list[list[Node]] = field(default_factory=list)
    tier: list[int] = field(default_factory=list)
    priority: list[float] = field(default_factory=list)
    """Higher is kept first: tier band (first/last infinite) plus the item's weight within it."""
    reasons: list[int] = field(default_factory=list)
    group_size: dict[int, int] = field(default_factory=dict)
    extra: frozenset[int] = frozenset()
    """Ordinary items added by the budget fill."""
    memo: dict[tuple[int, int | None, bool], bytes | None] = field(default_factory=dict)
    """Renderings of items without nested crushes, by (index, cut, slim)."""
    can_crush: bool | None = None
    plain: bool | None = None
    ranked: list[tuple[float, int]] | None = None
    stored: tuple[str, bytes] | None = None
    """(key, payload) of the array, computed the first time it is crushed."""
    summary: str | None = None
    """The marker's count/min/max/mean for arrays of numbers (computed once)."""
    title: tuple[str, ...] | None = None
    """Path of the field naming each record in prose (top-level arrays of records only)."""
    elide: list[tuple[str, ...]] = field(default_factory=list)
    """Leaf paths a slim rendering leaves out of kept items after the first (constant or redundant)."""

    @property
    def payload(self) -> bytes:
        return b"[" + b",".join(self.item_bytes) + b"]"

    @property
    def scalars(self) -> bool:
        """True for an array of plain values (no objects or arrays inside)."""
        if self.plain is None:
            self.plain = not (set(map(type, self.items)) & {dict, list})
        return self.plain

    @property
    def crushable(self) -> bool:
        if self.can_crush is None:
            n = len(self.items)
            self.can_crush = (
                n >= CRUSH_MIN_ITEMS and sum(map(len, self.item_bytes)) + n + 1 >= CRUSH_MIN_BYTES
            )
        return self.can_crush

    def kept(self, floor: float) -> list[int]:
        """Indices of the items with priority >= floor, plus the fill's extras, in document order."""
        if self.ranked is None:  # (-priority, index), so the items above any floor are a prefix
            self.ranked = sorted((-p, i) for i, p in enumerate(self.priority))
        count = bisect_right(self.ranked, (-floor, math.inf))
        chosen = [i for _, i in self.ranked[:count]]
        chosen.extend(self.extra)
        return sorted(set(chosen))


@dataclass(frozen=True, slots=True)
class _Config:
    floor: float
    """Items of this priority or higher are kept."""
    cut: int | None
    """Strings longer than this are cut to their head in kept items."""
    slim: bool = False
    """Kept items after the first leave out constant and redundant fields."""
    titles: bool = False
    """Crushed top-level arrays list the first line of each omitted item's title field."""


def select(
    value: object, spans: list[Span], ctx: Context, input_tokens: int, *, ndjson: bool = False
) -> Compressed | None:
    """The lossy form of ``value`` within ``ctx.max_tokens``; None when no selection fits."""
    top = [Node(s.path, s.items, s.item_bytes, (s.path,)) for s in spans]
    if not any(node.crushable for node in top):
        return None
    for node in top:
        found = title_path(node.items) if node.crushable else None
        node.title = tuple(found.split(".")) if found else None
    nodes = _build(top)
    _score(nodes, query_terms(ctx.query))
    hard = ctx.max_tokens
    allowance = min(CHEAP_SHARE * input_tokens, CHEAP_OF_BUDGET * hard)

    def attempt(cfg: _Config) -> tuple[str, list[tuple[str, bytes]], int] | None:
        rendered = _render_document(value, top, cfg, ndjson)
        if rendered is None:
            return None
        text, originals = rendered
        return text, originals, ctx.count_tokens(text)

    def under(limit: float) -> _Attempt:
        def fits(cfg: _Config) -> tuple[str, list[tuple[str, bytes]], int] | None:
            got = attempt(cfg)
            return got if got is not None and got[2] <= limit else None

        return fits

    def floors_between(low: float, high: float) -> list[float]:
        return sorted({p for node in nodes for p in node.priority if low <= p < high}, reverse=True)

    # 1. Everything of tier 2 or better, cutting long strings shorter until it fits.
    # Uncut first; then the shortest cut, and only if that fits, the longest cut that fits.
    fits_hard = under(hard)
    chosen = _Config(_BAND[2] - 0.5, CUT_LENGTHS[0], True)
    base = fits_hard(chosen)
    if base is None:
        shortest = _Config(_BAND[2] - 0.5, CUT_LENGTHS[-1], True)
        base = fits_hard(shortest)
        if base is not None:
            chosen = shortest
            for cut in CUT_LENGTHS[1:-1]:
                got = fits_hard(_Config(_BAND[2] - 0.5, cut, True))
                if got is not None:
                    base, chosen = got, _Config(_BAND[2] - 0.5, cut, True)
                    break
    if base is None:
        # 2. Drop the least important items (lowest priority first) at a short cut.
        cut = 32
        base = fits_hard(_Config(math.inf, cut, True))
        if base is None:
            cut = 24
            base = fits_hard(_Config(math.inf, cut, True))
        if base is None:
            return None
        base, chosen = _most_that_fits(floors_between(_BAND[2] - 0.5, math.inf), cut, fits_hard, base)
    else:
        # 3. Room to spare: tier-3 items (common errors, representatives) by priority, then a few
        # ordinary items, while they cost at most the allowance.
        limit = min(hard, base[2] + allowance)
        base, chosen = _most_that_fits(
            floors_between(_BAND[3] - 0.5, _BAND[2] - 0.5), chosen.cut, under(limit), base, chosen
        )
        # 4. An index of the omitted items' titles (commit subjects, issue titles) when it is cheap.
        if any(node.title is not None for node in top):
            with_titles = _Config(chosen.floor, chosen.cut, chosen.slim, titles=True)
            got = under(limit)(with_titles)
            if got is not None:
                base, chosen = got, with_titles
        base = _fill(value, top, chosen, ndjson, base, limit, ctx)
    text, originals, _ = base
    strategy = "json:select" if chosen.cut is None else "json:select+cut"
    return Compressed(text, strategy, tuple(originals), is_json=not ndjson)


_Result = tuple[str, list[tuple[str, bytes]], int]
_Attempt = Callable[[_Config], "_Result | None"]


def _most_that_fits(
    floors: list[float], cut: int | None, fits: _Attempt, base: _Result, chosen: _Config | None = None
) -> tuple[_Result, _Config]:
    """Binary search for the lowest floor (most items kept) whose rendering still fits."""
    best, best_cfg = base, chosen or _Config(math.inf, cut, True)
    lo, hi = 0, len(floors)  # items with priority >= floors[k - 1] kept; the largest k that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        cfg = _Config(floors[mid - 1], cut, True)
        got = fits(cfg)
        if got is not None:
            best, best_cfg, lo = got, cfg, mid
        else:
            hi = mid - 1
    return best, best_cfg


def _build(top: list[Node]) -> list[Node]:
    """All nodes, parents before children (breadth-first), each item serialized once."""
    nodes: list[Node] = []
    queue = deque(top)
    while queue:
        node = queue.popleft()
        nodes.append(node)
        node.children = [[] for _ in node.items]
        if len(node.pattern) > MAX_NESTING:
            continue
        for i, item in enumerate(node.items):
            if type(item) is not dict or b"[" not in node.item_bytes[i]:  # no array inside: skip the walk
                continue
            for path, arr in object_arrays(item, max_depth=8):
                if path and arr:
                    child = Node(path, arr, serialize_items(arr), (*node.pattern, path))
                    node.children[i].append(child)
                    queue.append(child)
    return nodes


def _score(nodes: list[Node], terms: list[bytes]) -> None:
    populations: dict[tuple[Path, ...], list[Node]] = {}
    for node in nodes:
        populations.setdefault(node.pattern, []).append(node)
    for members in populations.values():
        items = [x for m in members for x in m.items]
        raw = [b for m in members for b in m.item_bytes]
        tier, reasons, groups, elide, weight = score(items, raw, terms)
        elide_paths = [tuple(p.split(".")) for p in elide]
        at = 0
        for m in members:
            n = len(m.items)
            m.tier, m.reasons, m.elide = tier[at : at + n], reasons[at : at + n], elide_paths
            # The tiny index term breaks ties in document order, so the budget can take a band in part.
            m.priority = [
                _BAND[t] + min(w, 89.0) - min((at + j) * 1e-7, 0.4)
                for j, (t, w) in enumerate(zip(m.tier, weight[at : at + n], strict=True))
            ]
            m.group_size = {i - at: size for i, size in groups.items() if at <= i < at + n}
            at += n
    # Signals deep inside an item lift the item (children first: reverse breadth-first order).
    for node in reversed(nodes):
        for i, kids in enumerate(node.children):
            for kid in kids:
                for t, p, why in zip(kid.tier, kid.priority, kid.reasons, strict=True):
                    if t <= 2 and why & ~(FIRST_LAST | REPRESENTATIVE):
                        node.tier[i] = min(node.tier[i], t)
                        node.priority[i] = max(node.priority[i], p)
                        node.reasons[i] |= why & (ERROR | QUERY | RARE | OUTLIER | CHANGE)
    # Inside an item that is itself an error or a query match (a firing rule), when no nested item
    # stands out, the items with common error signals (its alerts, all "severity: warning") are the
    # details of that error: tier 2, above rarity (but below any error of their own).
    for node in nodes:
        for i, kids in enumerate(node.children):
            if node.tier[i] > 1:
                continue
            for kid in kids:
                if min(kid.tier, default=ORDINARY) <= 1:
                    continue  # specific items explain the parent's importance; the rest are background
                for j, t in enumerate(kid.tier):
                    if t == 3 and kid.reasons[j] & ERROR:
                        kid.tier[j] = 2
                        kid.priority[j] = max(kid.priority[j], _BAND[2] + 60.0 - j * 1e-7)
    for node in nodes:
        n = len(node.items)
        if all(type(x) in (int, float) for x in node.items):
            lo = node.items.index(min(node.items))  # type: ignore[type-var]  # first of ties
            hi = node.items.index(max(node.items))  # type: ignore[type-var]
            for i in (lo, hi):
                node.tier[i] = min(node.tier[i], 2)
                node.priority[i] = max(node.priority[i], _BAND[2] + 50.0)
                node.reasons[i] |= EXTREME
        # First and last show the shape of the array; nested arrays keep only their first, since the
        # shape was shown once and every kept outer item pays for its nested structure.
        for i in (0, n - 1) if len(node.pattern) == 1 else (0,):
            node.tier[i] = 0
            node.priority[i] = math.inf
            node.reasons[i] |= FIRST_LAST


def _render_document(
    value: object, top: list[Node], cfg: _Config, ndjson: bool
) -> tuple[str, list[tuple[str, bytes]]] | None:
    originals: list[tuple[str, bytes]] = []
    shown: set[tuple[Path, ...]] = set()  # membership only, never iterated
    if ndjson:
        parts = _render_parts(top[0], cfg, originals, shown)
        if parts is None:
            parts = top[0].item_bytes
        return "\n".join(p.decode() for p in parts), originals
    replacements = {}
    for node in top:
        out = _render_node(node, cfg, originals, shown)
        if out is not None:
            replacements[node.path] = out
    body = _assemble(value, replacements, cfg.cut)
    if body is None:
        return None
    return body.decode(), originals


def _render_node(
    node: Node, cfg: _Config, originals: list[tuple[str, bytes]], shown: set[tuple[Path, ...]]
) -> bytes | None:
    """The array as the model sees it, or None when it stays exactly as it was."""
    parts = _render_parts(node, cfg, originals, shown)
    if parts is None:
        return None
    return b"[" + b",".join(parts) + b"]"


def _render_parts(
    node: Node, cfg: _Config, originals: list[tuple[str, bytes]], shown: set[tuple[Path, ...]]
) -> list[bytes] | None:
    n = len(node.items)
    crush = node.crushable
    kept = node.kept(cfg.floor) if crush else range(n)
    changed = False
    parts: list[bytes] = []
    prev = -1
    top_level = len(node.pattern) == 1
    # Gap markers orient the reader among records; next to bare values they would cost more than the
    # values themselves, so arrays of scalars go without (the marker gives the count).
    gaps = top_level and not node.scalars
    for i in kept:
        if i - prev > 1 and gaps:
            parts.append(_gap(node, prev, i))
        # Slim: one full item per kind of item in the whole output shows the shape; later ones drop
        # the fields that are constant or follow from another field.
        slim = cfg.slim and bool(node.elide) and node.pattern in shown
        shown.add(node.pattern)
        item = _render_item(node, i, cfg, originals, shown, slim)
        if item is None:
            item = node.item_bytes[i]
        else:
            changed = True
        parts.append(item)
        prev = i
    if prev < n - 1 and gaps:
        parts.append(_gap(node, prev, n))
    dropped = n - len(kept)
    if dropped:
        if node.stored is None:  # once per array, however many renderings the budget tries
            payload = node.payload
            node.stored = (make_key(payload), payload)
        key = node.stored[0]
        originals.append(node.stored)
        if cfg.titles and node.title is not None and dropped <= MAX_TITLES:
            parts.append(orjson.dumps(_titles(node, node.title, kept)))
        note = _kept_note(node, kept, cfg.slim and bool(node.elide) and len(kept) > 1) if top_level else ""
        parts.append(orjson.dumps(_markers.omitted(dropped, n, "items", key, note)))
    elif not changed:
        return None
    return parts


def _titles(node: Node, path: tuple[str, ...], kept: list[int] | range) -> str:
    """``omitted items by commit.message: #1 deps: update V8…; #2 …`` (first lines, in order)."""
    keep = set(kept)  # membership only
    bits = []
    for i, item in enumerate(node.items):
        if i in keep:
            continue
        value: object = item
        for key in path:
            value = value.get(key) if type(value) is dict else None
        if type(value) is str:
            line = value.split("\n", 1)[0].strip()
            bits.append(f"#{i} {line[:TITLE_CHARS]}{'…' if len(line) > TITLE_CHARS else ''}")
    return f"omitted items by {'.'.join(path)}: " + "; ".join(bits)


def _gap(node: Node, prev: int, nxt: int) -> bytes:
    """Gap marker for the items between two kept ones, saying so when they repeat a neighbour."""
    count = nxt - prev - 1
    raw = node.item_bytes
    if prev >= 0 and all(raw[j] == raw[prev] for j in range(prev + 1, nxt)):
        return orjson.dumps(_markers.gap(count, "items identical to the previous one"))
    if nxt < len(raw) and all(raw[j] == raw[nxt] for j in range(prev + 1, nxt)):
        return orjson.dumps(_markers.gap(count, "items identical to the next one"))
    return orjson.dumps(_markers.gap(count, "items"))


def _kept_note(node: Node, kept: list[int] | range, slim: bool) -> str:
    counts = {bit: 0 for bit in (ERROR, QUERY, RARE, OUTLIER, CHANGE, EXTREME, REPRESENTATIVE)}
    for i in kept:
        why = node.reasons[i]
        for bit in counts:
            if why & bit:
                counts[bit] += 1
    names = {
        ERROR: "error",
        QUERY: "query match",
        RARE: "rare",
        OUTLIER: "outlier",
        CHANGE: "change point",
        EXTREME: "min/max",
        REPRESENTATIVE: "representative",
    }
    # First and last are always kept and visible: not worth the words.
    bits = [f"{c} {names[b]}" for b, c in counts.items() if c and b != REPRESENTATIVE]
    sizes = [node.group_size[i] for i in kept if i in node.group_size]
    if sizes:
        shown = ", ".join(str(s) for s in sizes[:6]) + (", …" if len(sizes) > 6 else "")
        bits.append(f"{len(sizes)} representative (groups of {shown} similar)")
    extra = len(node.extra)
    if extra:
        bits.append(f"{extra} sampled")
    if slim:
        bits.append("later items omit constant/derived fields")
    if node.summary is None:
        node.summary = numeric_summary(node.items)
    summary = node.summary
    if summary:
        bits.append(summary)
    return ", ".join(bits)


def _render_item(
    node: Node,
    i: int,
    cfg: _Config,
    originals: list[tuple[str, bytes]],
    shown: set[tuple[Path, ...]],
    slim: bool,
) -> bytes | None:
    """Item ``i`` with its nested arrays crushed, long strings cut, and (``slim``) redundant fields
    left out; None when unchanged."""
    item = node.items[i]
    replacements: dict[Path, bytes] = {}
    for kid in node.children[i]:
        out = _render_node(kid, cfg, originals, shown)
        if out is not None:
            replacements[kid.path] = out
    if not replacements and not slim and (cfg.cut is None or len(node.item_bytes[i]) <= cfg.cut):
        return None
    # Without nested crushes the rendering depends on the cut and slimness only: the budget search
    # renders the same items many times, so those are remembered.
    memo_key = (i, cfg.cut, slim)
    if not replacements and memo_key in node.memo:
        return node.memo[memo_key]
    out = _assemble(item, replacements, cfg.cut, node.elide if slim else [])
    if out is not None and out == node.item_bytes[i]:
        out = None
    if not replacements:
        node.memo[memo_key] = out
    return out


def _assemble(
    value: object,
    replacements: dict[Path, bytes],
    cut: int | None,
    elide: list[tuple[str, ...]] | None = None,
) -> bytes | None:
    """Compact JSON of ``value``, nested arrays replaced by their rendering, long strings cut."""
    if () in replacements:
        return replacements[()]
    marks = {path: f"\x00headroom-span-{n}\x00" for n, path in enumerate(replacements)}
    rebuilt = rebuild_with_marks(value, marks) if marks else value
    if elide and type(rebuilt) is dict:
        rebuilt = _without(rebuilt, elide)
    if cut is not None:
        rebuilt = _cut_strings(rebuilt, cut)
    text = orjson.dumps(rebuilt)
    for path, mark in marks.items():
        quoted = orjson.dumps(mark)
        if text.count(quoted) != 1:
            return None
        text = text.replace(quoted, replacements[path], 1)
    return text


def _without(value: dict[str, object], paths: list[tuple[str, ...]]) -> dict[str, object]:
    """A copy of ``value`` without the leaves at ``paths`` (objects on the way are copied, not changed)."""
    top = dict(value)
    copies: dict[tuple[str, ...], dict[str, object]] = {(): top}
    for path in paths:
        node = top
        for depth, key in enumerate(path[:-1]):
            prefix = path[: depth + 1]
            copy = copies.get(prefix)
            if copy is None:
                child = node.get(key)
                if type(child) is not dict:
                    break
                copy = copies[prefix] = dict(child)
                node[key] = copy
            node = copy
        else:
            node.pop(path[-1], None)
    return top


CUT_DEPTH = 24
_SPACE_RE = re.compile(r"\s")
MAX_TITLES = 100
TITLE_CHARS = 60
FIRST_LINE_MAX = 80
TOKEN_CUT = 96
"""Strings without spaces (ids, names, hashes) are cut only past this length: a cut id is useless."""


def _cut_strings(value: object, cut: int, depth: int = 0) -> object:
    """A copy of ``value`` with strings longer than ``cut`` shortened to their head (bounded depth)."""
    if isinstance(value, str):
        limit = cut if _SPACE_RE.search(value, 0, cut) else max(cut, TOKEN_CUT)
        if len(value) > limit + 8 and not value.startswith("\x00headroom-span-"):
            # The head reads best up to the end of its first line (a commit's subject, a message's
            # summary) when that line is short; otherwise the first ``cut`` characters.
            line_end = value.find("\n", 0, FIRST_LINE_MAX + 1)
            head = value[:line_end] if line_end > 0 else value[:limit]
            return head + "…"
        return value
    if depth >= CUT_DEPTH:
        return value
    if type(value) is dict:
        return {k: _cut_strings(v, cut, depth + 1) for k, v in value.items()}
    if type(value) is list:
        return [_cut_strings(v, cut, depth + 1) for v in value]
    return value


def _fill(
    value: object,
    top: list[Node],
    cfg: _Config,
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
        rendered = _render_document(value, top, cfg, ndjson)
        if rendered is None:
            break
        tokens = ctx.count_tokens(rendered[0])
        if tokens > limit:
            break
        best, best_extra = (rendered[0], rendered[1], tokens), node.extra
        k *= 2
    node.extra = best_extra
    return best


__all__ = ["ORDINARY", "select"]
