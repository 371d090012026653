"""Failure units of a test or build run: a failure's header with its assertion message, innermost
frame and location lines, numbered titles (mocha, rspec), ``go test`` messages, compiler diagnostics with
the lines that give their context; and the signature that makes repeated ones count as one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from ._groups import Groups
from ._templates import template_of
from ._textlines import LineIndex

_FAILURE_HEAD_RE = re.compile(
    r"""(?:
        _{3,}\ .+\ _{3,}\s*$                       # pytest: ____ test_name ____
      | \s*●\ (?!Console)                          # jest
      | ----\ .+\ stdout\ ----\s*$                 # cargo
      | \s*---\ FAIL:\                             # go test
      | (?:FAIL|FAILED|ERROR)[:\ ]\ ?\S            # many runners
      | not\ ok\ \d+                               # TAP
      | \[\ +FAILED\ +\]\ \S                       # gtest
      | (?:Failure|Error|AssertionError):\         # unittest-like
      | =+\ (?:FAIL|ERROR):\                       # unittest
      | \[ERROR\]\ .*<<<\ (?:FAILURE|ERROR)!       # maven surefire
      | \[ERROR\]\ (?:Failures|Errors):\s*$         # surefire "Results:": one test per line below
      | \s{2,}\d+\)\ \S                            # mocha, rspec, phpunit: "  1) suite test"
      | \s+Failed\ \S+\ \[                         # dotnet test
    )""",
    re.VERBOSE,
)
_GRADLE_FAILED_RE = re.compile(r"^\S[^>]*? > .* FAILED\s*$")
"""Gradle's failed test line (``com.acme.FooTest > testBar FAILED``): found through the word FAILED."""
_SECTION_RE = re.compile(r"={3,}|_{3,}\s*$|-{3,}\s*$|\s*●\ |----\ ")
_MESSAGE_RE = re.compile(
    r"""(?:
        E\s | >\s | \s*(?:Expected|Received|expected|received|left|right|actual|Actual|Difference|got)\b
      | .*\b(?:assert\w*|Assert\w*|panicked\ at|\w*Error|\w*Exception|error|failed|FAILED|mismatch
             |not\ equal)\b
      | \s+\S+\.\w+:\d+:\                           # go: "    foo_test.go:43: message"
      | \[ERROR\]\ {2,}\S                           # surefire: "[ERROR]   FooTest.bar:42 expected: <1> …"
    )""",
    re.VERBOSE,
)
_LOCATION_RE = re.compile(r"\s*(?:[❯›#]\s+)?(?:at\s.*:\d+|\S+\.\w+:\d+(?::\d+)?(?::|\s|$)|.*\bpanicked at\b)")
"""Where a failure happened: ``at f (x.js:1:2)``, ``x.py:41: AssertionError``, vitest's ``❯ x.ts:42:25``,
rspec's ``# ./spec/x_spec.rb:42:in …``."""
_FIRST_FRAME = ("at ", "# ")
"""Frames listed innermost first (JS, Java, rspec): the first one outside a library is where it broke."""
_LIBRARY_RE = re.compile(r"/(?:gems|vendor|node_modules|site-packages|dist-packages)/")
_DIAGNOSTIC_RE = re.compile(r"^\S+?:\d+(?::\d+)?: (?:fatal error|error|warning|note|remark)\b")
_DIAGNOSTIC_WORDS = (": warning", ": error", ": note", ": fatal error", ": remark")
"""Every diagnostic line holds one: lines without are skipped before the (slower) pattern runs."""
_CONTEXT_RE = re.compile(
    r"""(?:
        \s*[\^~]+[~^\s]*$ | \s*\d*\s*\|(?:\s|$) | \s+-->\ | In\ file\ included\ from\  | \s+from\ \S+[,:]$
      | \s*=\ (?:note|help):\  | \s+\|\s*$
    )""",
    re.VERBOSE,
)
_IN_FUNCTION_RE = re.compile(
    r"^\S+: In (?:static )?(?:member )?(?:function|constructor|destructor|instantiation)"
)
_STYLISH_RE = re.compile(r"\s+\d+:\d+\s")
"""A diagnostic listed under its file's line (eslint, stylelint ``stylish``): the file is the line above."""
_T = TypeVar("_T")
BLOCK_LINES = 400
"""A failure block is read this far at most (its message and innermost frame are near its start/end)."""
MESSAGE_LINES = 6
TITLE_LINES = 4
PASSED_RE = re.compile(
    r"""\s*(?:[✔✓√]\ | (?<=\ {4})-\ \w | ok\ \d+\ | \[\ +OK\ +\]\ | ---\ PASS:
          | PASS(?:ED)?\  | \S.*\ \.\.\.\ ok\s*$ | \S+\ PASSED\s*$ | \S.*\ PASSED\ +\[\s*\d+%\]
          | \[gw\d+\].*\ PASSED\b | \S.*\ \(PENDING:\ [^)]*\)\s*$                  # rspec pending
          | (?:Passed|Skipped)\ [\w.`]+(?:\(.*\))?\ \[[<\d][^\]]*\]\s*$     # dotnet test
          | \S[^>\n]*\ >\ .*\ (?:PASSED|SKIPPED)\s*$                           # gradle
          | //\S+\s+(?:\(cached\)\ )?PASSED\ in\ \d                              # bazel
    )""",
    re.VERBOSE,
)
"""A passing (or pending) test's line: ``✔ adds an item``, ``ok 12 - …``, ``test_x (pkg.Case) ... ok``,
pytest's ``x.py::t PASSED [ 10%]`` (and xdist's ``[gw3] [ 55%] PASSED x.py::t``), mocha's indented
``- pending title``, rspec's ``title (PENDING: reason)``, dotnet's ``  Passed Ns.Class.Method [12 ms]``,
Gradle's ``FooTest > bar() PASSED``, Bazel's ``//pkg:t   (cached) PASSED in 3.2s``; not gtest's
``[  PASSED  ] 12 tests.`` summary."""


