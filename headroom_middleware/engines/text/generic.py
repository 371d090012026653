"""The generic line engine: head, tail, error lines, query matches, repeated runs collapsed."""

from __future__ import annotations

from .._base import Compressed, Context


def compress_generic(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, keep what matters."""
    raise NotImplementedError
