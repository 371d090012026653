"""Flattening records into scalar leaves (``State.Name``, ``tags[]``), item by item or column by column.

Statistics compare items through these leaves. Only a few object levels are followed, lists are
capped in width, and records inside lists are left to their own population (nested arrays are nodes
of their own), so the work per item is bounded whatever the input.
"""

from __future__ import annotations

from collections import deque
from typing import cast

import orjson

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


Column = tuple[list[int], list[object]]
"""Item indices and their scalars, side by side (no tuple per leaf: big arrays have millions)."""
_MISSING = object()


def gather_columns(items: list[object]) -> dict[str, Column]:
    """Leaf path -> (item indices, scalars) for every item, in item order: the same leaves as
    ``leaves`` but gathered key by key with comprehensions instead of item by item, which is several
    times faster on thousands of records."""
    columns: dict[str, Column] = {}
    merged: dict[str, None] = {}
    # Work list of (path, depth, item indices, objects): objects at the same path across items.
    work: deque[tuple[str, int, list[int], list[object]]] = deque([("", 0, list(range(len(items))), items)])
    while work and len(columns) < MAX_COLUMNS:
        path, depth, idxs, nodes = work.popleft()
        kinds = set(map(type, nodes))
        d_i: list[int]
        d_v: list[object]
        l_i: list[int]
        l_v: list[object]
        s_i: list[int]
        s_v: list[object]
        if kinds == {dict}:  # the common cases first: all records, or all scalars
            d_i, d_v, l_i, l_v, s_i, s_v = idxs, nodes, [], [], [], []
        elif dict not in kinds and list not in kinds:
            d_i, d_v, l_i, l_v, s_i, s_v = [], [], [], [], idxs, nodes
        else:
            d_i = [i for i, x in zip(idxs, nodes, strict=True) if type(x) is dict]
            d_v = [x for x in nodes if type(x) is dict]
            l_i = [i for i, x in zip(idxs, nodes, strict=True) if type(x) is list]
            l_v = [x for x in nodes if type(x) is list]
            s_i = [i for i, x in zip(idxs, nodes, strict=True) if type(x) is not dict and type(x) is not list]
            s_v = [x for x in nodes if type(x) is not dict and type(x) is not list]
        if s_i and depth < LEAF_DEPTH:
            _embedded_records(path, depth, s_i, s_v, work)
        if s_i:
            if path in columns:
                merged[path] = None  # the same path reached twice (a key spelled like a path)
                columns[path] = (columns[path][0] + s_i, columns[path][1] + s_v)
            else:
                columns[path] = (s_i, s_v)  # shared lists, never changed in place
        if l_i:
            arrays = cast("list[list[object]]", l_v)
            e_i = [i for i, x in zip(l_i, arrays, strict=True) for e in x[:LIST_WIDTH] if type(e) is not dict]
            if e_i:
                e_v = [e for x in arrays for e in x[:LIST_WIDTH] if type(e) is not dict]
                work.append((f"{path}[]", depth, e_i, e_v))
        if d_i and depth < LEAF_DEPTH:
            records = cast("list[dict[str, object]]", d_v)
            keys: dict[str, object] = {}
            for d in records:
                keys.update(d)  # C-level merge: keys in first-seen order
            for k in keys:
                sub = [d.get(k, _MISSING) for d in records]
                if _MISSING in sub:  # C-level scan; only sparse keys pay for the filtering
                    sub_i = [i for i, v in zip(d_i, sub, strict=True) if v is not _MISSING]
                    sub = [v for v in sub if v is not _MISSING]
                else:
                    sub_i = d_i
                work.append((f"{path}.{k}" if path else k, depth + 1, sub_i, sub))
    for path in merged:
        # Stable by item index: list elements keep their order within an item.
        order = sorted(range(len(columns[path][0])), key=columns[path][0].__getitem__)
        columns[path] = ([columns[path][0][j] for j in order], [columns[path][1][j] for j in order])
    return columns


EMBEDDED = "{}"
"""Path step into a string holding a JSON object (``CloudTrailEvent{}.errorCode``)."""
MAX_EMBEDDED_CHARS = 65536


def _embedded_records(
    path: str,
    depth: int,
    idxs: list[int],
    vals: list[object],
    work: deque[tuple[str, int, list[int], list[object]]],
) -> None:
    """Strings that hold a JSON object (CloudTrail's ``CloudTrailEvent``, a logged request body)
    are records too: their fields join the columns under ``path{}``, so an ``errorCode`` inside one
    is seen like any other field. Only columns whose first string looks like an object are parsed."""
    first = vals[0]
    if type(first) is not str or not first.startswith("{"):
        return  # decided by the first value: a column of numbers is not scanned
    e_i: list[int] = []
    e_v: list[object] = []
    for i, v in zip(idxs, vals, strict=True):
        if type(v) is str and v.startswith("{") and v.endswith("}") and len(v) <= MAX_EMBEDDED_CHARS:
            try:
                parsed = orjson.loads(v)
            except ValueError:  # not JSON after all, or lone surrogates
                continue
            if type(parsed) is dict:
                e_i.append(i)
                e_v.append(parsed)
    if e_i:
        work.append((f"{path}{EMBEDDED}", depth + 1, e_i, e_v))


def value_key(value: object) -> object:
    """A hashable key telling 1, 1.0, True and "1" apart (strings stand for themselves)."""
    if type(value) is str:
        return value if len(value) <= VALUE_KEY_CHARS else value[:VALUE_KEY_CHARS]
    return (type(value).__name__, value)
