"""Multi-line stack traces found in text, each kept as one unit: its header, first and last frames.

Recognised by their frame lines, whatever the language: Python (``  File "x.py", line 3, in f``), Java,
Kotlin, Scala and JavaScript (``    at pkg.Class.method(File.java:42)``, ``    ... 12 more``), Go panics
(``\\t/src/x.go:12 +0x1d`` under ``goroutine 1 [running]:``), and generic ``    file.ext:line`` frames.
Consecutive frames (one other line allowed between two: Python's source line, Go's function line,
Java's ``Caused by:``) form a block. The unit keeps the lines that tell what happened and where: the
header lines above the block (``Traceback…``, ``panic: …``, the exception line of Java), the first and
last frames (one is the innermost, whichever way the language prints), every ``Caused by:`` and the
exception line below a Python traceback.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from ._templates import template_of
from ._textlines import LineIndex

_FRAME_RE = re.compile(
    r"""[ \t]+(?:at\s+\S|File\s+"|\.\.\.\s+\d+\s+(?:more|common\ frames\ omitted))
      | \t\S+\.go:\d+
      | [ \t]+\S+\.(?:py|java|kt|scala|rb|js|mjs|cjs|ts|tsx|go|rs|cs|cpp|cc|c|php|ex|exs):\d+
    """,
    re.VERBOSE,
)
_HEADER_RE = re.compile(
    r"""Traceback\ \(most\ recent\ call\ last\)|panic:|fatal\ error:|goroutine\ \d+\ \[|Exception\ in\ thread
      | Caused\ by:|.*\b\w*(?:Error|Exception|Throwable|Panic|Failure)\b|.*\b(?:ERROR|FATAL|CRITICAL|SEVERE)\b
    """,
    re.VERBOSE,
)
_TOP_RE = re.compile(r"Traceback \(most recent call last\)|panic:|fatal error:|Exception in thread")
_EXCEPTION_LINE_RE = re.compile(r"\S.*(?:Error|Exception|Exit|Interrupt|Warning|Failure|error)\b|\S+:\s")
_CAUSE_RE = re.compile(r"\s*(?:Caused by:|During handling of|The above exception|Suppressed:)")
_LIBRARY_RE = re.compile(
    r"/go/src/|/usr/local/go/|/pkg/mod/|/vendor/|site-packages/|dist-packages/|node_modules/|/usr/lib/"
    r"|<frozen |\(Native Method\)|\(node:|\(internal/"
    r"|\bat (?:java|javax|jdk|sun|kotlin|scala|org\.junit|org\.springframework|java\.base)[./]"
)
_MAX_GAP = 2
_LOOK_BACK = 4


@dataclass(frozen=True, slots=True)
class Trace:
    """One stack trace: the line range it spans and the lines that represent it."""

    start: int
    end: int
    """Last line index of the trace (inclusive)."""
    keep: tuple[int, ...]
    """Header, first frame, last frame, causes, exception line: what is shown of it."""
    head: int
    """The line that names the failure (shown first; notes go there)."""
    signature: str
    """Template of the kept lines: identical traces (same failure, same place) share it."""


def find_traces(index: LineIndex, templates: Sequence[str] | None = None) -> list[Trace]:
    """The stack traces in the text, in order of appearance.

    ``templates``: the template of every line, when the caller has them (signatures reuse them).
    """
    frames = index.starting_with(_FRAME_RE)
    if not frames:
        return []
    frame_set = frozenset(frames)  # every frame line, matched once: traces look them up, never re-match
    lines = index.scan_lines
    n = len(lines)
    traces: list[Trace] = []
    block_start = prev = frames[0]
    for f in [*frames[1:], None]:
        if f is not None and f - prev <= _MAX_GAP:
            prev = f
            continue
        traces.append(_trace(lines, n, block_start, prev, templates, frames, frame_set))
        if f is not None:
            block_start = prev = f
    return traces


def _trace(
    lines: list[str],
    n: int,
    first: int,
    last: int,
    templates: Sequence[str] | None,
    frames: list[int],
    frame_set: frozenset[int],
) -> Trace:
    keep: dict[int, None] = {}
    start = first
    # Header lines above the first frame: Go's function line, "goroutine N", "Traceback", the exception.
    for i in range(first - 1, max(first - 1 - _LOOK_BACK, -1), -1):
        line = lines[i]
        if not line.strip():
            continue
        if i != first - 1 and not _HEADER_RE.match(line):
            break
        keep[i] = None
        start = i
        if _TOP_RE.match(line):
            break
    keep[first] = None
    if first + 1 <= last and lines[first + 1][:1] in (" ", "\t") and first + 1 not in frame_set:
        keep[first + 1] = None  # the source or file line that completes the first frame
    for i in range(first + 1, last):
        if _CAUSE_RE.match(lines[i]) or (not lines[i][:1].isspace() and _HEADER_RE.match(lines[i])):
            keep[i] = None
            if i + 1 <= last:
                keep[i + 1] = None
    # The first and last frames in the application's own code: the frames at the ends are often in the
    # runtime or a library (Go's panic handlers, a driver's internals), the bug is usually in between.
    block = frames[bisect_left(frames, first) : bisect_right(frames, last)]
    app = [i for i in block if not _LIBRARY_RE.search(lines[i])]
    for i in app[:1] + app[-1:]:
        keep[i] = None
        if lines[i].startswith("\t") and i - 1 >= first and not lines[i - 1][:1].isspace():
            keep[i - 1] = None  # Go: the function line above its file line
        elif i + 1 <= last + 1 and i + 1 < n and lines[i + 1][:1] in (" ", "\t") and i + 1 not in frame_set:
            keep[i + 1] = None  # Python: the source line under its frame
    end = last
    if last - 1 > first and lines[last - 1][:1] not in ("", " ", "\t"):
        keep[last - 1] = None  # Go prints the function line before its file line
    keep[last] = None
    nxt = last + 1
    if nxt < n and lines[nxt][:1] in (" ", "\t") and nxt not in frame_set:
        keep[nxt] = None  # Python's source line under the last frame
        end = nxt
        nxt += 1
    if nxt < n and lines[nxt].strip() and _EXCEPTION_LINE_RE.match(lines[nxt]):
        keep[nxt] = None  # the exception line below a Python traceback
        end = nxt
    kept = tuple(sorted(keep))
    head = kept[0]
    if lines[head].startswith("Traceback") and end in keep and end > last:
        head = end
    signature = "\n".join(templates[i] if templates is not None else template_of(lines[i]) for i in kept)
    return Trace(start, end, kept, head, signature)
