"""Numeric outliers of a log: lines whose duration or size is far above the rest of their template.

A template with a unit slot (``served <*> in <ms>``, ``rt=<num>``) and enough lines is a series per slot;
a value far above the slot's median (median absolute deviation, and at least three times the median) is
an outlier. Values are read in one regex pass over the joined lines of a template, anchored on the
literal text before the slot (C-speed search), or by the slot's rank among the line's durations when
only masked tokens precede it.
"""

from __future__ import annotations

import re
from itertools import compress as select_where
from operator import itemgetter

from ._groups import Groups
from ._templates import TEMPLATE_CHARS, UNIT_VALUE_RE
from ._textlines import LineIndex

UNIT_SLOT_RE = re.compile(
    r"<(?:num|ns|us|µs|ms|s|sec|secs|seconds|min|mins|minutes|h|hours|B|bytes|kB|KB|KiB|MB|MiB|GB|GiB|TB|TiB)>"
)
"""A template's duration or size slot (``<ms>``, ``<MB>``; ``<num>`` for a keyed unit-less value)."""
_VALUE_AT_RE = re.compile(r"\s*" + UNIT_VALUE_RE.pattern.removeprefix(r"(?<![\w.])"))
_NUM_AT_RE = re.compile(r"(\d+(?:\.\d+)?)()(?![\w.])")
_SCALE = {
    "": ("n", 1.0),
    "ns": ("t", 1e-6), "us": ("t", 1e-3), "µs": ("t", 1e-3), "ms": ("t", 1.0), "s": ("t", 1e3),
    "sec": ("t", 1e3), "secs": ("t", 1e3), "seconds": ("t", 1e3), "min": ("t", 6e4), "mins": ("t", 6e4),
    "minutes": ("t", 6e4), "h": ("t", 3.6e6), "hours": ("t", 3.6e6), "b": ("b", 1.0), "bytes": ("b", 1.0),
    "kb": ("b", 1e3), "kib": ("b", 1024.0), "mb": ("b", 1e6), "mib": ("b", 1024.0**2), "gb": ("b", 1e9),
    "gib": ("b", 1024.0**3), "tb": ("b", 1e12), "tib": ("b", 1024.0**4),
}  # fmt: skip

OUTLIER_MIN_LINES = 8
OUTLIER_SCAN_LIMIT = 200_000
"""Lines of one template examined for numeric outliers at most (bounded work on huge logs)."""
OUTLIERS_PER_TEMPLATE = 3
OUTLIER_RANK_LIMIT = 20_000
"""Lines of one template examined at most when a slot has no literal before it (a regex per line)."""


def template_outliers(index: LineIndex, groups: Groups) -> list[tuple[int, str]]:
    """Lines whose duration or size is far above the rest of their template: (index, note).

    Only templates that hold a unit slot (``<ms>``, ``<MB>``…) and have enough lines are examined; their
    lines are scanned in one regex pass over their join, not one call per line.
    """
    slotted = [t for t, c in groups.counts.items() if c >= OUTLIER_MIN_LINES and UNIT_SLOT_RE.search(t)]
    found: dict[int, str] = {}
    lines = index.scan_lines
    n = len(lines)
    for t in slotted:
        rows = list(select_where(range(n), map(t.__eq__, groups.templates)))[:OUTLIER_SCAN_LIMIT]
        joined = "\n".join([lines[i] for i in rows])
        for slot in UNIT_SLOT_RE.finditer(t):
            # The literal text just before the slot anchors it: a pattern starting with a literal is
            # searched at C speed, where a digit-led pattern crawls through every number of every line.
            before = t[: slot.start()]
            anchor = before[before.rfind(">") + 1 :].strip()
            if len(anchor) < 2:  # only a masked token before it ("GET <*> <*> <ms>"): find it by rank
                if slot.group() != "<num>":
                    rank = sum(1 for s in UNIT_SLOT_RE.findall(before) if s != "<num>")
                    for i, note in _far_above(*_ranked_values(lines, rows[:OUTLIER_RANK_LIMIT], rank)):
                        found.setdefault(i, note)
                continue
            # Blank runs are one space in a template, any run in the line ("LOG:  duration: 12 ms").
            lit = r"[ \t]+".join(map(re.escape, anchor.split()))
            if slot.group() == "<num>":  # unit-less (``rt=0.146``): an empty unit, scale 1
                # The literal leads (C-speed search); the lookbehind after it rejects "urt=" for "rt=".
                guard = rf"(?<![\w.-]{lit})" if " " not in anchor else ""
                pattern = re.compile(lit + guard + r"[ \t]*" + _NUM_AT_RE.pattern)
            else:
                pattern = re.compile(lit + _VALUE_AT_RE.pattern)
            slot_rows = rows
            pairs = pattern.findall(joined)
            if len(pairs) != len(rows):  # not one value per line: match line by line instead
                found_rows = [(i, m.groups()) for i in rows if (m := pattern.search(lines[i])) is not None]
                slot_rows = [i for i, _ in found_rows]
                pairs = [g for _, g in found_rows]
            for i, note in _far_above(slot_rows, pairs):
                found.setdefault(i, note)
    return sorted(found.items())


def _ranked_values(lines: list[str], rows: list[int], rank: int) -> tuple[list[int], list[tuple[str, str]]]:
    """The ``rank``-th duration or size (0-based) of each row, as (rows that have one, (value, unit))."""
    out_rows: list[int] = []
    pairs: list[tuple[str, str]] = []
    for i in rows:
        found = UNIT_VALUE_RE.findall(lines[i][:TEMPLATE_CHARS])
        if len(found) > rank:
            out_rows.append(i)
            pairs.append(found[rank])
    return out_rows, pairs


def _far_above(rows: list[int], pairs: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """The few values far above the median of their slot (robust: median absolute deviation)."""
    n = len(rows)
    if n < OUTLIER_MIN_LINES:
        return []
    units = set(map(itemgetter(1), pairs))
    if len(units) == 1:
        scale = _SCALE[units.pop().lower()][1]
        values = list(map(scale.__mul__, map(float, map(itemgetter(0), pairs))))
    else:
        values = [float(num) * _SCALE[unit.lower()][1] for num, unit in pairs]
    order = sorted(range(n), key=values.__getitem__)
    med = values[order[n // 2]]
    typical = "".join(pairs[order[n // 2]])
    mad = sorted(map(abs, map(med.__rsub__, values)))[n // 2]
    spread = 1.4826 * mad if mad > 0 else max(med, 1e-9) * 0.5
    threshold = max(med + 8 * spread, 3 * med)
    out: list[tuple[int, str]] = []
    for k in reversed(order):
        if values[k] <= threshold or len(out) == OUTLIERS_PER_TEMPLATE:
            break
        out.append((rows[k], f"(outlier: {''.join(pairs[k])}, typical {typical})"))
    return out
