"""The ``go test`` engine: ``-json`` events or plain text, read back as the short report an agent needs.

``go test -json`` writes one JSON event per line (run, output, pass, fail, skip… per package and test);
plain ``go test [-v] ./...`` prints the same story as text (``=== RUN``, indented ``t.Log`` lines,
``--- FAIL: TestX (0.35s)``, ``ok  \tpkg\t0.01s``), which is parsed into the same packages and tests (a
line belongs to the test last named by a ``=== RUN/CONT/NAME`` or ``--- …:`` line; the package is named
by its closing ``ok``/``FAIL`` line). Text with too many lines outside that structure goes to the test
engine instead. Over the budget the run is rendered as readable text: a totals line; for each
failed package its header, its own output (a main that exited early, a panic, build errors) and each
failed or unfinished test (subtests included) with its output lines, the assertion messages such as
``foo_test.go:43: expected 1, got 2``; then one line per passing package with its counts; then skipped
tests. A panic's goroutine dump keeps the goroutine that panicked (its first frames outside the Go
runtime and testing package first); the other goroutines, parked and unrelated, become one line with
their count by state. Lines are kept most important first within the budget; gap markers show where
rendered lines were left out, and the closing marker names the key under which the original is stored.
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

_RUN_RE = re.compile(r"=== (?:RUN|PAUSE|CONT|NAME)[ \t]+(\S+)")
_END_RE = re.compile(r"[ \t]*--- (PASS|FAIL|SKIP): (\S+)(?: \((\d+(?:\.\d+)?)s\))?")
_PKG_LINE_RE = re.compile(
    r"(ok|FAIL|\?)[ \t]+([\w.~/-]+)[ \t]+(?:(\d+(?:\.\d+)?)s\b|\(cached\)|\[[^\]\n]*\])[^\n]*$"
)
"""A package's result line: ``ok  \tpkg\t0.01s``, ``FAIL\tpkg\t1.2s``, ``?   \tpkg\t[no test files]``."""
_GOROUTINE_RE = re.compile(r"goroutine \d+ \[([^\],\]]+)[^\]]*\]:\s*$")
_RUNTIME_FRAME_RE = re.compile(
    r"/src/(?:runtime|testing|reflect|sync)/|^(?:runtime|testing|reflect|sync)\.|^panic\("
)
"""Frames (function or file lines) of the Go runtime and testing package: not where a test went wrong."""

MESSAGES_FIRST = 8
"""Output lines of a failed test shown before any lower tier (the rest follow if the budget allows)."""
USER_FRAMES = 2
"""Frames of the panicking goroutine outside the Go runtime shown first (the innermost is where it broke)."""
STRAY_SHARE = 0.3
"""Plain text with more lines than this share outside tests and packages is not read as ``go test``."""


def looks_like(head: str) -> bool:
    """True when ``head`` starts with a ``go test -json`` event, or with ``go test`` text."""
    first = head.lstrip()[:400]
    if first.startswith("{"):
        return _EVENT_RE.search(first) is not None and _PACKAGE_RE.search(first) is not None
    return _looks_like_text(head)


def _looks_like_text(head: str) -> bool:
    """The first line (after ``go: downloading`` chatter and ``# pkg`` build-error headers) is a ``go
    test`` line, and more follow."""
    marks = 0
    seen_first = False
    for line in head.split("\n")[:-1]:  # the last line of a peek may be cut
        if not line.strip() or line.startswith(("go: ", "# ")):
            continue
        if not seen_first and line.startswith(("./", "../")):
            continue  # a build error under its "# pkg" header
        is_mark = _is_mark(line)
        if not seen_first and not is_mark:
            return False
        seen_first = True
        marks += is_mark
        if marks >= 3:
            return True
    return False


