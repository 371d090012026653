"""The table engine: ``kubectl get``, ``ps aux``, ``docker ps``, ``ls -l``, CSV/TSV, aligned columns.

A table's rows are mostly alike; an agent needs the header, the rows that are not like the rest, and
how many rows were alike. The engine keeps the header, every row whose status says trouble
(CrashLoopBackOff, Error, Failed, Pending, OOMKilled, Evicted, ``Exited (137)``, ``0/1`` ready, a
non-zero exit code, a rare status value), every row with a numeric outlier in some column (robust:
median and MAD of log-scaled values, so 57 restarts among zeros stands out but 2 does not), rows that
match a rare query term, and the first few rows as a sample; gaps say what was left out
(``[… 480 Running rows omitted …]``). Over budget, the sample goes first, then anomalies from the
lowest rank. Rows are shown exactly as they were, never re-aligned.

Headers are found where tools print them: after a title line (``netstat``), after a summary block
(``top``), indented (``systemctl``); column names may hold one space (``NOMINATED NODE``) or be one
space apart (``Recv-Q Send-Q``), and the rows decide which. CSV records may span lines (quoted line
breaks) and are kept whole; a byte order mark, a title or ``sep=;`` line before the header, and the
borders and footer of mysql/psql/markdown tables are text around the table, not rows.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from itertools import compress as compress_items
from statistics import median
from typing import NamedTuple

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from .._signals import ERROR_WORDS_RE, EXIT_FIELDS
from ._search_budget import fit_levels, render_selection, within_budget
from ._search_terms import line_starts, query_lines
from ._textlines import split_lines
from .generic import compress_generic

HEADER, ROW, BLANK, OTHER, CONT = range(5)
"""Line kinds; CONT is a later line of a CSV record whose quoted field holds a line break."""
SAMPLE_ROWS = 3
"""Rows shown from the top of each table, so the model sees what an ordinary row looks like."""

_LS_RE = re.compile(r"[-dlcbpsDn][rwxsStTl-]{9}[.+@]?\s+\d+\s")
_LS_NAMES = ("mode", "links", "owner", "group", "size", "month", "day", "time", "name")
_UPPER_TOKEN_RE = re.compile(r"[A-Z%#][A-Z0-9_%()/.:#-]*|/")  # "/": ``MEM USAGE / LIMIT`` (docker stats)
_TITLE_TOKEN_RE = re.compile(r"[A-Za-z%#][A-Za-z0-9_%()/.:#+-]*")
_CSV_HEADER_FIELD_RE = re.compile(r"\s*\"?[A-Za-z_#%][^\n]{0,63}")
_DELIMITERS = (",", "\t", ";", "|")
_PEEK_LINES = 60
"""Lines looked at to decide whether (and how) a text is a table."""
_HEADER_BLOCKS = 3
"""Blocks (runs of non-blank lines) of the peek that may head a table: ``top`` prints one summary first."""
_ROW_SHARE = 0.6
"""Share of the peek's non-blank lines that must be table rows for the text to read as a table."""
_SPLIT_ROWS = 0.9
"""Share of rows that must line up under a header word set off by one space for it to be its own column."""
_MAX_RECORD_LINES = 200
"""A quoted CSV field spanning more lines than this is taken for a stray quote, not a record."""
_MAX_STRAY_LINES = 3
"""Lines of a delimited table without a delimiter (``(2000 rows)``) shown as text when this few."""

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
    raw = head.split("\n")[:_PEEK_LINES]
    if len(raw) > 1 and len(head) >= 4096:
        raw.pop()  # the last line of the peek may be cut short
    lines = [line for line in raw if line.strip()]
    if len(lines) < 3:
        return False
    if _is_ls(lines) or _delimited_header(lines) is not None:
        return True
    # Aligned columns: the header may follow a title line (``netstat``) or a summary block and a blank
    # line (``top``); the rows must then make up most of the peek, or a log quoting a table would pass.
    _, tables = _aligned_tables(raw, _HEADER_BLOCKS)
    rows = sum(len(t.rows) for t in tables)
    return rows >= 2 and rows >= _ROW_SHARE * len(lines)


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


