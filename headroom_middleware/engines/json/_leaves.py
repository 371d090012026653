"""Flattening records into scalar leaves (``State.Name``, ``tags[]``), item by item or column by column.

Statistics compare items through these leaves. Only a few object levels are followed, lists are
capped in width, and records inside lists are left to their own population (nested arrays are nodes
of their own), so the work per item is bounded whatever the input.
"""

from __future__ import annotations

from collections import deque
from typing import cast

LEAF_DEPTH = 5
"""Object levels flattened below an item (list steps are free but capped in width)."""
MAX_LEAVES = 400
LIST_WIDTH = 32
VALUE_KEY_CHARS = 120
Leaf = tuple[str, object]


def leaves(item: object) -> list[Leaf]:
    """(path, scalar) pairs of ``item``, breadth-first, bounded in depth and count."""
    out: list[Leaf] = []
    if type(item) not in (dict, list):
        return [("", item)]
    frontier: list[tuple[str, object, int]] = [("", item, 0)]
    while frontier and len(out) < MAX_LEAVES:
        nxt: list[tuple[str, object, int]] = []
        for path, node, depth in frontier:
            if type(node) is dict:
                if depth >= LEAF_DEPTH:
                    continue
                for k, v in node.items():
                    p = f"{path}.{k}" if path else k
                    if type(v) in (dict, list):
                        nxt.append((p, v, depth + 1))
                    else:
                        out.append((p, v))
            else:
                assert isinstance(node, list)
                # Records inside a list are items of a nested array with statistics of their own
                # (their signals lift this item through propagation): only scalars and lists here.
                p = f"{path}[]"
                for v in node[:LIST_WIDTH]:
                    if type(v) is list:
                        nxt.append((p, v, depth))
                    elif type(v) is not dict:
                        out.append((p, v))
        frontier = nxt
    return out[:MAX_LEAVES]


MAX_COLUMNS = 400
"""Distinct leaf paths gathered per population (maps keyed by ids would have one per item)."""


def gather_columns(items: list[object]) -> dict[str, list[tuple[int, object]]]:
    """Leaf path -> (item index, scalar) for every item, in item order: the same leaves as ``leaves``
    but gathered key by key with comprehensions instead of item by item, which is several times
    faster on thousands of records."""
    columns: dict[str, list[tuple[int, object]]] = {}
    merged: dict[str, None] = {}
    # Work list of (path, depth, [(item index, object)]): objects at the same path across items.
    work: deque[tuple[str, int, list[tuple[int, object]]]] = deque([("", 0, list(enumerate(items)))])
    while work and len(columns) < MAX_COLUMNS:
        path, depth, nodes = work.popleft()
        kinds = set(map(type, [x for _, x in nodes]))
        dicts: list[tuple[int, object]]
        lists: list[tuple[int, object]]
        scalars: list[tuple[int, object]]
        if kinds == {dict}:  # the common cases first: all records, or all scalars
            dicts, lists, scalars = nodes, [], []
        elif dict not in kinds and list not in kinds:
            dicts, lists, scalars = [], [], nodes
        else:
            dicts = [(i, x) for i, x in nodes if type(x) is dict]
            lists = [(i, x) for i, x in nodes if type(x) is list]
            scalars = [(i, x) for i, x in nodes if type(x) is not dict and type(x) is not list]
        if scalars:
            if path in columns:
                merged[path] = None  # the same path reached twice (a key spelled like a path)
            columns.setdefault(path, []).extend(scalars)
        if lists:
            p = f"{path}[]"
            arrays = cast("list[tuple[int, list[object]]]", lists)
            elems = [(i, e) for i, x in arrays for e in x[:LIST_WIDTH] if type(e) is not dict]
            if elems:
                work.append((p, depth, elems))
        if dicts and depth < LEAF_DEPTH:
            records = cast("list[tuple[int, dict[str, object]]]", dicts)
            keys: dict[str, object] = {}
            for _, d in records:
                keys.update(d)  # C-level merge: keys in first-seen order
            for k in keys:
                sub = [(i, d[k]) for i, d in records if k in d]
                work.append((f"{path}.{k}" if path else k, depth + 1, sub))
    for path in merged:
        columns[path].sort(key=lambda p: p[0])  # stable: list elements keep their order within an item
    return columns


def value_key(value: object) -> object:
    """A hashable key telling 1, 1.0, True and "1" apart (strings stand for themselves)."""
    if type(value) is str:
        return value if len(value) <= VALUE_KEY_CHARS else value[:VALUE_KEY_CHARS]
    return (type(value).__name__, value)
