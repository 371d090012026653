"""A text split into lines once, and fast answers to "which lines hold this?".

Text engines look for error words, query terms, stack frames… in every line. Python's ``re.search`` over a
whole text with a case-insensitive alternation crawls (about 8 MB/s), so lookups take two C-speed routes:

- words (error words, query terms): ``bytes.find`` over the ASCII-lowercased UTF-8 text, each hit mapped
  to its line by binary search over line start offsets; callers verify the few candidate lines with a
  precise regex;
- line-start patterns (stack frames, log prefixes): ``pattern.match`` mapped over the lines in C.

Only the head and tail of an enormous line are ever shown, so scanning its middle is wasted work: lines
longer than ``SCAN_CHARS`` are looked at through a clipped copy (head and tail), which also keeps a 50 MB
single-line input cheap.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate, compress

from .._signals import ERROR_WORDS_RE

QUERY_MAX_SHARE = 0.05
"""A query term matching more than this share of the lines does not select any of them."""
QUERY_MIN_LIMIT = 20

SCAN_CHARS = 4096
"""Characters of a long line that lookups see: its first and last ``SCAN_CHARS // 2``."""


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` split on ``\\n`` (a final newline does not make an empty last line)."""
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _scan_view(line: str) -> str:
    half = SCAN_CHARS // 2
    return line if len(line) <= SCAN_CHARS else line[:half] + " " + line[-half:]


_TIMESTAMP_PREFIX_RE = re.compile(
    r"^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?[ \t]?", re.MULTILINE
)


def timestamp_prefixed(head: str) -> bool:
    """True when most lines of ``head`` start with a timestamp (CI consoles: GitHub Actions, Jenkins)."""
    lines = [line for line in head.split("\n", 40)[:40] if line.strip()]
    hits = sum(1 for line in lines if _TIMESTAMP_PREFIX_RE.match(line))
    return len(lines) >= 2 and hits >= 0.8 * len(lines)


def strip_timestamps(text: str) -> str:
    """``text`` without the timestamp that starts its lines (the line count is unchanged)."""
    return _TIMESTAMP_PREFIX_RE.sub("", text)


_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_colors(text: str) -> str:
    """``text`` without ANSI color and cursor codes (test runners and CI consoles emit them).

    They cost tokens and mean nothing to a model; they also hide line starts (``FAIL`` in red) from
    the patterns. The stored original keeps them.
    """
    return _ANSI_RE.sub("", text)


class LineIndex:
    """The lines of a text, and lookups of which lines hold a word or start with a pattern.

    ANSI color codes are removed first (``strip_colors``). With ``strip_timestamps``, when most lines
    start with a timestamp (a CI console), the lines are taken without it (``stripped`` is then True):
    line-start patterns match, and the timestamps, about 15 tokens a line and noise for a test run,
    are not shown. The stored original keeps them.
    """

    def __init__(self, text: str, *, strip_timestamps: bool = False) -> None:
        if "\x1b[" in text:
            text = strip_colors(text)
        self.stripped = strip_timestamps and timestamp_prefixed(text[:4096])
        if self.stripped:
            # The line count is unchanged: the prefix never holds a newline.
            text = _TIMESTAMP_PREFIX_RE.sub("", text)
        self.lines = split_lines(text)
        if max(map(len, self.lines)) > SCAN_CHARS:
            self.scan_lines = [_scan_view(line) for line in self.lines]
            scan_text = "\n".join(self.scan_lines)
        else:
            self.scan_lines = self.lines
            scan_text = text
        self._low = scan_text.encode("utf-8", "surrogatepass").lower()
        # Byte offsets of line starts (they differ from character offsets once a line is not ASCII).
        lengths = map(len, self.scan_lines if scan_text.isascii() else self._low.split(b"\n"))
        # A C array, not a list: a list holds one int object per line (about 40 bytes each), which on
        # a text of many short lines costs far more memory than the text itself.
        self._starts = array("q", [0])
        self._starts.extend(accumulate(map((1).__add__, lengths)))
        del self._starts[len(self.scan_lines) :]

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def lowered(self) -> bytes:
        """The scanned lines joined by ``\\n``, UTF-8, ASCII-lowercased (shared with the templates)."""
        return self._low

    def with_words(self, words: Iterable[str]) -> list[int]:
        """Indices of the lines holding any of ``words`` (ASCII case-insensitive), ascending, each once."""
        low = self._low
        starts = self._starts
        found: set[int] = set()
        for word in words:
            needle = word.lower().encode("utf-8", "surrogatepass")
            if not needle:
                continue
            pos = low.find(needle)
            while pos != -1:
                i = bisect_right(starts, pos) - 1
                found.add(i)
                nxt = starts[i + 1] if i + 1 < len(starts) else len(low)
                pos = low.find(needle, nxt)
        return sorted(found)

    def lines_matching(self, pattern: re.Pattern[bytes]) -> dict[int, re.Match[bytes]]:
        """Line index -> first match of ``pattern`` over the lowered bytes (``lowered``), ascending.

        One C-speed scan of the whole text: for a pattern that starts with a literal and matches few
        lines, far cheaper than a word search that hits every line and a regex per line.
        """
        starts = self._starts
        found: dict[int, re.Match[bytes]] = {}
        for m in pattern.finditer(self._low):
            found.setdefault(bisect_right(starts, m.start()) - 1, m)
        return found

    def query_lines(self, query: str | None) -> list[int]:
        """Lines matching the query's selective terms, ascending.

        A term found in a large share of the lines ("item" in a log of item requests) says nothing about
        which lines the user means, so it is ignored; the rare terms (an id, a name) pick the lines.
        """
        limit = max(QUERY_MIN_LIMIT, int(len(self.lines) * QUERY_MAX_SHARE))
        found: set[int] = set()
        for term in query_terms(query):
            hits = self.with_words((term,))
            if len(hits) <= limit:
                found.update(hits)
        return sorted(found)

    def verified(self, candidates: Iterable[int], pattern: re.Pattern[str]) -> list[int]:
        """The ``candidates`` whose (scanned) line ``pattern`` finds something in."""
        return [i for i in candidates if pattern.search(self.scan_lines[i]) is not None]

    def error_lines(self) -> list[int]:
        """Indices of the lines with an error signal (``engines._signals.ERROR_WORDS_RE``)."""
        return self.verified(self.with_words(ERROR_ROOTS), ERROR_WORDS_RE)

    def starting_with(self, pattern: re.Pattern[str]) -> list[int]:
        """Indices of the lines ``pattern.match`` accepts (anchored at the line start), ascending."""
        return list(compress(range(len(self.scan_lines)), map(pattern.match, self.scan_lines)))


# Literal roots of ``engines._signals.ERROR_WORDS_RE``: every match of that regex contains one of them,
# so lines without any root are skipped without running the regex.
ERROR_ROOTS = (
    "err", "fail", "exception", "fatal", "panic", "timeout", "timed", "time out", "denied", "critical",
    "crash", "traceback", "abort", "segfault", "oom", "refused",
)  # fmt: skip

_STOP_WORDS = frozenset(
    (
        "the", "and", "for", "with", "what", "why", "how", "did", "does", "was", "were", "are", "is",
        "this", "that", "from", "into", "show", "find", "all", "any", "which", "where", "when", "who",
        "about", "after", "before", "give", "tell", "list", "get", "me", "my", "our", "your", "its", "not",
    )
)  # fmt: skip


def query_terms(query: str | None) -> list[str]:
    """The meaningful terms of ``query`` (3+ characters, no stop words), lowercased, in order."""
    if not query:
        return []
    terms: dict[str, None] = {}
    for term in re.findall(r"[\w./:@-]{3,}", query):
        t = term.strip(".:-/").lower()
        if len(t) >= 3 and t not in _STOP_WORDS:
            terms.setdefault(t, None)
    return list(terms)
