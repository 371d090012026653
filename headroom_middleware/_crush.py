"""``crush``: one tool output in, what the model should see out.

This is where a tool result is compressed: pick the engine (``engines.compress``), store the originals
it dropped (``ccr``), and fall back to a lossless form if the store cannot take them.
"""

from __future__ import annotations

import logging

from . import engines
from ._interpreter import collection_paused
from ._result import CrushResult
from ._tokens import TokenCounter, estimate_tokens
from .ccr import Store

log = logging.getLogger("headroom_middleware")

DEFAULT_MAX_TOKENS = 4000


class StoreRefused(Exception):
    """The store did not take an original, so nothing may be dropped."""


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Undecodable bytes survive as lone surrogates and round-trip back to the same bytes.
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


def plan(
    text: str,
    *,
    query: str | None = None,
    max_tokens: int | None = None,
    count_tokens: TokenCounter | None = None,
    lossy: bool = True,
) -> engines.Compressed:
    """The engine's answer for ``text`` without touching any store (safe to run in another process)."""
    budget = DEFAULT_MAX_TOKENS if max_tokens is None else max(int(max_tokens), 1)
    ctx = engines.Context(
        max_tokens=budget, count_tokens=count_tokens or estimate_tokens, query=query, lossy=lossy
    )
    with collection_paused(len(text)):
        return engines.compress(text, ctx)


def crush(
    text: str,
    store: Store | None = None,
    query: str | None = None,
    max_tokens: int | None = None,
    *,
    count_tokens: TokenCounter | None = None,
    strict: bool = False,
) -> CrushResult:
    """Compress one tool output for the model; store what was dropped in ``store`` under CCR keys.

    Never raises (unless ``strict``): on an internal error the input comes back unchanged and a
    warning is logged. Without a ``store`` nothing can be dropped, so only lossless forms are used.
    """
    text = _as_text(text)
    counter = count_tokens or estimate_tokens
    try:
        before = counter(text)
        result = plan(text, query=query, max_tokens=max_tokens, count_tokens=counter, lossy=store is not None)
        if result.originals:
            try:
                _store_all(store, result)
            except Exception as exc:  # a store that raises is a store that refused
                log.warning(
                    "headroom: store refused an original (%s); keeping a lossless form", type(exc).__name__
                )
                result = plan(text, query=query, max_tokens=max_tokens, count_tokens=counter, lossy=False)
        after = counter(result.text)
        if after >= before and not result.originals:
            return CrushResult(text, (), before, before, "passthrough")
        return CrushResult(result.text, result.keys, before, after, result.strategy, result.is_json)
    except Exception as exc:
        if strict:
            raise
        log.warning(
            "headroom: crush failed (%s: %s); passing the original through",
            type(exc).__name__,
            str(exc)[:200],
        )
        n = _safe_count(counter, text)
        return CrushResult(text, (), n, n, "passthrough:error")


def _store_all(store: Store | None, result: engines.Compressed) -> None:
    if store is None:
        raise StoreRefused("no store")
    for key, data in result.originals:
        if store.put(key, data) is False:
            raise StoreRefused(key)


def _safe_count(counter: TokenCounter, text: str) -> int:
    try:
        return counter(text)
    except Exception:
        return estimate_tokens(text)