def _delimited_header(lines: Sequence[str]) -> tuple[int, str] | None:
    """Index in ``lines`` of a delimited table's header, and its delimiter, when there is one.

    The header is the first line that is not blank or a border (mysql/psql/markdown draw them), or the
    next one when the first is a title or Excel's ``sep=;`` hint.
    """
    content = [i for i, line in enumerate(lines) if line.strip() and not _is_rule(line)]
    for k in content[:2]:
        delimiter = _delimiter_of([lines[i] for i in content if i >= k])
        if delimiter is not None:
            return k, delimiter
    return None


def _delimiter_of(lines: Sequence[str]) -> str | None:
    """The CSV/TSV delimiter when ``lines[0]`` is a header of names and the rest delimited records.

    Records are counted, not lines: a quoted field may hold line breaks (spreadsheet exports).
    """
    if not lines:
        return None
    first = _unmarked(lines[0])
    for delimiter in _DELIMITERS:
        if delimiter not in first:
            continue
        header = _split_delimited(first, delimiter)
        if len(header) < 2 or not all(_CSV_HEADER_FIELD_RE.fullmatch(f) or not f for f in header):
            continue
        if sum(1 for f in header if f.strip()) < 2:
            continue
        records = _records(lines, 1, len(lines), delimiter).fields
        same = sum(1 for fields in records if len(fields) == len(header))
        if records and same >= 0.8 * len(records):
            return delimiter
    return None


def _unmarked(header: str) -> str:
    """``header`` without a byte order mark (spreadsheet exports start with one; it takes no column)."""
    return header[1:] if header.startswith("\ufeff") else header


def _is_rule(line: str) -> bool:
    """True for a border line of a drawn table: ``+----+----+``, ``-----+-----``, ``|---|:--:|``."""
    stripped = line.strip()
    return bool(stripped) and not stripped.strip("+-=|: ") and ("-" in stripped or "=" in stripped)


class _Records(NamedTuple):
    """Delimited records: first line of each, fields of each, and where a record spans lines its end."""

    starts: list[int]
    fields: list[list[str]]
    ends: dict[int, int]


def _records(lines: Sequence[str], start: int, end: int, delimiter: str) -> _Records:
    """The delimited records in ``lines[start:end]`` (blank lines skipped), with their line numbers.

    One C-speed reader over all lines; a record spans several lines only where a quoted field holds a
    line break. Input the reader refuses, or a quote left open for too long, is split line by line.
    """
    body = lines[start:end]
    if any('"' in line for line in body):
        try:
            fast = list(csv.reader(body, delimiter=delimiter))
            if len(fast) == len(body):  # no record spans lines: all in C
                kept = list(compress_items(range(start, end), fast))
                return _Records(kept, [f for f in fast if f], {})
            out = _Records([], [], {})
            reader = csv.reader(body, delimiter=delimiter)
            first = 0
            for fields in reader:
                last = reader.line_num
                if last - first > _MAX_RECORD_LINES:
                    break
                if fields:
                    out.starts.append(start + first)
                    out.fields.append(fields)
                    if last > first + 1:
                        out.ends[start + first] = start + last
                first = last
            else:
                return out
        except csv.Error:  # a stray "\r" or NUL: not CSV the module accepts, split plainly
            pass
    starts = [start + k for k, line in enumerate(body) if line.strip()]
    return _Records(starts, [_split_delimited(lines[i], delimiter) for i in starts], {})


