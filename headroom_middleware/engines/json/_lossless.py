"""The two lossless forms, minified JSON and the table form, built from one serialization.

The document is cut into *spans* (arrays reachable through objects, two items or more) and the rest
(the skeleton). Each span's items are serialized once; the minified text, the table decision and
later the lossy selection all reuse those bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ..._tokens import TokenCounter
from ._parse import Path, assemble, object_arrays
from ._table import render_table


@dataclass(frozen=True, slots=True)
class Span:
    """One array of the document, its items serialized once."""

    path: Path
    items: list[object]
    item_bytes: list[bytes]

    @property
    def payload(self) -> bytes:
        """The array's canonical bytes (equal to ``orjson.dumps(items)``)."""
        return b"[" + b",".join(self.item_bytes) + b"]"


_PLAIN_SCALARS = frozenset({int, float, bool, type(None)})


def serialize_items(arr: list[object]) -> list[bytes]:
    """Each item's canonical bytes, so that ``b"[" + b",".join(result) + b"]" == orjson.dumps(arr)``.

    An array of numbers, booleans and nulls is serialized in one call and split at its commas (no
    such item contains one); anything else item by item. Either way every item is serialized once.
    """
    if arr and set(map(type, arr)) <= _PLAIN_SCALARS:
        return orjson.dumps(arr)[1:-1].split(b",")
    return [exact(orjson.dumps(x)) for x in arr]


def exact(data: bytes) -> bytes:
    """``data`` in a bytes object of its own size.

    orjson returns its output in the buffer it wrote into, kilobytes long even for a 200-byte record:
    kept for every item of a 100,000-record array that is 17x the input in memory. A copy of the
    exact size costs microseconds and lets the big buffer go at once (and is faster overall: the
    freed buffer is reused by the next ``dumps``).
    """
    return bytes(memoryview(data))


def spans_of(value: object) -> list[Span]:
    """The document's spans, in document order, each item serialized exactly once."""
    return [Span(path, arr, serialize_items(arr)) for path, arr in object_arrays(value) if len(arr) >= 2]


def minified(value: object, spans: list[Span]) -> bytes:
    """``orjson.dumps(value)``, assembled from the spans' bytes."""
    out = assemble(value, {s.path: s.payload for s in spans})
    return orjson.dumps(value) if out is None else out


def table_form(value: object, spans: list[Span], count_tokens: TokenCounter) -> str | None:
    """The table form, when at least one array of records reads cheaper as a table; else None."""
    blocks: list[str] = []
    replacements: dict[Path, bytes] = {}
    for span in spans:
        if not all(type(r) is dict for r in span.items):
            replacements[span.path] = span.payload
            continue
        label = str(len(blocks) + 1)
        block = render_table(label, span.items)  # type: ignore[arg-type]
        if block is not None and count_tokens(block) + 2 < count_tokens(span.payload.decode()):
            blocks.append(block)
            replacements[span.path] = f"@T{label}".encode()
        else:
            replacements[span.path] = span.payload
    if not blocks:
        return None
    if spans[0].path == () and replacements[()] == b"@T1":
        return blocks[0]
    skeleton = assemble(value, replacements)
    if skeleton is None:
        return None
    return skeleton.decode() + "\n" + "\n".join(blocks)
