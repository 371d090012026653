"""Shapes of the lines of a test or build run: templates with the names of tests, classes and modules
masked, the log chatter of the code under test one kind per level, and the titles of a documentation-style
reporter one kind per depth; so that lines alike but for a name count as one kind, not as many rare lines."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from .._signals import ERROR_WORDS_RE
from ._groups import FREQUENT, Groups
from ._test_units import PASSED_RE

WARNING_RE = re.compile(r"(?i)\bwarn(?:ing)?s?\b|\bdeprecat\w*")


class Shapes:
    """Templates with the names of tests, classes and modules masked too: lines alike but for a name.

    Per-test and per-suite result lines (``test_x (pkg.Case) ... ok``, surefire's ``Tests run: 8,
    Failures: 0 … -- in com.acme.FooTest``) each name another test, so each is a template of its own;
    rare by template, they are the bulk of the run, not what stands out in it.
    """

    def __init__(self, groups: Groups, lines: Sequence[str]) -> None:
        self.of: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.first: dict[str, int] = {}
        templates = list(groups.first)  # order of first appearance
        # One regex pass over all templates joined (a run of 2,000 tests has 2,000 templates).
        shapes = _NAME_RE.sub("<name>", "\n".join(templates)).split("\n")
        if len(shapes) != len(templates):  # a template held a separator: stay correct
            shapes = [_NAME_RE.sub("<name>", t) for t in templates]
        for t, shape in zip(templates, shapes, strict=True):
            first = lines[groups.first[t]]
            level = _chatter_level(t, first)
            if level:
                shape = f"<log {level}>"
            elif _is_title(shape, first):
                shape = f"<title at {len(first) - len(first.lstrip())}>"
            self.of[t] = shape
            self.counts[shape] += groups.counts[t]
            self.first.setdefault(shape, groups.first[t])

    def first_of(self, i: int, groups: Groups) -> int:
        return self.first[self.of[groups.templates[i]]]

    def count_of(self, i: int, groups: Groups) -> int:
        return self.counts[self.of[groups.templates[i]]]

    def stands_out(self, i: int, groups: Groups, lines: Sequence[str]) -> bool:
        """A rare line worth showing: not a passing test's line, not one of many alike but for a name."""
        return self.counts[self.of[groups.templates[i]]] < FREQUENT and not PASSED_RE.match(lines[i])


_NAME_RE = re.compile(
    r"(?<![\w.$])[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+"  # dotted: com.acme.FooTest, pkg.mod.Case
    r"|\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b"  # CamelCase: InvoiceServiceTest
    r"|\b[a-z][a-z0-9]*(?:_\w+|(?:[A-Z][a-z0-9]*)+\b)"  # snake_case, lowerCamel: test_x, postsReversal
    r"|\[(?=[^\]\n]{0,60}[a-z<])[^\]\n]{1,60}\]"  # thread, worker: [main], [pool-2-thread-1], [gw3]
)
"""Names of tests, classes, modules and threads: lines that differ only in them have the same shape.
(A bracketed level such as ``[INFO]`` or ``[ERROR]`` has no lowercase letter and stays.)"""


def _is_title(shape: str, line: str) -> bool:
    """True for an indented line of plain words: an example or group title of a documentation-style
    reporter (rspec ``-f d``, jasmine, kotest) that marks only failures (``(FAILED - 1)``), so that every
    passing example's line is prose of its own. Titles at one depth are one kind, not many rare lines."""
    if line[:2] != "  ":
        return False
    words = shape.count(" ") >= 2 or shape[:1] in ("#", ".")  # rspec's method groups: "#call", ".build"
    # A sentence (``Type 'x' is not assignable to type 'y'.``) or a label (``Error Message:``) is a
    # message, not a title; and warnings have kinds of their own.
    if not words or shape.endswith((":", ".")) or not _TITLE_RE.fullmatch(shape):
        return False
    return ERROR_WORDS_RE.search(line) is None and WARNING_RE.search(line) is None


_TITLE_RE = re.compile(r"[\w<>*#/.,:()& -]+")


def _chatter_level(template: str, line: str) -> str:
    """The level of a log record below warning (``INFO``, ``DEBUG``…) the code under test printed, else "".

    Spring or logback lines between test results each say something else (``deletes user id=7``,
    ``select … from carts``): by template they are hundreds of rare lines. Their level and prefix say
    what they are: one kind per level. A warning or error keeps its own template and stays a signal.
    """
    if not _LOG_STAMP_RE.match(line):
        return ""
    found = _CHATTER_RE.search(template, 0, 120)
    return found.group(0) if found else ""


_LOG_STAMP_RE = re.compile(r"\s*\[?(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\d{2}:\d{2}:\d{2}[.,]\d)")
_CHATTER_RE = re.compile(r"\b(?:INFO|DEBUG|TRACE|FINE|FINER|NOTICE)\b")
