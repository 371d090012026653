"""Lines grouped by template: counts, first and last occurrences, rare lines, table-like blocks.

Shared by the log and test/build engines. The signal that something differs from the noise is
structural, not a list of keywords: a line whose template is rare, a row that breaks a block of rows
shaped alike (a benchmark row marked ``**`` among plain rows), the header above such a block.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress as select_where

RARE = 2
"""A template seen at most this many times is rare: each of its lines is worth showing."""
FREQUENT = 5
"""A template seen at least this many times is noise-like: show it once with its count."""
EDGE_REACH = 2000
"""Context lines are looked for this many lines from each end at most."""
BLOCK_MIN = 5
"""Consecutive lines sharing a template from this many on form a block (a table, a list of rows)."""


@dataclass(frozen=True)
class Groups:
    """Template statistics of the lines of one text."""

    templates: list[str]
    counts: Counter[str]
    first: dict[str, int]
    """Template -> index of its first line (insertion order: order of first appearance)."""
    last: dict[str, int]

    def count_of(self, i: int) -> int:
        return self.counts[self.templates[i]]

    def is_rare(self, i: int) -> bool:
        return self.counts[self.templates[i]] <= RARE

    def rare_lines(self) -> list[int]:
        """Indices of the lines whose template is rare, ascending (selected in C, not line by line)."""
        rare = {t for t, c in self.counts.items() if c <= RARE}
        return list(select_where(range(len(self.templates)), map(rare.__contains__, self.templates)))

    def similar_note(self, i: int) -> str:
        """``(×N similar)`` for the first line of a template others share, else empty (blank lines too)."""
        t = self.templates[i]
        c = self.counts[t]
        return f"(×{c:,} similar)" if c > 1 and self.first[t] == i and t.strip() else ""


def group(templates: list[str]) -> Groups:
    """Count templates and find where each first and last appears."""
    last = dict(zip(templates, range(len(templates)), strict=True))
    first: dict[str, int] = {}
    for i, t in enumerate(templates):
        if t not in first:
            first[t] = i
            if len(first) == len(last):
                break
    return Groups(templates, Counter(templates), first, last)


def deviant_lines(groups: Groups, skip: set[int]) -> list[int]:
    """Rare lines inside a block of frequent lines: a frequent template within two lines on both sides.

    A benchmark row marked significant among plain rows, an odd line in a run of identical messages.
    """
    t = groups.templates
    counts = groups.counts
    n = len(t)
    out: list[int] = []
    for i in groups.rare_lines():
        if i == 0 or i == n - 1 or i in skip:
            continue
        # Neighbours inside a skipped unit (a compiler snippet, a trace) do not make a block of rows.
        above = {t[j] for j in (i - 1, i - 2) if j >= 0 and j not in skip}
        below = [t[j] for j in (i + 1, i + 2) if j < n and j not in skip]
        if any(b in above and counts[b] >= FREQUENT for b in below):
            out.append(i)
    return out


def block_heads(groups: Groups) -> list[tuple[int, int, int]]:
    """(header line, first row, last row) of each block of ``BLOCK_MIN``+ consecutive same-template lines.

    The header is the nearest non-blank line above the block (a table's column names); -1 when none.
    Only the first block of each template counts: a list of passing tests broken by a few other lines
    is one list, not a table per run.
    """
    t = groups.templates
    n = len(t)
    out: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, n + 1):
        if i < n and t[i] == t[start]:
            continue
        if i - start >= BLOCK_MIN and t[start].strip() and groups.first[t[start]] == start:
            head = start - 1
            while head >= 0 and not t[head].strip():
                head -= 1
            out.append((head, start, i - 1))
        start = i
    return out


def edge_lines(groups: Groups, skip: set[int], per_side: int) -> list[int]:
    """Lines near the head and tail worth showing as context, alternating head and tail.

    Lines of frequent templates are skipped (their representative shows them with a count), as are
    ``skip`` lines (inside a failure block or a stack trace, which their unit shows).
    """
    t = groups.templates
    counts = groups.counts
    n = len(t)

    def side(order: range) -> list[int]:
        out: list[int] = []
        for i in order:
            if len(out) == per_side:
                break
            if i not in skip and counts[t[i]] < FREQUENT and t[i].strip():
                out.append(i)
        return out

    # Looked for among the lines nearest each end only: context far from the ends is no context.
    reach = min(n, EDGE_REACH)
    head = side(range(reach))
    tail = side(range(n - 1, n - 1 - reach, -1))
    mixed: dict[int, None] = {}
    for k in range(per_side):
        for part in (head, tail):
            if k < len(part):
                mixed.setdefault(part[k], None)
    return list(mixed)


def distinct_lines(indices: list[int], lines: Sequence[str]) -> list[int]:
    """``indices`` without the lines whose exact text an earlier one already has (a build run twice)."""
    seen: dict[str, int] = {}
    for i in indices:
        seen.setdefault(lines[i], i)
    return sorted(seen.values())
