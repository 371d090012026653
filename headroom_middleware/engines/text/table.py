"""The table engine: ``kubectl get``, ``ps aux``, ``docker ps``, ``ls -l``, CSV/TSV, aligned columns.

A table's rows are mostly alike; an agent needs the header, the rows that are not like the rest, and
how many rows were alike. The engine keeps the header, every row whose status says trouble
(CrashLoopBackOff, Error, Failed, Pending, OOMKilled, Evicted, ``Exited (137)``, ``0/1`` ready, a
non-zero exit code, a rare status value), every row with a numeric outlier in some column (robust:
median and MAD of log-scaled values, so 57 restarts among zeros stands out but 2 does not), rows that
match a rare query term, and the first few rows as a sample; gaps say what was left out
(``[… 480 Running rows omitted …]``). Over budget, the sample goes first, then anomalies from the
lowest rank. Rows are shown exactly as they were, never re-aligned.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from statistics import median

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from .._signals import ERROR_WORDS_RE, EXIT_FIELDS
from ._search_budget import fit_levels, render_selection, within_budget
from ._search_terms import line_starts, query_lines
from ._textlines import split_lines
from .generic import compress_generic

HEADER, ROW, BLANK, OTHER = range(4)
SAMPLE_ROWS = 3
"""Rows shown from the top of each table, so the model sees what an ordinary row looks like."""

_LS_RE = re.compile(r"[-dlcbpsDn][rwxsStTl-]{9}[.+@]?\s+\d+\s")
_LS_NAMES = ("mode", "links", "owner", "group", "size", "month", "day", "time", "name")
_UPPER_TOKEN_RE = re.compile(r"[A-Z%#][A-Z0-9_%()/.:#-]*")
_TITLE_TOKEN_RE = re.compile(r"[A-Za-z%#][A-Za-z0-9_%()/.:#+-]*")
_CSV_HEADER_FIELD_RE = re.compile(r"\s*\"?[A-Za-z_#%][^\n]{0,63}")
_DELIMITERS = (",", "\t", ";", "|")

_STATUS_NAMES = (
    "status",
    "state",
    "phase",
    "stat",
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
done delivered shipped open enabled
"""
# Status keys that say all is well even when rare (a job container that exited cleanly).
_HEALTHY_STATUS = frozenset([*_HEALTHY_TEXT.split(), "exited (0)"])
_NUMBER_RE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*(%|[kKmMgGtTpP]i?[bB]?|)(?:\s*\([^)]*\))?\s*")
# "m" is kubectl's milli-CPU; sizes are decimal (k, M, G…) or binary with "i" (Ki, Mi, Gi…).
_UNIT = {"": 1.0, "%": 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "g": 1e9, "G": 1e9, "t": 1e12, "T": 1e12}
_UNIT |= {"p": 1e15, "P": 1e15}
_FULL_PERCENT = 90.0
"""A percentage this high (disk ``Use%``, ``CPU%``) is worth seeing whatever the rest look like."""
_OUTLIER_MIN_RATIO = math.log(8)
"""An outlier is at least 8x the median (in log1p space), however tight the rest are."""
_OUTLIER_MADS = 5.0
_MIN_ROWS_FOR_OUTLIERS = 8


def looks_like(head: str) -> bool:
    """True when the first few KB read as a table (aligned columns under a header, ``ls -l``, CSV/TSV)."""
    if head.lstrip()[:1] in ("{", "[", "<"):
        return False
    lines = head.split("\n")[:40]
    if len(lines) > 1 and len(head) >= 4096:
        lines.pop()  # the last line of the peek may be cut short
    lines = [line for line in lines if line.strip()]
    if len(lines) < 3:
        return False
    return (
        _is_ls(lines) or _delimiter_of(lines) is not None or _aligned_header(lines[0], lines[1:]) is not None
    )


def _is_ls(lines: Sequence[str]) -> bool:
    body = lines[1:] if lines and lines[0].startswith("total ") else lines
    return len(body) >= 2 and sum(1 for line in body if _LS_RE.match(line)) >= 0.8 * len(body)


def _split_delimited(line: str, delimiter: str) -> list[str]:
    if '"' not in line:
        return line.split(delimiter)
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a stray "\r" or NUL: not CSV the module accepts, split plainly
        return line.split(delimiter)


