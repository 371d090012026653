"""The diff engine: unified diffs, ``git diff`` / ``git show`` / ``git log -p`` output.

What a reviewer needs first is the shape of the change: every file header (``diff --git``, renames,
copies, deletions, new files, mode changes, binary notices) and every submodule bump stays in view.
Hunks of generated files (lock files, schema dumps, minified bundles, snapshots, generated code) and
of deleted files collapse into one ``+N/-M`` gap marker; small hunks stay whole; bigger hunks keep their
changed lines (new files their first lines) and lose their context. Output aims at half the budget:
when that is not enough, the changed lines kept per hunk shrink, then only file headers remain, then
whole files go from the end, each gap with its ``+N/-M`` counts.
Lines matching a rare term of the user's query are always kept. Hunks are read by their ``@@`` line
counts, so a removed ``-- comment`` line is never mistaken for a ``---`` file header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from ._search_budget import fit_levels, render_selection, within_budget
from ._search_terms import line_starts, query_lines
from ._textlines import split_lines
from .generic import compress_generic

# Line kinds. KEY lines are always shown; MINOR header lines (``index``, git's ``---``/``+++``) never.
KEY, MINOR, HUNK, ADD, DEL, CONTEXT, NOTE, PREAMBLE = range(8)

_HUNK_RE = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_KEY_HEADER_PREFIXES = (
    "new file mode",
    "deleted file mode",
    "old mode",
    "new mode",
    "similarity index",
    "dissimilarity index",
    "rename from",
    "rename to",
    "copy from",
    "copy to",
    "Binary files",
    "GIT binary patch",
)
_SUBMODULE_PREFIXES = ("+Subproject commit", "-Subproject commit")

SMALL_HUNK_CHANGES = 12
"""A hunk with at most this many changed lines (and not much context) is kept whole."""
SMALL_HUNK_LINES = 30
CHANGED_CAP = 40
"""At most this many changed lines of one hunk are shown before the budget asks for fewer."""
NEW_FILE_HEAD = 12
TARGET_SHARE = 2
"""Diff output aims at ``max_tokens // TARGET_SHARE`` tokens (but at least ``MIN_TARGET``)."""
MIN_TARGET = 1000
"""Lines shown of a file the diff adds whole: enough to see what it is."""

_GENERATED_NAMES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "deno.lock",
        "cargo.lock",
        "poetry.lock",
        "pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "gemfile.lock",
        "composer.lock",
        "podfile.lock",
        "mix.lock",
        "flake.lock",
        "pubspec.lock",
        "packages.lock.json",
        "gradle.lockfile",
        "go.sum",
        "schema.json",
        "schema.graphql",
        "schema.gql",
        "graphql.schema.json",
        "structure.sql",
    }
)
_GENERATED_RE = re.compile(
    r"(?:\.lock|\.lockfile|\.min\.(?:js|css|mjs)|\.bundle\.js|\.chunk\.js|\.map|\.snap|\.ambr|_pb2(?:_grpc)?\.py"
    r"|\.pb\.(?:go|cc|h)|\.g\.dart|\.freezed\.dart|\.designer\.cs|\.generated\.\w+|_generated\.\w+)$"
    r"|(?:^|/)(?:__snapshots__|node_modules|vendor|dist)/"
    r"|(?:^|/)db/schema\.rb$"
)
_MINIFIED_LINE_CHARS = 1000


def is_generated_path(path: str) -> bool:
    """True for files whose diff nobody reads line by line: lock files, schema dumps, bundles, snapshots."""
    lowered = path.lower()
    return lowered.rsplit("/", 1)[-1] in _GENERATED_NAMES or _GENERATED_RE.search(lowered) is not None


def looks_like(head: str) -> bool:
    """True when the first few KB hold a git diff header, or unified ``---``/``+++``/``@@`` lines."""
    if "diff --git " in head and re.search(r"(?m)^diff --git ", head):
        return True
    return (
        re.search(r"(?m)^--- \S", head) is not None
        and re.search(r"(?m)^\+\+\+ \S", head) is not None
        and re.search(r"(?m)^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@", head) is not None
    )


@dataclass
class _File:
    """One file's section of the diff."""

    start: int
    path: str = ""
    git: bool = False
    new: bool = False
    deleted: bool = False
    generated: bool = False
    hunks: list[_Hunk] = field(default_factory=list)