def file_line(i: int, lines: Sequence[str]) -> list[int]:
    """The file header above a ``stylish`` diagnostic (the nearest unindented line), else nothing."""
    if not _STYLISH_RE.match(lines[i]):
        return []
    for j in range(i - 1, max(i - BLOCK_LINES, -1), -1):
        if lines[j][:1] not in (" ", "\t", ""):
            return [j]
    return []


def is_trace(head: str) -> bool:
    """False for what only looks like a trace: a go test's ``t.Log`` lines (``    foo_test.go:12: …``,
    frame-like) under its ``=== RUN`` line, a passing test's output, and the other goroutines of a Go
    panic dump (the ``[running]`` one shows where it happened; the rest are parked, noise)."""
    stripped = head.lstrip()
    if stripped.startswith("goroutine "):
        return "[running]" in stripped
    return not (_GO_EVENT_RE.match(head) or PASSED_RE.match(head))


_GO_EVENT_RE = re.compile(r"\s*(?:=== (?:RUN|PAUSE|CONT|NAME)\b|--- (?:PASS|SKIP):)")


def compiler_context(index: LineIndex) -> set[int]:
    """Lines that only give context to a compiler diagnostic: snippets, carets, include chains."""
    lines = index.scan_lines
    context = {
        *index.starting_with(_CONTEXT_RE),
        *index.verified(index.with_words((": in ",)), _IN_FUNCTION_RE),
    }
    for i in index.verified(index.with_words(_DIAGNOSTIC_WORDS), _DIAGNOSTIC_RE):
        # The indented source line(s) printed right under a diagnostic.
        j = i + 1
        while (
            j < len(lines)
            and j <= i + 3
            and lines[j][:1] in (" ", "\t")
            and not _DIAGNOSTIC_RE.match(lines[j])
        ):
            context.add(j)
            j += 1
    return context


def following_context(i: int, noise: set[int], lines: Sequence[str]) -> list[int]:
    """The context lines right under line ``i`` (an error's source line and caret), at most three.

    Bare gutter lines (rustc's ``   |``) cost a token or two and do not count: the caret line under
    them often carries the message (``^^^ expected `i64`, found `Decimal```).
    """
    out: list[int] = []
    counted = 0
    j = i + 1
    while j < len(lines) and j in noise and counted < 3:
        out.append(j)
        if not _GUTTER_RE.fullmatch(lines[j]):
            counted += 1
        j += 1
    return out


_GUTTER_RE = re.compile(r"\s*\d*\s*\|\s*")