def _delimiter_of(lines: Sequence[str]) -> str | None:
    """The CSV/TSV delimiter when the lines are a delimited table with a header of names."""
    if not lines:
        return None
    for delimiter in _DELIMITERS:
        if delimiter not in lines[0]:
            continue
        header = _split_delimited(lines[0], delimiter)
        if len(header) < 2 or not all(_CSV_HEADER_FIELD_RE.fullmatch(f) or not f for f in header):
            continue
        if sum(1 for f in header if f.strip()) < 2:
            continue
        same = sum(1 for line in lines[1:] if len(_split_delimited(line, delimiter)) == len(header))
        if same >= 0.8 * (len(lines) - 1):
            return delimiter
    return None


def _aligned_header(header: str, rows: Sequence[str]) -> list[tuple[int, int]] | None:
    """Spans of the header's words when ``header`` heads whitespace-aligned columns, else None.

    Every word must look like a column name, and the rows must line up under it: a word's column is
    aligned in a row when the row has a value starting where the word starts (left-aligned, as
    kubectl and docker print) or ending where it ends (right-aligned numbers, as ps prints).
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", header)]
    if len(words) < 3 or header[:1].isspace():
        return None
    tokens = [header[s:e] for s, e in words]
    upper = all(_UPPER_TOKEN_RE.fullmatch(t) for t in tokens)
    if not upper and not (tokens[0][:1].isupper() and all(_TITLE_TOKEN_RE.fullmatch(t) for t in tokens)):
        return None  # column names: NAME STATUS (kubectl, ps, docker) or Filesystem Size Used (df)
    sample = [row for row in rows[:30] if row.strip()]
    if len(sample) < 2:
        return None
    aligned = total = 0
    for row in sample:
        width = len(row)
        for s, e in words[1:]:
            total += 1
            if s >= width:
                aligned += 1
                continue
            left = row[s - 1] == " " and row[s] != " "
            right = e <= width and row[e - 1] != " " and (e == width or row[e] == " ")
            aligned += left or right
    return words if aligned >= 0.8 * total else None


@dataclass
class _Table:
    """One table: its header line, column names and the fields of each row (by line index)."""

    header: int
    names: list[str]
    rows: list[int] = field(default_factory=list)
    fields: list[list[str]] = field(default_factory=list)


def _aligned_fields(header: str, rows: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Column names and row fields of an aligned table.

    Left-aligned tables (kubectl, docker) may have empty cells and multi-word headers, so rows are cut
    where the header's columns start; right-aligned ones (ps) are split on whitespace instead, the
    last column taking the rest of the line (a command with its arguments).
    """
    columns = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", header)]
    starts = [s for s, _ in columns[1:]]
    sample = rows[:50]
    left_aligned = len(columns) >= 2 and all(
        all(s >= len(row) or row[s - 1] == " " for s in starts) for row in sample
    )
    if left_aligned:
        cuts = [0, *starts]
        names = [name for _, name in columns]
        fields = [
            [row[a:b].strip() for a, b in zip(cuts, [*starts, len(row) + 1], strict=True)] for row in rows
        ]
        return names, fields
    names = header.split()
    return names, [row.split(None, len(names) - 1) for row in rows]


