"""The test and build output engine: failures, summaries and what stands out from compiler noise.

Recognised by the marks of test runners and builds (pytest, unittest, jest, mocha, cargo, go test,
gtest, TAP, Maven/Gradle, make and compiler diagnostics, Jenkins and other CI consoles). Over the budget
it shows, most important first: the first and last lines and every summary line (``=== 3 failed, 1204
passed ===``, ``Tests: …``, ``test result: …``, ``Finished: FAILURE``); each failure with its assertion
message and innermost frame (identical failures and stack traces once, with a count); error lines;
lines matching the query; rows that break a block of rows shaped alike (a benchmark row marked ``**``)
and the header above such a block; each kind of warning once with its count; rare lines; then each
remaining template once. Compiler context (source snippets, carets, ``In file included from``) is noise
unless it belongs to an error. When there are more candidates than budget, they are taken spread over
the whole output (first, last, middle…), not only from its start. A CI console whose lines all start with
a timestamp is read and shown without it; ANSI colors are dropped. Gap markers show what was left out;
the closing marker names the key of the original, which keeps everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from .._base import Compressed, Context
from ._fit import Selection, plural, spread, stored_original, within_budget
from ._groups import FREQUENT, Groups, block_heads, deviant_lines, distinct_lines, edge_lines, group
from ._templates import template_of, templates_of
from ._textlines import LineIndex, strip_colors, strip_timestamps, timestamp_prefixed
from ._traces import find_traces

_LOOKS_LIKE_RE = re.compile(
    r"""^(?:
        =+\ test\ session\ starts\ =+ | collected\ \d+\ items? | platform\ \w+\ --\ Python
      | (?:PASS|FAIL)\ \ ?\S+\.(?:[jt]sx?|mjs|cjs)\b | Test\ Suites:\ | Tests:\ +\d
      | running\ \d+\ tests? | test\ \S+\ \.\.\.\ (?:ok|FAILED|ignored) | \s*Compiling\ \S+\ v\d
      | ===\ RUN\ + | ---\ (?:FAIL|PASS|SKIP):\  | (?:ok|FAIL)\s+\S+\s+(?:\d[\d.]*s|\(cached\))
      | \[=+\]\ Running\ \d+\ tests? | \[\ RUN\ +\] | TAP\ version | (?:not\ )?ok\ \d+[ ]
      | \[INFO\]\ (?:Building|BUILD|Tests\ run) | >\ Task\ : | BUILD\ (?:SUCCESSFUL|FAILED)
      | Started\ by\ (?:user|timer|upstream|an?\ ) | Building\ (?:remotely\ )?(?:on|in)\  | \[Pipeline\]
      | Running\ on\ \S+\ in\  | Finished:\ (?:SUCCESS|FAILURE|UNSTABLE|ABORTED)
      | make(?:\[\d+\])?:\ | (?:warning|error)(?:\[E\d+\])?:\ | npm\ (?:ERR!|WARN) | Ran\ \d+\ tests?\ in[ ]
      | \S+\.(?:c|cc|cpp|cxx|h|hpp|m|mm|rs|go|java|kt|swift|ts):\d+:\d+:\ (?:warning|error|note):
    )""",
    re.VERBOSE | re.MULTILINE,
)
_SUMMARY_RE = re.compile(
    r"""\s*(?:
        =+\ .*\b(?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|no\ tests\ ran)\b
        .*=+\s*$
      | (?:Tests?|Test\ Suites|Snapshots|Time):\ + | Ran\ all\ test\ suites | Summary\ of\ all\ failing\ tests
      | test\ result:\  | (?:ok|FAIL|PASS)\s+\S+\s+(?:\d[\d.]*m?s|\(cached\)) | (?:FAIL|PASS|ok|OK|FAILED)\s*$
      | (?:FAILED|OK)\ \(.*\)\s*$ | Ran\ \d+\ tests?\ in\  | Tests\ run:\ \d+
      | \d+\ (?:passing|failing|pending)\b | Finished:\  | BUILD\ (?:SUCCESS|SUCCESSFUL|FAILURE|FAILED)
      | \[(?:INFO|ERROR)\]\ (?:BUILD|Tests\ run|Total\ time)
      | make(?:\[\d+\])?:\ \*\*\* | error:\ (?:could\ not\ compile|test\ failed|aborting)
      | \[\ +(?:PASSED|FAILED)\ +\]\ \d+
      | short\ test\ summary\ info | Finished\ .*\ in\ \d | (?:Passed|Failed)!\s+-
      | \d+\ examples?,\ \d+\ failures? | FAILURES!$ | OK\ \(\d+\ tests?
    )""",
    re.VERBOSE,
)
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
        E\s | >\s | \s*(?:Expected|Received|expected|received|left|right|actual|Actual|Difference)\b
      | .*\b(?:assert\w*|Assert\w*|panicked\ at|Error|Exception|error|failed|FAILED|mismatch|not\ equal)\b
      | \s+\S+\.\w+:\d+:\                           # go: "    foo_test.go:43: message"
    )""",
    re.VERBOSE,
)
_LOCATION_RE = re.compile(r"\s*(?:at\s.*:\d+|\S+\.\w+:\d+(?::\d+)?(?::|\s|$)|.*\bpanicked at\b)")
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
_WARNING_RE = re.compile(r"(?i)\bwarn(?:ing)?s?\b|\bdeprecat\w*")
_SEVERE_RE = re.compile(
    r":\d+(?::\d+)?: (?:fatal error|error)\b|(?:fatal error|error)(?:\[\w+\])?: |\*\*\* .*\bError\b"
)
_GENERATED_RE = re.compile(r"\b\d+ (?:warnings?|errors?) generated\b")

