"""The table engine: ``kubectl get``, ``ps aux``, ``docker ps``, ``ls -l``, CSV/TSV, aligned columns.

A table's rows are mostly alike; an agent needs the header, the rows that are not like the rest, and
how many rows were alike. The engine keeps the header, every row whose status says trouble
(CrashLoopBackOff, Error, Failed, Pending, OOMKilled, Evicted, ``Exited (137)``, ``0/1`` ready, a
non-zero exit code, a rare status value), every row with a numeric outlier in some column (robust:
median and MAD of log-scaled values, so 57 restarts among zeros stands out but 2 does not), rows that
match a rare query term, rows with no value (empty, ``NULL``) where nearly every other row has one, and
the first few rows as a sample; trouble rows with a rare category (one ``FailedMount`` among 90 probe
warnings) rank first. Gaps say what was left out
(``[… 480 Running rows omitted …]``). Over budget, the sample goes first, then anomalies from the
lowest rank. Rows are shown exactly as they were, never re-aligned.

Headers are found where tools print them: after a title line (``netstat``), after a summary block
(``top``), indented (``systemctl``); column names may hold one space (``NOMINATED NODE``) or be one
space apart (``Recv-Q Send-Q``), and the rows decide which; lowercase names (``r b swpd free`` in
vmstat) head a table only above rows of numbers. CSV records may span lines (quoted line
breaks) and are kept whole; a byte order mark, a title or ``sep=;`` line before the header, and the
borders and footer of mysql/psql/markdown tables are text around the table, not rows.
"""

from __future__ import annotations

from collections import Counter
from itertools import accumulate

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from ._search_budget import fit_levels, render_selection, within_budget
from ._search_terms import line_starts, query_lines
from ._table_parse import CONT, HEADER, OTHER, PEEK_LINES, ROW, aligned_tables, delimited_header, is_ls, parse
from ._table_rows import missing_rows, outlier_rows, round_robin, status_column, unhealthy_rows
from ._textlines import split_lines
from .generic import compress_generic

SAMPLE_ROWS = 3
"""Rows shown from the top of each table, so the model sees what an ordinary row looks like."""
_HEADER_BLOCKS = 3
"""Blocks (runs of non-blank lines) of the peek that may head a table: ``top`` prints one summary first."""
_ROW_SHARE = 0.6
"""Share of the peek's non-blank lines that must be table rows for the text to read as a table."""


def looks_like(head: str) -> bool:
    """True when the first few KB read as a table (aligned columns under a header, ``ls -l``, CSV/TSV)."""
    if head.lstrip()[:1] in ("{", "[", "<"):
        return False
    raw = head.split("\n")[:PEEK_LINES]
    if len(raw) > 1 and len(head) >= 4096:
        raw.pop()  # the last line of the peek may be cut short
    lines = [line for line in raw if line.strip()]
    if len(lines) < 3:
        return False
    if is_ls(lines) or delimited_header(lines) is not None:
        return True
    # Aligned columns: the header may follow a title line (``netstat``) or a summary block and a blank
    # line (``top``); the rows must then make up most of the peek, or a log quoting a table would pass.
    _, tables = aligned_tables(raw, _HEADER_BLOCKS)
    rows = sum(len(t.rows) for t in tables)
    return rows >= 2 and rows >= _ROW_SHARE * len(lines)


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
    kinds, tables = parse(lines)
    if not tables:
        return compress_generic(text, ctx)  # not a table after all
    too_long = max(200, ctx.max_tokens)  # chars: never show one line that would crowd out the rest

    always = [i for i in range(n) if kinds[i] in (HEADER, OTHER) and len(lines[i]) <= too_long]
    status_of: dict[int, str] = {}
    unhealthy: list[int] = []
    outliers: list[int] = []
    samples: list[list[int]] = [[] for _ in range(SAMPLE_ROWS)]
    for table in tables:
        bad, keys = unhealthy_rows(table, lines)
        unhealthy += bad
        outliers += outlier_rows(table) + missing_rows(table)
        if status_column(table.names) is not None:
            status_of.update(zip(table.rows, keys, strict=True))
        for k, row in enumerate(table.rows[:SAMPLE_ROWS]):
            samples[k].append(row)
    asked = [i for i in query_lines(ctx.query, text, line_starts(lines)) if kinds[i] == ROW]
    # Rank anomalies: query matches, then outliers (few: capped per column), then trouble, one row of each
    # status in turn, so that 200 Evicted pods cannot crowd out the one CrashLoopBackOff under a budget.
    ranked: list[int] = []
    seen: set[int] = set()
    for row in [*asked, *sorted(outliers), *round_robin(unhealthy, status_of)]:
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
