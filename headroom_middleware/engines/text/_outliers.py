"""Numeric outliers of a log: lines whose duration or size is far above the rest of their template.

A template with a unit slot (``served <*> in <ms>``, ``rt=<num>``) and enough lines is a series per slot;
a value far above the slot's median (median absolute deviation, and at least three times the median) is
an outlier. Values are read in one regex pass over the joined lines of a template, anchored on the
literal text before the slot (C-speed search), or by the slot's rank among the line's durations when
only masked tokens precede it.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import compress as select_where
from itertools import repeat
from operator import itemgetter

from ._groups import Groups
from ._templates import MASK, TEMPLATE_CHARS, UNIT_VALUE_RE
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
BARE_MIN_LINES = 20
"""Lines a template needs before its unit-less number slots are examined (no unit or key says what
they measure, so more evidence than for ``<ms>``)."""
BARE_FACTOR = 10.0
"""A unit-less value is an outlier only from this many times its slot's median on (ids, ports and
counters spread evenly and stay within about twice it)."""
ZERO_MEDIAN_STEPS = 10
"""Over a median of 0, a value is an outlier only from this many steps of its printed precision on
(``0.42s`` is 42 steps of 0.01, ``0.01s`` one: the rounding of a value that is really about 0)."""
_BARE_RE = re.compile(r"\d+(?:\.\d+)?")
_BARE_COLUMN_RE = re.compile(r"\d+(?:\.\d+)?(?:\n\d+(?:\.\d+)?)*")


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


def bare_number_outliers(index: LineIndex, groups: Groups, skip: set[int]) -> list[tuple[int, str]]:
    """Lines whose unit-less number is far above the rest of its column in their template: (index, note).

    Access logs print durations and sizes as bare columns (Envoy's ``"-" 0 91 30012 30011 "-"``, a W3C
    log's ``time-taken``), which ``template_outliers`` cannot see: no unit, no key. Lines of a template
    with ``BARE_MIN_LINES`` lines are split on blanks (C speed); among those with the template's most
    common field count, a field that is a plain number on every line is a series. Lines in ``skip``
    (stack frames, whose line numbers are no series) are left out.
    """
    wanted = {t for t, c in groups.counts.items() if c >= BARE_MIN_LINES and MASK in t}
    if not wanted:
        return []
    rows_of: dict[str, list[int]] = {}
    for i, t in enumerate(groups.templates):
        if t in wanted and i not in skip:
            rows_of.setdefault(t, []).append(i)
    lines = index.scan_lines
    found: dict[int, str] = {}
    for rows in rows_of.values():
        rows = rows[:OUTLIER_RANK_LIMIT]
        fields = [line[:TEMPLATE_CHARS].split() for line in map(lines.__getitem__, rows)]
        width = Counter(map(len, fields)).most_common(1)[0][0]  # a varying user agent shifts columns
        keep = [len(f) == width for f in fields]
        aligned_rows = list(select_where(rows, keep))
        aligned = list(select_where(fields, keep))
        if len(aligned_rows) < BARE_MIN_LINES:
            continue
        for k, v in enumerate(aligned[0]):
            if not _BARE_RE.fullmatch(v):
                continue
            column = list(map(itemgetter(k), aligned))
            if _BARE_COLUMN_RE.fullmatch("\n".join(column)):  # one C-speed pass, not a match per value
                pairs = list(zip(column, repeat("", len(column)), strict=True))
                for i, note in _far_above(aligned_rows, pairs, bare=True):
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


def _far_above(rows: list[int], pairs: list[tuple[str, str]], bare: bool = False) -> list[tuple[int, str]]:
    """The few values far above the median of their slot (robust: median absolute deviation).

    ``bare`` (unit-less values, whose column may mix two populations, such as the response sizes of two
    endpoints sharing a template): at least ``BARE_FACTOR`` times a median above 0, and only when at most
    ``OUTLIERS_PER_TEMPLATE`` values are that far (more are a second mode, not outliers)."""
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
    if med <= 0 and bare:  # a mostly-zero column (bytes received by GETs): no scale to judge by
        return []
    mad = sorted(map(abs, map(med.__rsub__, values)))[n // 2]
    spread = 1.4826 * mad if mad > 0 else max(med, 1e-9) * 0.5
    threshold = max(med + 8 * spread, (BARE_FACTOR if bare else 3.0) * med)
    if bare and values[order[-1 - OUTLIERS_PER_TEMPLATE]] > threshold:  # n > 3 (OUTLIER_MIN_LINES)
        return []
    out: list[tuple[int, str]] = []
    for k in reversed(order):
        if values[k] <= threshold or len(out) == OUTLIERS_PER_TEMPLATE:
            break
        if med <= 0 and _steps(pairs[k][0]) < ZERO_MEDIAN_STEPS:  # "Sys=0.01s" among "0.00s": rounding
            break
        out.append((rows[k], f"(outlier: {''.join(pairs[k])}, typical {typical})"))
    return out


def _steps(num: str) -> float:
    """``num`` in units of its last printed digit (``0.42`` -> 42, ``5000`` -> 5000)."""
    _, dot, frac = num.partition(".")
    return float(num) * 10 ** len(frac) if dot else float(num)
