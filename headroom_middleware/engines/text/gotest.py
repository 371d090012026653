"""The ``go test -json`` engine: the event stream read back as the short report an agent needs.

``go test -json`` writes one JSON event per line (run, output, pass, fail, skip… per package and test).
Over the budget the events are parsed and rendered as readable text, not JSON: a totals line; for each
failed package its header, its own output (a main that exited early, a panic, build errors) and each
failed or unfinished test (subtests included) with its output lines, the assertion messages such as
``foo_test.go:43: expected 1, got 2``; then one line per passing package with its counts; then skipped
tests. Lines are kept most important first within the budget; gap markers show where rendered lines were
left out, and the closing marker names the key under which the original event stream is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson

from ... import _markers
from .._base import Compressed, Context
from . import tests
from ._fit import Selection, plural, stored_original, within_budget
from ._textlines import query_terms

_EVENT_RE = re.compile(r'"Action"\s*:\s*"(?:start|run|output|pass|fail|skip|pause|cont|bench|build-\w+)"')
_PACKAGE_RE = re.compile(r'"(?:Package|ImportPath)"\s*:')
_NOISE_RE = re.compile(
    r"\s*(?:=== (?:RUN|PAUSE|CONT|NAME)\b|--- (?:FAIL|PASS|SKIP):)|(?:PASS|FAIL)\s*$|(?:ok|FAIL)\s+\S+\s"
)
_MESSAGE_RE = re.compile(r"\s+\S+\.go:\d+:|.*\b(?:panic|Error|error|fail|FAIL|expected|got|want)\b")

MESSAGES_FIRST = 8
"""Output lines of a failed test shown before any lower tier (the rest follow if the budget allows)."""


def looks_like(head: str) -> bool:
    """True when ``head`` starts with a ``go test -json`` event."""
    first = head.lstrip()[:400]
    return (
        first.startswith("{")
        and _EVENT_RE.search(first) is not None
        and _PACKAGE_RE.search(first) is not None
    )


@dataclass
class _Test:
    name: str
    status: str = ""
    elapsed: float | None = None
    output: list[tuple[int, str]] = field(default_factory=list)
    """(event index, text) of each output line."""
    end_event: int = -1


@dataclass
class _Package:
    name: str
    status: str = ""
    elapsed: float | None = None
    output: list[tuple[int, str]] = field(default_factory=list)
    tests: dict[str, _Test] = field(default_factory=dict)
    end_event: int = -1


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, render a readable report."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    parsed = _parse(text)
    if parsed is None:
        return tests.compress(text, ctx)
    packages, n_events = parsed
    key, payload = stored_original(text)
    report = _Report()
    _render(packages, report, query_terms(ctx.query))
    sel = Selection(report.lines, ctx, unit="lines")
    for tier in range(report.tiers):
        for i in report.by_tier(tier):
            sel.add([i])

    def render(idx: list[int]) -> str:
        out: list[str] = []
        prev = -1
        for i in idx:
            if i - prev > 1:
                out.append(_markers.gap(i - prev - 1))
            out.append(report.lines[i])
            prev = i
        if len(report.lines) - 1 - prev > 0:
            out.append(_markers.gap(len(report.lines) - 1 - prev))
        shown: set[int] = set()
        for i in idx:
            shown.update(e for e in report.events[i] if e >= 0)
        n_failed = sum(1 for i in idx if report.lines[i].lstrip().startswith(("--- FAIL", "FAIL ")))
        kept = f"a readable report: totals, {plural(n_failed, 'failure')} with their output"
        out.append(_markers.omitted(n_events - len(shown), n_events, "go test events", key, kept))
        return "\n".join(out)

    return Compressed(sel.render(render), "gotest:report", ((key, payload),))


def _parse(text: str) -> tuple[list[_Package], int] | None:
    """Packages with their tests from the event stream; None when it is not one."""
    packages: dict[str, _Package] = {}
    n_events = 0
    parsed = 0
    for k, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        n_events += 1
        event = None
        if line.lstrip().startswith("{"):
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                event = None
        if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
            # Not an event: go prints build errors and other stderr lines in between.
            packages.setdefault("", _Package("")).output.append((k, line))
            continue
        parsed += 1
        _apply(packages, event, k)
    if parsed == 0 or parsed < n_events // 2:
        return None
    return list(packages.values()), n_events


def _apply(packages: dict[str, _Package], event: dict[str, object], k: int) -> None:
    action = str(event["Action"])
    name = str(event.get("Package") or event.get("ImportPath") or "")
    name = name.split(" [", 1)[0]  # "pkg [pkg.test]" in build events
    pkg = packages.setdefault(name, _Package(name))
    test_name = event.get("Test")
    target: _Package | _Test = pkg
    if isinstance(test_name, str) and test_name:
        target = pkg.tests.setdefault(test_name, _Test(test_name))
    if action in ("output", "build-output"):
        out = event.get("Output")
        if isinstance(out, str):
            for piece in out.rstrip("\n").split("\n"):
                target.output.append((k, piece))
    elif action in ("pass", "fail", "skip", "build-fail"):
        target.status = "fail" if action == "build-fail" else action
        elapsed = event.get("Elapsed")
        target.elapsed = float(elapsed) if isinstance(elapsed, (int, float)) else None
        target.end_event = k


class _Report:
    """Rendered report lines, each with a tier (0 = most important) and the events it shows."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.events: list[tuple[int, ...]] = []
        self.tier_of: list[int] = []
        self.tiers = 5

    def add(self, line: str, tier: int, events: tuple[int, ...] = ()) -> None:
        self.lines.append(line)
        self.tier_of.append(tier)
        self.events.append(events)

    def by_tier(self, tier: int) -> list[int]:
        return [i for i, t in enumerate(self.tier_of) if t == tier]


