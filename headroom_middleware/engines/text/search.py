"""The search-results engine: ``grep -rn``, ``grep -r``, ``grep -n`` and ripgrep output.

Lines are read as matches (``path:12:text``; ``path:text`` without ``-n``), context (``path-12-text``
from ``-A/-B/-C``), ``--`` separators, or, for ``rg --heading``, a path line followed by ``12:text`` /
``12-text`` lines (``grep -n`` over one file prints those lines alone). A column number after the line
number (``--column``) is read as such; ``git grep -p`` function lines (``path=12=func f() {``) are
context; ``rg --json`` events are read as the grep lines they stand for. Over budget the engine drops
context lines first, then cuts every file to its first few matches plus a count, then samples one match
only of the files with the fewest matches (a lone hit in a source file tells more than the first of a
thousand in a vendored bundle) and gives the others a count, then leaves out files with the most
matches. Always kept: lines holding a rare term of the user's query, matches unlike all the others
(when most share a few shapes), definitions of a name holding the searched word (``def parse_retry_after(``
in a search for ``retry_after``) and unparsed lines such as ``grep: x: Permission denied``. Files are
sampled in this order: a few hits in a folder few files share, then files whose first match reads well
(not a generated blob or ``Binary file x matches``, which counts as a hit of x), then files with fewer
matches. ``rg -c`` / ``grep -c`` output (``path:count``) shows the largest counts first and files with an
odd extension; ``fd`` / ``find`` listings show paths with a rare extension or folder and one per folder,
with counts by folder and extension in the marker. Output aims at a fifth of the budget: the file list,
counts and first matches say where to look. Kept lines are never edited, so paths and line numbers stay
exact.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace
from itertools import accumulate, pairwise

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from ._search_budget import fit_levels, render_selection, within_budget
from ._search_json import looks_like_rg_json, rg_json_to_grep
from ._search_listings import (
    MAX_OTHER,
    PATHISH_RE,
    SAMPLE_LINES,
    compress_counts,
    compress_paths,
    count_mode,
    paths_mode,
    rare_folders,
    split_folders,
)
from ._search_terms import (
    READABLE_CHARS,
    defined_names,
    line_starts,
    query_lines,
    searched_term,
    text_colons,
    unlike_the_rest,
)
from ._textlines import split_lines
from .generic import compress_generic

MATCH, CONTEXT, SEPARATOR, PATH, OTHER = range(5)

# A path has no whitespace and no colon; grep and rg print ``path:line:`` for a match.
_MATCH_RE = re.compile(r"([^\s:]+):(\d+):")
_CONTEXT_RE = re.compile(r"([^\s:]+?)-(\d+)-")
_AT_MATCH_RE = re.compile(r":\d+:")
_AT_CONTEXT_RE = re.compile(r"-\d+-")
# ``git grep -p`` / ``-W``: the line naming the enclosing function, ``path=12=func Foo() {``, is context.
_FUNC_CONTEXT_RE = re.compile(r"([^\s:=]+?)=(\d+)=")
_AT_FUNC_RE = re.compile(r"=\d+=")
# ``rg --heading``: the path on its own line, then ``12:text`` (match) or ``12-text`` / ``12=text``
# (context).
_NUMBERED_RE = re.compile(r"\d+([:=-])")
# ``--column`` puts the column after the line number (``12:5:text``); a time of day (``12:05:33``)
# has a digit after its second colon.
_COLUMN_RE = re.compile(r"\d+:\d+:(?!\d)")
# Compiler diagnostics look like grep hits (``a.c:12:5: warning: ...``); they belong to other engines.
_DIAGNOSTIC_RE = re.compile(r"[^\s:]+:\d+:(?:\d+:)? (?:fatal )?(?:error|warning|note|hint)\b")
_TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\d|\d\d:\d\d")
# A "path" ending in an hour (``…T19`` before ``:33:00``) is a timestamp, and commas mean CSV.
_TIME_TAIL_RE = re.compile(r"(?:^|[T\s])\d{1,2}$")
# ``grep -r`` without ``-n``: ``path:text``, where the path has a folder or an extension.
_PLAIN_RE = re.compile(r"((?:[^\s:,]*/)?[^\s:,/]*(?:/|\.[A-Za-z0-9]{1,8})):(?!\d+[:-])")
# A binary file that matched, as GNU grep (before and since 3.5) and ripgrep report it: a hit of that file.
_BINARY_RE = re.compile(
    r"Binary file (\S.*) matches$|grep: (\S.*): binary file matches$|([^\s:]+): binary file matches"
)
TARGET_SHARE = 5
"""Search output aims at ``max_tokens // TARGET_SHARE`` tokens (but at least ``MIN_TARGET``)."""
MIN_TARGET = 400
PEEK = 4096
"""Chars the ``rg --json`` test looks at, as the detector does."""
_MAX_DEFS = 8
"""Definitions of the searched name kept in view (one per name, files ranked first come first)."""
_RARE_MAX_MATCHES = 3
"""More matches than this in a rare folder is a bundle or data set there, not a lone unexpected hit."""


