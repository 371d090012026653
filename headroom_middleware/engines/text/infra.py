"""The infrastructure output engine: build, provisioning and deploy runs read as steps (sections).

``docker build`` (BuildKit), ``ansible-playbook``, ``terraform plan``, GitHub Actions job logs and the
legacy Docker builder print one section per step under a header line (``_infra_sections``). What an agent
needs from such a run is which step failed and why, what is destroyed or replaced, and the final
summary; not the thousands of apt, pip or per-host lines of the steps that went fine. Over the budget it
shows, most important first: the first and last lines; summary lines (``Plan: 3 to add…``, ``PLAY RECAP``,
``ERROR: failed to solve``); each failing section (one holding an error line) with its header and the
span from its first error to its last, whole when short, else the ends of the span and one error line per
kind; loose lines around errors (BuildKit's closing error box); sections whose header or lines say
something is destroyed, replaced, removed or cancelled, with those lines; lines matching the query; every
section header with how many lines the section holds; then more head and tail. Error words in an
attribute's name (``timeout = 60``) and counts of zero (``failed=0``) are no error. A CI console whose
lines start with a timestamp is read and shown without it; banner stars are shortened. When a long
failing step is a test run (a CI job's ``pytest`` or ``go test`` step), the whole text goes to the test
engine, which shows failures and assertions where this one could only show error lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .._base import Compressed, Context
from .._signals import ERROR_WORDS_RE
from . import gotest, tests
from ._fit import Selection, plural, spread, stored_original, within_budget
from ._infra_sections import STYLES, Section, head_style, sections_of
from ._templates import template_of
from ._textlines import LineIndex, strip_colors, strip_timestamps, timestamp_prefixed
from .generic import compress_generic

ALWAYS_HEAD = 3
ALWAYS_TAIL = 3
CONTEXT_BEFORE = 3
"""Lines shown before the first error of a failing section (the command that ran, the step's start)."""
CONTEXT_AFTER = 4
"""Lines shown after the last error (a Terraform error box names the resource and file below it)."""
WINDOW = 40
"""A failing span (first error to last) of at most this many lines is shown whole."""
NOTABLE_PER_SECTION = 6
MAX_SUMMARIES = 12
PEEK_LINES = 60
"""Lines of a failing step looked at to tell whether a test runner printed them."""
HEADERS_SHARE = 0.7
"""Section headers may fill the budget up to this share (a plan of 500 resources has 500 headers)."""
CONTEXT_SHARE = 0.3
"""Head and tail fill up to this share: a run's chatter around its steps matters less than their headers."""

_SUMMARY_RE = re.compile(
    r"""\s*(?:
        Plan:\ \d+\ to\ add | (?:Apply|Destroy)\ complete! | No\ changes\. | Changes\ to\ Outputs:
      | Resources:\ \d+\ (?:added|changed|destroyed) | PLAY\ RECAP | ERROR:\ failed\ to\ solve
      | Successfully\ (?:built|tagged)\  | naming\ to\  | The\ command\ .*\ returned\ a\ non-zero\ code
      | \#\#\[error\] | Error:\  | Release\ "[^"]+"\ has\ been\ upgraded
    )""",
    re.VERBOSE,
)
"""A run's outcome: Terraform's plan and apply totals, Ansible's recap, a build's result."""
_STRONG_RE = re.compile(
    r"\b(?:ERROR|FATAL|FAILED|FAILURE|ERR!|fatal:|[Ee]rror(?::| \d)"
    r"|(?:exit|return)(?:ed)?(?: with)? (?:code|status):? ?[1-9]|non-zero (?:code|exit))"
)
"""An error mark a tool prints when a step fails, as opposed to an error word inside its chatter."""
_NOTABLE_RE = re.compile(
    r"(?i)\b(?:destroy(?:ed)?|must be replaced|replace(?:d|ment)|forces replacement|delet(?:ed|ing)"
    r"|removed|cancel+ed|tainted|unreachable|rolled back|rollback)\b|^\s*-/\+ "
)
"""Something is lost or undone: a destroyed or replaced resource, a deleted object, a cancelled step."""
_ZERO_RE = re.compile(
    r"(?i)\b(?:(?:fail\w*|errors?|unreachable|timeouts?)\s*[:=]\s*0|0\s+(?:fail\w*|errors?))(?![\d.])"
)
_ASSIGN_RE = re.compile(r"\s*[-+~]?\s*\"?[\w.-]+\"?\s+=\s(.*)")
"""An attribute line (``  ~ timeout = 30 -> 60``): only its value can say something went wrong."""
_STARS_RE = re.compile(r" ?\*{4,}\s*$")

Engine = Callable[[str, Context], Compressed]


def looks_like(head: str) -> bool:
    """True when the first few KB hold section headers of one style (BuildKit steps, Ansible banners…)."""
    if "\x1b[" in head:
        head = strip_colors(head)
    if timestamp_prefixed(head):
        head = strip_timestamps(head)
    return head_style(head) is not None


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, keep the steps' story."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    index = LineIndex(text, strip_timestamps=True)
    lines = index.scan_lines
    style = _style(index)
    if style is None:
        return compress_generic(text, ctx)
    n = len(lines)
    sections, loose = sections_of(lines, style)
    error_set = set(error_lines(index))
    failed = [s for s in sections if s.header in error_set or any(i in error_set for i in s.members)]
    failing = by_strength(failed, error_set, lines)
    delegate = _runner_engine(failing, lines)
    if delegate is not None:
        return delegate(text, ctx)
    key, payload = stored_original(text)
    shown = [_STARS_RE.sub(" ***", line) if line.endswith("****") else line for line in index.lines]
    sel = Selection(shown, ctx)
    counts = count_notes(sections)

    def take(unit: Sequence[int], limit: int | None = None) -> bool:
        return sel.add(unit, notes=counts, limit=limit)

    for i in [*range(min(ALWAYS_HEAD, n)), *range(max(n - ALWAYS_TAIL, 0), n)]:
        take([i])
    for i in summary_lines(index.starting_with(_SUMMARY_RE), lines):
        take([i])
    for s in failing:
        for unit in failing_units([s.header, *s.members], error_set, lines):
            take(unit)
    for block in loose:
        if any(i in error_set for i in block):
            for unit in failing_units(block, error_set, lines):
                take(unit)
    marks = set(notable_lines(index))
    skip = {s.header for s in failing}
    notable = [s for s in sections if s.header not in skip and marks.intersection((s.header, *s.members))]
    for s in spread(notable):
        take([s.header, *[i for i in s.members if i in marks][:NOTABLE_PER_SECTION]])
    for i in spread(index.query_lines(ctx.query)):
        take([i])
    cap = max(sel.used, int(ctx.max_tokens * HEADERS_SHARE))
    for s in spread(sections):
        take([s.header], limit=cap)
    cap = max(sel.used, int(ctx.max_tokens * CONTEXT_SHARE))
    head, tail = ALWAYS_HEAD, n - ALWAYS_TAIL - 1
    while head <= tail and (take([head], limit=cap) | take([tail], limit=cap)):
        head, tail = head + 1, tail - 1

    headers = {s.header for s in sections}
    n_failing, n_notable = len(failing), len(notable)

    def kept_note(idx: list[int]) -> str:
        shown_headers = sum(1 for i in idx if i in headers)
        parts = [f"{plural(len(sections), 'section')} ({shown_headers:,} headers shown)"]
        if n_failing:
            parts.append(plural(n_failing, "failing section"))
        if n_notable:
            parts.append(plural(n_notable, "section") + " destroying or cancelling")
        n_err = sum(1 for i in idx if i in error_set)
        if n_err:
            parts.append(plural(n_err, "error line"))
        if index.stripped:
            parts.append("line timestamps not shown")
        return ", ".join(parts)

    out = sel.render_lines(key, kept_note)
    return Compressed(out, f"infra:{style}", ((key, payload),))


def _style(index: LineIndex) -> str | None:
    """The style with the most headers over the whole text (at least ``MIN_HEADERS``)."""
    counts = {style: len(index.starting_with(p)) for style, p in STYLES.items()}
    style = max(counts, key=lambda s: counts[s])
    if counts[style] >= 2:
        return style
    return None


def error_lines(index: LineIndex) -> list[int]:
    """Lines with an error word that means trouble: not in an attribute's name (``timeout = 60``), not
    a count of zero (``failed=0``, ``0 errors``)."""
    out = []
    for i in index.error_lines():
        line = index.scan_lines[i]
        m = _ASSIGN_RE.match(line)
        body = _ZERO_RE.sub("", m.group(1) if m else line)
        if ERROR_WORDS_RE.search(body):
            out.append(i)
    return out


def _runner_engine(failing: list[Section], lines: Sequence[str]) -> Engine | None:
    """The engine of a test runner (or compiler) whose output fills a long failing step, if any.

    A CI job's failing step is often a test run: the test engine shows its failures and assertions, which
    a span of error lines cannot. It reads CI consoles (timestamps, ``##[group]``) itself.
    """
    for s in failing:
        if len(s.members) <= WINDOW:
            continue
        peek = "\n".join(lines[i] for i in s.members[:PEEK_LINES])[:4096]
        for looks, engine in ((gotest.looks_like, gotest.compress), (tests.looks_like, tests.compress)):
            if looks(peek):
                return engine
    return None


def summary_lines(indices: list[int], lines: Sequence[str]) -> list[int]:
    """All summary lines when there are few; else the first and last of each kind (template), spread: a
    run printing ``Error: …`` a thousand times must not spend the budget before its failing step."""
    if len(indices) <= MAX_SUMMARIES:
        return indices
    ends: dict[str, list[int]] = {}
    for i in indices:
        ends.setdefault(template_of(lines[i]), [i, i])[1] = i
    return spread(sorted({i for pair in ends.values() for i in pair}))[:MAX_SUMMARIES]


def by_strength(failing: list[Section], error_set: set[int], lines: Sequence[str]) -> list[Section]:
    """Failing sections, those with a strong error mark first (``ERROR``, ``fatal:``, ``FAILED``, a non-zero
    exit code: a step that failed, not one that logged a word like ``timeout``), each group spread."""
    strong: list[Section] = []
    weak: list[Section] = []
    for s in failing:
        errs = (i for i in (s.header, *s.members) if i in error_set)
        (strong if any(_STRONG_RE.search(lines[i]) for i in errs) else weak).append(s)
    return [*spread(strong), *spread(weak)]


def failing_units(block: Sequence[int], error_set: set[int], lines: Sequence[str]) -> list[list[int]]:
    """What to show of a failing section (``block``: its header, then its lines) or loose block, most
    important first: the span from its first error line to its last with a little context, whole when at
    most ``WINDOW`` lines; else the start and the end of the span, then one error line per kind."""
    pos = [k for k, i in enumerate(block) if i in error_set]
    if not pos:
        return []
    first, last = pos[0], pos[-1]
    head = [block[0]] if block[0] not in error_set else []
    start, stop = max(first - CONTEXT_BEFORE, 0), min(last + CONTEXT_AFTER + 1, len(block))
    if stop - start <= WINDOW:
        return [[*head, *block[start:stop]]]
    units = [[*head, *block[start : first + 1]], list(block[max(last - CONTEXT_BEFORE, 0) : stop])]
    seen: set[str] = set()
    for k in spread(pos):
        t = template_of(lines[block[k]])
        if t not in seen:
            seen.add(t)
            units.append([block[k]])
    return units


def notable_lines(index: LineIndex) -> list[int]:
    """Lines saying something is destroyed, replaced, deleted or cancelled (not ``unreachable=0``)."""
    found = index.verified(index.with_words(_NOTABLE_ROOTS), _NOTABLE_RE)
    return [i for i in found if _NOTABLE_RE.search(_ZERO_RE.sub("", index.scan_lines[i])) is not None]


_NOTABLE_ROOTS = ("destroy", "replace", "delet", "removed", "cancel", "tainted", "unreachable", "roll", "-/+")
"""Literal roots of ``_NOTABLE_RE``: lines without any are never run through it."""


def count_notes(sections: list[Section]) -> dict[int, str]:
    """``(N lines)`` for the header of each section whose lines are interleaved with other sections'
    (BuildKit's parallel steps): no gap marker counts them. A section whose lines follow its header
    needs none: the gap marker after the header says how many were left out."""
    return {
        s.header: f"({plural(len(s.members), 'line')})"
        for s in sections
        if s.members and s.members[-1] - s.header != len(s.members)
    }
