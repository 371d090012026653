"""What compression saved: per tool result (message metadata), per agent run, and since start-up."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from typing_extensions import TypedDict

import headroom_middleware as hm

METADATA_KEY = "headroom"
"""Key under which a compressed ``ToolMessage`` carries its figures in ``response_metadata``."""


class ResultSavings(TypedDict):
    """``ToolMessage.response_metadata["headroom"]`` of a compressed tool result."""

    tokens_before: int
    tokens_after: int
    keys: list[str]
    strategies: list[str]


class Savings(TypedDict):
    """Totals over several compressed tool results (one agent run, or a counter's lifetime)."""

    results: int
    tokens_before: int
    tokens_after: int
    tokens_saved: int
    keys: list[str]


def result_savings(results: Iterable[hm.CrushResult]) -> ResultSavings:
    """The metadata of one tool result whose text parts were crushed into ``results``."""
    rs = list(results)
    keys: list[str] = []
    for r in rs:
        keys.extend(k for k in r.keys if k not in keys)
    return ResultSavings(
        tokens_before=sum(r.tokens_before for r in rs),
        tokens_after=sum(r.tokens_after for r in rs),
        keys=keys,
        strategies=[r.strategy for r in rs],
    )


def total(items: Iterable[ResultSavings]) -> Savings:
    """Sum per-result metadata into run totals (keys in order of first appearance)."""
    results = before = after = 0
    keys: list[str] = []
    for item in items:
        results += 1
        before += int(item.get("tokens_before", 0))
        after += int(item.get("tokens_after", 0))
        keys.extend(k for k in item.get("keys", ()) if k not in keys)
    return Savings(
        results=results, tokens_before=before, tokens_after=after, tokens_saved=before - after, keys=keys
    )


class SavingsCounter:
    """Thread-safe running totals of every result compressed by one middleware or wrapper.

    Keys are counted, not kept: a long-lived process would otherwise grow without bound.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results = 0
        self._before = 0
        self._after = 0
        self._keys = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> SavingsCounter:
        return self  # copies of a tool or middleware keep counting into the same totals

    def add(self, item: ResultSavings) -> None:
        with self._lock:
            self._results += 1
            self._before += item["tokens_before"]
            self._after += item["tokens_after"]
            self._keys += len(item["keys"])

    @property
    def tokens_saved(self) -> int:
        with self._lock:
            return self._before - self._after

    def snapshot(self) -> dict[str, int]:
        """``results``, ``tokens_before``, ``tokens_after``, ``tokens_saved``, ``keys_written``."""
        with self._lock:
            return {
                "results": self._results,
                "tokens_before": self._before,
                "tokens_after": self._after,
                "tokens_saved": self._before - self._after,
                "keys_written": self._keys,
            }