def _is_match_line(line: str) -> bool:
    m = _MATCH_RE.match(line)
    return (
        m is not None
        and _TIMESTAMP_RE.match(m.group(1)) is None
        and PATHISH_RE.fullmatch(m.group(1)) is not None
        and _TIME_TAIL_RE.search(m.group(1)) is None
    )


def _binary_path(line: str) -> str | None:
    m = _BINARY_RE.match(line)
    return None if m is None else next(g for g in m.groups() if g is not None)


def _is_context_line(line: str) -> bool:
    return line == "--" or _CONTEXT_RE.match(line) is not None or _FUNC_CONTEXT_RE.match(line) is not None


def _heading_mode(lines: Sequence[str]) -> bool:
    """True for ``rg --heading`` output (a path line, then ``12:text`` lines) and for ``grep -n`` over
    one file (``12:text`` lines only): most non-blank lines start with a bare line number."""
    sample = [line for line in lines[:SAMPLE_LINES] if line.strip() and line != "--"]
    if len(sample) < 3:
        return False
    is_numbered = [
        _NUMBERED_RE.match(line) is not None
        and (_TIMESTAMP_RE.match(line) is None or _COLUMN_RE.match(line) is not None)
        for line in sample
    ]
    numbered = sum(is_numbered)
    if numbered == len(sample):
        # No path line to vouch for them: most must not read as a time (``10:15: started`` is a log).
        return sum(1 for line in sample if _TIMESTAMP_RE.match(line) is None) >= 0.5 * len(sample)
    paths = len(sample) - numbered
    if paths < 1 or PATHISH_RE.match(sample[0]) is None:
        return False
    if numbered >= 0.6 * len(sample):
        return True
    # Mostly one match per file: half the lines are paths, then each path must read as one (no spaces)
    # and be followed by a numbered line.
    return numbered >= paths and all(
        is_numbered[k]
        or (PATHISH_RE.fullmatch(line) is not None and k + 1 < len(sample) and is_numbered[k + 1])
        for k, line in enumerate(sample[:-1])
    )


def looks_like(head: str) -> bool:
    """True when the first few KB read as grep/ripgrep results (not JSON, logs or compiler output)."""
    if head.lstrip()[:1] in ("{", "["):
        return False
    lines = head.split("\n")[:SAMPLE_LINES]
    if len(lines) > 1 and len(head) >= 4096:
        lines.pop()  # the last line of the peek may be cut short
    if _heading_mode(lines) or count_mode(lines) or paths_mode(lines):
        return True
    sample = [line for line in lines if line.strip()]
    if len(sample) < 3:
        return False
    matches = [line for line in sample if _is_match_line(line)]
    binaries = sum(1 for line in sample if line.startswith(("Binary file ", "grep: ")) and _binary_path(line))
    if len(matches) < 2:
        return _plain_mode(lines)
    context = sum(1 for line in sample if _is_context_line(line))
    if len(matches) + binaries + context < 0.7 * len(sample):
        return False
    diagnostics = sum(1 for line in matches if _DIAGNOSTIC_RE.match(line))
    return diagnostics <= 0.2 * len(matches)


