"""Choosing lines within a token budget, most important first, and rendering them.

An engine ranks what matters (error lines, stack traces, rare lines, head and tail…) and offers it to a
``Selection`` unit by unit, most important first. A unit (say a stack trace: exception line, first and
last frames) is taken whole or not at all. Costs are counted per line with the caller's token counter,
plus a gap marker per new run of kept lines, plus a reserve for the full marker. The rendered text is
then counted once more and, if the per-line sum was too optimistic, the last units taken are given back
until it fits: the budget is a hard cap.

Lines longer than the budget allows are shown as head and tail cut at character boundaries with a gap
marker (``clip_line``), so a 50 MB line without newlines costs a few hundred tokens, not millions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from typing import TypeVar

from ... import _markers
from ..._tokens import MIN_TOKENS_PER_CHAR, estimate_tokens
from ...ccr._keys import make_key
from .._base import Context
from .._lines import render_kept

_T = TypeVar("_T")

GAP_TOKENS = 12
"""What one gap marker and its newline cost, rounded up."""
_PLACEHOLDER_KEY = "0" * 24
_PLACEHOLDER_NOTE = "x" * 80


def clip_chars(max_tokens: int) -> int:
    """How many characters of one line are shown at most, for a given budget."""
    return max(160, min(1000, max_tokens // 4))


def clip_line(line: str, max_chars: int) -> str:
    """``line`` itself, or its head and tail with a gap marker for the characters in between."""
    if len(line) <= max_chars:
        return line
    half = max_chars // 2
    return f"{line[:half]} {_markers.gap(len(line) - 2 * half, 'chars')} {line[-half:]}"


class _Display(Sequence[str]):
    """The lines as shown: CRLF endings dropped, long lines clipped (a view, not a copy of a big list)."""

    def __init__(self, lines: Sequence[str], max_chars: int) -> None:
        self._lines = lines
        self._max = max_chars

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return clip_line(self._lines[i].removesuffix("\r"), self._max)

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self._lines)))


class Selection:
    """Lines kept so far within a token budget; units are added most important first."""

    def __init__(self, lines: Sequence[str], ctx: Context, *, unit: str = "lines") -> None:
        self.lines = lines
        self.count = ctx.count_tokens
        self.budget = ctx.max_tokens
        self.unit = unit
        self.display = _Display(lines, clip_chars(ctx.max_tokens))
        self.kept: dict[int, None] = {}
        self.notes: dict[int, str] = {}
        self._units: list[tuple[list[int], int]] = []
        self._cost: dict[int, int] = {}
        marker = _markers.omitted(len(lines), len(lines), unit, _PLACEHOLDER_KEY, _PLACEHOLDER_NOTE)
        self.used = self.count(marker) + GAP_TOKENS

    def __contains__(self, i: int) -> bool:
        return i in self.kept

    def line_cost(self, i: int, note: str | None = None) -> int:
        """Tokens line ``i`` costs when shown (with ``note`` appended, if any)."""
        if note is None:
            cached = self._cost.get(i)
            if cached is None:
                cached = self._cost[i] = self.count(self.display[i] + "\n")
            return cached
        return self.count(f"{self.display[i]} {note}\n")

    def add(
        self, indices: Iterable[int], *, notes: Mapping[int, str] | None = None, limit: int | None = None
    ) -> bool:
        """Keep the lines of one unit if all fit under ``limit`` (default: the budget); True if kept.

        Lines already kept cost nothing again; a note on such a line is ignored.
        """
        new = [i for i in dict.fromkeys(indices) if i not in self.kept]
        if not new:
            return True
        cap = self.budget if limit is None else min(limit, self.budget)
        members = set(new)
        cost = 0
        for i in new:
            cost += self.line_cost(i, notes.get(i) if notes else None)
            if i - 1 not in self.kept and i - 1 not in members:
                cost += GAP_TOKENS
            if self.used + cost > cap:
                return False
        self.used += cost
        for i in new:
            self.kept[i] = None
            if notes and i in notes:
                self.notes[i] = notes[i]
        self._units.append((new, cost))
        return True

    def render(self, render_fn: Callable[[list[int]], str]) -> str:
        """``render_fn(sorted kept indices)``, giving back the last units until the text fits."""
        self._fill_single_gaps()
        while True:
            text = render_fn(sorted(self.kept))
            over = self.count(text) - self.budget
            if over <= 0 or not self._units:
                return text
            freed = 0
            while self._units and freed < over:
                new, cost = self._units.pop()
                freed += cost
                self.used -= cost
                for i in new:
                    del self.kept[i]
                    self.notes.pop(i, None)

    def _fill_single_gaps(self) -> None:
        """Show a lone left-out line instead of its gap marker when the line costs no more than it."""
        idx = sorted(self.kept)
        if not idx:
            return
        lone = [a + 1 for a, b in pairwise(idx) if b - a == 2]
        if idx[0] == 1:
            lone.append(0)
        if idx[-1] == len(self.lines) - 2:
            lone.append(len(self.lines) - 1)
        for i in sorted(lone):
            cost = self.line_cost(i)
            if cost <= GAP_TOKENS:
                self.kept[i] = None
                self.used += cost - GAP_TOKENS
                self._units.append(([i], cost))

    def render_lines(self, key: str, kept_note: Callable[[list[int]], str]) -> str:
        """Kept lines in order with gap markers and the full marker (``engines._lines.render_kept``)."""

        def render(idx: list[int]) -> str:
            return render_kept(
                self.display, idx, key, unit=self.unit, kept_note=kept_note(idx), notes=self.notes
            )

        return self.render(render)


def plural(n: int, word: str) -> str:
    """``1 error``, ``3 errors``: for the kept notes of markers."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def within_budget(text: str, ctx: Context) -> bool:
    """True when ``text`` may pass through unchanged: it fits, or nothing may be dropped.

    ``crush`` has just counted the whole input; counting it again here would double the cost on a big
    one. With the built-in estimator a one-pass lower bound settles most big inputs without the count.
    """
    if not ctx.lossy:
        return True
    if ctx.count_tokens is estimate_tokens:
        if estimate_floor(text) > ctx.max_tokens:
            return False
    else:
        # Any tokenizer: a prefix far over budget settles it (a cut word may cost a few more tokens
        # alone than inside the whole, hence the margin), without counting megabytes twice.
        prefix_chars = 16 * ctx.max_tokens
        if len(text) > prefix_chars and ctx.count_tokens(text[:prefix_chars]) > ctx.max_tokens + 16:
            return False
    return ctx.count_tokens(text) <= ctx.max_tokens


