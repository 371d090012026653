"""Objects that are collections: many records keyed by a name or an id (``npm audit``'s
``vulnerabilities`` keyed by package, maps keyed by ids), crushed like arrays of records.

Such an object is an array in all but syntax: its values are records of one kind, and its keys are
their names. Left alone, it would either be carried whole or (no array to crush) not fit at all. Its
entries are the items of a node: each serialized once as ``"key":{…}`` (the bytes of the entry in the
object's compact JSON), so a kept entry shows its key, and the stored payload is the exact object.
"""

from __future__ import annotations

from collections import Counter

import orjson

from ._parse import MAX_OBJECT_DEPTH, Path

MIN_ENTRIES = 8
"""Fewer entries than this are a plain object (a config's sections), not a collection."""
SAME_KIND = 0.75
"""Share of the values that must start with the same key (records of one kind do)."""


def is_record_map(node: object) -> bool:
    """True for an object of ``MIN_ENTRIES`` or more entries whose values are records of one kind."""
    if type(node) is not dict or len(node) < MIN_ENTRIES:
        return False
    firsts: Counter[str] = Counter()
    for v in node.values():
        if type(v) is not dict or not v:
            return False
        firsts[next(iter(v))] += 1
    return firsts.most_common(1)[0][1] >= SAME_KIND * len(node)


def record_maps(value: object) -> list[tuple[Path, dict[str, object]]]:
    """Record maps reachable from ``value`` through objects, outermost only, in document order."""
    out: list[tuple[Path, dict[str, object]]] = []
    stack: list[tuple[Path, object]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if type(node) is not dict or len(path) >= MAX_OBJECT_DEPTH:
            continue
        if is_record_map(node):
            out.append((path, node))
            continue
        stack.extend(((*path, k), v) for k, v in reversed(node.items()) if type(v) is dict)
    return out


def entry_bytes(node: dict[str, object]) -> list[bytes]:
    """Each entry's ``"key":value`` bytes, so that ``b"{" + b",".join(result) + b"}"`` is the
    object's compact JSON (orjson writes entries in order, joined by commas)."""
    return [bytes(memoryview(orjson.dumps({k: v})))[1:-1] for k, v in node.items()]


def entry(key: str, rendered: bytes) -> bytes:
    """One entry of a crushed map: its key and its (possibly shortened) value."""
    return orjson.dumps(key) + b":" + rendered


def under(path: Path, maps: list[Path]) -> bool:
    """True when ``path`` lies inside one of ``maps`` (its arrays are items' children there)."""
    return any(path[: len(m)] == m and len(path) > len(m) for m in maps)
