"""Which rows of a table matter: a status that says trouble (``CrashLoopBackOff``, ``Exited (137)``, ``0/1``
ready, a rare status, a process stuck in I/O), and numbers far above the rest of their column (robust: median
and MAD of log-scaled values, zeros left out)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from statistics import median

from .._signals import ERROR_WORDS_RE, EXIT_FIELDS
from ._table_parse import LS_NAMES, Table

_STATUS_NAMES = (
    "status",
    "state",
    "phase",
    "stat",
    "s",  # top's process state
    "active",  # systemctl's unit state (its SUB column says ``dead`` for every unit merely not started)
    "health",
    "conclusion",
    "result",
    "outcome",
    "condition",
    "level",
    "severity",
    "type",
)
_NOT_MEASURES_RE = re.compile(
    r"(?i)(?:^|[^a-z])(?:id|pid|ppid|pgid|sid|uid|gid|port|ports|inode|node|device|tty|no|num|number|index|idx|"
    r"date|time|start|started|created|updated|age|year|month|day|version|revision|zip|phone|mode|links|"
    r"lat|lon|latitude|longitude)(?:[^a-z]|$)"
)
_UNHEALTHY_RE = re.compile(
    r"(?i)backoff|err|fail|kill|evict|pending|unknown|unhealthy|not ?ready|terminat|containercreating|"
    r"degraded|restarting|dead|lost|declined|rejected|cancel|time[sd]? ?out|crash|oom|abort|invalid|refused|"
    r"denied|unavailable|unschedulable|schedulingdisabled|critical|warn|init:|exited \((?!0\))"
)
_HEALTHY_TEXT = """
running ready completed succeeded success up active ok healthy bound available deployed true passed pass
done delivered shipped open enabled listen listening established
"""
_PROCESS_STATE_NAMES = frozenset({"s", "stat"})
"""ps/top state columns: a state is ``R``/``S``/``I`` plus flags (``Ssl+``), rare combinations are normal;
what matters is the first letter: ``D`` (stuck in uninterruptible I/O), ``Z`` (zombie), ``T`` (stopped)."""
_BAD_PROCESS_STATES = frozenset("DZT")
# Status keys that say all is well even when rare (a job container that exited cleanly).
_HEALTHY_STATUS = frozenset([*_HEALTHY_TEXT.split(), "exited (0)"])
_GROUPED_RE = re.compile(r"\s*(-?\d{1,3}(?:,\d{3})+)(\.\d+)?\s*")
"""``12,345.67``: thousands separated by commas."""
_DECIMAL_COMMA_RE = re.compile(r"\s*(-?\d{1,3}(?:\.\d{3})*|-?\d+),(\d+)\s*")
"""``1.234,56`` or ``19,99``: a decimal comma (European spreadsheets), thousands separated by dots."""
_NUMBER_RE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*(%|[kKmMgGtTpP]i?[bB]?|)(?:\s*\([^)]*\))?\s*")
# "m" is kubectl's milli-CPU; sizes are decimal (k, M, G…) or binary with "i" (Ki, Mi, Gi…).
_UNIT = {
    "": 1.0, "%": 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "g": 1e9, "G": 1e9, "t": 1e12, "T": 1e12,
    "p": 1e15, "P": 1e15,
}  # fmt: skip
_FULL_PERCENT = 90.0
"""A percentage this high (disk ``Use%``, ``CPU%``) is worth seeing whatever the rest look like."""
_OUTLIER_MIN_RATIO = math.log(8)
"""An outlier is at least 8x the median (in log1p space), however tight the rest are."""
_OUTLIER_MADS = 5.0
_MIN_ROWS_FOR_OUTLIERS = 8
_MISSING_TEXT = "null none nan <null> n/a"
_MISSING = frozenset(
    ["", *_MISSING_TEXT.split(), *_MISSING_TEXT.upper().split(), "Null", "None", "NaN", "N/A"]
)
"""Cells that hold no value: psql prints NULL as nothing, pandas as ``NaN``, others spell it out."""
_MAX_CATEGORIES = 20
"""A column with at most this many distinct values (all without digits) holds categories (REASON, TYPE)."""


def _status_key(value: str) -> str:
    """What a status says, without its times: ``Exited (137) 2 hours ago`` -> ``Exited (137)``."""
    words = value.split()
    if not words:
        return ""
    if "(" not in value:
        return words[0]
    parens = re.findall(r"\([^)]*\)", value)
    return " ".join([words[0], *(p for p in parens if not re.search(r"\d+\s*\w+ ago", p))])


def _number(value: str) -> float | None:
    try:
        return float(value)  # the common case, in C
    except ValueError:
        pass
    m = _NUMBER_RE.fullmatch(value)
    if m is None:
        return _separated_number(value)
    unit = m.group(2)
    scale = _UNIT.get(unit[:1], 1.0)
    if len(unit) >= 2 and unit[1] == "i":
        scale = 1024.0 ** (" KMGTP".index(unit[0].upper()) if unit[0].upper() in "KMGTP" else 0)
    return float(m.group(1)) * scale


def _separated_number(value: str) -> float | None:
    """``12,345.67`` or ``1.234,56``; None when ``value`` is neither."""
    m = _GROUPED_RE.fullmatch(value)
    if m is not None:
        return float(m.group(1).replace(",", "") + (m.group(2) or ""))
    m = _DECIMAL_COMMA_RE.fullmatch(value)
    if m is not None:
        return float(f"{m.group(1).replace('.', '')}.{m.group(2)}")
    return None


def _log_scale(value: float) -> float:
    """Sizes, counts and durations spread over decades; outliers are judged on their logarithm."""
    return math.copysign(math.log1p(abs(value)), value)


def _column_numbers(cells: list[str]) -> list[float | None]:
    """The numbers in a column's cells (None where a cell holds none); plain numbers parse in C."""
    try:
        return list(map(float, cells))
    except ValueError:
        return [_number(cell) for cell in cells]


