"""Lines that match the user's question, for the search, diff and table engines.

Only *rare* query terms select lines: a term found on most lines (the pattern a grep searched for, the
status every row shares, a word of the file path) says nothing about which line matters. Patterns run
over the whole text in C and each hit is mapped to its line by a binary search over line offsets, so the
cost does not grow with a Python loop per line.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

_TERM_RE = re.compile(r"[^\W_][\w./:@-]*[^\W_]|[^\W_]{3,}")
_STOP_TEXT = """
the and for with what why how did does was were are is this that from into show find all any which
where when who about after before give tell list get me my our your its not can could would should
has have had there their them they than then also just only some please need want look see here
line lines file files output result results
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
_MAX_TERMS = 16


def line_starts(lines: Sequence[str]) -> list[int]:
    """Offset of each line in ``"\\n".join(lines)``."""
    cumulative = accumulate(map(len, lines), initial=0)
    return list(map(operator.add, cumulative, range(len(lines))))


def query_terms(query: str | None) -> list[str]:
    """The distinct meaningful words of ``query`` (lowercased, stop words and short words left out)."""
    if not query:
        return []
    seen: dict[str, None] = {}
    for raw in _TERM_RE.findall(query):
        term = raw.strip("./:@-").lower()
        if len(term) >= 3 and term not in _STOP_WORDS:
            seen.setdefault(term, None)
        if len(seen) >= _MAX_TERMS:
            break
    return list(seen)


def query_lines(query: str | None, text: str, starts: Sequence[int]) -> list[int]:
    """Indices (ascending) of the lines of ``text`` holding a rare term of ``query``.

    ``starts`` are the line offsets (``line_starts``). A term is rare when it hits at most
    ``max(3, min(50, lines // 20))`` lines; commoner terms are ignored.
    """
    terms = query_terms(query)
    if not terms or not starts:
        return []
    limit = max(3, min(50, len(starts) // 20))
    found: set[int] = set()
    for term in terms:
        # Left boundary only: "refresh" finds "refreshToken" and "token_refresh" but "set" not "offset".
        pattern = re.compile(r"(?<![A-Za-z0-9])" + re.escape(term), re.IGNORECASE)
        hits: list[int] = []
        for m in pattern.finditer(text):
            line = bisect_right(starts, m.start()) - 1
            if hits and hits[-1] == line:
                continue
            hits.append(line)
            if len(hits) > limit:
                break
        if len(hits) <= limit:
            found.update(hits)
    return sorted(found)
