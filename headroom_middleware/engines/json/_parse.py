"""Parsing once, finding the arrays worth a table or a crush, and serializing around them.

Everything here walks iteratively with a depth bound: orjson accepts nesting 1,024 deep, far past
Python's recursion limit, and a hostile payload must never raise RecursionError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson

Path = tuple[str, ...]

MAX_OBJECT_DEPTH = 32
"""Arrays nested deeper than this many object levels are treated as plain values."""


# orjson reads integers past 64 bits as floats, silently losing digits: such texts are refused.
_DIGITS_ONLY = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))  # digits -> "0", else " "
_DIGIT_RUN = b"0" * 19
_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![0-9.eE+-])(-?[0-9]{19,})(?![0-9.eE])')
_DIGIT_RUN_RE = re.compile(r"-?[0-9]{19,}")
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


SCAN_CHUNK = 1 << 20
"""Characters per step of the digit-run scan: a few short C calls instead of one long one (the GIL
is released between them) and two small copies instead of two copies of a 50 MB document."""


def _has_digit_run(text: str) -> bool:
    """True when ``text`` holds 19 digits in a row (chunks overlap by 18 so no run is split)."""
    overlap = len(_DIGIT_RUN) - 1
    for start in range(0, len(text), SCAN_CHUNK):
        piece = text[max(0, start - overlap) : start + SCAN_CHUNK]
        if _DIGIT_RUN in piece.encode("utf-8", "surrogatepass").translate(_DIGITS_ONLY):
            return True
    return False


def _has_big_int(text: str) -> bool:
    """True when ``text`` holds an integer literal outside what orjson keeps exact."""
    # Fast path (a C translate and a substring search, far quicker than a regex): no 19-digit run.
    if not _has_digit_run(text):
        return False
    # Only a run outside the 64-bit range matters, wherever it is; then tell numbers from strings.
    if all(_INT_MIN <= int(m.group()) <= _INT_MAX for m in _DIGIT_RUN_RE.finditer(text)):
        return False
    for m in _TOKEN_RE.finditer(text):
        digits = m.group(1)
        if digits is not None and not _INT_MIN <= int(digits) <= _INT_MAX:
            return True
    return False


def parse(text: str, *, ndjson: bool = False) -> object | None:
    """The value of ``text``; for NDJSON, the list of its non-empty lines' values. None if it fails
    (invalid JSON, NaN/Infinity, lone surrogates, nesting too deep, integers beyond 64 bits)."""
    if _has_big_int(text):
        return None
    try:
        if not ndjson:
            value: object = orjson.loads(text)
            return value
        return [orjson.loads(line) for line in text.split("\n") if line.strip()]
    except (orjson.JSONDecodeError, UnicodeEncodeError, TypeError, ValueError):
        return None


def object_arrays(value: object, *, max_depth: int = MAX_OBJECT_DEPTH) -> list[tuple[Path, list[object]]]:
    """Arrays reachable from ``value`` through objects only, with their key paths, in document order.

    ``value`` itself is included (path ``()``) when it is an array; arrays inside arrays are not
    (they are part of their enclosing array's items).
    """
    out: list[tuple[Path, list[object]]] = []
    stack: list[tuple[Path, object]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if type(node) is list:
            out.append((path, node))
        elif type(node) is dict and len(path) < max_depth:
            # Reversed so that popping visits keys in document order.
            stack.extend(((*path, k), v) for k, v in reversed(node.items()) if type(v) in (dict, list))
    return out


def walk_object_arrays(value: object) -> Iterator[list[object]]:
    """Just the arrays of ``object_arrays``, in document order."""
    for _, arr in object_arrays(value):
        yield arr


def _sentinel(n: int) -> str:
    return f"\x00headroom-span-{n}\x00"


def assemble(value: object, replacements: dict[Path, bytes]) -> bytes | None:
    """Compact JSON of ``value`` with the value at each path replaced by the given raw bytes.

    Only the objects along the paths are rebuilt (shallow copies); everything else is serialized by
    orjson in one call. None when the document holds one of the sentinels itself (never in practice:
    the caller then serializes another way).
    """
    if not replacements:
        return orjson.dumps(value)
    if () in replacements:
        return replacements[()]
    marks = {path: _sentinel(i) for i, path in enumerate(replacements)}
    rebuilt = rebuild_with_marks(value, marks)
    text = orjson.dumps(rebuilt)
    for path, mark in marks.items():
        quoted = orjson.dumps(mark)
        if text.count(quoted) != 1:
            return None
        text = text.replace(quoted, replacements[path], 1)
    return text


def rebuild_with_marks(value: object, marks: dict[Path, str]) -> object:
    """Shallow copies of the objects on the marked paths, the marked values swapped for sentinels."""
    # Group the paths into a trie, then copy top-down without recursion.
    root: dict[str, object] = {}
    for path, mark in marks.items():
        node = root
        for key in path[:-1]:
            nxt = node.setdefault(key, {})
            assert isinstance(nxt, dict)
            node = nxt
        node[path[-1]] = mark
    assert isinstance(value, dict)
    top = dict(value)
    stack: list[tuple[dict[str, object], dict[str, object]]] = [(top, root)]
    while stack:
        copy, trie = stack.pop()
        for key, sub in trie.items():
            if isinstance(sub, str):
                copy[key] = sub
            else:
                child = copy[key]
                assert isinstance(child, dict) and isinstance(sub, dict)
                child_copy = dict(child)
                copy[key] = child_copy
                stack.append((child_copy, sub))
    return top


def get_path(value: object, path: Path) -> object:
    """The value at ``path`` (object keys only)."""
    for key in path:
        assert isinstance(value, dict)
        value = value[key]
    return value
