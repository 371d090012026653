"""The diff engine: unified diffs, ``git diff`` / ``git show`` / ``git log -p`` output.

What a reviewer needs first is the shape of the change: every file header (``diff --git``, renames,
copies, deletions, new files, mode changes, binary notices) and every submodule bump stays in view,
except inside a run of generated files (a vendored tree), which may go under one marker naming their
count and common directory. ``git show --stat -p`` is recognised by its stat block, ``diff -ruN`` by its
command lines (its ``---``/``+++`` dates then only show an epoch date, i.e. a file missing on one side),
``git format-patch`` mails by their ``From <sha>`` line.
Hunks of generated files (lock files, schema dumps, minified bundles, snapshots, vendored code, files
whose first lines say they are generated) and of deleted files collapse into one ``+N/-M`` gap marker;
small hunks stay whole; bigger hunks keep their changed lines and lose their context. Each file gets the
same allowance of changed lines, spread over its hunks, changed definitions (``def``, ``func``, a C
function's signature) first; bulk data (recorded JSON, fixtures, locales, SVG) gets a quarter of it.
Output aims at half the budget: when that is not enough, the allowance shrinks, then only changed
definitions, then only file headers remain, then whole files go from the end, each gap with its
``+N/-M`` counts. Commit headers and subjects (``git show``, ``git log -p``) always stay; commit message
bodies and ``--stat`` lines stay only while they leave room for a few changed lines per file.
Lines matching a rare term of the user's query are always kept. Hunks are read by their ``@@`` line
counts, so a removed ``-- comment`` line is never mistaken for a ``---`` file header.
Also read: combined diffs of merges (``diff --cc``, ``@@@`` hunks, one prefix column per parent; a
conflict left in a file shows with both sides), ``svn diff`` (``Index:`` headers, ``## … ##`` property
hunks), ``--word-diff`` hunks (no prefix column), runs of renames that only moved files (summarised like
generated files), and logs without patches (``git log --stat``: only the subjects stay unless more fits).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import accumulate

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from ._diff_files import SIGNATURE_HINT_RE, is_signature
from ._diff_parse import (
    ADD,
    AUTHOR,
    BODY,
    COMMIT,
    COMMIT_RE,
    CONTEXT,
    DEL,
    HUNK,
    KEY,
    MINOR,
    NOTE,
    PREAMBLE,
    STAT,
    FileSection,
    has_stat_graph,
    parse,
)
from ._search_budget import fit_levels, render_selection, within_budget
from ._search_terms import line_starts, query_lines
from ._textlines import split_lines
from .generic import compress_generic

SMALL_HUNK_CHANGES = 12
"""A hunk with at most this many changed lines (and not much context) is kept whole."""
SMALL_HUNK_LINES = 30
CHANGED_CAP = 40
"""Changed lines shown per file at the richest level but the few below (``_CAPS``)."""
NEW_FILE_HEAD = 12
"""Lines shown of a file the diff adds whole: enough to see what it is."""
TARGET_SHARE = 2
"""Diff output aims at ``max_tokens // TARGET_SHARE`` tokens (but at least ``MIN_TARGET``)."""
MIN_TARGET = 1000
DATA_SHARE = 4
"""Bulk data files (recorded JSON, fixtures, locales, SVG) get ``1 / DATA_SHARE`` of a file's allowance."""
PREAMBLE_MIN_CAP = 4
"""Commit message bodies and ``--stat`` lines stay only if the output still fits with this allowance."""
SIGNATURES_PER_HUNK = 6
"""Changed definitions a hunk shows whatever its allowance (the allowance counts them when larger)."""
GENERATED_RUN = 3
"""This many generated files in a row (a vendored tree) may go under one gap marker, headers included."""
# Allowances per file, richest first: a few files get more room, then one changed line less per level.
_CAPS = (CHANGED_CAP * 8, CHANGED_CAP * 4, CHANGED_CAP * 2, *range(CHANGED_CAP, 0, -1))