@dataclass
class _Hunk:
    start: int
    end: int = 0
    changed: list[int] = field(default_factory=list)


def _path_of_git_header(line: str) -> str:
    line = line.rstrip("\r")
    cut = line.rfind(" b/")
    return line[cut + 3 :] if cut >= 0 else line.rsplit(" ", 1)[-1]


def _path_of_marker(line: str) -> str:
    """The path of a ``--- a/x`` or ``+++ b/x`` line (a tab-separated timestamp is left out)."""
    path = line[4:].split("\t", 1)[0].strip()  # strip() also drops a CRLF diff's "\r"
    return path[2:] if path.startswith(("a/", "b/")) else path


def _parse(lines: Sequence[str]) -> tuple[bytearray, list[_File]]:
    """Kind of every line and the file sections with their hunks."""
    n = len(lines)
    kinds = bytearray(n)
    files: list[_File] = []
    cur: _File | None = None
    hunk: _Hunk | None = None
    old_left = new_left = 0
    loose = False  # a hunk whose header had no counts (combined diffs): runs while lines look like hunk lines
    for i, line in enumerate(lines):
        first = line[:1]
        if hunk is not None:
            # A ``---``/``+++`` pair opens the next file when the hunk has no counts or an ``@@`` follows
            # (hand-edited diffs get counts wrong; a removed ``-- x`` then added ``++ y`` line pair does not).
            header_ahead = (
                line.startswith("--- ")
                and i + 1 < n
                and lines[i + 1].startswith("+++ ")
                and (loose or (i + 2 < n and lines[i + 2].startswith("@@")))
            )
            if (
                (old_left > 0 or new_left > 0 or loose)
                and (first in (" ", "+", "-", "\\") or not line)
                and not header_ahead
            ):
                if first == "+":
                    kinds[i] = KEY if line.startswith(_SUBMODULE_PREFIXES) else ADD
                    new_left -= 1
                    hunk.changed.append(i)
                elif first == "-":
                    kinds[i] = KEY if line.startswith(_SUBMODULE_PREFIXES) else DEL
                    old_left -= 1
                    hunk.changed.append(i)
                elif first == "\\":
                    kinds[i] = NOTE
                else:
                    kinds[i] = CONTEXT
                    old_left -= 1
                    new_left -= 1
                continue
            hunk.end = i
            hunk = None
        if line.startswith("@@"):
            if cur is None:
                cur = _File(i)
                files.append(cur)
            kinds[i] = HUNK
            hunk = _Hunk(i)
            cur.hunks.append(hunk)
            m = _HUNK_RE.match(line)
            loose = m is None
            if m is not None:
                old_left = 1 if m.group(1) is None else int(m.group(1))
                new_left = 1 if m.group(2) is None else int(m.group(2))
        elif line.startswith("diff "):
            cur = _File(i, git=line.startswith("diff --git "))
            cur.path = _path_of_git_header(line) if cur.git else line.rstrip("\r").rsplit(" ", 1)[-1]
            files.append(cur)
            kinds[i] = KEY
        elif line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ "):
            if cur is None or not cur.git or cur.hunks:
                cur = _File(i)
                files.append(cur)
            cur.new = cur.new or line[4:].startswith("/dev/null")
            kinds[i] = MINOR if cur.git else KEY
        elif line.startswith("+++ ") and i > 0 and lines[i - 1].startswith("--- ") and cur is not None:
            target = _path_of_marker(line)
            if target != "/dev/null":
                cur.path = target
            elif not cur.path:
                cur.path = _path_of_marker(lines[i - 1])
            cur.deleted = cur.deleted or target == "/dev/null"
            kinds[i] = MINOR if cur.git else KEY
        elif cur is not None and not cur.hunks and line.startswith(_KEY_HEADER_PREFIXES):
            kinds[i] = KEY
            cur.new = cur.new or line.startswith("new file mode")
            cur.deleted = cur.deleted or line.startswith("deleted file mode")
            if line.startswith(("rename to ", "copy to ")):
                cur.path = line.split(" to ", 1)[1].rstrip("\r")
        elif cur is not None and not cur.hunks and line.startswith("index "):
            kinds[i] = MINOR
        else:
            kinds[i] = PREAMBLE  # commit headers and messages of git show / git log -p, diff -r notes
    if hunk is not None:
        hunk.end = n
    for f in files:
        f.generated = is_generated_path(f.path) or any(
            len(lines[j]) > _MINIFIED_LINE_CHARS for h in f.hunks for j in h.changed[:20]
        )
    return kinds, files


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget, or when nothing may be dropped, pass through; over it, keep the shape of the change."""
    if not ctx.lossy or within_budget(text, ctx):
        return Compressed(text, "passthrough")
    lines = split_lines(text)
    n = len(lines)
    kinds, files = _parse(lines)
    if not files:
        return compress_generic(text, ctx)  # not a diff after all
    too_long = max(200, ctx.max_tokens)  # chars: never show one line that would crowd out the rest

    # Blank lines between commits (git log -p) or at the end carry nothing: shown in no case.
    blank = [kinds[i] == PREAMBLE and not lines[i].strip() for i in range(n)]
    always = [
        i for i in range(n) if kinds[i] in (KEY, PREAMBLE) and not blank[i] and len(lines[i]) <= too_long
    ]
    asked = [
        i
        for i in query_lines(ctx.query, text, line_starts(lines))
        if kinds[i] != MINOR and len(lines[i]) <= too_long
    ]
    is_add = bytes(k == ADD for k in kinds)
    is_del = bytes(k == DEL for k in kinds)
    adds = [0, *accumulate(is_add)]
    dels = [0, *accumulate(is_del)]
    # Lines whose loss needs no marker: context, index/---/+++ lines, hunk headers, "\ No newline".
    quiet = [
        0,
        *accumulate(k in (CONTEXT, MINOR, HUNK, NOTE) or b for k, b in zip(kinds, blank, strict=True)),
    ]
    file_starts = [f.start for f in files]
    starts_before = [0] * (n + 1)
    for s in file_starts:
        starts_before[s + 1] += 1
    starts_before = list(accumulate(starts_before))

    def describe(start: int, end: int) -> tuple[int, str] | None:
        count = end - start
        if quiet[end] - quiet[start] == count:
            return None
        added, removed = adds[end] - adds[start], dels[end] - dels[start]
        whole_files = starts_before[end] - starts_before[start]
        where = f" of {whole_files:,} files" if whole_files > 1 else (" of 1 file" if whole_files else "")
        return count, f"lines{where} (+{added:,}/-{removed:,})"

    def hunk_lines(f: _File, h: _Hunk, cap: int, whole_small: bool) -> list[int]:
        if f.generated or f.deleted or cap == 0:
            return []
        if whole_small and len(h.changed) <= SMALL_HUNK_CHANGES and h.end - h.start <= SMALL_HUNK_LINES:
            return [j for j in range(h.start, h.end) if len(lines[j]) <= too_long]
        limit = min(cap, NEW_FILE_HEAD) if f.new else cap
        shown = [j for j in h.changed[:limit] if len(lines[j]) <= too_long]
        # "\ No newline at end of file" belongs to the line above it: without it "-}" "+}" reads as no change.
        notes = [j + 1 for j in shown if j + 1 < h.end and kinds[j + 1] == NOTE]
        return [h.start, *shown, *notes]

    def select(cap: int, whole_small: bool, files_shown: int) -> list[int]:
        cut = file_starts[files_shown] if files_shown < len(files) else n
        kept = [i for i in always if i < cut]
        kept += [i for i in asked if i < cut]
        for f in files[:files_shown]:
            for h in f.hunks:
                kept += hunk_lines(f, h, cap, whole_small)
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

    def at_level(t: int) -> list[int]:
        # t = 0: small hunks whole; 1..CHANGED_CAP + 1: no context and fewer changed lines per hunk,
        # down to file headers only; beyond: fewer files.
        if t <= CHANGED_CAP + 1:
            return select(CHANGED_CAP + 1 - max(t, 1), t == 0, len(files))
        return select(0, False, len(files) - (t - CHANGED_CAP - 1))

    # A diff aims at half the budget: every file header and the first changed lines of each hunk show
    # the shape of the change; the hunks in full are a retrieval away.
    target = replace(ctx, max_tokens=min(ctx.max_tokens, max(ctx.max_tokens // TARGET_SHARE, MIN_TARGET)))
    text_out = fit_levels(at_level, CHANGED_CAP + 1 + len(files), render, target)
    return Compressed(text_out, "diff:files", ((key, payload),))