def _parse(lines: Sequence[str]) -> tuple[bytearray, list[_Table]]:
    """Kind of every line and the tables (one per header; ``kubectl get all`` prints several)."""
    n = len(lines)
    kinds = bytearray([OTHER]) * n
    nonblank = [line for line in lines[:60] if line.strip()]
    tables: list[_Table] = []
    if not nonblank:
        return kinds, tables  # blank lines only: no table
    if _is_ls(nonblank):
        table = _Table(-1, list(_LS_NAMES))
        for i, line in enumerate(lines):
            if _LS_RE.match(line):
                kinds[i] = ROW
                table.rows.append(i)
                table.fields.append(line.split(None, len(_LS_NAMES) - 1))
            elif not line.strip():
                kinds[i] = BLANK
        return kinds, [table]
    delimiter = _delimiter_of(nonblank)
    if delimiter is not None:
        first = next(i for i, line in enumerate(lines) if line.strip())
        kinds[first] = HEADER
        table = _Table(first, [f.strip() for f in _split_delimited(lines[first], delimiter)])
        for i in range(first + 1, n):
            if lines[i].strip():
                kinds[i] = ROW
                table.rows.append(i)
            else:
                kinds[i] = BLANK
        body = [lines[i] for i in table.rows]
        # One reader over all rows is fast; it is only line-true when no quoted field spans lines.
        try:
            fields = list(csv.reader(body, delimiter=delimiter))
        except csv.Error:
            fields = []
        if len(fields) != len(body):
            fields = [_split_delimited(line, delimiter) for line in body]
        table.fields = fields
        return kinds, [table]
    # Aligned tables: a header is the first line of a block (after a blank line) that heads columns.
    i = 0
    while i < n:
        if not lines[i].strip():
            kinds[i] = BLANK
            i += 1
            continue
        end = i
        while end < n and lines[end].strip():
            end += 1
        block = lines[i + 1 : end]
        if block and _aligned_header(lines[i], block) is not None:
            names, fields = _aligned_fields(lines[i], block)
            kinds[i] = HEADER
            tables.append(_Table(i, names, list(range(i + 1, end)), fields))
            for j in range(i + 1, end):
                kinds[j] = ROW
        i = end
    return kinds, tables


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
        return None
    unit = m.group(2)
    scale = _UNIT.get(unit[:1], 1.0)
    if len(unit) >= 2 and unit[1] == "i":
        scale = 1024.0 ** (" KMGTP".index(unit[0].upper()) if unit[0].upper() in "KMGTP" else 0)
    return float(m.group(1)) * scale


def _log_scale(value: float) -> float:
    """Sizes, counts and durations spread over decades; outliers are judged on their logarithm."""
    return math.copysign(math.log1p(abs(value)), value)


def _column_numbers(cells: list[str]) -> list[float | None]:
    """The numbers in a column's cells (None where a cell holds none); plain numbers parse in C."""
    try:
        return list(map(float, cells))
    except ValueError:
        return [_number(cell) for cell in cells]


def _outlier_rows(table: _Table) -> list[int]:
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
        mid = median(scaled)
        spread = 1.4826 * median([abs(y - mid) for y in scaled])
        threshold = mid + max(_OUTLIER_MADS * spread, _OUTLIER_MIN_RATIO)
        high = sorted(
            ((y, row) for y, (_, row) in zip(scaled, present, strict=True) if y > threshold),
            key=lambda p: (-p[0], p[1]),
        )
        found += [row for _, row in high[:cap]]
    return found


def _status_column(names: Sequence[str]) -> int | None:
    lowered = [name.strip().lower() for name in names]
    for wanted in _STATUS_NAMES:
        if wanted in lowered:
            return lowered.index(wanted)
    return None


