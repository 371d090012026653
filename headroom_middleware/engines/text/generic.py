"""The generic line engine: head, tail, error lines, query matches, repeated runs collapsed.

For text no specialised engine claims. Within the budget (or when nothing may be dropped) the text passes
through. Over it, in order of importance: the first and last lines, one line per kind of error line
(same template) with how many there were, every line matching the query, the other error lines, then more
head and tail up to half the budget. A run of identical lines shows once with its count. Everything else
is stored under the key the closing marker names.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import compress, islice
from operator import ne

from .._base import Compressed, Context
from ._fit import Selection, plural, spread, stored_original, within_budget
from ._templates import template_of
from ._textlines import LineIndex

ALWAYS_HEAD = 3
ALWAYS_TAIL = 3
CONTEXT_SHARE = 0.5
"""Head and tail beyond the first and last few lines may fill the budget up to this share."""


def compress_generic(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, keep what matters."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    key, payload = stored_original(text)
    index = LineIndex(text)
    lines = index.lines
    n = len(lines)
    runs = _Runs(lines)
    sel = Selection(lines, ctx)

    def take(i: int, note: str = "", limit: int | None = None) -> bool:
        start, size = runs.of(i)
        parts = [f"(×{size:,} identical lines)"] if size > 1 else []
        if note:
            parts.append(note)
        return sel.add([start], notes={start: " ".join(parts)} if parts else None, limit=limit)

    for i in [*range(min(ALWAYS_HEAD, n)), *range(max(n - ALWAYS_TAIL, 0), n)]:
        take(i)

    errors = index.error_lines()
    first_of: dict[str, int] = {}
    similar: dict[str, int] = {}
    for i in errors:
        t = template_of(index.scan_lines[i])
        first_of.setdefault(t, i)
        similar[t] = similar.get(t, 0) + 1
    for t, i in spread(list(first_of.items())):
        take(i, f"(×{similar[t]:,} similar)" if similar[t] > 1 else "")

    matches = index.query_lines(ctx.query)
    for i in spread(matches):
        take(i)
    for i in spread(errors):
        take(i)

    cap = max(sel.used, int(ctx.max_tokens * CONTEXT_SHARE))
    head, tail = ALWAYS_HEAD, n - ALWAYS_TAIL - 1
    while head <= tail and (take(head, limit=cap) | take(tail, limit=cap)):
        # Step over whole runs: the lines of a run of identical lines are shown once, at its start.
        start, size = runs.of(head)
        head = start + size
        tail = runs.of(tail)[0] - 1

    error_set = set(errors)
    match_set = set(matches)

    def kept_note(idx: list[int]) -> str:
        parts = ["head", "tail"]
        n_err = sum(1 for i in idx if i in error_set)
        n_match = sum(1 for i in idx if i in match_set)
        if n_err:
            parts.append(plural(n_err, "error line"))
        if n_match:
            parts.append(plural(n_match, "query match"))
        return ", ".join(parts)

    out = sel.render_lines(key, kept_note)
    return Compressed(out, "text:lines", ((key, payload),))


class _Runs:
    """Runs of identical consecutive lines: each line maps to the first line of its run."""

    def __init__(self, lines: list[str]) -> None:
        # A C array: one int object per line in a list would outweigh a text of short lines.
        self.starts = array("q", [0])
        self.starts.extend(compress(range(1, len(lines)), map(ne, islice(lines, 1, None), lines)))
        self.total = len(lines)

    def of(self, i: int) -> tuple[int, int]:
        """(first index, length) of the run holding line ``i``."""
        k = bisect_right(self.starts, i) - 1
        end = self.starts[k + 1] if k + 1 < len(self.starts) else self.total
        return self.starts[k], end - self.starts[k]
