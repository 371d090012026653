"""What makes an item of an array worth keeping, from statistics over all items of the same kind.

Items are compared through their flattened scalar leaves (``State.Name``, ``tags[]``), a few object
levels deep (records inside lists are items of nested arrays, scored on their own). A *population*
is every item found at the same place in the document (all ``groups[].rules[]`` together), so a rule
is rare among all rules, not among its group's three.

Each item gets a tier, lower is more important:

- 0 structural: first and last item of its array (set by the caller);
- 1 error signals that discriminate (fire in a minority of items) and query matches;
- 2 items whose rarity weight is strong: rare categorical values, rare presence or absence of a
  field, numeric outliers (median/MAD), change points (``_scalars``); the weight adds up over fields,
  so an item that differs in many fields outranks one that differs in one;
- 3 weaker rarity, errors that most items carry, one representative per group of similar items;
- 4 ordinary.

Per population it also finds the fields a slim rendering may leave out (``_derived``).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate, compress, repeat
from operator import eq
from typing import cast

from .._signals import ERROR_WORDS_RE, EXIT_FIELDS, LEVEL_FIELDS, STATUS_FIELDS, field_signals
from ._derived import elidable
from ._leaves import VALUE_KEY_CHARS, Column, gather_columns, value_key
from ._messages import note_messages
from ._scalars import Note, change_points, outliers

ORDINARY = 4

# Reason bits, for the marker's "kept:" note.
FIRST_LAST, ERROR, QUERY, RARE, OUTLIER, CHANGE, REPRESENTATIVE, EXTREME = (1 << i for i in range(8))

_STATUS_TOKEN_RE = re.compile(r"\S{1,40}")
"""An error word in one short token (``failed``, ``CrashLoopBackOff``) is a status, not prose."""
NAMED_SIGNALS = LEVEL_FIELDS | STATUS_FIELDS | EXIT_FIELDS
# Every match of ERROR_WORDS_RE contains one of these (lowercased): a cheap test before the regex.
_ERROR_STEMS = (
    "err",
    "fail",
    "exception",
    "fatal",
    "panic",
    "time",
    "denied",
    "critical",
    "crash",
    "traceback",
    "abort",
    "segfault",
    "oom",
    "refused",
)

_NAMING_RE = re.compile(r"(?:name|description)$", re.I)
"""Fields that name or describe a thing (``name``, ``metric_name``, ``EventName``, ``alarmDescription``):
an error word there is part of what the thing is called, not a sign that it is in trouble."""

_ERROR_FIELD_RE = re.compile(
    r"^(?:error|err|exception|fault)(?:_?(?:code|message|msg|type|class|reason))?$", re.I
)
"""Fields whose name says the record failed when they hold a value (``error``, ``errorCode``)."""

_Values = dict[str, dict[object, list[int]]]
_Mark = Callable[[int, int, int], None]


def _is_number_key(key: object) -> bool:
    return type(key) is tuple and key[0] in ("int", "float")


def _column_signals(name: str, col: Column) -> tuple[list[int], bool]:
    """Items whose value in this column signals trouble, and whether the signal is strong."""
    hits: list[int] = []
    strong = False
    if _NAMING_RE.search(name):
        return hits, False  # names what a thing is (a metric "Errors", a package "p-timeout"), not its state
    if _ERROR_FIELD_RE.search(name):
        # ``errorCode: "AccessDenied"``, ``error: "upstream reset"``: the field says it is an error,
        # whatever words the value uses; empty values and nulls (the usual case) say nothing.
        hits = [i for i, v in zip(*col, strict=True) if type(v) is str and v.strip()]
        return hits, bool(hits)
    if name.lower() in NAMED_SIGNALS:
        verdicts: dict[object, bool] = {}
        for i, v in zip(*col, strict=True):
            if type(v) is not str and type(v) is not int:
                continue
            key = value_key(v)
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = verdicts[key] = field_signals(name, v)
            if verdict and (not hits or hits[-1] != i):
                hits.append(i)
        return hits, bool(hits)
    texts = [v for v in col[1] if type(v) is str]
    if not texts:
        return hits, False
    # One regex pass over the whole column; match offsets map back to items.
    joined = "\x00".join(texts)
    low = joined.lower()
    if not any(stem in low for stem in _ERROR_STEMS) or ERROR_WORDS_RE.search(joined) is None:
        return hits, False  # substring tests are far cheaper than the regex on calm columns
    owners = [i for i, v in zip(*col, strict=True) if type(v) is str]
    starts = [0, *accumulate(len(v) + 1 for v in texts)]
    last_k = -1
    for m in ERROR_WORDS_RE.finditer(joined):
        k = bisect_right(starts, m.start()) - 1
        if k == last_k:
            continue
        last_k = k
        i, v = owners[k], texts[k]
        if not hits or hits[-1] != i:
            hits.append(i)
        if not strong and _STATUS_TOKEN_RE.fullmatch(v):
            strong = True
    return hits, strong


def _last_name(path: str) -> str:
    name = path.rsplit(".", 1)[-1]
    return name[:-2] if name.endswith("[]") else name


def _discriminative(count: int, n: int) -> bool:
    return count <= max(2, n // 3)


def _categorical_limit(n: int) -> int:
    return max(4, int(math.sqrt(n)))


def query_terms(query: str | None) -> list[bytes]:
    """Lowercased terms of the query worth matching (3+ characters, not a stop word), in order."""
    if not query:
        return []
    seen: dict[bytes, None] = {}
    for term in re.findall(r"[\w][\w.\-:/@]*[\w]|\w{3,}", query.lower()):
        if len(term) >= 3 and term not in _STOP:
            seen.setdefault(term.encode(), None)
    return list(seen)


_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "what",
        "which",
        "where",
        "when",
        "were",
        "have",
        "has",
        "are",
        "was",
        "not",
        "but",
        "all",
        "any",
        "can",
        "how",
        "why",
        "who",
        "show",
        "list",
        "find",
        "give",
        "get",
        "tell",
        "about",
        "into",
        "out",
        "its",
        "our",
        "your",
        "their",
        "them",
        "they",
    ]
)


def score(
    items: list[object], item_bytes: list[bytes], terms: list[bytes]
) -> tuple[list[int], list[int], dict[int, int], list[str], list[float], list[int]]:
    """Per item of one population: tier and reasons; the group size of each representative; the
    leaf paths a slim rendering may leave out (constant, or determined by an earlier field); and the
    weight of each item's rarity, outliers and change points (ranks items within a tier); and the
    kind of each tier-1 error (a number per field and value that signalled it, -1 for other items), so
    that when errors overflow the budget every kind is shown before a second of any."""
    n = len(items)
    tier = [ORDINARY] * n
    reasons = [0] * n

    def mark(i: int, t: int, why: int) -> None:
        if t < tier[i]:
            tier[i] = t
        reasons[i] |= why

    # Query matches: on the serialized bytes, in C.
    if terms:
        for i, raw in enumerate(item_bytes):
            low = raw.lower()
            if any(t in low for t in terms):
                mark(i, 1, QUERY)

    columns = gather_columns(items)
    values: _Values = {}
    present: dict[str, int] = {}
    numbers: dict[str, list[tuple[int, float]]] = {}
    errors: dict[str, list[int]] = {}
    strong: dict[str, None] = {}
    signal_values: dict[str, Column] = {}
    for path, col in columns.items():
        by_value, holders = _group_by_value(col)
        values[path] = by_value
        present[path] = holders
        if not _NUMBER_TYPES.isdisjoint(map(type, col[1])):
            numbers[path] = [
                (i, float(v)) for i, v in zip(*col, strict=True) if type(v) is int or type(v) is float
            ]
        hits, is_strong = _column_signals(_last_name(path), col)
        if hits:
            errors[path] = hits
            signal_values[path] = col
            if is_strong:
                strong[path] = None

    # Error signals: tier 1 when they discriminate, tier 3 when most items carry them. A signal
    # from a status/exit/level field or a short value is strong; error words inside long free text
    # (descriptions, queries, commit messages) are weak and must be much rarer to count.
    kind = [-1] * n
    kinds: dict[tuple[str, object], int] = {}
    for path, idx in errors.items():
        limit = max(3, n // 3) if path in strong else max(2, n // 25)
        if len(idx) <= limit:
            value_of = dict(zip(*signal_values[path], strict=True))
            for i in idx:
                mark(i, 1, ERROR)
                if kind[i] < 0:
                    kind[i] = kinds.setdefault((path, value_key(value_of[i])), len(kinds))
        else:
            for i in idx:
                mark(i, 3, ERROR)

    # Rarity, outliers and change points add up to a weight: an item that differs in many fields (a
    # running instance among terminated ones: other state, an IP, network interfaces…) outranks one
    # that differs in one incidental field. Strong items get tier 2, the rest tier 3.
    groups: dict[int, int] = {}
    elide: list[str] = []
    weight = [0.0] * n
    if n >= 4:

        def note(i: int, w: float, why: int) -> None:
            weight[i] += w
            reasons[i] |= why

        _rare(n, values, present, note)
        limit = _categorical_limit(n)
        categorical = {p for p, by in values.items() if len(by) <= limit}
        outliers(numbers, categorical, note, OUTLIER)
        # Message fields (a different string per record) are compared by template instead.
        note_messages(columns, {p: len(by) for p, by in values.items()}, n, limit, note, RARE, OUTLIER)
        change_points(numbers, n, note, CHANGE)
        top = max(weight)
        threshold = max(1.0, 0.25 * top)
        for i, w in enumerate(weight):
            if w >= threshold:
                mark(i, 2, 0)
            elif w > 0:
                mark(i, 3, 0)
        groups = _representatives(n, values, present, tier, mark)
        elide = elidable(n, values, present)
    return tier, reasons, groups, elide, weight, kind


FEW_VALUES = 24
"""Columns with at most this many distinct values are grouped by C-level passes, one per value."""


_NUMBER_TYPES = frozenset({int, float})


def _value_keys(vals: list[object]) -> list[object]:
    """``value_key`` of each value, in bulk for columns of one type (C-level where possible)."""
    kinds = set(map(type, vals))
    if kinds == {str}:
        if max(map(len, cast("list[str]", vals))) <= VALUE_KEY_CHARS:
            return vals
    elif len(kinds) == 1 and not kinds & {str, dict, list}:
        return list(zip(repeat(next(iter(kinds)).__name__), vals))
    return [v if type(v) is str and len(v) <= VALUE_KEY_CHARS else value_key(v) for v in vals]


def _group_by_value(col: Column) -> tuple[dict[object, list[int]], int]:
    """Value key -> indices of the items holding it (each index once, in order), and how many items
    hold the column at all.

    Most columns hold one value per item: those are grouped without a Python step per value when
    every value is distinct (ids) or when there are few distinct values (states, methods), by one
    C-level pass per value; the rest take the general loop.
    """
    idxs = col[0]
    keys = _value_keys(col[1])
    if len(set(idxs)) == len(idxs):  # one value per item
        distinct = dict.fromkeys(keys)
        if len(distinct) == len(keys):
            return dict(zip(keys, [[i] for i in idxs], strict=True)), len(idxs)
        if len(distinct) <= FEW_VALUES:
            return {key: list(compress(idxs, map(eq, repeat(key), keys))) for key in distinct}, len(idxs)
        by_value: dict[object, list[int]] = {}
        for i, key in zip(idxs, keys, strict=True):  # (a sort by value is slower: string compares)
            idx = by_value.get(key)
            if idx is None:
                by_value[key] = [i]
            else:
                idx.append(i)
        return by_value, len(idxs)
    by_value = {}
    holders = 0
    last = -1
    for i, key in zip(idxs, keys, strict=True):
        idx = by_value.get(key)
        if idx is None:
            by_value[key] = [i]
        elif idx[-1] != i:
            idx.append(i)
        if i != last:
            holders += 1
            last = i
    return by_value, holders


def _mark_occurrences(idx: list[int], n: int, note: Note, why: int) -> None:
    """All occurrences when they are few (three, or a tenth of the items), else the first and last."""
    if len(idx) <= max(3, n // 10):
        for i in idx:
            note(i, 1.0, why)
    else:
        note(idx[0], 1.0, why)
        note(idx[-1], 1.0, why)


def _rare(n: int, values: _Values, present: dict[str, int], note: Note) -> None:
    limit = _categorical_limit(n)
    # The leaves of one optional object (an ``assignee`` with 18 fields) are one rare field, not 18:
    # a set of holders already weighed is not weighed again.
    weighed: set[tuple[int, ...]] = set()
    for path, by_value in values.items():
        count = present[path]
        if count * 4 <= n:  # a field few items have: having it is rare
            holders = sorted({i for idx in by_value.values() for i in idx})
            if tuple(holders) not in weighed:
                weighed.add(tuple(holders))
                _mark_occurrences(holders, n, note, RARE)
            continue
        if len(by_value) > limit:
            _rare_in_tail(by_value, count, note)
            continue
        if len(by_value) < 2 and count == n:
            continue
        # Rare: at most a quarter of the items and at most half as common as the average value, so a
        # field whose values are all about equally common (latencies in a band) has no rare value.
        distinct = len(by_value)
        for idx in by_value.values():
            if len(idx) * 4 <= n and len(idx) * distinct * 2 <= n:
                _mark_occurrences(idx, n, note, RARE)
        if count < n and (n - count) * 4 <= n:  # most items have it: lacking it is rare
            has = bytearray(n)
            for idx in by_value.values():
                for i in idx:
                    has[i] = 1
            _mark_occurrences([i for i in range(n) if not has[i]], n, note, RARE)


TAIL_SINGLES = 2
"""A long-tail column with more values seen once than this is a name column: none of them is rare."""


def _rare_in_tail(by_value: dict[object, list[int]], count: int, note: Note) -> None:
    """Values seen once in a column of labels too many for a category (GitHub label names: a dozen
    values among 80 labels), when values repeat four times on average and only one or two stand
    alone (``regression`` among ``bug``/``enhancement``); a column with many singletons names things."""
    if len(by_value) * 4 > count:
        return
    singles = [idx for idx in by_value.values() if len(idx) == 1]
    if 0 < len(singles) <= TAIL_SINGLES:
        for idx in singles:
            note(idx[0], 1.0, RARE)


def _representatives(
    n: int, values: _Values, present: dict[str, int], tier: list[int], mark: _Mark
) -> dict[int, int]:
    """First item of each group sharing the same low-cardinality values, unless the group has a kept item.

    Returns representative index -> size of its group.
    """
    limit = min(_categorical_limit(n), 6)
    # Groups by labels (strings, booleans), not by numbers: five latencies are not five kinds of item.
    keys = [
        p
        for p, by in values.items()
        if 2 <= len(by) <= limit and present[p] * 2 >= n and not any(_is_number_key(k) for k in by)
    ]
    if not keys:
        return {}
    # One label per item and key (the value group it falls in; -1 when absent), zipped into signatures.
    labels: list[list[int]] = []
    for path in keys:
        label = [-1] * n
        for k, idx in enumerate(values[path].values()):
            for i in idx:
                if label[i] < 0:
                    label[i] = k
        labels.append(label)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, sig in enumerate(zip(*labels, strict=True)):
        groups.setdefault(sig, []).append(i)
    sizes: dict[int, int] = {}
    for idx in groups.values():
        if len(idx) > 1 and all(tier[i] > 2 for i in idx):
            mark(idx[0], 3, REPRESENTATIVE)
            sizes[idx[0]] = len(idx)
    return sizes
