"""The arrays of a document as a tree of nodes, and how important each of their items is.

Every array reachable through objects is a node; arrays inside the items of a node (again through
objects) are its children, a few levels deep (``groups[].rules[].alerts[]``). Each node's items are
serialized once: those bytes are reused for rendering and are the stored payload.

Items found at the same place in the document form a population and get a tier and a weight
(``_stats``); a signal deep inside an item (a firing alert inside a rule inside a group) lifts the item
that holds it. Tier and weight become one priority: the budget keeps items from the top down.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field

from ._lossless import serialize_items
from ._parse import Path, object_arrays
from ._stats import CHANGE, ERROR, EXTREME, FIRST_LAST, ORDINARY, OUTLIER, QUERY, RARE, REPRESENTATIVE, score

MAX_NESTING = 4
"""Array levels below the top arrays that are analysed and crushed (groups > rules > alerts > …)."""
CRUSH_MIN_ITEMS = 3
CRUSH_MIN_BYTES = 800
"""Arrays smaller than this stay whole: their marker would cost about as much as they do."""
BAND = {0: math.inf, 1: 1000.0, 2: 100.0, 3: 10.0, 4: 0.0}
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
    error_kind: list[int] = field(default_factory=list)
    """Per item, which field and value signalled its error (-1: none); spreads overflowing errors."""
    elide: list[tuple[str, ...]] = field(default_factory=list)
    """Leaf paths a slim rendering leaves out of kept items after the first (constant or redundant)."""
    keys: list[str] | None = None
    """For an object of records (``_maps``): the key of each item; ``item_bytes`` are its entries."""

    @property
    def payload(self) -> bytes:
        if self.keys is not None:
            return b"{" + b",".join(self.item_bytes) + b"}"
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


def build_nodes(top: list[Node]) -> list[Node]:
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


def score_nodes(nodes: list[Node], terms: list[bytes]) -> None:
    populations: dict[tuple[Path, ...], list[Node]] = {}
    for node in nodes:
        populations.setdefault(node.pattern, []).append(node)
    for members in populations.values():
        items = [x for m in members for x in m.items]
        raw = [b for m in members for b in m.item_bytes]
        tier, reasons, groups, elide, weight, kind = score(items, raw, terms)
        elide_paths = [tuple(p.split(".")) for p in elide]
        at = 0
        for m in members:
            n = len(m.items)
            m.tier, m.reasons, m.elide = tier[at : at + n], reasons[at : at + n], elide_paths
            # The tiny index term breaks ties in document order, so the budget can take a band in part.
            m.priority = [
                BAND[t] + min(w, 89.0) - min((at + j) * 1e-7, 0.4)
                for j, (t, w) in enumerate(zip(m.tier, weight[at : at + n], strict=True))
            ]
            m.group_size = {i - at: size for i, size in groups.items() if at <= i < at + n}
            m.error_kind = kind[at : at + n]
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
                        kid.priority[j] = max(kid.priority[j], BAND[2] + 60.0 - j * 1e-7)
    for node in nodes:
        n = len(node.items)
        if all(type(x) in (int, float) for x in node.items):
            lo = node.items.index(min(node.items))  # type: ignore[type-var]  # first of ties
            hi = node.items.index(max(node.items))  # type: ignore[type-var]
            for i in (lo, hi):
                node.tier[i] = min(node.tier[i], 2)
                node.priority[i] = max(node.priority[i], BAND[2] + 50.0)
                node.reasons[i] |= EXTREME
        # First and last show the shape of the array; nested arrays keep only their first, since the
        # shape was shown once and every kept outer item pays for its nested structure.
        for i in (0, n - 1) if len(node.pattern) == 1 else (0,):
            node.tier[i] = 0
            node.priority[i] = math.inf
            node.reasons[i] |= FIRST_LAST
    for node in nodes:
        _spread_errors(node)


ERROR_QUOTA = 20
"""Errors kept ahead of rare values and outliers when there are more errors than that: twenty errors
of every kind, spread over the array, say what fails and when; the rest come after the rarities."""


OVERFLOW_REPRESENTATIVES = 3


def _spread_errors(node: Node) -> None:
    """When an array has more tier-1 errors than ``ERROR_QUOTA``, order them so that a budget taking
    only some shows every kind of error (rarest kind first) spread over the whole array, not the first
    ones in document order; the errors past the quota rank just below rare values and outliers."""
    errs = [
        i
        for i, (t, why, p) in enumerate(zip(node.tier, node.reasons, node.priority, strict=True))
        if t == 1 and why & ERROR and not why & QUERY and p != math.inf
    ]
    if len(errs) <= ERROR_QUOTA:
        return
    by_kind: dict[int, list[int]] = {}
    for i in errs:
        by_kind.setdefault(node.error_kind[i] if node.error_kind else -1, []).append(i)
    queues = [_spread_order(idx) for idx in sorted(by_kind.values(), key=lambda idx: (len(idx), idx[0]))]
    order: list[int] = []
    for depth in range(max(map(len, queues))):  # round robin: one of each kind per round
        order.extend(q[depth] for q in queues if depth < len(q))
    m = len(order)
    for pos, i in enumerate(order):
        if pos < ERROR_QUOTA:
            node.priority[i] = BAND[1] + 89.0 - pos * 1e-3
        else:  # in (BAND[2] - 0.5, BAND[2] - 0.4): below every tier-2 item, above everything else
            node.priority[i] = BAND[2] - 0.45 + 0.04 * (1 - pos / m)
    # A few ordinary items still show what the bulk of the array looks like: the representatives of
    # the biggest groups come right after the rarities, before the errors past the quota.
    biggest = sorted(node.group_size.items(), key=lambda kv: (-kv[1], kv[0]))[:OVERFLOW_REPRESENTATIVES]
    for k, (i, _size) in enumerate(biggest):
        node.priority[i] = max(node.priority[i], BAND[2] - 0.405 - k * 1e-3)


def _spread_order(idx: list[int]) -> list[int]:
    """``idx`` reordered so that every prefix is spread evenly over it: first, last, middle, quarters…"""
    m = len(idx)
    if m <= 2:
        return idx
    bits = (m - 1).bit_length()
    rank = sorted(range(1, m - 1), key=lambda r: int(format(r, f"0{bits}b")[::-1], 2))
    return [idx[0], idx[-1], *(idx[r] for r in rank)]
