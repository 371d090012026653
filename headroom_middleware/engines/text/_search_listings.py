"""Search output that lists rather than matches: ``rg -c`` / ``grep -c`` counts (``path:count``) and
``fd`` / ``find`` path lists; and the path-tree helpers the match mode shares (where a tree of results
branches first, which folders and extensions few paths share).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from ... import _markers
from ...ccr._keys import make_key
from .._base import Compressed, Context
from ._search_budget import fit_levels
from ._search_terms import line_starts, query_lines

SAMPLE_LINES = 60
"""Lines the mode tests look at."""
PATHISH_RE = re.compile(r"[^\s:,]*[A-Za-z_][^\s:,]*")
MAX_OTHER = 20
"""Unparsed lines (``Binary file x matches``, ``grep: x: Permission denied``) kept in view."""
_RARE_SHARE = 50
"""A folder holding at most ``1 / _RARE_SHARE`` of the files (at least one file) is rare."""
_RARE_EXT_SHARE = 200
_MAX_RARE = 12
_BREAKDOWN = 10
_MAX_LISTED = 25
"""Largest counts, or folders sampled with one path each, shown for a count or path listing."""
# ``rg -c`` / ``grep -c``: ``path:count``; ``fd`` / ``find``: one path per line.
_COUNT_RE = re.compile(r"([^\s:]+):(\d{1,15})")
_PATH_LINE_RE = re.compile(r"[^\s:]*/[^\s:]*")


def count_mode(lines: Sequence[str]) -> bool:
    """True for ``rg -c`` / ``grep -c`` output: ``path:count`` lines, each path once."""
    sample = [line for line in lines[:SAMPLE_LINES] if line.strip()]
    found = [m.group(1) for line in sample if (m := _COUNT_RE.fullmatch(line)) is not None]
    return (
        len(sample) >= 3
        and len(found) >= 0.9 * len(sample)
        and len(set(found)) >= 0.9 * len(found)
        and sum(1 for p in found if "/" in p or (PATHISH_RE.fullmatch(p) and "." in p)) >= 0.8 * len(found)
    )


def paths_mode(lines: Sequence[str]) -> bool:
    """True for ``fd`` / ``find`` output: one path per line, most sharing their first folder with others
    (which base64 lines, that also hold slashes and no spaces, never do)."""
    sample = [line for line in lines[:SAMPLE_LINES] if line.strip()]
    paths = [line for line in sample if _PATH_LINE_RE.fullmatch(line)]
    if len(sample) < 5 or len(paths) < 0.9 * len(sample):
        return False
    firsts = Counter(p.split("/", 1)[0] for p in paths)
    return sum(c for c in firsts.values() if c >= 2) >= 0.6 * len(paths)


def split_folders(paths: Sequence[str]) -> tuple[str, list[str]]:
    """The folder prefix all ``paths`` share, and for each path the next folder below it ("" for a file
    right in the shared folder): where a tree of results branches first."""
    parts = [p.removeprefix("./").split("/") for p in paths]
    depth = 0
    while parts and all(len(q) > depth + 1 and q[depth] == parts[0][depth] for q in parts):
        depth += 1
    shared = "".join(f"{c}/" for c in parts[0][:depth]) if parts else ""
    return shared, [q[depth] if len(q) > depth + 1 else "" for q in parts]


def rare_folders(folder: Sequence[str]) -> list[bool]:
    """For each path's folder (``_folders``), whether it holds few of the paths."""
    counts = Counter(folder)
    limit = max(1, len(folder) // _RARE_SHARE)
    if len(counts) < 2:
        return [False] * len(folder)
    return [bool(x) and counts[x] <= limit for x in folder]


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[2].lower() if "." in name.lstrip(".") else ""


def _rare_extensions(exts: Sequence[str], limit: int) -> list[int]:
    """Indices of the paths whose extension (``_extension``) few others share: one ``.json`` among
    thousands of ``.py``."""
    counts = Counter(exts)
    if len(counts) < 2:
        return []
    rare = [i for i, e in enumerate(exts) if counts[e] <= max(1, len(exts) // _RARE_EXT_SHARE)]
    return rare[:limit]


def _unique(indices: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(indices))


def _fit_priority(
    text: str,
    lines: Sequence[str],
    priority: list[int],
    note: Callable[[int], str],
    ctx: Context,
    in_order: bool,
) -> Compressed:
    """The longest prefix of ``priority`` (line indices, most important first) that fits, each line whole;
    shown in input order when ``in_order``, else in priority order. Gaps are not marked: the order of a
    count or path listing means nothing, and the full marker's note says what the rest holds."""
    payload = text.encode("utf-8", "surrogatepass")
    key = make_key(payload)
    n = len(lines)

    def at_level(t: int) -> list[int]:
        return priority[: len(priority) - t]

    def render(kept: list[int]) -> str:
        body = [lines[i] for i in (sorted(kept) if in_order else kept)]
        return "\n".join([*body, _markers.omitted(n - len(kept), n, "lines", key, note(len(kept)))])

    return Compressed(fit_levels(at_level, len(priority), render, ctx), "search:files", ((key, payload),))


def _others(lines: Sequence[str], taken: set[int]) -> list[int]:
    """Non-blank lines outside ``taken`` (``rg: x: Permission denied``), the first and last few."""
    rest = [i for i, line in enumerate(lines) if i not in taken and line.strip()]
    return rest if len(rest) <= MAX_OTHER else rest[: MAX_OTHER // 2] + rest[-MAX_OTHER // 2 :]


def compress_counts(text: str, lines: Sequence[str], ctx: Context) -> Compressed:
    """``rg -c`` / ``grep -c``: unparsed lines, files with a rare extension, then the largest counts first."""
    found = [
        (i, m.group(1), int(m.group(2))) for i, line in enumerate(lines) if (m := _COUNT_RE.fullmatch(line))
    ]
    hits = [(i, path, c) for i, path, c in found if c > 0]  # ``grep -rc`` also lists every file with 0
    rare = [hits[k][0] for k in _rare_extensions([_extension(p) for _, p, _ in hits], _MAX_RARE)]
    largest = [i for i, _, _ in sorted(hits, key=lambda h: (-h[2], h[0]))]
    asked = query_lines(ctx.query, text, line_starts(lines))
    # Past the few largest, more counts say little: the rest is one retrieval away.
    priority = _unique(
        [*_others(lines, {i for i, _, _ in found}), *asked, *largest[:1], *rare, *largest[:_MAX_LISTED]]
    )
    total = sum(c for _, _, c in hits)
    zero = f"; {len(found) - len(hits):,} more files with none" if len(hits) < len(found) else ""

    def note(shown: int) -> str:
        return f"{shown:,} of {len(hits):,} file counts, largest first; {total:,} matches in all{zero}"

    return _fit_priority(text, lines, priority, note, ctx, in_order=False)


def compress_paths(text: str, lines: Sequence[str], ctx: Context) -> Compressed:
    """``fd`` / ``find``: unparsed lines, paths with a rare extension or in a rare folder, then one path
    per folder, biggest folders first; the note counts paths by folder and by extension."""
    entries = [i for i, line in enumerate(lines) if _PATH_LINE_RE.fullmatch(line)]
    paths = [lines[i] for i in entries]
    shared, folder = split_folders(paths)
    by_folder = Counter(folder)
    exts = [_extension(p) for p in paths]
    rare_folder = [entries[k] for k, r in enumerate(rare_folders(folder)) if r][:_MAX_RARE]
    rare_ext = [entries[k] for k in _rare_extensions(exts, _MAX_RARE)]
    first_of: dict[str, int] = {}
    for k, x in enumerate(folder):
        first_of.setdefault(x, entries[k])
    samples = [first_of[x] for x, _ in sorted(by_folder.items(), key=lambda kv: (-kv[1], kv[0]))]
    asked = query_lines(ctx.query, text, line_starts(lines))
    priority = _unique(
        [*_others(lines, set(entries)), *asked, *rare_ext, *rare_folder, *samples[:_MAX_LISTED]]
    )
    top = sorted(by_folder.items(), key=lambda kv: (-kv[1], kv[0]))[:_BREAKDOWN]
    folders = ", ".join(f"{shared}{x + '/' if x else ''} {c:,}" for x, c in top)
    common_exts = Counter(exts).most_common(_BREAKDOWN // 2)
    by_ext = ", ".join(f".{e} {c:,}" if e else f"(none) {c:,}" for e, c in common_exts)

    def note(shown: int) -> str:
        return f"{shown:,} of {len(paths):,} paths; by folder: {folders}; by extension: {by_ext}"

    return _fit_priority(text, lines, priority, note, ctx, in_order=True)