def _unhealthy_rows(table: _Table, lines: Sequence[str]) -> tuple[list[int], list[str]]:
    """Rows whose status, readiness or exit code says trouble, and every row's status key."""
    lowered = [name.strip().lower() for name in table.names]
    status = _status_column(table.names)
    ready = lowered.index("ready") if "ready" in lowered else None
    exits = [c for c, name in enumerate(lowered) if name.replace(" ", "_") in EXIT_FIELDS]
    keys = [_status_key(f[status]) if status is not None and status < len(f) else "" for f in table.fields]
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
            trouble = trouble or (categorical and counts[key] <= rare and key.lower() not in _HEALTHY_STATUS)
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
    if status is None and table.names != list(_LS_NAMES):
        # No status column: fall back to error words anywhere in the row, unless they are everywhere
        # (not for ``ls -l``, where they would only pick file names like ``timeout`` or ``error.log``).
        worded = [row for row in table.rows if ERROR_WORDS_RE.search(lines[row])]
        if len(worded) <= max(3, len(table.rows) // 5):
            bad = sorted({*bad, *worded})
    return bad, keys


def _round_robin(rows: list[int], status_of: dict[int, str]) -> list[int]:
    """``rows`` reordered to take one row of each status in turn (statuses in order of appearance)."""
    groups: dict[str, list[int]] = {}
    for row in rows:
        groups.setdefault(status_of.get(row, ""), []).append(row)
    order: list[int] = []
    for k in range(max(map(len, groups.values()), default=0)):
        order += [group[k] for group in groups.values() if k < len(group)]
    return order


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget, or when nothing may be dropped, pass through; over it, keep the rows that differ."""
    if not ctx.lossy or within_budget(text, ctx):
        return Compressed(text, "passthrough")
    lines = split_lines(text)
    n = len(lines)
    kinds, tables = _parse(lines)
    if not tables:
        return compress_generic(text, ctx)  # not a table after all
    too_long = max(200, ctx.max_tokens)  # chars: never show one line that would crowd out the rest

    always = [i for i in range(n) if kinds[i] in (HEADER, OTHER) and len(lines[i]) <= too_long]
    status_of: dict[int, str] = {}
    unhealthy: list[int] = []
    outliers: list[int] = []
    samples: list[list[int]] = [[] for _ in range(SAMPLE_ROWS)]
    for table in tables:
        bad, keys = _unhealthy_rows(table, lines)
        unhealthy += bad
        outliers += _outlier_rows(table)
        if _status_column(table.names) is not None:
            status_of.update(zip(table.rows, keys, strict=True))
        for k, row in enumerate(table.rows[:SAMPLE_ROWS]):
            samples[k].append(row)
    asked = [i for i in query_lines(ctx.query, text, line_starts(lines)) if kinds[i] == ROW]
    # Rank anomalies: query matches, then outliers (few: capped per column), then trouble, one row of each
    # status in turn, so that 200 Evicted pods cannot crowd out the one CrashLoopBackOff under a budget.
    ranked: list[int] = []
    seen: set[int] = set()
    for row in [*asked, *sorted(outliers), *_round_robin(unhealthy, status_of)]:
        if row not in seen and len(lines[row]) <= too_long:
            seen.add(row)
            ranked.append(row)

    is_row = bytes(k == ROW for k in kinds)
    row_count = [0, *accumulate(is_row)]
    common = [key for key, _ in Counter(status_of.values()).most_common(3) if key]
    status_by_line = [status_of.get(i, "") for i in range(n)]
    per_status = {key: [0, *accumulate(map(key.__eq__, status_by_line))] for key in common}

    def describe(start: int, end: int) -> tuple[int, str] | None:
        rows = row_count[end] - row_count[start]
        if rows == 0:
            return None  # blank lines only
        noun = "row" if rows == 1 else "rows"
        parts = [(per_status[key][end] - per_status[key][start], key) for key in common]
        parts = [(count, key) for count, key in parts if count]
        if len(parts) == 1 and parts[0][0] == rows:
            return rows, f"{parts[0][1]} {noun}"
        if parts:
            listed = ", ".join(f"{count:,} {key}" for count, key in parts)
            more = ", …" if sum(count for count, _ in parts) < rows else ""
            return rows, f"{noun} ({listed}{more})"
        return rows, noun

    payload = text.encode("utf-8", "surrogatepass")
    key = make_key(payload)
    total_rows = row_count[n]
    trouble_set = set(unhealthy)
    outlier_set = set(outliers)
    asked_set = set(asked)

    def render(kept: list[int]) -> str:
        shown = [i for i in kept if kinds[i] == ROW]
        parts = [f"header, {len(shown):,} of {total_rows:,} rows"]
        for one, many, group in (
            ("unhealthy", "unhealthy", trouble_set),
            ("outlier", "outliers", outlier_set),
            ("query match", "query matches", asked_set),
        ):
            count = sum(1 for i in shown if i in group)
            if count:
                parts.append(f"{count:,} {one if count == 1 else many}")
        marker = _markers.omitted(n - len(kept), n, "lines", key, ", ".join(parts))
        return render_selection(lines, kept, describe, marker)

    def at_level(t: int) -> list[int]:
        # t = 0..SAMPLE_ROWS: fewer sample rows; beyond: fewer anomalies, lowest rank first.
        sample_rows = [row for rows in samples[: max(SAMPLE_ROWS - t, 0)] for row in rows]
        anomalies = ranked[: len(ranked) - max(t - SAMPLE_ROWS, 0)]
        return sorted({*always, *sample_rows, *anomalies})

    text_out = fit_levels(at_level, SAMPLE_ROWS + len(ranked), render, ctx)
    return Compressed(text_out, "table:rows", ((key, payload),))