_T = TypeVar("_T")

ALWAYS_HEAD = 3
ALWAYS_TAIL = 3
BLOCK_LINES = 400
"""A failure block is read this far at most (its message and innermost frame are near its start/end)."""
MESSAGE_LINES = 6
RARE_SHARE = 0.6
CONTEXT_SHARE = 0.5
CONTEXT_LINES = 30
"""Context lines near the head and the tail, at most, per side."""


def looks_like(head: str) -> bool:
    """True when ``head`` carries the marks of a test runner, a build or a CI console."""
    if "\x1b[" in head:
        head = strip_colors(head)
    if timestamp_prefixed(head):
        head = strip_timestamps(head)
    return len(_LOOKS_LIKE_RE.findall(head)) >= 2


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, keep what matters."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    key, payload = stored_original(text)
    index = LineIndex(text, strip_timestamps=True)
    lines = index.scan_lines
    n = len(lines)
    groups = group(templates_of(lines, index.lowered))
    traces = find_traces(index, groups.templates)
    noise = _compiler_context(index)
    covered: set[int] = set(noise)
    for tr in traces:
        covered.update(range(tr.start, tr.end + 1))
    failures = _failure_units(index, groups)
    for unit in failures:
        covered.update(range(unit[0], unit[-1] + 1))
    summaries = sorted(
        {*index.starting_with(_SUMMARY_RE), *index.verified(index.with_words(("generated",)), _GENERATED_RE)}
    )
    severe = index.verified(index.with_words(("error", "***")), _SEVERE_RE)
    signals = index.error_lines()
    warnings = index.verified(index.with_words(("warn", "deprecat")), _WARNING_RE)
    matches = index.query_lines(ctx.query)
    sel = Selection(index.lines, ctx)

    def is_first(i: int) -> bool:
        return groups.first[groups.templates[i]] == i

    def take(i: int, limit: int | None = None) -> bool:
        note = groups.similar_note(i)
        return sel.add([i], notes={i: note} if note else None, limit=limit)

    for i in [*range(min(ALWAYS_HEAD, n)), *range(max(n - ALWAYS_TAIL, 0), n)]:
        take(i)
    for i in _first_per_template(summaries, groups, keep_all=12):
        take(i)
    # Failures and traces: one per signature, with how many there were.
    units: list[tuple[int, tuple[int, ...], int, str]] = []
    for unit, count in _dedupe([(u, _signature(u, groups)) for u in failures]):
        units.append((unit[0], unit, unit[0], f"(×{count:,} identical failures)" if count > 1 else ""))
    for tr, count in _dedupe([(tr, tr.signature) for tr in traces]):
        units.append((tr.start, tr.keep, tr.head, f"(×{count:,} identical traces)" if count > 1 else ""))
    units += [
        (i, (i, *_following_context(i, noise, index.scan_lines)), i, groups.similar_note(i))
        for i in severe
        if is_first(i)
    ]
    for _, keep, head, note in spread(sorted(units, key=lambda u: u[0])):
        sel.add(keep, notes={head: note} if note else None)
    for i in matches:
        take(i)
    for i in deviant_lines(groups, covered):
        take(i)
    for head, first_row, _ in block_heads(groups):
        note = groups.similar_note(first_row)
        rows = [i for i in (head, first_row) if i >= 0 and i not in noise]
        sel.add(rows, notes={first_row: note} if note else None)
    for i in [*warnings, *signals]:
        if is_first(i) and i not in noise:
            take(i)
    rare = distinct_lines([i for i in groups.rare_lines() if i not in covered], index.scan_lines)
    cap = max(sel.used, int(ctx.max_tokens * RARE_SHARE))
    for i in spread(rare):
        take(i, limit=cap)
    for t, i in sorted(groups.first.items(), key=lambda p: (-groups.counts[p[0]], p[1])):
        if groups.counts[t] > 1 and t.strip() and i not in covered:
            take(i)
    for i in spread(rare):
        take(i)
    for _, _, last_row in block_heads(groups):
        sel.add([last_row])
    for t, i in groups.last.items():
        if groups.counts[t] >= FREQUENT and t.strip() and i not in covered:
            sel.add([i])
    cap = max(sel.used, int(ctx.max_tokens * CONTEXT_SHARE))
    for i in edge_lines(groups, covered, CONTEXT_LINES):
        if not take(i, limit=cap):
            break

    failure_heads = {u[0] for u in failures}
    trace_heads = {tr.head for tr in traces}
    severe_set = set(severe)
    warning_set = set(warnings)

    def kept_note(idx: list[int]) -> str:
        parts = []
        for count, word in (
            (sum(1 for i in idx if i in failure_heads), "failure"),
            (sum(1 for i in idx if i in trace_heads), "stack trace"),
            (sum(1 for i in idx if i in severe_set), "error line"),
            (sum(1 for i in idx if i in warning_set), "kind of warning"),
        ):
            if count:
                parts.append(plural(count, word).replace("kind of warnings", "kinds of warning"))
        parts.append("summary lines" if summaries else "head and tail")
        if index.stripped:
            parts.append("line timestamps not shown")
        return ", ".join(parts)

    out = sel.render_lines(key, kept_note)
    return Compressed(out, "test:failures", ((key, payload),))


