"""Engines: one per kind of content, chosen by a cheap look at the text.

``compress(text, ctx)`` is the single entry point: it picks the engine and returns a ``Compressed``.
Each engine lives in its own module and is a pure function (no store, no I/O).
"""

from __future__ import annotations

from ._base import Compressed, Context
from ._detect import detect, text_kind
from .json import compress_json
from .text import compress_text

__all__ = ["Compressed", "Context", "compress", "detect"]


def compress(text: str, ctx: Context) -> Compressed:
    """Compress ``text`` with the engine its content calls for."""
    kind = detect(text)
    if kind in ("json", "ndjson"):
        result = compress_json(text, ctx, ndjson=kind == "ndjson")
        if result is not None:
            return result
        kind = text_kind(text)  # looked like JSON but did not parse: a log line may start with "["
    return compress_text(text, kind, ctx)
