"""Lines that match the user's question, for the search, diff and table engines.

Only *rare* query terms select lines: a term found on most lines (the pattern a grep searched for, the
status every row shares, a word of the file path) says nothing about which line matters. Patterns run
over the whole text in C and each hit is mapped to its line by a binary search over line offsets, so the
cost does not grow with a Python loop per line.
"""

from __future__ import annotations

import operator
import re
import string
from bisect import bisect_right
from collections import Counter
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


# Folding makes ``retry_after``, ``Retry-After``, ``retryAfter`` and ``RETRY_AFTER`` one word.
_FOLD = str.maketrans("", "", "_-$")
_FOLDED_WORD_RE = re.compile(r"[a-z][a-z0-9]{2,}")
_TERM_SAMPLE = 400
_TERM_CANDIDATES = 8
_TERM_SHARE = 0.75
"""A word is the searched term when at least this share of matched lines holds it (folded)."""
# A definition starts its line: modifiers, a keyword, an optional Go receiver ``(s *Server)``, then the
# name being defined. Anchored at line starts (cheap to rule out elsewhere), over many lines joined by
# newlines at once, so nothing in it crosses a newline.
_DEF_RE = re.compile(
    r"^[ \t]*(?:(?:export|default|pub(?:\([\w: ]{0,20}\))?|async|public|private|protected|internal|static"
    r"|abstract|final|override|open|inline|unsafe|extern)[ \t]+)*"
    r"(?:def|func|function|fn|class|struct|interface|type|enum|trait|module|const|let|var|val)"
    r"[ \t]+(?:\([^()\n]{0,80}\)[ \t]*)?([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_DEF_CHARS = 300


def fold(text: str) -> str:
    """``text`` lowercased without ``_``, ``-`` and ``$``, so that naming styles compare equal."""
    return text.lower().translate(_FOLD)


def searched_term(texts: Sequence[str]) -> str | None:
    """The (folded) word nearly every matched line holds: the pattern the search ran, when it was one word.

    Candidates are the words on most lines of a spread sample; the one found inside the most lines (as a
    substring, so ``retryafter`` counts in ``parseRetryAfter``) wins, the longer on a tie. None when no
    word reaches ``_TERM_SHARE`` (a regex with alternatives, a search for punctuation).
    """
    if len(texts) < 5:
        return None
    step = max(1, len(texts) // _TERM_SAMPLE)
    sample = [fold(t[:_DEF_CHARS]) for t in texts[::step]]
    df: dict[str, int] = {}
    for line in sample:
        for word in set(_FOLDED_WORD_RE.findall(line)):
            df[word] = df.get(word, 0) + 1
    ranked = sorted(df, key=lambda w: (-df[w], w))[:_TERM_CANDIDATES]
    share = {w: sum(1 for line in sample if w in line) for w in ranked}
    best = max(ranked, key=lambda w: (share[w], len(w), w), default=None)
    return best if best is not None and share[best] >= _TERM_SHARE * len(sample) else None


def defined_names(texts: Sequence[str], term: str) -> list[tuple[int, str]]:
    """``(index, folded name)`` for each of ``texts`` that defines (``def``, ``func``, ``class``,
    ``const``…) a name holding ``term``: one regex pass in C over the texts joined, hits mapped back.

    Test functions (``test_parse_retry_after``) are left out: they exercise the definition, they are not it.
    """
    cut = [t[:_DEF_CHARS].replace("\n", " ") for t in texts]
    starts = line_starts(cut)
    found: list[tuple[int, str]] = []
    for m in _DEF_RE.finditer("\n".join(cut)):
        name = fold(m.group(1))
        if term in name and not name.startswith("test"):
            k = bisect_right(starts, m.start(1)) - 1
            if not found or found[-1][0] != k:
                found.append((k, name))
    return found


# Matches that stand out, and where the matched text starts.
_AT_COLUMN_RE = re.compile(r"\d+:")
_COLUMN_SAMPLE = 200
_MAX_UNLIKE = 12
"""More matches unlike the rest than this and none of them stands out."""
_FREQUENT_SHARE = 50
"""A shape on at least ``1 / _FREQUENT_SHARE`` of the matches is a common one."""
_SHAPE_DELETE = bytes(string.ascii_letters + string.digits + "_", "ascii")
_SHAPE_CHARS = 200
READABLE_CHARS = 160
"""A matched line longer than this (chars) reads as a blob, not as code."""


def text_colons(lines: Sequence[str], matches: Sequence[int], prefix_colons: int) -> int:
    """Colons before the matched text: ``prefix_colons``, plus one when nearly every match of a spread
    sample has a column number there (``rg --column``, ``ack --column``, ``grep --column``)."""
    if not matches:
        return prefix_colons
    step = max(1, len(matches) // _COLUMN_SAMPLE)
    sample = [lines[i].split(":", prefix_colons)[-1] for i in matches[::step]]
    columns = sum(1 for t in sample if _AT_COLUMN_RE.match(t))
    return prefix_colons + 1 if columns >= 0.9 * len(sample) else prefix_colons


def unlike_the_rest(lines: Sequence[str], matches: list[int], prefix_colons: int) -> list[int]:
    """Matches whose line has a shape no other match has (when most matches share a few shapes).

    A shape is the matched text with letters, digits and underscores deleted (``bytes.translate``, in
    C): when most matches read ``if err := fooRetry(ctx, 3); err != nil {`` (shape ``  := (, );  != {``),
    the one reading ``maxRetries := 0 // retries disabled`` is what the search turned up. When the
    matches are all different (ordinary code), nothing is singled out.
    """
    if len(matches) < 20:
        return []
    texts = "\n".join(lines[i].split(":", prefix_colons)[-1][:_SHAPE_CHARS] for i in matches)
    shapes = texts.encode("utf-8", "surrogatepass").translate(None, _SHAPE_DELETE).split(b"\n")
    if len(shapes) != len(matches):
        return []
    counts = Counter(shapes)
    common = sum(count for _, count in counts.most_common(max(3, len(counts) // 10)))
    # Or a dozen shapes each on a few percent of the matches (a template per language of a polyglot
    # repo): as few in effect, though no three of them make most.
    frequent = max(3, len(matches) // _FREQUENT_SHARE)
    common = max(common, sum(count for count in counts.values() if count >= frequent))
    if common < 0.6 * len(matches):
        return []
    # A long run of escapes or base64 has a shape of its own by length alone: noise, not a finding.
    rare = [
        i
        for i, shape in zip(matches, shapes, strict=True)
        if counts[shape] == 1 and len(lines[i].split(":", prefix_colons)[-1]) <= READABLE_CHARS
    ]
    return rare if len(rare) <= _MAX_UNLIKE else []