def failure_units(index: LineIndex, groups: Groups) -> list[tuple[int, ...]]:
    """Each failure as the lines that tell it: header, first assertion/error messages, innermost frame."""
    lines = index.scan_lines
    n = len(lines)
    gradle = index.verified(index.with_words(("failed",)), _GRADLE_FAILED_RE)
    heads = [h for h in sorted({*index.starting_with(_FAILURE_HEAD_RE), *gradle}) if not _pending(lines, h)]
    units: list[tuple[int, ...]] = []
    for k, h in enumerate(heads):
        stop = min(heads[k + 1] if k + 1 < len(heads) else n, h + BLOCK_LINES, n)
        keep = [h]
        location = -1
        for j in range(h + 1, stop):
            line = lines[j]
            if _SECTION_RE.match(line):
                break
            if len(keep) <= MESSAGE_LINES and (_MESSAGE_RE.match(line) or _continues(lines, keep, j)):
                keep.append(j)
            # Every location holds a ":" or "panicked at": most lines are ruled out without the regex.
            if (
                (":" in line or "panicked at" in line)
                and _LOCATION_RE.match(line)
                and (location < 0 or not line.lstrip().startswith(_FIRST_FRAME))
                and not (line.lstrip().startswith("# ") and _LIBRARY_RE.search(line))
            ):
                location = j  # the last location (pytest, Python) or the first "at" frame (JS, Java)
        if location > 0:
            keep.append(location)
        if lines[h].lstrip().startswith("--- FAIL"):
            keep[:0] = _go_messages(lines, h)
        if _NUMBERED_RE.match(lines[h]):
            keep += _title_lines(lines, h)
        units.append(tuple(sorted(set(keep))))
    return units


_NUMBERED_RE = re.compile(r"\s{2,}\d+\)\ \S")


def _continues(lines: Sequence[str], keep: list[int], j: int) -> bool:
    """True for the message under a kept ``NoMethodError:`` line: deeper indented, right below it (rspec)."""
    above = lines[j - 1]
    if keep[-1] != j - 1 or len(keep) < 2 or not above.rstrip().endswith(":") or not lines[j].strip():
        return False
    return len(lines[j]) - len(lines[j].lstrip()) > len(above) - len(above.lstrip())


def _pending(lines: Sequence[str], h: int) -> bool:
    """True for a numbered item under rspec's ``Pending:`` heading: a skipped example, not a failure."""
    if not _NUMBERED_RE.match(lines[h]):
        return False
    for j in range(h - 1, max(h - BLOCK_LINES * 5, -1), -1):
        if lines[j][:1] not in (" ", "\t", ""):
            return lines[j].startswith("Pending:")
    return False


def _title_lines(lines: list[str], h: int) -> list[int]:
    """The rest of a numbered failure's title (mocha, rspec): its deeper-indented lines up to a blank.

    ``  1) Cart API`` is only the outer suite; ``POST /api/carts`` and ``rejects negative quantity:``
    follow on their own lines, and they name the test that failed.
    """
    depth = len(lines[h]) - len(lines[h].lstrip())
    out: list[int] = []
    for j in range(h + 1, min(h + 1 + TITLE_LINES, len(lines))):
        line = lines[j]
        if not line.strip() or len(line) - len(line.lstrip()) <= depth:
            break
        out.append(j)
    return out


def _go_messages(lines: list[str], h: int) -> list[int]:
    """The indented lines above a ``--- FAIL`` line, up to ``=== RUN``: ``go test`` prints messages there."""
    out: list[int] = []
    j = h - 1
    while j >= 0 and h - j <= 20 and not lines[j].startswith(("=== ", "--- ")):
        if lines[j][:1] in (" ", "\t") and lines[j].strip():
            out.append(j)
        j -= 1
    return out[:MESSAGE_LINES]


def signature(unit: tuple[int, ...], groups: Groups) -> str:
    """Identical failures (same message, same place, whatever the test name) share a signature."""
    return "\n".join(groups.templates[i] for i in unit[1:]) or template_of(groups.templates[unit[0]])


def dedupe(items: list[tuple[_T, str]]) -> list[tuple[_T, int]]:
    """The first item of each signature, with how many items share it (order of first appearance)."""
    counts: dict[str, int] = {}
    first: dict[str, _T] = {}
    for item, sig in items:
        counts[sig] = counts.get(sig, 0) + 1
        first.setdefault(sig, item)
    return [(first[s], counts[s]) for s in first]