def _aligned_header(header: str, rows: Sequence[str]) -> list[tuple[int, int]] | None:
    """Spans of the header's column names when ``header`` heads whitespace-aligned columns, else None.

    Every word must look like a column name, and the rows must line up under it: a column is aligned
    in a row when the row has a value starting where the name starts (left-aligned, as kubectl and
    docker print) or ending where it ends (right-aligned numbers, as ps prints). The header may be
    indented (``systemctl`` indents it, ``top`` right-aligns its first column).
    """
    tokens = header.split()
    if len(tokens) < 3:
        return None
    upper = all(_UPPER_TOKEN_RE.fullmatch(t) for t in tokens)
    if not upper and not (tokens[0][:1].isupper() and all(_TITLE_TOKEN_RE.fullmatch(t) for t in tokens)):
        return None  # column names: NAME STATUS (kubectl, ps, docker) or Filesystem Size Used (df)
    sample = [row for row in rows[:30] if row.strip()]
    if len(sample) < 2:
        return None
    columns = _header_columns(header, sample)
    if len(columns) < 2:
        return None
    aligned = total = 0
    for row in sample:
        width = len(row)
        for s, e in columns[1:]:
            total += 1
            if s >= width:
                aligned += 1
                continue
            left = row[s - 1] == " " and row[s] != " "
            right = e <= width and row[e - 1] != " " and (e == width or row[e] == " ")
            aligned += left or right
    if aligned >= 0.8 * total:
        return columns
    # ``ss`` aligns addresses on their ``:`` (neither left nor right) and glues its last two names
    # (``Peer Address:PortProcess``); such a table still splits into about one whitespace-separated
    # token per column on nearly every row.
    counts = (len(columns) - 1, len(columns), len(columns) + 1)
    tokens_fit = sum(1 for row in sample if len(row.split()) in counts)
    return columns if aligned >= 0.6 * total and tokens_fit >= 0.9 * len(sample) else None


