"""Arrays of numbers: the summary the marker carries (count, min, max, mean).

Which numbers are kept (extremes, outliers, change points) is decided with every other array in
``_stats`` and ``_select``; this module only words what the model reads about the numbers left out.
"""

from __future__ import annotations

import math


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def numeric_summary(items: list[object]) -> str:
    """``count 500, min 1, max 99, mean 12.3`` for an all-number array; "" otherwise."""
    if not items or not all(type(x) in (int, float) for x in items):
        return ""
    xs = [float(x) for x in items]  # type: ignore[arg-type]
    if not all(math.isfinite(x) for x in xs):
        return ""
    return (
        f"count {len(xs):,}, min {_fmt(min(xs))}, max {_fmt(max(xs))}, mean {_fmt(math.fsum(xs) / len(xs))}"
    )
