"""The JSON engine: lossless table form, ``expand``, and budgeted lossy selection."""

from __future__ import annotations

from .._base import Compressed, Context


def compress_json(text: str, ctx: Context, *, ndjson: bool = False) -> Compressed | None:
    """Compress JSON or NDJSON ``text``; None when it does not parse (the text engine takes it)."""
    raise NotImplementedError


def expand(text: str) -> object:
    """The exact JSON value a lossless form stands for (minified JSON or the table form)."""
    raise NotImplementedError