def _header_columns(header: str, sample: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of the column names in ``header``, multi-word names (``NOMINATED NODE``) as one.

    Words two or more spaces apart are separate columns. A word one space after the previous one is
    its own column only when the rows line up under it (``Proto Recv-Q Send-Q`` in netstat, ``SHR S``
    in top): the row is blank just before it and has a value starting or ending where it does.
    Otherwise it continues the previous name (``Local Address``, ``Mounted on``, ``CONTAINER ID``).
    """
    columns: list[tuple[int, int]] = []
    for m in re.finditer(r"\S+", header):
        s, e = m.start(), m.end()
        if columns and s - columns[-1][1] == 1 and not _own_column(s, e, sample):
            columns[-1] = (columns[-1][0], e)
        else:
            columns.append((s, e))
    return columns


def _own_column(s: int, e: int, sample: Sequence[str]) -> bool:
    hits = 0
    for row in sample:
        width = len(row)
        if s >= width or row[s - 1] != " ":
            continue
        left = row[s] != " "
        right = e <= width and row[e - 1] != " " and (e == width or row[e] == " ")
        hits += left or right
    return hits >= _SPLIT_ROWS * len(sample)


@dataclass
class _Table:
    """One table: its header line, column names and the fields of each row (by line index)."""

    header: int
    names: list[str]
    rows: list[int] = field(default_factory=list)
    fields: list[list[str]] = field(default_factory=list)
    delimited: bool = False
    """CSV/TSV: cells are exact values, so a status is the whole cell (``Waiting on customer``)."""


def _aligned_fields(header: str, rows: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Column names and row fields of an aligned table.

    Left-aligned tables (kubectl, docker) may have empty cells and values with spaces (``3 (2m ago)``,
    ``Up 2 hours``), so rows are cut where the header's columns start; right-aligned ones (ps, top) are
    split on whitespace instead, the last column taking the rest of the line (a command with its
    arguments).
    """
    sample = [row for row in rows[:50] if row.strip()]
    columns = _header_columns(header, sample[:30])
    names = [header[s:e] for s, e in columns]
    starts = [s for s, _ in columns[1:]]
    left_aligned = len(columns) >= 2 and all(
        all(s >= len(row) or row[s - 1] == " " for s in starts) for row in sample
    )
    if left_aligned:
        cuts = [0, *starts]
        fields = [
            [row[a:b].strip() for a, b in zip(cuts, [*starts, len(row) + 1], strict=True)] for row in rows
        ]
        return names, fields
    return names, [row.split(None, len(names) - 1) for row in rows]


def _aligned_tables(lines: Sequence[str], max_blocks: int | None = None) -> tuple[bytearray, list[_Table]]:
    """Kind of every line and the aligned tables: a header is the first line of a block (after a blank
    line), or its second when the first is a title (``Active Internet connections`` in netstat)."""
    n = len(lines)
    kinds = bytearray([OTHER]) * n
    tables: list[_Table] = []
    i = blocks = 0
    while i < n:
        if not lines[i].strip():
            kinds[i] = BLANK
            i += 1
            continue
        end = i
        while end < n and lines[end].strip():
            end += 1
        blocks += 1
        if max_blocks is not None and blocks > max_blocks:
            break
        for h in (i, i + 1):
            body = lines[h + 1 : end]
            header = _unmarked(lines[h]) if body else ""
            if body and _aligned_header(header, body) is not None:
                names, fields = _aligned_fields(header, body)
                kinds[h] = HEADER
                tables.append(_Table(h, names, list(range(h + 1, end)), fields))
                kinds[h + 1 : end] = bytes([ROW]) * (end - h - 1)
                break
        i = end
    return kinds, tables


def _parse(lines: Sequence[str]) -> tuple[bytearray, list[_Table]]:
    """Kind of every line and the tables (one per header; ``kubectl get all`` prints several)."""
    n = len(lines)
    kinds = bytearray([OTHER]) * n
    nonblank = [line for line in lines[:_PEEK_LINES] if line.strip()]
    if not nonblank:
        return kinds, []  # blank lines only: no table
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
    found = _delimited_header(lines[:_PEEK_LINES])
    if found is not None:
        first, delimiter = found
        kinds[first] = HEADER
        names = [f.strip() for f in _split_delimited(_unmarked(lines[first]), delimiter)]
        table = _Table(first, names, delimited=True)
        for i in range(first + 1, n):
            kinds[i] = ROW if lines[i].strip() else BLANK
        records = _records(lines, first + 1, n, delimiter)
        # Borders, and a footer (``(2000 rows)``) or title with no delimiter, read as text around the table.
        rules = {i for i in records.starts if lines[i][:1] in "+-=|: " and _is_rule(lines[i])}
        single = [i for i, f in zip(records.starts, records.fields, strict=True) if len(f) == 1]
        stray = [i for i in single if i not in rules]
        text_lines = rules | set(stray) if len(stray) <= _MAX_STRAY_LINES and len(table.names) > 1 else rules
        for i in text_lines:
            kinds[i] = OTHER
        if text_lines:
            kept = [
                (i, f) for i, f in zip(records.starts, records.fields, strict=True) if i not in text_lines
            ]
            table.rows, table.fields = [i for i, _ in kept], [f for _, f in kept]
        else:
            table.rows, table.fields = records.starts, records.fields
        for i, stop in records.ends.items():  # a quoted field with line breaks: its lines go with the record
            kinds[i + 1 : stop] = bytes([CONT]) * (stop - i - 1)
        return kinds, [table]
    return _aligned_tables(lines)


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


def _continuation_ends(kinds: bytearray) -> list[int]:
    """For each line, the first line after it that is not a CONT line (``i + 1`` when none follow)."""
    ends = [0] * len(kinds)
    nxt = len(kinds)
    for i in range(len(kinds) - 1, -1, -1):
        ends[i] = nxt
        if kinds[i] != CONT:
            nxt = i
    return ends


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

    has_cont = CONT in kinds
    cont_end = _continuation_ends(kinds) if has_cont else []

    def at_level(t: int) -> list[int]:
        # t = 0..SAMPLE_ROWS: fewer sample rows; beyond: fewer anomalies, lowest rank first.
        sample_rows = [row for rows in samples[: max(SAMPLE_ROWS - t, 0)] for row in rows]
        anomalies = ranked[: len(ranked) - max(t - SAMPLE_ROWS, 0)]
        kept = {*always, *sample_rows, *anomalies}
        if has_cont:  # a CSV record's later lines go with it
            kept |= {j for i in kept if kinds[i] == ROW for j in range(i + 1, cont_end[i])}
        return sorted(kept)

    text_out = fit_levels(at_level, SAMPLE_ROWS + len(ranked), render, ctx)
    return Compressed(text_out, "table:rows", ((key, payload),))
