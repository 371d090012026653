"""Reading a diff: the kind of every line (file headers, hunks, changed lines, commit headers, ``--stat``
lines, mail headers) and the file sections with their hunks, for git, ``diff -u``/``-ruN``, ``git log -p``,
``git show``, ``git format-patch``, ``svn diff``, combined (``diff --cc``) and ``--word-diff`` output."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._diff_files import BANNER_LINES, MINIFIED_LINE_CHARS, has_banner, is_data_path, is_generated_path

# Line kinds. KEY lines are always shown; MINOR header lines (``index``, git's ``---``/``+++``) never.
# PREAMBLE (text outside any file) and COMMIT lines (``commit <sha>``, the subject) are always shown;
# AUTHOR (``Author:``/``Date:``/``Merge:``), BODY (the rest of a commit message) and STAT
# (``--stat``/``--summary`` lines) only while they leave room for the changes.
KEY, MINOR, HUNK, ADD, DEL, CONTEXT, NOTE, PREAMBLE, COMMIT, AUTHOR, BODY, STAT = range(12)
# ``svn diff`` writes a property's change (``svn:keywords``…) as a hunk between ``##`` marks.
_HUNK_RE = re.compile(r"(?:@@|##) -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? (?:@@|##)")
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
# A side that does not exist: ``diff -N`` dates it at the epoch, ``svn diff`` labels it ``(nonexistent)``.
_EPOCH_RE = re.compile(r"\s(?:1970-01-01|1969-12-31) \d\d:\d\d:\d\d|\t\(nonexistent\)")
_TRAILING_TIME_RE = re.compile(r"\s\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?$")
COMMIT_RE = re.compile(r"commit [0-9a-f]{7,64}\b")
_COMMIT_FIELDS = ("Merge:", "Author:", "AuthorDate:", "Commit:", "CommitDate:", "Date:")
_MAIL_RE = re.compile(r"From [0-9a-f]{40} ")  # ``git format-patch`` (and GitHub's ``.patch``) mail header
_STAT_TAIL_RE = re.compile(r"\d+(?: \+*-*)?|Bin(?: \d+ -> \d+ bytes)?")
_STAT_SUMMARY_RE = re.compile(r" \d+ files? changed")
_SUMMARY_PREFIXES = (" create mode ", " delete mode ", " rename ", " copy ", " mode change ")
_SIMILARITY_RE = re.compile(r"similarity index (\d+)%")
MOVED_SIMILARITY = 90
"""A rename or copy at least this similar, with at most ``MOVED_CHANGES`` changed lines, only moved a file."""
MOVED_CHANGES = 6
# What a merge leaves in a file when it could not resolve a conflict (after the diff's prefix columns).
_CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>", "|||||||")
CONFLICT_LINES = 24
"""A conflict left in a file with at most this many lines between its markers shows whole: both sides."""


def _is_stat(line: str) -> bool:
    """A ``--stat`` line: `` path/to/file.py |  12 +++---`` or `` logo.png | Bin 120 -> 340 bytes``."""
    if not line.startswith(" ") or line[1:2] in (" ", ""):
        return False
    cut = line.rfind(" | ")
    return cut > 1 and _STAT_TAIL_RE.fullmatch(line[cut + 3 :].strip()) is not None


def is_conflict_marker(code: str) -> bool:
    """True for a line a merge leaves in a conflicted file: ``<<<<<<< HEAD``, ``=======``, ``>>>>>>> b``
    (a longer run of ``=`` is a heading's underline, not a marker)."""
    code = code.rstrip("\r")
    if code == "=======":
        return True
    return code.startswith(_CONFLICT_MARKERS) and code[7:8] in (" ", "")


def has_stat_graph(line: str) -> bool:
    return _is_stat(line) and line.rstrip()[-1:] in ("+", "-")


@dataclass
class FileSection:
    """One file's section of the diff."""

    start: int
    path: str = ""
    git: bool = False
    named: bool = False  # opened by a ``diff …`` command line, so ``---``/``+++`` only repeat it
    new: bool = False
    deleted: bool = False
    generated: bool = False
    data: bool = False
    similarity: int = 0  # a rename's or copy's ``similarity index``
    moved: bool = False  # a rename or copy that changed (almost) nothing: see ``MOVED_SIMILARITY``
    hunks: list[Hunk] = field(default_factory=list)


@dataclass
class Hunk:
    start: int
    end: int = 0
    first_line: int = 0  # the lowest of the ``@@`` header's old and new start lines
    changed: list[int] = field(default_factory=list)


def _path_of_git_header(line: str) -> str:
    line = line.rstrip("\r")
    cut = line.rfind(" b/")
    return line[cut + 3 :] if cut >= 0 else line.rsplit(" ", 1)[-1]


def path_of_marker(line: str) -> str:
    """The path of a ``--- a/x`` or ``+++ b/x`` line (a timestamp after a tab or a space is left out)."""
    path = line[4:].split("\t", 1)[0].strip()  # strip() also drops a CRLF diff's "\r"
    path = _TRAILING_TIME_RE.sub("", path)
    return path[2:] if path.startswith(("a/", "b/")) else path


def parse(lines: Sequence[str]) -> tuple[bytearray, list[FileSection]]:
    """Kind of every line and the file sections with their hunks."""
    n = len(lines)
    kinds = bytearray(n)
    files: list[FileSection] = []
    cur: FileSection | None = None
    hunk: Hunk | None = None
    old_left = new_left = 0
    loose = False  # a hunk whose header had no counts (combined diffs): runs while lines look like hunk lines
    columns = 1  # prefix columns of the hunk's lines: one per parent (``@@@`` for a two-parent merge)
    words = _is_word_diff(lines)
    for i, line in enumerate(lines):
        first = line[:1]
        if (
            hunk is not None
            and words
            and (old_left > 0 or new_left > 0)
            and not line.startswith(("diff ", "@@"))
        ):
            kind, old_used, new_used = _word_line(line)
            kinds[i] = kind
            old_left -= old_used
            new_left -= new_used
            if kind != CONTEXT:
                hunk.changed.append(i)
            continue
        if hunk is not None:
            # A ``---``/``+++`` pair opens the next file when the hunk has no counts or an ``@@`` follows
            # (hand-edited diffs get counts wrong; a removed ``-- x`` then added ``++ y`` line pair does not).
            header_ahead = (
                line.startswith("--- ")
                and i + 1 < n
                and lines[i + 1].startswith("+++ ")
                and (loose or (i + 2 < n and lines[i + 2].startswith("@@")))
            )
            counting = old_left > 0 or new_left > 0 or loose
            # "\ No newline at end of file" follows the hunk's last line, after its counts ran out.
            if ((counting and (first in (" ", "+", "-") or not line)) or first == "\\") and not header_ahead:
                # A combined diff (``diff --cc``) has one prefix column per parent: a sign in any is a change.
                prefix = line[:columns] if columns > 1 else first
                sign = "-" if "-" in prefix else "+" if "+" in prefix else first
                if sign in ("+", "-"):
                    key = line.startswith(_SUBMODULE_PREFIXES) or is_conflict_marker(line[len(prefix) :])
                    kinds[i] = KEY if key else ADD if sign == "+" else DEL
                    new_left -= sign == "+"
                    old_left -= sign == "-"
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
        if line.startswith("@@") or (line.startswith("## -") and _HUNK_RE.match(line)):
            if cur is None:
                cur = FileSection(i)
                files.append(cur)
            kinds[i] = HUNK
            hunk = Hunk(i)
            cur.hunks.append(hunk)
            m = _HUNK_RE.match(line)
            loose = m is None
            columns = max(1, len(line) - len(line.lstrip("@")) - 1)
            if m is not None:
                old_left = 1 if m.group(2) is None else int(m.group(2))
                new_left = 1 if m.group(4) is None else int(m.group(4))
                hunk.first_line = min(int(m.group(1)), int(m.group(3)))
        elif line.startswith("diff "):
            cur = FileSection(i, git=line.startswith("diff --git "), named=True)
            cur.path = _path_of_git_header(line) if cur.git else line.rstrip("\r").rsplit(" ", 1)[-1]
            files.append(cur)
            kinds[i] = KEY
        elif line.startswith("Index: ") and i + 1 < n and lines[i + 1].startswith("====="):
            # ``svn diff`` (and ``cvs diff``) name the file on an ``Index:`` line above a rule of ``=``.
            cur = FileSection(i, named=True, path=line[7:].strip())
            files.append(cur)
            kinds[i] = KEY
        elif (
            cur is not None
            and cur.named
            and not cur.hunks
            and i == cur.start + 1
            and line.startswith("=====")
        ):
            kinds[i] = MINOR
        elif line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ "):
            # ``diff -ruN a/x b/x`` (or ``Index: x`` and its rule) right above names the same file.
            opened = cur is not None and cur.named and all(kinds[j] == MINOR for j in range(cur.start + 1, i))
            if cur is None or cur.hunks or not (cur.git or opened):
                cur = FileSection(i)
                files.append(cur)
            cur.new = cur.new or line[4:].startswith("/dev/null") or _EPOCH_RE.search(line) is not None
            kinds[i] = MINOR  # until the ``+++`` line below: KEY when it names the file by itself
        elif line.startswith("+++ ") and i > 0 and lines[i - 1].startswith("--- ") and cur is not None:
            target = path_of_marker(line)
            if target != "/dev/null":
                cur.path = target
            elif not cur.path:
                cur.path = path_of_marker(lines[i - 1])
            # ``diff -N`` stands a missing file in as an empty one dated at the epoch: the dates say it.
            epoch = _EPOCH_RE.search(line) is not None
            cur.deleted = cur.deleted or target == "/dev/null" or epoch
            if not cur.named or (not cur.git and (epoch or _EPOCH_RE.search(lines[i - 1]) is not None)):
                kinds[i] = kinds[i - 1] = KEY
            else:
                kinds[i] = MINOR
        elif cur is not None and not cur.hunks and line.startswith(_KEY_HEADER_PREFIXES):
            kinds[i] = KEY
            cur.new = cur.new or line.startswith("new file mode")
            cur.deleted = cur.deleted or line.startswith("deleted file mode")
            similarity = _SIMILARITY_RE.match(line)
            cur.similarity = int(similarity.group(1)) if similarity else cur.similarity
            if line.startswith(("rename to ", "copy to ")):
                cur.path = line.split(" to ", 1)[1].rstrip("\r")
        elif cur is not None and not cur.hunks and line.startswith("index "):
            kinds[i] = MINOR
        elif line.startswith("_" * 20) and i > 0 and lines[i - 1].startswith("Property changes on: "):
            kinds[i] = MINOR  # the rule ``svn diff`` draws under a property block's title
        else:
            kinds[i] = PREAMBLE  # commit headers and messages of git show / git log -p, diff -r notes
    if hunk is not None:
        hunk.end = n
    _classify_preamble(lines, kinds)
    for f in files:
        for h in f.hunks:
            _show_conflicts(lines, kinds, h)
        f.generated = (
            is_generated_path(f.path)
            or any(len(lines[j]) > MINIFIED_LINE_CHARS for h in f.hunks for j in h.changed[:20])
            or _has_banner(lines, f)
        )
        changed = sum(len(h.changed) for h in f.hunks)
        f.data = is_data_path(f.path, changed)
        f.moved = f.similarity >= MOVED_SIMILARITY and changed <= MOVED_CHANGES
    return kinds, files


def _is_word_diff(lines: Sequence[str]) -> bool:
    """True for ``git diff --word-diff`` output: hunk lines carry no ``+``/``-``/`` `` prefix, changes are
    marked inside them (``[-old-]{+new+}``), so more lines hold such marks than start with a sign."""
    marked = signed = 0
    for line in lines:
        if ("{+" in line and "+}" in line) or ("[-" in line and "-]" in line):
            marked += 1
        elif line[:1] in ("+", "-") and not line.startswith(("+++ ", "--- ")):
            signed += 1
    return marked > 0 and marked > signed


def _word_line(line: str) -> tuple[int, int, int]:
    """Kind of one ``--word-diff`` hunk line and how many old and new lines it stands for: a line that is
    all ``{+…+}`` was only added, all ``[-…-]`` only removed."""
    body = line.rstrip("\r")
    added = "{+" in body and "+}" in body
    removed = "[-" in body and "-]" in body
    if added and body.startswith("{+") and body.endswith("+}") and not removed:
        return ADD, 0, 1
    if removed and body.startswith("[-") and body.endswith("-]") and not added:
        return DEL, 1, 0
    return (ADD if added else DEL if removed else CONTEXT), 1, 1


def _show_conflicts(lines: Sequence[str], kinds: bytearray, hunk: Hunk) -> None:
    """Make the changed lines between a short conflict's ``<<<<<<<`` and ``>>>>>>>`` markers KEY lines:
    the two sides are what a reader of a conflicted file must see."""
    opened = -1
    for j in hunk.changed:
        if kinds[j] != KEY:
            continue
        marker = lines[j].lstrip("+- ")[:7]
        if marker == "<<<<<<<":
            opened = j
        elif marker == ">>>>>>>" and opened >= 0:
            if j - opened <= CONFLICT_LINES:
                for k in range(opened + 1, j):
                    kinds[k] = KEY if kinds[k] in (ADD, DEL) else kinds[k]
            opened = -1


def _classify_preamble(lines: Sequence[str], kinds: bytearray) -> None:
    """Split PREAMBLE lines into commit lines and subjects (COMMIT), their ``Author:``/``Date:`` (AUTHOR),
    message bodies (BODY) and ``--stat`` lines (STAT); the same for ``git format-patch`` mails."""
    state = ""  # "header" after ``commit <sha>``, "subject"/"body" in its indented message; "mail…"
    for i, line in enumerate(lines):
        if kinds[i] != PREAMBLE:
            state = ""
            continue
        if COMMIT_RE.match(line) or _MAIL_RE.match(line):
            kinds[i], state = COMMIT, "header" if line[:1] == "c" else "mail"
        elif state == "header" and line.startswith(_COMMIT_FIELDS):
            kinds[i] = AUTHOR
        elif state.startswith("mail"):
            state = _classify_mail_line(line, state, kinds, i)
        elif not line.strip():
            state = "subject" if state == "header" else state
        elif state in ("subject", "body") and line.startswith("    "):
            kinds[i], state = (COMMIT, "body") if state == "subject" else (BODY, "body")
        elif line.rstrip("\r") == "---" or _is_stat(line) or line.startswith(_SUMMARY_PREFIXES):
            kinds[i], state = STAT, ""
        elif _STAT_SUMMARY_RE.match(line):
            state = ""  # `` 3 files changed, 10 insertions(+)``: one line that sums up the stat, kept
        elif line.rstrip("\r") == "-- ":
            kinds[i], state = STAT, "mail-signature"  # a mail's "-- " line, then git's version
        else:
            state = ""


def _classify_mail_line(line: str, state: str, kinds: bytearray, i: int) -> str:
    """Kind of one line of a ``format-patch`` mail header or message; returns the next state."""
    if state == "mail-signature":
        kinds[i] = STAT
        return ""
    if state == "mail":
        if line.startswith("Subject:"):
            kinds[i] = COMMIT
            return "mail-subject"
        if line.startswith(("From:", "Date:")):
            kinds[i] = AUTHOR
        return "mail-body" if not line.strip() else state
    if state == "mail-subject" and line[:1] in (" ", "\t"):
        kinds[i] = COMMIT  # a long subject folded onto the next line
        return state
    if line.rstrip("\r") == "---":
        kinds[i] = STAT
        return ""
    if line.strip():
        kinds[i] = BODY
    return "mail-body"


def _has_banner(lines: Sequence[str], f: FileSection) -> bool:
    """True when the file's first lines, shown by a hunk at its top, say the file is generated."""
    if not f.hunks or f.hunks[0].first_line > 3:
        return False
    h = f.hunks[0]
    return has_banner(lines[h.start + 1 : min(h.end, h.start + 1 + BANNER_LINES)])
