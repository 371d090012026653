"""Reading tables: where the header is, which columns it names, and the rows under it, for aligned
columns (``kubectl``, ``ps``, ``docker``, ``netstat``, ``top``, ``systemctl``), ``ls -l`` and delimited
text (CSV, TSV, semicolons, pipes) whose quoted records may span lines."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress as compress_items
from typing import NamedTuple

HEADER, ROW, BLANK, OTHER, CONT = range(5)
"""Line kinds; CONT is a later line of a CSV record whose quoted field holds a line break."""
_LS_RE = re.compile(r"[-dlcbpsDn][rwxsStTl-]{9}[.+@]?\s+\d+\s")
LS_NAMES = ("mode", "links", "owner", "group", "size", "month", "day", "time", "name")
_UPPER_TOKEN_RE = re.compile(r"[A-Z%#][A-Z0-9_%()/.:#-]*|/")  # "/": ``MEM USAGE / LIMIT`` (docker stats)
_TITLE_TOKEN_RE = re.compile(r"[A-Za-z%#][A-Za-z0-9_%()/.:#+-]*")
_LOWER_TOKEN_RE = re.compile(r"[a-z%][a-z0-9_%/.:-]*")
_NUMBER_WORD_RE = re.compile(r"-?\d+(?:[.,]\d+)?%?")
_NUMERIC_SHARE = 0.9
"""Share of the row words that must be numbers under a header of lowercase names (vmstat, iostat)."""
_CSV_HEADER_FIELD_RE = re.compile(r"\s*\"?[A-Za-z_#%][^\n]{0,63}")
_DELIMITERS = (",", "\t", ";", "|")
PEEK_LINES = 60
"""Lines looked at to decide whether (and how) a text is a table."""
_SPLIT_ROWS = 0.9
"""Share of rows that must line up under a header word set off by one space for it to be its own column."""
_MAX_RECORD_LINES = 200
"""A quoted CSV field spanning more lines than this is taken for a stray quote, not a record."""
_MAX_STRAY_LINES = 3
"""Lines of a delimited table without a delimiter (``(2000 rows)``) shown as text when this few."""


def is_ls(lines: Sequence[str]) -> bool:
    body = lines[1:] if lines and lines[0].startswith("total ") else lines
    return len(body) >= 2 and sum(1 for line in body if _LS_RE.match(line)) >= 0.8 * len(body)


def _split_delimited(line: str, delimiter: str) -> list[str]:
    if '"' not in line:
        return line.split(delimiter)
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a stray "\r" or NUL: not CSV the module accepts, split plainly
        return line.split(delimiter)


def delimited_header(lines: Sequence[str]) -> tuple[int, str] | None:
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
    titled = upper or (tokens[0][:1].isupper() and all(_TITLE_TOKEN_RE.fullmatch(t) for t in tokens))
    lower = not titled and all(_LOWER_TOKEN_RE.fullmatch(t) for t in tokens)
    if not titled and not lower:
        return None  # column names: NAME STATUS (kubectl, ps, docker) or Filesystem Size Used (df)
    sample = [row for row in rows[:30] if row.strip()]
    if len(sample) < 2 or (lower and not _numeric_rows(sample)):
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
    if aligned >= 0.6 * total and tokens_fit >= 0.9 * len(sample):
        return columns
    # vmstat widens a column when a number outgrows it (``free`` of 12 GB) and shifts the rest of the
    # row: rows of numbers with exactly one word per header word are a table however they line up.
    return columns if _one_word_per_name(tokens, sample) and _numeric_rows(sample) else None


def _one_word_per_name(tokens: Sequence[str], sample: Sequence[str]) -> bool:
    """True when nearly every row has exactly one word per header word: each word names a column (``us sy
    id wa st`` in vmstat) even where rows do not line up under it."""
    return bool(sample) and sum(len(row.split()) == len(tokens) for row in sample) >= _SPLIT_ROWS * len(
        sample
    )


def _numeric_rows(sample: Sequence[str]) -> bool:
    """True when nearly every word of the rows is a number: lowercase column names (``r b swpd free`` in
    vmstat, ``kB_read/s`` in iostat) head a table only above rows of numbers, never above prose."""
    words = [word for row in sample for word in row.split()]
    numbers = sum(1 for word in words if _NUMBER_WORD_RE.fullmatch(word))
    return bool(words) and numbers >= _NUMERIC_SHARE * len(words)


def _header_columns(header: str, sample: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of the column names in ``header``, multi-word names (``NOMINATED NODE``) as one.

    Words two or more spaces apart are separate columns. A word one space after the previous one is
    its own column only when the rows line up under it (``Proto Recv-Q Send-Q`` in netstat, ``SHR S``
    in top): the row is blank just before it and has a value starting or ending where it does.
    Otherwise it continues the previous name (``Local Address``, ``Mounted on``, ``CONTAINER ID``).
    """
    columns: list[tuple[int, int]] = []
    each_own = _one_word_per_name(header.split(), sample) and _numeric_rows(sample)
    for m in re.finditer(r"\S+", header):
        s, e = m.start(), m.end()
        if columns and s - columns[-1][1] == 1 and not each_own and not _own_column(s, e, sample):
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
class Table:
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


def aligned_tables(lines: Sequence[str], max_blocks: int | None = None) -> tuple[bytearray, list[Table]]:
    """Kind of every line and the aligned tables: a header is the first line of a block (after a blank
    line), or its second when the first is a title (``Active Internet connections`` in netstat)."""
    n = len(lines)
    kinds = bytearray([OTHER]) * n
    tables: list[Table] = []
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
                tables.append(Table(h, names, list(range(h + 1, end)), fields))
                kinds[h + 1 : end] = bytes([ROW]) * (end - h - 1)
                break
        i = end
    return kinds, tables


def parse(lines: Sequence[str]) -> tuple[bytearray, list[Table]]:
    """Kind of every line and the tables (one per header; ``kubectl get all`` prints several)."""
    n = len(lines)
    kinds = bytearray([OTHER]) * n
    nonblank = [line for line in lines[:PEEK_LINES] if line.strip()]
    if not nonblank:
        return kinds, []  # blank lines only: no table
    if is_ls(nonblank):
        table = Table(-1, list(LS_NAMES))
        for i, line in enumerate(lines):
            if _LS_RE.match(line):
                kinds[i] = ROW
                table.rows.append(i)
                table.fields.append(line.split(None, len(LS_NAMES) - 1))
            elif not line.strip():
                kinds[i] = BLANK
        return kinds, [table]
    found = delimited_header(lines[:PEEK_LINES])
    if found is not None:
        first, delimiter = found
        kinds[first] = HEADER
        names = [f.strip() for f in _split_delimited(_unmarked(lines[first]), delimiter)]
        table = Table(first, names, delimited=True)
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
    return aligned_tables(lines)