def _is_mark(line: str) -> bool:
    return bool(_RUN_RE.match(line) or _END_RE.match(line) or _PKG_LINE_RE.match(line))


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
    note: str = ""
    """What a text result line adds: ``[build failed]``, ``[setup failed]``."""


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, render a readable report."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    json_events = text.lstrip()[:1] == "{"
    parsed = _parse(text) if json_events else _parse_text(text)
    if parsed is None:
        return tests.compress(text, ctx)
    packages, n_events = parsed
    unit = "go test events" if json_events else "lines"
    key, payload = stored_original(text)
    report = _Report()
    # Plain "go test" without -v prints failed tests only: then no count of passed tests can be given.
    listed = json_events or any(t.status == "pass" for p in packages for t in p.tests.values())
    _render(packages, report, query_terms(ctx.query), listed=listed)
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
        out.append(_markers.omitted(n_events - len(shown), n_events, unit, key, kept))
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


def _parse_text(text: str) -> tuple[list[_Package], int] | None:
    """Packages with their tests from plain ``go test`` output; None when it is not mostly that."""
    packages: list[_Package] = []
    pending = _Package("")  # named by its closing "ok"/"FAIL" line
    current: _Test | None = None
    n_lines = stray = 0
    for k, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        n_lines += 1
        run = _RUN_RE.match(line)
        if run:
            current = pending.tests.setdefault(run[1], _Test(run[1]))
            continue
        end = _END_RE.match(line)
        if end:
            current = pending.tests.setdefault(end[2], _Test(end[2]))
            current.status = end[1].lower()
            current.elapsed = float(end[3]) if end[3] else None
            current.end_event = k
            continue
        pkg = _PKG_LINE_RE.match(line)
        if pkg:
            pending.name = pkg[2]
            pending.status = {"ok": "pass", "FAIL": "fail"}.get(pkg[1], "skip")
            pending.elapsed = float(pkg[3]) if pkg[3] else None
            note = line[pkg.end(2) :].strip()
            pending.note = note if note.startswith("[") and pkg[1] == "FAIL" else ""
            pending.end_event = k
            packages.append(pending)
            pending, current = _Package(""), None
            continue
        if line.strip() in ("PASS", "FAIL") or line.startswith("go: "):
            current = None
            continue
        if current is not None:
            current.output.append((k, line))
        else:
            pending.output.append((k, line))
            stray += line[:1] not in (" ", "\t")
    if pending.tests or pending.output:
        packages.append(pending)
    if not any(p.name for p in packages) or stray > n_lines * STRAY_SHARE:
        return None
    return packages, n_lines


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


def _render(packages: list[_Package], report: _Report, terms: list[str], *, listed: bool = True) -> None:
    """``listed``: every test is in the input (``-json``); plain ``go test`` without ``-v`` names none."""
    counts = {"pass": 0, "fail": 0, "skip": 0, "": 0}
    for pkg in packages:
        for t in pkg.tests.values():
            counts[t.status if t.status in counts else ""] += 1
    failed_pkgs = [
        p for p in packages if p.status == "fail" or any(t.status == "fail" for t in p.tests.values())
    ]
    named = [p for p in packages if p.name]
    tally = (
        f"{counts['fail']} failed, {counts['pass']} passed, {counts['skip']} skipped"
        if listed
        else f"{counts['fail']} failed (passing tests are not listed without -v)"
    )
    report.add(
        f"go test: {len(failed_pkgs)} of {len(named)} packages failed; tests: {tally}"
        + (f", {counts['']} without a result" if counts[""] else ""),
        0,
    )
    for pkg in failed_pkgs:
        _render_failed(pkg, report, listed=listed)
    for pkg in packages:
        if pkg in failed_pkgs or not pkg.name:
            continue
        c = _test_counts(pkg)
        detail = ", ".join(f"{n} {w}" for n, w in ((c["pass"], "passed"), (c["skip"], "skipped")) if n)
        label = "ok  " if pkg.status != "skip" else "skip"
        none = ": no tests" if listed or pkg.status == "skip" else ""
        report.add(f"{label} {pkg.name}{_elapsed(pkg)}" + (f": {detail}" if detail else none), 2,
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
                suffix = f": {reason[-1]}" if reason else ""  # t.Skip's message comes after any t.Log
                report.add(f"--- SKIP: {t.name} ({pkg.name}){suffix}", 4, (t.end_event,))


def _test_counts(pkg: _Package) -> dict[str, int]:
    c = {"pass": 0, "fail": 0, "skip": 0, "": 0}
    for t in pkg.tests.values():
        c[t.status if t.status in c else ""] += 1
    return c


def _render_failed(pkg: _Package, report: _Report, *, listed: bool = True) -> None:
    c = _test_counts(pkg)
    status = "FAIL" if pkg.status != "pass" else "FAIL (tests failed)"
    if listed:
        tally = f": {c['fail']} failed, {c['pass']} passed, {c['skip']} skipped"
    else:
        tally = f": {c['fail']} failed" if c["fail"] else ""
    name = pkg.name or "(output outside any package)"
    note = f" {pkg.note}" if pkg.note else ""
    report.add(f"{status} {name}{note}{_elapsed(pkg)}{tally}", 0, (pkg.end_event,))
    for k, text in pkg.output:
        if text.strip() and not _NOISE_RE.match(text):
            report.add(f"    {text.strip()}", 1, (k,))
    for t in pkg.tests.values():
        if t.status not in ("fail", ""):
            continue
        depth = t.name.count("/")
        label = "--- FAIL" if t.status == "fail" else "--- NO RESULT (still running when the package ended)"
        report.add(f"{'    ' * depth}{label}: {t.name}{_elapsed(t)}", 0, (t.end_event,))
        output = [(k, text) for k, text in t.output if text.strip() and not _NOISE_RE.match(text)]
        for shown, (k, text, first) in enumerate(_compact_goroutines(output)):
            tier = 1 if first or shown < MESSAGES_FIRST or _MESSAGE_RE.match(text) else 3
            report.add(f"{'    ' * (depth + 1)}{text.strip()}", tier, (k,) if k >= 0 else ())


def _compact_goroutines(output: list[tuple[int, str]]) -> list[tuple[int, str, bool]]:
    """A test's output with a panic's goroutine dump cut to the goroutine that panicked.

    Each item is (line index or -1, text, shown first). The first goroutine (``[running]``: the one
    that panicked) stays whole, its first ``USER_FRAMES`` frames outside the runtime shown first; the
    other goroutines become one line with their count by state.
    """
    out: list[tuple[int, str, bool]] = []
    states: dict[str, int] = {}
    in_first = False
    user = 0
    for k, text in output:
        g = _GOROUTINE_RE.match(text.strip())
        if g:
            in_first = not out or not any(_GOROUTINE_RE.match(t.strip()) for _, t, _ in out)
            if not in_first:
                states[g[1]] = states.get(g[1], 0) + 1
                continue
        elif states and not in_first:
            continue  # a frame of another goroutine: summarised below
        first = False
        if in_first and not g and not _RUNTIME_FRAME_RE.search(text.strip()) and user < USER_FRAMES * 2:
            first = True
            user += 1
        out.append((k, text, first))
    if states:
        n = sum(states.values())
        by_state = ", ".join(f"{c} {s}" for s, c in sorted(states.items(), key=lambda p: (-p[1], p[0])))
        out.append((-1, f"[{plural(n, 'other goroutine')} not shown: {by_state}]", True))
    return out