def _first_per_template(indices: list[int], groups: Groups, *, keep_all: int) -> list[int]:
    """All of ``indices`` when there are few; else the first line of each template among them."""
    if len(indices) <= keep_all:
        return indices
    seen: set[str] = set()
    out = []
    for i in indices:
        t = groups.templates[i]
        if t not in seen:
            seen.add(t)
            out.append(i)
    return out


def _compiler_context(index: LineIndex) -> set[int]:
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


def _following_context(i: int, noise: set[int], lines: Sequence[str]) -> list[int]:
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


def _failure_units(index: LineIndex, groups: Groups) -> list[tuple[int, ...]]:
    """Each failure as the lines that tell it: header, first assertion/error messages, innermost frame."""
    lines = index.scan_lines
    n = len(lines)
    gradle = index.verified(index.with_words(("failed",)), _GRADLE_FAILED_RE)
    heads = sorted({*index.starting_with(_FAILURE_HEAD_RE), *gradle})
    units: list[tuple[int, ...]] = []
    for k, h in enumerate(heads):
        stop = min(heads[k + 1] if k + 1 < len(heads) else n, h + BLOCK_LINES, n)
        keep = [h]
        location = -1
        for j in range(h + 1, stop):
            line = lines[j]
            if _SECTION_RE.match(line):
                break
            if len(keep) <= MESSAGE_LINES and _MESSAGE_RE.match(line):
                keep.append(j)
            # Every location holds a ":" or "panicked at": most lines are ruled out without the regex.
            if (
                (":" in line or "panicked at" in line)
                and _LOCATION_RE.match(line)
                and (location < 0 or not line.lstrip().startswith("at "))
            ):
                location = j  # the last location (pytest, Python) or the first "at" frame (JS, Java)
        if location > 0:
            keep.append(location)
        if lines[h].lstrip().startswith("--- FAIL"):
            keep[:0] = _go_messages(lines, h)
        units.append(tuple(sorted(set(keep))))
    return units


def _go_messages(lines: list[str], h: int) -> list[int]:
    """The indented lines above a ``--- FAIL`` line, up to ``=== RUN``: ``go test`` prints messages there."""
    out: list[int] = []
    j = h - 1
    while j >= 0 and h - j <= 20 and not lines[j].startswith(("=== ", "--- ")):
        if lines[j][:1] in (" ", "\t") and lines[j].strip():
            out.append(j)
        j -= 1
    return out[:MESSAGE_LINES]


def _signature(unit: tuple[int, ...], groups: Groups) -> str:
    """Identical failures (same message, same place, whatever the test name) share a signature."""
    return "\n".join(groups.templates[i] for i in unit[1:]) or template_of(groups.templates[unit[0]])


def _dedupe(items: list[tuple[_T, str]]) -> list[tuple[_T, int]]:
    """The first item of each signature, with how many items share it (order of first appearance)."""
    counts: dict[str, int] = {}
    first: dict[str, _T] = {}
    for item, sig in items:
        counts[sig] = counts.get(sig, 0) + 1
        first.setdefault(sig, item)
    return [(first[s], counts[s]) for s in first]
