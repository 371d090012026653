"""The test and build output engine: failures, summaries and what stands out from compiler noise.

Recognised by the marks of test runners and builds (pytest, unittest/Django, jest, mocha, vitest, cargo,
go test, gtest, TAP, Maven/Gradle, make and compiler diagnostics, eslint, tsc, Jenkins and other CI
consoles). Over the budget it shows, most important first: the first and last lines and the summary lines
(``=== 3 failed, 1204 passed ===``, ``Tests: …``, ``test result: …``, ``Finished: FAILURE``; of many,
those reporting a failure and the first and last of each kind); each failure with its assertion message
and innermost frame (identical failures once, with a count), then stack traces and error lines; lines
matching the query; rows that break a block of rows shaped alike (a benchmark row marked ``**``) and the
header above such a block; each kind of warning once with its count; rare lines; then each remaining
kind of line once. Lines alike but for a test, class, module or thread name share a *shape*: the
per-test and per-suite result lines of a long run (``test_x (pkg.Case) ... ok``, surefire's ``Tests run:
8, Failures: 0 … -- in com.acme.FooTest``) and the log lines of the code under test count as one kind,
not as many rare lines; so do the INFO/DEBUG log records of the code under test (one kind per level,
whatever each says) and the plain-word titles of a documentation-style reporter (rspec ``-f d``: one kind
per depth); a passing test's line is never shown as rare, and a clean result line
(``Failures: 0, Errors: 0``) is no error line; a kind of warning shown with its count is not shown again
as the last line of its shape. Compiler context (source snippets, carets, ``In file
included from``) is noise unless it belongs to an error; a linter's error listed under its file
(eslint's ``  88:11  error  …``) keeps that file line. When there are more candidates than budget, they
are taken spread over the whole output (first, last, middle…), not only from its start. A CI console
whose lines all start with a timestamp is read and shown without it; ANSI colors are dropped. Gap markers
show what was left out; the closing marker names the key of the original, which keeps everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._base import Compressed, Context
from .._signals import ERROR_WORDS_RE
from ._fit import Selection, plural, spread, stored_original, within_budget
from ._groups import FREQUENT, Groups, block_heads, deviant_lines, distinct_lines, edge_lines, group
from ._templates import templates_of
from ._test_shapes import WARNING_RE, Shapes
from ._test_units import (
    PASSED_RE,
    compiler_context,
    dedupe,
    failure_units,
    file_line,
    following_context,
    is_trace,
    signature,
)
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
      | \w+\ \([\w.]+\)\ \.\.\.\ (?:ok|FAIL|ERROR|skipped)    # unittest -v: "test_x (pkg.Case) ... ok"
      | (?:FAIL|ERROR):\ \w+\ \([\w.]+\)\s*$                     # unittest: "FAIL: test_x (pkg.Case)"
      | Found\ \d+\ test\(s\)\. | Creating\ test\ database\ for | System\ check\ identified  # django
      | \s+[✔✓√]\ \S | \s+\d+\ (?:passing|failing|pending)\b              # mocha, vitest
      | \[INFO\]\ (?:Scanning\ for\ projects|Reactor\ Build\ Order|---\ \S+:\S+)  # maven
      | \s+\d+:\d+\s+(?:warning|error)\s\s                             # eslint (stylish)
      | \S+\.\w+\(\d+,\d+\):\ (?:error|warning)\ [A-Z]+\d+:          # tsc, msbuild
      | >\ (?:eslint|tsc|mocha|vitest|jest|tsx?|jasmine|ava|karma)\b     # npm script echo
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
      | Test\ Files\ {2,}\d | Tests\ {2,}\d+\ (?:failed|passed|skipped)\b     # vitest
    )""",
    re.VERBOSE,
)
_SEVERE_RE = re.compile(
    r":\d+(?::\d+)?: (?:fatal error|error)\b|(?:fatal error|error)(?:\[\w+\])?: |\*\*\* .*\bError\b"
    r"|^\s+\d+:\d+\s+error\s|\(\d+,\d+\): error [A-Z]+\d+:"
)
"""A compiler or linter error: gcc, rustc, make, eslint (``  88:11  error  …``), tsc (``x.ts(1,5): error``)"""
_GENERATED_RE = re.compile(r"\b\d+ (?:warnings?|errors?) generated\b")
ALWAYS_HEAD = 3
ALWAYS_TAIL = 3
RARE_SHARE = 0.6
WARNING_SHARE = 0.25
SHAPES_SHARE = 0.6
PASSED_TEMPLATE = "<a passing test>"
CONTEXT_SHARE = 0.5
CONTEXT_LINES = 30
"""Context lines near the head and the tail, at most, per side."""


