"""Arrays of numbers: the summary the marker carries (the mean; the count is in the marker, the
minimum and maximum among the kept values).

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
    """``mean 12.3`` for an all-number array; "" otherwise. The count is in the marker, and the minimum
    and maximum are always among the kept values."""
    if not items or not all(type(x) in (int, float) for x in items):
        return ""
    xs = [float(x) for x in items]  # type: ignore[arg-type]
    if not all(math.isfinite(x) for x in xs):
        return ""
    return f"mean {_fmt(math.fsum(xs) / len(xs))}"
