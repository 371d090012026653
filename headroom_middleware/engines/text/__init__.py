"""Text engines: generic lines, and later logs, search results, diffs, test output and tables."""

from __future__ import annotations

from .._base import Compressed, Context


def compress_text(text: str, kind: str, ctx: Context) -> Compressed:
    """Compress ``text`` with the engine for ``kind`` (as ``detect`` named it)."""
    raise NotImplementedError