def looks_like(head: str) -> bool:
    """True when ``head`` carries the marks of a test runner, a build or a CI console."""
    if "\x1b[" in head:
        head = strip_colors(head)
    if timestamp_prefixed(head):
        head = strip_timestamps(head)
    return _STRONG_RE.search(head) is not None or len(_LOOKS_LIKE_RE.findall(head)) >= 2


_STRONG_RE = re.compile(
    r"^(?:Randomized with seed \d+|Run options: (?:--seed|include|exclude)\b)", re.MULTILINE
)
"""A line only a test runner prints (rspec, minitest), enough alone: a documentation-format run shows
nothing else runner-like in its first KB (describe and example titles are plain prose)."""


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, keep what matters."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    key, payload = stored_original(text)
    index = LineIndex(text, strip_timestamps=True)
    lines = index.scan_lines
    n = len(lines)
    groups = group(_templates(index))
    traces = [tr for tr in find_traces(index, groups.templates) if is_trace(lines[tr.head])]
    noise = compiler_context(index)
    covered: set[int] = set(noise)
    for tr in traces:
        covered.update(range(tr.start, tr.end + 1))
    failures = failure_units(index, groups)
    for unit in failures:
        covered.update(range(unit[0], unit[-1] + 1))
    summaries = sorted(
        {*index.starting_with(_SUMMARY_RE), *index.verified(index.with_words(("generated",)), _GENERATED_RE)}
    )
    severe = index.verified(index.with_words(("error", "***")), _SEVERE_RE)
    signals = index.error_lines()
    warnings = index.verified(index.with_words(("warn", "deprecat")), WARNING_RE)
    matches = index.query_lines(ctx.query)
    sel = Selection(index.lines, ctx)

    def is_first(i: int) -> bool:
        return groups.first[groups.templates[i]] == i

    def take(i: int, limit: int | None = None) -> bool:
        note = groups.similar_note(i)
        return sel.add([i], notes={i: note} if note else None, limit=limit)

    for i in [*range(min(ALWAYS_HEAD, n)), *range(max(n - ALWAYS_TAIL, 0), n)]:
        take(i)
    for i in _pick_summaries(summaries, index.scan_lines, groups, keep_all=12):
        take(i)
    # Failures, then traces and error lines: one per signature, with how many there were.
    units: list[tuple[int, tuple[int, ...], int, str]] = []
    for unit, count in dedupe([(u, signature(u, groups)) for u in failures]):
        units.append((unit[0], unit, unit[0], f"(×{count:,} identical failures)" if count > 1 else ""))
    for _, keep, head, note in spread(sorted(units, key=lambda u: u[0])):
        sel.add(keep, notes={head: note} if note else None)
    units = []
    for tr, count in dedupe([(tr, tr.signature) for tr in traces]):
        units.append((tr.start, tr.keep, tr.head, f"(×{count:,} identical traces)" if count > 1 else ""))
    units += [
        (i, (*file_line(i, lines), i, *following_context(i, noise, lines)), i, groups.similar_note(i))
        for i in severe
        if is_first(i)
    ]
    for _, keep, head, note in spread(sorted(units, key=lambda u: u[0])):
        sel.add(keep, notes={head: note} if note else None)
    for i in matches:
        take(i)
    shapes = Shapes(groups, index.scan_lines)
    for i in deviant_lines(groups, covered):
        if shapes.stands_out(i, groups, index.scan_lines):
            take(i)
    for head, first_row, _ in block_heads(groups):
        note = groups.similar_note(first_row)
        rows = [i for i in (head, first_row) if i >= 0 and i not in noise]
        sel.add(rows, notes={first_row: note} if note else None)
    for i in signals:
        if is_first(i) and i not in noise and not _all_clear(index.scan_lines[i]):
            take(i)
    # Kinds of warning (a shape: the same warning from another logger or class is the same kind), most
    # frequent first, within a share of the budget: the code under test logs many.
    cap = max(sel.used, int(ctx.max_tokens * WARNING_SHARE))
    kinds = [i for i in warnings if shapes.first_of(i, groups) == i and i not in noise]
    for i in sorted(kinds, key=lambda i: -shapes.count_of(i, groups)):
        count = shapes.count_of(i, groups)
        sel.add([i], notes={i: f"(×{count:,} similar)"} if count > 1 else None, limit=cap)
    rare = [
        i for i in groups.rare_lines() if i not in covered and shapes.stands_out(i, groups, index.scan_lines)
    ]
    rare = distinct_lines(rare, index.scan_lines)
    cap = max(sel.used, int(ctx.max_tokens * RARE_SHARE))
    for i in spread(rare):
        take(i, limit=cap)
    # Each shape of line once, most frequent first, with how many lines have it: what the rest of the
    # output is made of, within a share of the budget (a build's chatter is not worth the whole of it).
    cap = max(sel.used, int(ctx.max_tokens * SHAPES_SHARE))
    for shape, i in sorted(shapes.first.items(), key=lambda p: (-shapes.counts[p[0]], p[1])):
        count = shapes.counts[shape]
        if count > 1 and shape.strip() and i not in covered and not PASSED_RE.match(index.scan_lines[i]):
            first_of_template = groups.first[groups.templates[i]] == i
            sel.add([i], notes={i: f"(×{count:,} similar)"} if first_of_template else None, limit=cap)
    for i in spread(rare):
        take(i)
    for _, _, last_row in block_heads(groups):
        sel.add([last_row])
    # The last line of each frequent shape, once; not of a kind of warning already shown with its count:
    # its last instance (another file, another line number) says nothing more.
    last_shown: set[str] = set()
    warned = {shapes.of[groups.templates[i]] for i in warnings if i in sel}
    for t, i in sorted(groups.last.items(), key=lambda p: -p[1]):
        shape = shapes.of[t]
        frequent = groups.counts[t] >= FREQUENT and t.strip()
        if frequent and i not in covered and shape not in last_shown and shape not in warned:
            last_shown.add(shape)
            sel.add([i])
    cap = max(sel.used, int(ctx.max_tokens * CONTEXT_SHARE))
    for i in edge_lines(groups, covered, CONTEXT_LINES):
        if not shapes.stands_out(i, groups, lines):
            continue  # a line like many others but for a name, or a passing test: not context
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