def outlier_rows(table: Table) -> list[int]:
    """Rows (line indices) holding a value far above the rest of its numeric column."""
    found: list[int] = []
    n = len(table.rows)
    if n < _MIN_ROWS_FOR_OUTLIERS:
        return found
    cap = max(3, n // 100)
    for c, name in enumerate(table.names):
        if _NOT_MEASURES_RE.search(name):
            continue
        probe = [f[c] for f in table.fields[:20] if c < len(f) and f[c]]
        if not probe or sum(_number(cell) is not None for cell in probe) < 0.8 * len(probe):
            continue
        column = _column_numbers([f[c] if c < len(f) else "" for f in table.fields])
        present = [(v, row) for v, row in zip(column, table.rows, strict=True) if v is not None]
        if len(present) < 0.8 * n:
            continue
        if sum(cell.endswith("%") for cell in probe) >= 0.8 * len(probe):
            found += [row for v, row in present if v >= _FULL_PERCENT][:cap]
        values = [v for v, _ in present]
        scaled = list(map(math.log1p, values)) if min(values) >= 0 else list(map(_log_scale, values))
        points = list(zip(scaled, (row for _, row in present), strict=True))
        nonzero = [p for p in points if p[0] != 0]
        if len(nonzero) >= _MIN_ROWS_FOR_OUTLIERS:
            # Zeros (no charge, no restarts, an empty queue) say nothing of how far apart the other
            # values are; a third of them would widen the spread enough to hide a 100x amount.
            points = nonzero
        high = _far_above(points)
        if len(high) > cap:
            # Too many to be outliers: a column mostly 0 (a socket queue, a retry count) whose non-zero
            # values are a population of their own. Outliers are the values far above that population.
            high = _far_above(high)
        found += [row for _, row in sorted(high, key=lambda p: (-p[0], p[1]))[:cap]]
    return found


def _far_above(points: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """The ``(scaled value, row)`` points far above the median of ``points`` (robust: median and MAD)."""
    scaled = [y for y, _ in points]
    mid = median(scaled)
    spread = 1.4826 * median([abs(y - mid) for y in scaled])
    threshold = mid + max(_OUTLIER_MADS * spread, _OUTLIER_MIN_RATIO)
    return [p for p in points if p[0] > threshold]


def status_column(names: Sequence[str]) -> int | None:
    lowered = [name.strip().lower() for name in names]
    for wanted in _STATUS_NAMES:
        if wanted in lowered:
            return lowered.index(wanted)
    return None


def unhealthy_rows(table: Table, lines: Sequence[str]) -> tuple[list[int], list[str]]:
    """Rows whose status, readiness or exit code says trouble, and every row's status key."""
    lowered = [name.strip().lower() for name in table.names]
    status = status_column(table.names)
    ready = lowered.index("ready") if "ready" in lowered else None
    exits = [c for c, name in enumerate(lowered) if name.replace(" ", "_") in EXIT_FIELDS]
    process = status is not None and lowered[status] in _PROCESS_STATE_NAMES
    key_of = (lambda v: v[:1]) if process else str.strip if table.delimited else _status_key
    keys = [key_of(f[status]) if status is not None and status < len(f) else "" for f in table.fields]
    counts = Counter(keys)
    rare = max(1, len(table.rows) // 100)
    categorical = status is not None and len(counts) <= 20
    bad: list[int] = []
    says_trouble: dict[str, bool] = {}  # statuses repeat: test each distinct value once
    for row, f, key in zip(table.rows, table.fields, keys, strict=True):
        if status is not None:
            value = f[status] if status < len(f) else ""
            trouble = says_trouble.get(value)
            if trouble is None:
                trouble = says_trouble[value] = _UNHEALTHY_RE.search(value) is not None
            if process:  # ``R``/``S``/``I`` with flags, however rare, are normal; the letter says it all
                trouble = key in _BAD_PROCESS_STATES
            else:
                trouble = trouble or (
                    categorical and counts[key] <= rare and key.lower() not in _HEALTHY_STATUS
                )
        else:
            trouble = False
        if not trouble and ready is not None and ready < len(f):
            have, _, want = f[ready].partition("/")
            done = key.lower() in ("completed", "succeeded")
            trouble = have.isdigit() and want.isdigit() and int(have) < int(want) and not done
        if not trouble and exits:
            trouble = any(c < len(f) and f[c].strip() not in ("", "0") for c in exits)
        if trouble:
            bad.append(row)
    if status is None and table.names != list(LS_NAMES):
        # No status column: fall back to error words anywhere in the row, unless they are everywhere
        # (not for ``ls -l``, where they would only pick file names like ``timeout`` or ``error.log``).
        worded = [row for row in table.rows if ERROR_WORDS_RE.search(lines[row])]
        if len(worded) <= max(3, len(table.rows) // 5):
            bad = sorted({*bad, *worded})
    return rarest_first(table, bad), keys


def rarest_first(table: Table, rows: list[int]) -> list[int]:
    """``rows`` ordered by how rare their rarest category is (stable): among 90 Warning events of kinds
    seen every minute (probe failures, BackOff), the one ``FailedMount`` comes first, so a budget that
    keeps a few trouble rows keeps the one that differs from the rest of the trouble too."""
    if len(rows) < 2:
        return rows
    counters: list[tuple[int, Counter[str]]] = []
    width = max(map(len, table.fields), default=0)
    for c in range(width):
        # A probe of the first rows rules out most columns (ids, names, numbers) before a full count.
        if not _categories([f[c] if c < len(f) else "" for f in table.fields[:50]]):
            continue
        counts = Counter(f[c] if c < len(f) else "" for f in table.fields)
        if _categories(counts):
            counters.append((c, counts))
    if not counters:
        return rows
    fields_of = dict(zip(table.rows, table.fields, strict=True))

    def rarity(row: int) -> int:
        f = fields_of.get(row, [])
        return min(counts[f[c] if c < len(f) else ""] for c, counts in counters)

    return sorted(rows, key=rarity)


def _categories(values: Iterable[str]) -> bool:
    """True when ``values`` hold few distinct words without digits (``Warning``, ``FailedMount``)."""
    distinct = set(values)
    return len(distinct) <= _MAX_CATEGORIES and not any(ch.isdigit() for value in distinct for ch in value)


def missing_rows(table: Table) -> list[int]:
    """Rows with no value (empty, ``NULL``) in a column nearly every other row fills: a NULL amount
    among 2,400 orders is what broke the report; a column often empty (a note) says nothing."""
    n = len(table.rows)
    if n < _MIN_ROWS_FOR_OUTLIERS:
        return []
    rare = max(1, n // 100)
    found: list[int] = []
    for c in range(len(table.names)):
        cells = list(map(str.strip, [f[c] if c < len(f) else "" for f in table.fields]))
        if _MISSING.isdisjoint(cells):  # the common case, in C
            continue
        empty = [row for row, cell in zip(table.rows, cells, strict=True) if cell in _MISSING]
        if len(empty) <= rare:
            found += empty
    return sorted(set(found))


def round_robin(rows: list[int], status_of: dict[int, str]) -> list[int]:
    """``rows`` reordered to take one row of each status in turn (statuses in order of appearance)."""
    groups: dict[str, list[int]] = {}
    for row in rows:
        groups.setdefault(status_of.get(row, ""), []).append(row)
    order: list[int] = []
    for k in range(max(map(len, groups.values()), default=0)):
        order += [group[k] for group in groups.values() if k < len(group)]
    return order