def _plain_mode(lines: Sequence[str]) -> bool:
    """True for ``grep -r`` output without line numbers: most lines are ``path:text``."""
    sample = [line for line in lines[:SAMPLE_LINES] if line.strip()]
    if len(sample) < 3 or any(_is_match_line(line) for line in sample):
        return False
    plain = [m.group(1) for line in sample if (m := _PLAIN_RE.match(line)) is not None]
    return len(plain) >= 0.8 * len(sample) and len(set(plain)) >= 2 and not _TIMESTAMP_RE.match(plain[0])


def _definitions(
    lines: Sequence[str], ranked_files: Sequence[Sequence[int]], prefix_colons: int
) -> list[int]:
    """Matches defining a name that holds the searched word (``def parse_retry_after(`` in a search for
    ``retry_after``): what most searches look for. One per name, from the files ranked first."""
    matches = [i for f in ranked_files for i in f]
    texts = [lines[i].split(":", prefix_colons)[-1] for i in matches]
    term = searched_term(texts)
    if term is None:
        return []
    first: dict[str, int] = {}
    for k, name in defined_names(texts, term):
        first.setdefault(name, matches[k])
        if len(first) >= _MAX_DEFS:
            break
    return sorted(first.values())


def _classify(lines: Sequence[str], heading: bool, plain: bool) -> tuple[bytearray, list[int], list[str]]:
    """Kind of each line, the file id each line belongs to, and the file paths in order of appearance."""
    n = len(lines)
    kinds = bytearray(n)
    file_of = [0] * n
    paths: list[str] = []
    ids: dict[str, int] = {}
    cur = ""
    cur_id = -1
    for i, line in enumerate(lines):
        if not line.strip() or line == "--":
            kinds[i] = SEPARATOR
        elif heading:
            m = _NUMBERED_RE.match(line)
            if m is not None:
                kinds[i] = MATCH if m.group(1) == ":" else CONTEXT
                if cur_id < 0:  # ``grep -n`` over one file: no path line, one unnamed file
                    cur_id = ids.setdefault("", 0)
                    paths.append("")
            else:
                kinds[i] = PATH
                cur_id = ids.setdefault(line, len(ids))
                if cur_id == len(paths):
                    paths.append(line)
        elif cur and line.startswith(cur) and _AT_MATCH_RE.match(line, len(cur)):
            kinds[i] = MATCH
        elif (
            cur
            and line.startswith(cur)
            and (_AT_CONTEXT_RE.match(line, len(cur)) or _AT_FUNC_RE.match(line, len(cur)))
        ):
            kinds[i] = CONTEXT
        elif plain and cur and line.startswith(cur) and line[len(cur) : len(cur) + 1] == ":":
            kinds[i] = MATCH
        else:
            m = _MATCH_RE.match(line)
            if m is None and plain:
                m = _PLAIN_RE.match(line)
            binary = _binary_path(line) if m is None else None
            if m is not None or binary is not None:
                kinds[i] = MATCH
                cur = m.group(1) if m is not None else str(binary)
                cur_id = ids.setdefault(cur, len(ids))
                if cur_id == len(paths):
                    paths.append(cur)
            elif _CONTEXT_RE.match(line) or _FUNC_CONTEXT_RE.match(line):
                kinds[i] = CONTEXT  # its path is uncertain ("a-1-b.py-3-"): do not make it current
            else:
                kinds[i] = OTHER
        file_of[i] = cur_id
    return kinds, file_of, paths


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget, or when nothing may be dropped, pass through; over it, keep matches by file."""
    if not ctx.lossy or within_budget(text, ctx):
        return Compressed(text, "passthrough")
    original = text  # what the store keeps: ``rg --json`` events are read as grep lines below
    if text[:1] == "{" and looks_like_rg_json(text[:PEEK]):
        text = rg_json_to_grep(text)
    lines = split_lines(text)
    n = len(lines)
    # Search results aim at a share of the budget: the file list, counts and first matches say where
    # to look, and a narrower search or a retrieval with a query gets the rest.
    target = replace(ctx, max_tokens=min(ctx.max_tokens, max(ctx.max_tokens // TARGET_SHARE, MIN_TARGET)))
    if count_mode(lines):
        return compress_counts(text, lines, target)
    if paths_mode(lines):
        return compress_paths(text, lines, target)
    heading, plain = _heading_mode(lines), _plain_mode(lines)
    kinds, file_of, paths = _classify(lines, heading, plain)
    if MATCH not in kinds:
        return compress_generic(original, ctx)  # not search output after all
    # Chars: a line this long (minified code, a generated blob) would crowd out a dozen readable hits.
    too_long = max(200, target.max_tokens // 2)

    per_file: list[list[int]] = [[] for _ in paths]
    path_line: list[int] = [-1] * len(paths)
    always: list[int] = []  # unparsed lines (``Binary file x matches``, rg's summary) stay in view
    match_lines: list[int] = []
    for i, kind in enumerate(kinds):
        if kind == MATCH:
            match_lines.append(i)
            if file_of[i] >= 0 and len(lines[i]) <= too_long:
                per_file[file_of[i]].append(i)
        elif kind == PATH and path_line[file_of[i]] < 0:
            path_line[file_of[i]] = i
        elif kind == OTHER and len(lines[i]) <= too_long:
            always.append(i)
    if len(always) > MAX_OTHER:  # many unparsed lines: show the first and last few, count the rest
        always = always[: MAX_OTHER // 2] + always[-MAX_OTHER // 2 :]
    asked = [i for i in query_lines(ctx.query, text, line_starts(lines)) if len(lines[i]) <= too_long]
    prefix_colons = text_colons(lines, match_lines, 1 if heading or plain else 2)
    unlike = unlike_the_rest(lines, [i for f in per_file for i in f], prefix_colons)
    file_start = [n] * len(paths)  # where each file's lines begin (its path line or first match)
    for i in reversed(range(n)):
        if kinds[i] in (MATCH, PATH) and file_of[i] >= 0:
            file_start[file_of[i]] = i
    boundaries = sorted(file_start)
    # Distinct files among dropped matches in O(1): files are contiguous in grep/rg output, so count
    # the places where the file changes from one match to the next.
    unplaced = [0, *accumulate(k in (OTHER, PATH) for k in kinds)]
    match_files = [file_of[i] for i in match_lines]
    file_changes = [0, *accumulate(int(a != b) for a, b in pairwise(match_files))]

    def describe(start: int, end: int) -> tuple[int, str] | None:
        first = bisect_left(match_lines, start)
        last = bisect_left(match_lines, end)
        dropped = last - first
        if dropped == 0:
            others = unplaced[end] - unplaced[start]
            # Only context lines and separators: the full marker says they were dropped.
            return (others, "line" if others == 1 else "lines") if others else None
        noun = "match" if dropped == 1 else "matches"
        files = 1 + file_changes[last - 1] - file_changes[first]
        if files == 1:
            where = paths[match_files[first]] if match_files[first] >= 0 else ""
            return dropped, f"{noun} in {where}" if where else noun
        return dropped, f"{noun} in {files:,} files"

    # Files with few matches come first, in sampling and in naming: the one hit in a source file tells
    # more than the first of a thousand in a vendored bundle, whose count already describes it.
    # A few hits in a folder few others share (``scripts/`` among hundreds under ``services/``) come
    # first of all: the one nobody expected. Files whose every match is too long to show come last.
    # Then files whose first match reads well (not a generated blob, not ``Binary file x matches``);
    # then files with fewer matches.
    rare = rare_folders(split_folders(paths)[1])

    def unreadable(f: int) -> bool:
        first = lines[per_file[f][0]]
        return len(first) > READABLE_CHARS or _binary_path(first) is not None

    def rank_key(f: int) -> tuple[bool, bool, bool, int, int]:
        if not per_file[f]:
            return (True, True, True, 0, f)
        unexpected = rare[f] and len(per_file[f]) <= _RARE_MAX_MATCHES
        return (False, not unexpected, unreadable(f), len(per_file[f]), f)

    rank = [0] * len(paths)
    order = sorted(range(len(paths)), key=rank_key)
    for r, f in enumerate(order):
        rank[f] = r
    defs = _definitions(lines, [per_file[f] for f in order], prefix_colons)
    if heading:  # a kept match needs its path line above it to be read
        shown_alone = {path_line[file_of[i]] for i in [*asked, *unlike, *defs] if file_of[i] >= 0}
        always += sorted(i for i in shown_alone if i >= 0)
    following = [bisect_left(boundaries, file_start[f] + 1) for f in range(len(paths))]
    file_end = [boundaries[j] if j < len(boundaries) else n for j in following]
    # Where runs of dropped lines are split in the selection being rendered, so that each named file
    # gets its own count; ``select`` sets it and ``render`` reads it (``fit_levels`` renders each
    # selection right after making it).
    cuts: list[int] = []
    named = [len(paths)]

    def select(per_file_cap: int, sampled: int, files_named: int) -> list[int]:
        """Up to ``per_file_cap`` matches of the ``sampled`` files with the fewest matches; a count for the
        other files among the ``files_named`` with the fewest matches (a lone match is its own count);
        the files left share the counts of the gaps they fall in."""
        named[0] = files_named
        kept = [*always, *asked, *unlike, *defs]
        splits: list[int] = []
        for f in range(len(paths)):
            if rank[f] < sampled:
                kept += per_file[f][:per_file_cap]
                if path_line[f] >= 0:  # with no match shown, the gap names the file instead
                    kept.append(path_line[f])
            elif rank[f] < files_named:
                if len(per_file[f]) == 1:
                    kept.append(per_file[f][0])
                    if path_line[f] >= 0:
                        kept.append(path_line[f])
            else:
                continue
            splits += (file_start[f], file_end[f])
        cuts[:] = sorted(set(splits))
        return sorted(set(kept))

    payload = original.encode("utf-8", "surrogatepass")
    key = make_key(payload)
    has_context = CONTEXT in kinds

    def render(kept: list[int]) -> str:
        shown = sum(1 for i in kept if kinds[i] == MATCH)
        note = f"{shown:,} of {len(match_lines):,} matches; {named[0]:,} of {len(paths):,} files named"
        if has_context:
            note += "; context lines dropped"
        if asked:
            note += f"; {len(asked):,} lines match the query"
        if unlike:
            note += f"; {len(unlike):,} matches unlike the rest"
        if defs:
            note += f"; {len(defs):,} definitions of the searched name"
        marker = _markers.omitted(n - len(kept), n, "lines", key, note)
        return render_selection(lines, kept, describe, marker, cuts)

    widest = max(map(len, per_file), default=0)
    files = len(paths)
    # Levels, richest first: at most ``widest - t`` matches per file, down to one; then a sample for
    # fewer and fewer files (the others get a count); then counts for fewer and fewer files.
    levels = widest - 1 + 2 * files

    def at_level(t: int) -> list[int]:
        if t < widest - 1:
            return select(widest - t, files, files)
        t -= widest - 1
        if t <= files:
            return select(1, files - t, files)
        return select(1, 0, files - (t - files))

    text_out = fit_levels(at_level, levels, render, target)
    return Compressed(text_out, "search:files", ((key, payload),))
