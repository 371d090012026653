"""What makes an item of an array worth keeping, from statistics over all items of the same kind.

Items are compared through their flattened scalar leaves (``State.Name``, ``tags[]``), a few object
levels deep (records inside lists are items of nested arrays, scored on their own). A *population*
is every item found at the same place in the document (all ``groups[].rules[]`` together), so a rule
is rare among all rules, not among its group's three.

Each item gets a tier, lower is more important:

- 0 structural: first and last item of its array (set by the caller);
- 1 error signals that discriminate (fire in a minority of items) and query matches;
- 2 rare categorical values, rare presence or absence of a field, numeric outliers (median/MAD),
  change points in numeric series, extremes of scalar arrays; first and last occurrence of errors
  that are common;
- 3 one representative per group of similar items (same categorical values), exact duplicates aside;
- 4 ordinary.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from typing import cast

from .._signals import ERROR_WORDS_RE, EXIT_FIELDS, LEVEL_FIELDS, STATUS_FIELDS, field_signals

ORDINARY = 4

# Reason bits, for the marker's "kept:" note.
FIRST_LAST, ERROR, QUERY, RARE, OUTLIER, CHANGE, REPRESENTATIVE, EXTREME = (1 << i for i in range(8))
REASON_NAMES = (
    (ERROR, "errors"),
    (QUERY, "query matches"),
    (RARE, "rare values"),
    (OUTLIER, "outliers"),
    (CHANGE, "change points"),
    (EXTREME, "extremes"),
    (REPRESENTATIVE, "representatives"),
)

LEAF_DEPTH = 5
"""Object levels flattened below an item (list steps are free but capped in width)."""
MAX_LEAVES = 400
LIST_WIDTH = 32
VALUE_KEY_CHARS = 120
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

Leaf = tuple[str, object]
_Values = dict[str, dict[object, list[int]]]
_Mark = Callable[[int, int, int], None]
_Note = Callable[[int, float, int], None]
# Identifiers are numbers without magnitude: no outliers or change points in them.
_ID_NAME_RE = re.compile(r"(?:^|[._\-\]])(?:id|ids|uid|pid|number|num|index|idx)$|[a-z]Id$", re.I)


def leaves(item: object) -> list[Leaf]:
    """(path, scalar) pairs of ``item``, breadth-first, bounded in depth and count."""
    out: list[Leaf] = []
    if type(item) not in (dict, list):
        return [("", item)]
    frontier: list[tuple[str, object, int]] = [("", item, 0)]
    while frontier and len(out) < MAX_LEAVES:
        nxt: list[tuple[str, object, int]] = []
        for path, node, depth in frontier:
            if type(node) is dict:
                if depth >= LEAF_DEPTH:
                    continue
                for k, v in node.items():
                    p = f"{path}.{k}" if path else k
                    if type(v) in (dict, list):
                        nxt.append((p, v, depth + 1))
                    else:
                        out.append((p, v))
            else:
                assert isinstance(node, list)
                # Records inside a list are items of a nested array with statistics of their own
                # (their signals lift this item through propagation): only scalars and lists here.
                p = f"{path}[]"
                for v in node[:LIST_WIDTH]:
                    if type(v) is list:
                        nxt.append((p, v, depth))
                    elif type(v) is not dict:
                        out.append((p, v))
        frontier = nxt
    return out[:MAX_LEAVES]


MAX_COLUMNS = 400
"""Distinct leaf paths gathered per population (maps keyed by ids would have one per item)."""


def gather_columns(items: list[object]) -> dict[str, list[tuple[int, object]]]:
    """Leaf path -> (item index, scalar) for every item, in item order: the same leaves as ``leaves``
    but gathered key by key with comprehensions instead of item by item, which is several times
    faster on thousands of records."""
    columns: dict[str, list[tuple[int, object]]] = {}
    merged: dict[str, None] = {}
    # Work list of (path, depth, [(item index, object)]): objects at the same path across items.
    work: deque[tuple[str, int, list[tuple[int, object]]]] = deque([("", 0, list(enumerate(items)))])
    while work and len(columns) < MAX_COLUMNS:
        path, depth, nodes = work.popleft()
        kinds = set(map(type, [x for _, x in nodes]))
        dicts: list[tuple[int, object]]
        lists: list[tuple[int, object]]
        scalars: list[tuple[int, object]]
        if kinds == {dict}:  # the common cases first: all records, or all scalars
            dicts, lists, scalars = nodes, [], []
        elif dict not in kinds and list not in kinds:
            dicts, lists, scalars = [], [], nodes
        else:
            dicts = [(i, x) for i, x in nodes if type(x) is dict]
            lists = [(i, x) for i, x in nodes if type(x) is list]
            scalars = [(i, x) for i, x in nodes if type(x) is not dict and type(x) is not list]
        if scalars:
            if path in columns:
                merged[path] = None  # the same path reached twice (a key spelled like a path)
            columns.setdefault(path, []).extend(scalars)
        if lists:
            p = f"{path}[]"
            arrays = cast("list[tuple[int, list[object]]]", lists)
            elems = [(i, e) for i, x in arrays for e in x[:LIST_WIDTH] if type(e) is not dict]
            if elems:
                work.append((p, depth, elems))
        if dicts and depth < LEAF_DEPTH:
            records = cast("list[tuple[int, dict[str, object]]]", dicts)
            keys: dict[str, object] = {}
            for _, d in records:
                keys.update(d)  # C-level merge: keys in first-seen order
            for k in keys:
                sub = [(i, d[k]) for i, d in records if k in d]
                work.append((f"{path}.{k}" if path else k, depth + 1, sub))
    for path in merged:
        columns[path].sort(key=lambda p: p[0])  # stable: list elements keep their order within an item
    return columns


def _value_key(value: object) -> object:
    """A hashable key telling 1, 1.0, True and "1" apart (strings stand for themselves)."""
    if type(value) is str:
        return value if len(value) <= VALUE_KEY_CHARS else value[:VALUE_KEY_CHARS]
    return (type(value).__name__, value)


def _is_number_key(key: object) -> bool:
    return type(key) is tuple and key[0] in ("int", "float")


def _column_signals(name: str, col: list[tuple[int, object]]) -> tuple[list[int], bool]:
    """Items whose value in this column signals trouble, and whether the signal is strong."""
    hits: list[int] = []
    strong = False
    if name.lower() in NAMED_SIGNALS:
        verdicts: dict[object, bool] = {}
        for i, v in col:
            if type(v) is not str and type(v) is not int:
                continue
            key = _value_key(v)
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = verdicts[key] = field_signals(name, v)
            if verdict and (not hits or hits[-1] != i):
                hits.append(i)
        return hits, bool(hits)
    strings = [(i, v) for i, v in col if type(v) is str]
    if not strings:
        return hits, False
    # One regex pass over the whole column; match offsets map back to items.
    joined = "\x00".join(v for _, v in strings)
    low = joined.lower()
    if not any(stem in low for stem in _ERROR_STEMS) or ERROR_WORDS_RE.search(joined) is None:
        return hits, False  # substring tests are far cheaper than the regex on calm columns
    starts: list[int] = []
    at = 0
    for _, v in strings:
        starts.append(at)
        at += len(v) + 1
    last_k = -1
    for m in ERROR_WORDS_RE.finditer(joined):
        k = bisect_right(starts, m.start()) - 1
        if k == last_k:
            continue
        last_k = k
        i, v = strings[k]
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
) -> tuple[list[int], list[int], dict[int, int], list[str], list[float]]:
    """Per item of one population: tier and reasons; the group size of each representative; the
    leaf paths a slim rendering may leave out (constant, or determined by an earlier field); and the
    weight of each item's rarity, outliers and change points (ranks items within a tier)."""
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
    for path, col in columns.items():
        by_value: dict[object, list[int]] = {}
        holders = 0
        last = -1
        for i, v in col:
            key = v if type(v) is str and len(v) <= VALUE_KEY_CHARS else _value_key(v)
            idx = by_value.get(key)
            if idx is None:
                by_value[key] = [i]
            elif idx[-1] != i:
                idx.append(i)
            if i != last:
                holders += 1
                last = i
        values[path] = by_value
        present[path] = holders
        nums = [(i, float(v)) for i, v in col if type(v) is int or type(v) is float]
        if nums:
            numbers[path] = nums
        hits, is_strong = _column_signals(_last_name(path), col)
        if hits:
            errors[path] = hits
            if is_strong:
                strong[path] = None

    # Error signals: tier 1 when they discriminate, tier 3 when most items carry them. A signal
    # from a status/exit/level field or a short value is strong; error words inside long free text
    # (descriptions, queries, commit messages) are weak and must be much rarer to count.
    for path, idx in errors.items():
        limit = max(3, n // 3) if path in strong else max(2, n // 25)
        if len(idx) <= limit:
            for i in idx:
                mark(i, 1, ERROR)
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
        _outliers(numbers, values, n, note)
        _change_points(numbers, n, note)
        top = max(weight)
        threshold = max(1.0, 0.25 * top)
        for i, w in enumerate(weight):
            if w >= threshold:
                mark(i, 2, 0)
            elif w > 0:
                mark(i, 3, 0)
        groups = _representatives(n, values, present, tier, mark)
        elide = _elidable(n, values, present)
    return tier, reasons, groups, elide, weight


def _mark_occurrences(idx: list[int], n: int, note: _Note, why: int) -> None:
    """All occurrences when they are few (three, or a tenth of the items), else the first and last."""
    if len(idx) <= max(3, n // 10):
        for i in idx:
            note(i, 1.0, why)
    else:
        note(idx[0], 1.0, why)
        note(idx[-1], 1.0, why)


def _rare(n: int, values: _Values, present: dict[str, int], note: _Note) -> None:
    limit = _categorical_limit(n)
    for path, by_value in values.items():
        count = present[path]
        if count * 4 <= n:  # a field few items have: having it is rare
            holders = sorted({i for idx in by_value.values() for i in idx})
            _mark_occurrences(holders, n, note, RARE)
            continue
        if len(by_value) > limit or (len(by_value) < 2 and count == n):
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


def _outliers(numbers: dict[str, list[tuple[int, float]]], values: _Values, n: int, note: _Note) -> None:
    limit = _categorical_limit(n)
    for path, pts in numbers.items():
        if len(pts) < 5 or len(values[path]) <= limit or _ID_NAME_RE.search(path):
            continue  # few distinct values: rarity covers them
        xs = sorted(x for _, x in pts)
        med = xs[len(xs) // 2]
        mad = sorted(abs(x - med) for x in xs)[len(xs) // 2]
        if mad == 0 or not math.isfinite(mad):
            continue
        # Only points past the cut-off (robust z > 3.5) are ranked; the five strongest are kept.
        reach = 3.5 * 1.4826 * mad
        far = [(-abs(x - med), i) for i, x in pts if abs(x - med) > reach]
        for _, i in sorted(far)[:5]:
            note(i, 1.0, OUTLIER)


def _change_points(numbers: dict[str, list[tuple[int, float]]], n: int, note: _Note) -> None:
    """The strongest mean shift of each numeric series, when it is clear (both sides >= 3 points)."""
    for path, pts in numbers.items():
        m = len(pts)
        if m < 8 or m * 10 < n * 8 or _ID_NAME_RE.search(path):
            continue
        xs = [x for _, x in pts]
        if not all(abs(x) < 1e100 for x in xs):  # squares must stay finite
            continue
        if m > CHANGE_BLOCKS * 2:
            # Long series: find the shift on block means, then report the block boundary.
            size = m // CHANGE_BLOCKS
            blocks = [math.fsum(xs[b : b + size]) / size for b in range(0, size * CHANGE_BLOCKS, size)]
            k = _best_split(blocks)
            if k > 0:
                at = k * size
                note(pts[at - 1][0], 1.0, CHANGE)
                note(pts[at][0], 1.0, CHANGE)
            continue
        k = _best_split(xs)
        if k > 0:
            note(pts[k - 1][0], 1.0, CHANGE)
            note(pts[k][0], 1.0, CHANGE)


CHANGE_BLOCKS = 1000
"""Series longer than twice this are searched for a shift on this many block means."""


def _best_split(xs: list[float]) -> int:
    """Where the strongest clear mean shift of ``xs`` is (both sides >= 3 points), or -1."""
    m = len(xs)
    total = sum(xs)
    total_sq = sum(x * x for x in xs)
    best, best_k = 0.0, -1
    left = left_sq = 0.0
    for k in range(1, m):
        left += xs[k - 1]
        left_sq += xs[k - 1] ** 2
        if k < 3 or m - k < 3:
            continue
        mean_l, mean_r = left / k, (total - left) / (m - k)
        ss = (left_sq - k * mean_l**2) + (total_sq - left_sq - (m - k) * mean_r**2)
        sd = math.sqrt(max(ss, 0.0) / (m - 2))
        diff = abs(mean_l - mean_r)
        stat = diff / sd * math.sqrt(k * (m - k) / m) if sd > 0 else (math.inf if diff > 0 else 0.0)
        if stat > best:
            best, best_k = stat, k
    return best_k if best_k > 0 and best > 6.0 else -1


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


def _elidable(n: int, values: _Values, present: dict[str, int]) -> list[str]:
    """Object-only leaf paths that every item has and that add nothing once one item was shown:
    constant values, or values that follow from an earlier field (same grouping of the items, like
    ``author.url`` follows ``author.login``). All-distinct fields (ids) never count as redundant."""
    out: list[str] = []
    seen: dict[tuple[int, ...], str] = {}
    for path, by_value in values.items():
        if present[path] != n or "[]" in path or not path:
            continue
        if len(by_value) == 1:
            if len(next(iter(by_value.values()))) == n:
                out.append(path)
            continue
        if len(by_value) >= n or len(by_value) < 3 or len(by_value) * 4 < n:
            continue  # ids stay; so do categorical fields (a state must never vanish from view)
        label = [0] * n
        ok = True
        for k, idx in enumerate(by_value.values()):
            for i in idx:
                if label[i]:
                    ok = False  # several values in one item (cannot happen without []): skip
                label[i] = k + 1
        if not ok:
            continue
        # Canonical labels: number the groups by first appearance.
        relabel: dict[int, int] = {}
        canon = tuple(relabel.setdefault(x, len(relabel)) for x in label)
        if canon in seen:
            out.append(path)
        else:
            seen[canon] = path
    return out


def title_path(items: list[object]) -> str | None:
    """The field that names each record in prose (a commit message, an issue title), if there is one:
    a top-level or nested string that nearly every record has, nearly always distinct, mostly with
    spaces, with a short first line. Its first lines make a cheap index of the items left out."""
    n = len(items)
    if n < 4 or not all(type(x) is dict for x in items):
        return None
    stats: dict[str, list[str]] = {}
    for x in items[:200]:
        for path, v in leaves(x):
            if type(v) is str and "[]" not in path:
                stats.setdefault(path, []).append(v)
    m = min(n, 200)
    for path, vals in stats.items():
        if len(vals) * 10 < m * 9 or len(set(vals)) * 10 < len(vals) * 9:
            continue
        firsts = [v.split("\n", 1)[0] for v in vals]
        spaced = sum(1 for f in firsts if " " in f.strip())
        lengths = sorted(len(f) for f in firsts)
        if spaced * 2 >= len(vals) and 8 <= lengths[len(lengths) // 2] <= 100:
            return path
    return None


def error_words(text: str) -> bool:
    return ERROR_WORDS_RE.search(text) is not None