def _templates(index: LineIndex) -> list[str]:
    """Each line's template; every passing test's line (``✔ …``, ``test_x (pkg.Case) ... ok``) has one.

    They are most of a long run and each names another test: one template says what they are, with
    their count, and spares the template regexes thousands of lines.
    """
    passed = index.starting_with(PASSED_RE)
    if len(passed) < FREQUENT:
        return templates_of(index.scan_lines, index.lowered)
    lines = list(index.scan_lines)
    for i in passed:
        lines[i] = PASSED_TEMPLATE
    return templates_of(lines)


def _all_clear(line: str) -> bool:
    """True for a result line whose only error words count zero (``Failures: 0, Errors: 0``, ``0 failed``)."""
    if "0" not in line:
        return False
    rest = _ZERO_COUNT_RE.sub("", line)
    return len(rest) < len(line) and ERROR_WORDS_RE.search(rest) is None


_ZERO_COUNT_RE = re.compile(r"(?i)\b(?:(?:fail\w*|errors?)\s*[:=]\s*0|0\s+(?:fail\w*|errors?))(?![\d.])")


def _pick_summaries(indices: list[int], lines: Sequence[str], groups: Groups, *, keep_all: int) -> list[int]:
    """All summary lines when there are few; else those reporting trouble, and each kind's first and last.

    A runner that prints a result line per suite (surefire's ``Tests run: 8, Failures: 0 … -- in
    com.acme.FooTest``, one per class) would otherwise fill the budget with clean results, each naming
    another class, before any failure is shown.
    """
    if len(indices) <= keep_all:
        return indices
    trouble = _first_per_template(
        [i for i in indices if _TROUBLE_RE.search(lines[i])], groups, keep_all=keep_all
    )
    ends: dict[str, list[int]] = {}
    for i in indices:
        kind = " ".join(_DIGITS_RE.sub("0", lines[i]).split()[:2])
        ends.setdefault(kind, [i, i])[1] = i
    return sorted({*trouble, *(i for pair in ends.values() for i in pair)})


_TROUBLE_RE = re.compile(
    r"\b[1-9]\d*\ (?:failed|failing|failures?|errors?)\b"
    r"|\b(?:Failures|Errors|failures|errors|failed)[:=]\ ?[1-9]|\bFAIL(?:ED|URE)?\b"
)
"""A summary line that reports a failure: ``2 failed``, ``Failures: 1``, ``errors=1``, ``FAIL``."""
_DIGITS_RE = re.compile(r"\d+")


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