def estimate_floor(text: str) -> int:
    """A lower bound of ``estimate_tokens(text)`` from one ``str.count``: every character that is not
    a space adds at least ``MIN_TOKENS_PER_CHAR`` (newlines and digits add more, runs of spaces may
    add nothing), and the estimate only adds non-negative terms to that.
    """
    return int(MIN_TOKENS_PER_CHAR * (len(text) - text.count(" "))) - 1  # - 1: float rounding


def stored_original(text: str) -> tuple[str, bytes]:
    """(key, payload) for the original text: its exact UTF-8 bytes (lone surrogates kept)."""
    payload = text.encode("utf-8", "surrogatepass")
    return make_key(payload), payload


def spread(items: Sequence[_T]) -> list[_T]:
    """``items`` reordered so that any prefix is spread evenly: first, last, middle, quarters…

    When not all candidates of a tier fit the budget, taking them in this order keeps a sample from the
    whole text instead of only its beginning.
    """
    m = len(items)
    order: dict[int, None] = dict.fromkeys([0, m - 1]) if m else {}
    parts = 2
    while len(order) < m and parts <= 2 * m:
        for k in range(1, parts, 2):
            order.setdefault(k * (m - 1) // parts, None)
        parts *= 2
    for i in range(m):
        order.setdefault(i, None)
    return [items[i] for i in order]
