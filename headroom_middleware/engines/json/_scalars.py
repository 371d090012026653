"""Numbers: outliers (median/MAD), change points (strongest mean shift), and the summary a crushed
array of numbers carries in its marker (the mean; the count is in the marker, the minimum and maximum
among the kept values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container


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


Note = Callable[[int, float, int], None]
"""Adds weight to an item: (index, weight, reason bit)."""
# Identifiers are numbers without magnitude: no outliers or change points in them.
ID_NAME_RE = re.compile(r"(?:^|[._\-\]])(?:id|ids|uid|pid|number|num|index|idx)$|[a-z]Id$", re.I)


def outliers(
    numbers: dict[str, list[tuple[int, float]]], categorical: Container[str], note: Note, why: int
) -> None:
    """Up to five points per numeric field with robust z > 3.5 (median/MAD)."""
    for path, pts in numbers.items():
        if len(pts) < 5 or path in categorical or ID_NAME_RE.search(path):
            continue  # few distinct values: rarity covers them
        xs = sorted(x for _, x in pts)
        med = xs[len(xs) // 2]
        mad = sorted(abs(x - med) for x in xs)[len(xs) // 2]
        if mad == 0 or not math.isfinite(mad):
            continue
        # Only points past the cut-off (robust z > 3.5) are ranked; the five strongest are kept.
        reach = 3.5 * 1.4826 * mad
        far = [(-abs(x - med), i) for i, x in pts if abs(x - med) > reach]
        for _, i in sorted(far)[:5]:
            note(i, 1.0, why)


def change_points(numbers: dict[str, list[tuple[int, float]]], n: int, note: Note, why: int) -> None:
    """The strongest mean shift of each numeric series, when it is clear (both sides >= 3 points)."""
    for path, pts in numbers.items():
        m = len(pts)
        if m < 8 or m * 10 < n * 8 or ID_NAME_RE.search(path):
            continue
        xs = [x for _, x in pts]
        if not all(abs(x) < 1e100 for x in xs):  # squares must stay finite
            continue
        if m > CHANGE_BLOCKS * 2:
            # Long series: find the shift on block means, then report the block boundary.
            size = m // CHANGE_BLOCKS
            blocks = [math.fsum(xs[b : b + size]) / size for b in range(0, size * CHANGE_BLOCKS, size)]
            k = _best_split(blocks)
            if k > 0:
                at = k * size
                note(pts[at - 1][0], 1.0, why)
                note(pts[at][0], 1.0, why)
            continue
        k = _best_split(xs)
        if k > 0:
            note(pts[k - 1][0], 1.0, why)
            note(pts[k][0], 1.0, why)


CHANGE_BLOCKS = 1000
"""Series longer than twice this are searched for a shift on this many block means."""


def _best_split(xs: list[float]) -> int:
    """Where the strongest clear mean shift of ``xs`` is (both sides >= 3 points), or -1."""
    m = len(xs)
    total = sum(xs)
    total_sq = sum(x * x for x in xs)
    best, best_k = 0.0, -1
    left = left_sq = 0.0
    for k in range(1, m):
        left += xs[k - 1]
        left_sq += xs[k - 1] ** 2
        if k < 3 or m - k < 3:
            continue
        mean_l, mean_r = left / k, (total - left) / (m - k)
        ss = (left_sq - k * mean_l**2) + (total_sq - left_sq - (m - k) * mean_r**2)
        sd = math.sqrt(max(ss, 0.0) / (m - 2))
        diff = abs(mean_l - mean_r)
        stat = diff / sd * math.sqrt(k * (m - k) / m) if sd > 0 else (math.inf if diff > 0 else 0.0)
        if stat > best:
            best, best_k = stat, k
    return best_k if best_k > 0 and best > 6.0 else -1