def _elapsed(x: _Package | _Test) -> str:
    return f" ({x.elapsed:.2f}s)" if x.elapsed is not None else ""


def _render(packages: list[_Package], report: _Report, terms: list[str]) -> None:
    counts = {"pass": 0, "fail": 0, "skip": 0, "": 0}
    for pkg in packages:
        for t in pkg.tests.values():
            counts[t.status if t.status in counts else ""] += 1
    failed_pkgs = [
        p for p in packages if p.status == "fail" or any(t.status == "fail" for t in p.tests.values())
    ]
    named = [p for p in packages if p.name]
    report.add(
        f"go test: {len(failed_pkgs)} of {len(named)} packages failed; tests: {counts['fail']} failed, "
        f"{counts['pass']} passed, {counts['skip']} skipped"
        + (f", {counts['']} without a result" if counts[""] else ""),
        0,
    )
    for pkg in failed_pkgs:
        _render_failed(pkg, report)
    for pkg in packages:
        if pkg in failed_pkgs or not pkg.name:
            continue
        c = _test_counts(pkg)
        detail = ", ".join(f"{n} {w}" for n, w in ((c["pass"], "passed"), (c["skip"], "skipped")) if n)
        label = "ok  " if pkg.status != "skip" else "skip"
        report.add(f"{label} {pkg.name}{_elapsed(pkg)}" + (f": {detail}" if detail else ": no tests"), 2,
                   (pkg.end_event,))  # fmt: skip
    for pkg in packages:
        for t in pkg.tests.values():
            # A passing test the user asked about (by name) is shown with its output.
            if t.status == "pass" and any(term in t.name.lower() for term in terms):
                report.add(f"--- PASS: {t.name} ({pkg.name}){_elapsed(t)}", 2, (t.end_event,))
                for k, text in t.output:
                    if text.strip() and not _NOISE_RE.match(text):
                        report.add(f"    {text.strip()}", 2, (k,))
    for pkg in packages:
        for t in pkg.tests.values():
            if t.status == "skip":
                reason = [text.strip() for _, text in t.output if not _NOISE_RE.match(text) and text.strip()]
                suffix = f": {reason[0]}" if reason else ""
                report.add(f"--- SKIP: {t.name} ({pkg.name}){suffix}", 4, (t.end_event,))


def _test_counts(pkg: _Package) -> dict[str, int]:
    c = {"pass": 0, "fail": 0, "skip": 0, "": 0}
    for t in pkg.tests.values():
        c[t.status if t.status in c else ""] += 1
    return c


def _render_failed(pkg: _Package, report: _Report) -> None:
    c = _test_counts(pkg)
    status = "FAIL" if pkg.status != "pass" else "FAIL (tests failed)"
    report.add(f"{status} {pkg.name or '(output outside any package)'}{_elapsed(pkg)}: {c['fail']} failed, "
               f"{c['pass']} passed, {c['skip']} skipped", 0, (pkg.end_event,))  # fmt: skip
    for k, text in pkg.output:
        if text.strip() and not _NOISE_RE.match(text):
            report.add(f"    {text.strip()}", 1, (k,))
    for t in pkg.tests.values():
        if t.status not in ("fail", ""):
            continue
        depth = t.name.count("/")
        label = "--- FAIL" if t.status == "fail" else "--- NO RESULT (still running when the package ended)"
        report.add(f"{'    ' * depth}{label}: {t.name}{_elapsed(t)}", 0, (t.end_event,))
        shown = 0
        for k, text in t.output:
            if not text.strip() or _NOISE_RE.match(text):
                continue
            tier = 1 if shown < MESSAGES_FIRST or _MESSAGE_RE.match(text) else 3
            report.add(f"{'    ' * (depth + 1)}{text.strip()}", tier, (k,))
            shown += 1