def looks_like(head: str) -> bool:
    """True when the first few KB hold a git diff header, unified ``---``/``+++``/``@@`` lines, or the
    ``--stat`` block git prints before a patch (a long one pushes the first ``diff --git`` past the head)."""
    if "diff --" in head and re.search(r"(?m)^diff --(?:git|cc|combined) ", head):
        return True  # ``--cc``/``--combined``: a merge's diff against each of its parents
    if (
        re.search(r"(?m)^--- \S", head) is not None
        and re.search(r"(?m)^\+\+\+ \S", head) is not None
        and re.search(r"(?m)^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@", head) is not None
    ):
        return True
    lines = head.split("\n")
    graphs = sum(1 for line in lines if has_stat_graph(line))
    if graphs < 3:
        return False
    # After a commit header (``git show --stat -p``), or as most of the head (``git diff --stat -p``).
    return COMMIT_RE.match(head) is not None or graphs * 2 >= sum(1 for line in lines if line.strip())


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget, or when nothing may be dropped, pass through; over it, keep the shape of the change."""
    if not ctx.lossy or within_budget(text, ctx):
        return Compressed(text, "passthrough")
    lines = split_lines(text)
    n = len(lines)
    kinds, files = parse(lines)
    if not files and COMMIT not in kinds:
        return compress_generic(text, ctx)  # not a diff after all
    if not files:
        _subjects_only(lines, kinds)  # ``git log`` / ``git log --stat``: commits without patches
    too_long = max(200, ctx.max_tokens)  # chars: never show one line that would crowd out the rest

    # Blank lines between commits (git log -p) or at the end carry nothing: shown in no case.
    blank = [kinds[i] in (PREAMBLE, BODY) and not lines[i].strip() for i in range(n)]
    shown = [not blank[i] and len(lines[i]) <= too_long for i in range(n)]
    essential = [i for i in range(n) if kinds[i] == COMMIT and shown[i]]
    # Headers of runs of generated files (a vendored tree brings hundreds) go before the others' changes.
    generated_header = bytearray(n)
    ends = [*(f.start for f in files[1:]), n][: len(files)]  # no file at all in ``git log --stat``
    in_runs = _in_generated_runs(files)
    for f, end, collapsible in zip(files, ends, in_runs, strict=True):
        if collapsible:
            stop = f.hunks[0].start if f.hunks else end
            generated_header[f.start : stop] = bytes(1 for _ in range(stop - f.start))
    always = [
        i
        for i in range(n)
        if (kinds[i] == PREAMBLE or (kinds[i] == KEY and not generated_header[i])) and shown[i]
    ]
    optional = {k: [i for i in range(n) if kinds[i] == k and shown[i]] for k in (AUTHOR, BODY, STAT)}
    optional[KEY] = [i for i in range(n) if kinds[i] == KEY and shown[i] and generated_header[i]]
    starts = line_starts(lines)
    asked = [
        i for i in query_lines(ctx.query, text, starts) if kinds[i] != MINOR and len(lines[i]) <= too_long
    ]
    is_add = bytes(k == ADD for k in kinds)
    is_del = bytes(k == DEL for k in kinds)
    adds = [0, *accumulate(is_add)]
    dels = [0, *accumulate(is_del)]
    bodies = [0, *accumulate(k == BODY for k in kinds)]
    stats = [0, *accumulate(k == STAT for k in kinds)]
    # Lines whose loss needs no marker: context, index/---/+++ lines, hunk headers, "\ No newline".
    quiet = [
        0,
        *accumulate(
            k in (CONTEXT, MINOR, HUNK, NOTE, AUTHOR) or b for k, b in zip(kinds, blank, strict=True)
        ),
    ]
    file_starts = [f.start for f in files]
    starts_before = [0] * (n + 1)
    for s in file_starts:
        starts_before[s + 1] += 1
    starts_before = list(accumulate(starts_before))

    def describe(start: int, end: int) -> tuple[int, str] | None:
        count = end - start
        silent = quiet[end] - quiet[start]
        if silent == count:
            return None
        added, removed = adds[end] - adds[start], dels[end] - dels[start]
        whole_files = starts_before[end] - starts_before[start]
        body, stat = bodies[end] - bodies[start], stats[end] - stats[start]
        if not (added or removed or whole_files) and body + stat + silent == count:
            what = "commit message and --stat" if body and stat else "commit message" if body else "--stat"
            return count, f"lines of the {what}" if body else "--stat lines"
        where = f" of {whole_files:,} files{_common_dir(gap_paths(start, end))}" if whole_files > 1 else ""
        where = where or (f" of {gap_paths(start, end)[0]}" if whole_files else "")
        return count, f"lines{where} (+{added:,}/-{removed:,})"

    def gap_paths(start: int, end: int) -> list[str]:
        return [f.path for f in files[bisect_left(file_starts, start) : bisect_left(file_starts, end)]]

    # Changed lines that define something, per hunk of files whose lines can be shown at all.
    # (A renamed file among many others renamed alike only changed its imports: its lines read as noise.)
    readable = [
        not (f.generated or f.deleted or (f.moved and run)) for f, run in zip(files, in_runs, strict=True)
    ]
    hinted = {bisect_right(starts, m.start()) - 1 for m in SIGNATURE_HINT_RE.finditer(text)}
    signatures = {
        id(h): [j for j in h.changed if j in hinted and shown[j] and is_signature(lines[j][1:])]
        for f, ok in zip(files, readable, strict=True)
        if ok
        for h in f.hunks
    }

    def file_lines(f: FileSection, cap: int, whole_small: bool, sigs: bool) -> list[int]:
        """The lines of ``f``'s hunks shown with an allowance of ``cap`` changed lines for the file."""
        if f.data:
            cap //= DATA_SHARE
        if f.new:
            cap = min(cap, NEW_FILE_HEAD)
        out: list[int] = []
        # Code shows a little of every hunk (its ``@@`` line names the function); data reads in order.
        sizes = [len(h.changed) for h in f.hunks]
        allowance = _in_order(cap, sizes) if f.data else _spread(cap, sizes)
        for h, room in zip(f.hunks, allowance, strict=True):
            if whole_small and len(h.changed) <= SMALL_HUNK_CHANGES and h.end - h.start <= SMALL_HUNK_LINES:
                out += [j for j in range(h.start, h.end) if shown[j] or kinds[j] == CONTEXT]
                continue
            defs = signatures[id(h)] if sigs else []
            # A changed definition shows as its ``-``/``+`` pair even when the allowance is smaller.
            picked = defs[: max(room, SIGNATURES_PER_HUNK)]
            if room > len(picked):
                taken = set(picked)
                picked += _first_changed(h.changed, room - len(picked), taken, shown, lines)
                # ... but one between two shown lines costs less than the marker that would replace it.
                chosen = set(picked)
                picked += [
                    j + 1
                    for j in sorted(chosen)
                    if j + 2 in chosen and j + 1 not in chosen and kinds[j + 1] in (ADD, DEL) and shown[j + 1]
                ]
            if not picked:
                continue
            # "\ No newline at end of file" belongs to the line above: "-}" "+}" alone read as no change.
            notes = [j + 1 for j in picked if j + 1 < h.end and kinds[j + 1] == NOTE]
            out += [h.start, *picked, *notes]
        return out

    def select(cap: int, whole_small: bool, sigs: bool, files_shown: int, extra: Sequence[int]) -> list[int]:
        cut = file_starts[files_shown] if files_shown < len(files) else n
        kept = [i for i in always if i < cut]
        kept += [i for i in asked if i < cut]
        kept += [i for i in extra if i < cut]
        kept += essential  # commit headers and subjects, even of commits whose files are left out
        for f, ok in zip(files[:files_shown], readable, strict=False):
            if ok:
                kept += file_lines(f, cap, whole_small, sigs)
        return sorted(set(kept))

    payload = text.encode("utf-8", "surrogatepass")
    key = make_key(payload)
    changed_total = adds[n] + dels[n]
    generated = sum(1 for f in files if f.generated)

    def render(kept: list[int]) -> str:
        kept_lines = set(kept)
        shown_files = sum(1 for s in file_starts if s in kept_lines)
        shown_changes = sum(1 for i in kept if kinds[i] in (ADD, DEL))
        note = f"{shown_files:,} of {len(files):,} file headers"
        note += f", {shown_changes:,} of {changed_total:,} changed lines"
        if generated:
            note += f"; {generated:,} generated files summarised"
        marker = _markers.omitted(n - len(kept), n, "lines", key, note)
        return render_selection(lines, kept, describe, marker)

    # Levels, richest first: small hunks whole, then a shrinking allowance of changed lines per file,
    # then changed definitions only, then file headers only, then fewer files.
    plan = [(_CAPS[0], True, True), *((c, False, True) for c in _CAPS), (0, False, True), (0, False, False)]

    def levels(extra: Sequence[int]) -> tuple[int, Callable[[int], list[int]]]:
        def at_level(t: int) -> list[int]:
            if t < len(plan):
                return select(*plan[t], len(files), extra)
            return select(0, False, False, len(files) - (t - len(plan) + 1), extra)

        return len(plan) - 1 + len(files), at_level

    # A diff aims at half the budget: every file header and the first changed lines of each file show
    # the shape of the change; the hunks in full are a retrieval away.
    target = replace(ctx, max_tokens=min(ctx.max_tokens, max(ctx.max_tokens // TARGET_SHARE, MIN_TARGET)))
    # Optional lines only while a few changed lines per file still fit: first ``--stat`` lines go, then
    # the headers of generated files, then commit message bodies.
    floor = plan.index((PREAMBLE_MIN_CAP, False, True))
    message = optional[AUTHOR] + optional[BODY]
    modes = (message + optional[STAT] + optional[KEY], message + optional[KEY], message)
    tried: list[int] = []
    for extra in modes:
        if not extra or extra == tried:
            continue
        tried = extra
        at_level = levels(sorted(extra))[1]
        if target.count_tokens(render(at_level(floor))) <= target.max_tokens:
            text_out = fit_levels(at_level, floor, render, target)
            return Compressed(text_out, "diff:files", ((key, payload),))
    count, at_level = levels(())
    # The skeleton (commit subjects, file headers, changed definitions) may use the whole budget: it is
    # the least that shows what the diff changes. Nothing richer than it is then added.
    skeleton = plan.index((0, False, True))
    if target.count_tokens(render(at_level(skeleton))) <= target.max_tokens:
        text_out = fit_levels(at_level, count, render, target)
    else:
        text_out = fit_levels(lambda t: at_level(t + skeleton), count - skeleton, render, ctx)
    return Compressed(text_out, "diff:files", ((key, payload),))


def _subjects_only(lines: Sequence[str], kinds: bytearray) -> None:
    """In a log without patches the subjects are the content: hundreds of ``commit <sha>``, author, date,
    message and ``--stat`` lines go (unmarked: one marker names them all and keeps them retrievable)
    unless all of them fit."""
    for i, line in enumerate(lines):
        if kinds[i] == COMMIT and COMMIT_RE.match(line) is None:
            continue  # a subject
        kinds[i] = AUTHOR if line.strip() else BODY


def _in_generated_runs(files: Sequence[FileSection]) -> list[bool]:
    """For each file: True when it is one of ``GENERATED_RUN`` or more generated or moved files in a row
    (a vendored tree, or a package move: hundreds of renames, each with its import lines rewritten)."""
    out = [False] * len(files)
    k = 0
    while k < len(files):
        end = k
        while end < len(files) and (files[end].generated or files[end].moved):
            end += 1
        if end - k >= GENERATED_RUN:
            out[k:end] = [True] * (end - k)
        k = max(end, k + 1)
    return out


def _common_dir(paths: Sequence[str]) -> str:
    """`` under a/b/`` when every path lies in directory ``a/b``, else empty."""
    if not paths:
        return ""
    first, last = min(paths), max(paths)  # the common prefix of all is the one of these two
    k = 0
    while k < min(len(first), len(last)) and first[k] == last[k]:
        k += 1
    prefix = first[:k].rsplit("/", 1)[0] if "/" in first[:k] else ""
    return f" under {prefix}/" if prefix else ""


def _first_changed(
    changed: Sequence[int], need: int, taken: set[int], shown: Sequence[bool], lines: Sequence[str]
) -> list[int]:
    """The first ``need`` changed lines not ``taken``; blank ones, which say nothing on their own, only
    when too few others are left (the gap marker counts them)."""
    full: list[int] = []
    blank: list[int] = []
    for j in changed:
        if j in taken or not shown[j]:
            continue
        if lines[j][1:].strip():
            full.append(j)
            if len(full) == need:
                break
        elif len(blank) < need:
            blank.append(j)
    return full + blank[: need - len(full)]


def _in_order(cap: int, sizes: Sequence[int]) -> list[int]:
    """Changed lines each hunk may show so that the file shows at most ``cap``, first hunks first."""
    out = []
    for size in sizes:
        out.append(min(size, cap))
        cap -= out[-1]
    return out


def _spread(cap: int, sizes: Sequence[int]) -> list[int]:
    """Changed lines each hunk may show so that the file shows at most ``cap``: an even share, capped by
    the hunk's size, what small hunks leave over going to the others; earlier hunks first when short."""
    if sum(sizes) <= cap:
        return list(sizes)
    lo, hi = 0, cap  # the largest even share whose total fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(mid, s) for s in sizes) <= cap:
            lo = mid
        else:
            hi = mid - 1
    out = [min(lo, s) for s in sizes]
    left = cap - sum(out)
    for k, s in enumerate(sizes):
        if left <= 0:
            break
        if s > out[k]:
            out[k] += 1
            left -= 1
    return out
