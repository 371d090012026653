"""Free-text fields read as log lines: rare message templates, and durations or sizes far above the rest.

A field such as ``message`` holds a different string in every record (``GET /api/items/4121 200 12ms``),
so rarity by exact value sees nothing in it. Masking the variable parts with the log engines' line
templates (``text._templates``) turns it into a handful of templates: a record whose template few others
share (``config reloaded: feature flag checkout_v2=on``) is rare, and a duration or size far above the
rest of its template and slot (``GET /api/items/42 200 9481ms``) is a numeric outlier. JSON logs
(NDJSON, CloudWatch events, Elasticsearch hits) carry most of what matters in such a field.

Only columns that read like messages are templated: strings, most holding a space, with more distinct
values than a categorical field has, that masking merges into few templates. A column that still has
many templates after masking is prose (descriptions, commit messages) or names, and is left to the
error-word signals and exact-value rarity.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..text._outliers import UNIT_SLOT_RE
from ..text._templates import TEMPLATE_CHARS, UNIT_VALUE_RE, templates_of
from ._leaves import Column
from ._scalars import Note, outliers

MIN_ITEMS = 8
"""Fewer records than this give no notion of a common template."""
RARE_PER = 50
"""A template is rare when at most one item in this many (or two) carries it."""
MERGE = 4
"""A column reads as messages only when it has at least this many distinct values per template."""
SAMPLE = 64
"""Values looked at to decide whether a column reads like messages (a cheap test before templating)."""


def note_messages(
    columns: dict[str, Column],
    distinct: dict[str, int],
    n: int,
    limit: int,
    note: Note,
    rare: int,
    outlier: int,
) -> None:
    """Weigh the items of ``n`` by their message fields: a rare template (``rare`` bit), the first item
    of every template (half a weight: each kind of message is seen once), and a duration or size far
    above the rest of its template and slot (``outlier`` bit). ``distinct``: distinct values per
    column; ``limit``: at most this many distinct values make a column categorical."""
    numbers: dict[str, list[tuple[int, float]]] = {}
    for path, by_template in _templated(columns, distinct, limit):
        for t, idx in by_template.items():
            note(idx[0], 0.5, rare)
            if len(idx) <= max(2, n // RARE_PER):
                for i in idx[:3] if len(idx) <= 3 else (idx[0], idx[-1]):
                    note(i, 1.0, rare)
            if len(idx) >= MIN_ITEMS and UNIT_SLOT_RE.search(t):
                _slot_numbers(f"{path}#{t}", idx, columns[path], numbers)
    outliers(numbers, (), note, outlier)


def _templated(
    columns: dict[str, Column], distinct: dict[str, int], limit: int
) -> Iterator[tuple[str, dict[str, list[int]]]]:
    """(path, item indices by template) of each message-like column."""
    for path, (idxs, vals) in columns.items():
        if len(idxs) < MIN_ITEMS or distinct[path] <= limit or not _reads_like_messages(vals):
            continue
        texts = [_one_line(v) for v in vals]  # type: ignore[arg-type]
        if len(set(templates_of(texts[:SAMPLE]))) > limit:
            continue  # the sample alone has too many templates: prose, not messages
        by_template: dict[str, list[int]] = {}
        for i, t in zip(idxs, templates_of(texts), strict=True):
            by_template.setdefault(t, []).append(i)
        # Masking must merge values a lot: names ("ana kim") have as many templates as values.
        if len(by_template) <= limit and len(by_template) * MERGE <= distinct[path]:
            yield path, by_template


def _reads_like_messages(vals: list[object]) -> bool:
    sample = vals[:SAMPLE]
    if not all(type(v) is str for v in vals):
        return False
    return sum(" " in v for v in sample) * 2 > len(sample)  # type: ignore[operator]


def _one_line(value: str) -> str:
    """The part of a value that decides its template, on one line."""
    head = value[:TEMPLATE_CHARS]
    return head.replace("\n", " ") if "\n" in head else head


def _slot_numbers(
    name: str, members: list[int], column: Column, numbers: dict[str, list[tuple[int, float]]]
) -> None:
    """The k-th duration or size of every member, as series ``name#k`` (a template's slots have one
    unit each, so the values of a series compare without conversion)."""
    text_of = dict(zip(*column, strict=True))
    for i in members:
        for k, m in enumerate(UNIT_VALUE_RE.finditer(_one_line(text_of[i]))):  # type: ignore[arg-type]
            numbers.setdefault(f"{name}#{k}", []).append((i, float(m.group(1))))
