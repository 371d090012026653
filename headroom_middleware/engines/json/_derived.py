"""Fields a reader learns nothing more from after one record: constants, fields that follow from an
earlier field, URL fields spelled from another field; and the field that names records in prose.

URL fields spelled from another field of the same record are hypermedia links in REST APIs.

GitHub's API gives every issue a dozen links (``comments_url`` is ``…/issues/{number}/comments``)
and every user sixteen (``followers_url`` is ``…/users/{login}/followers``): once one record has been
shown, the rest say nothing new, yet they cost more tokens than the record's content. A column is
*templated* when every value is one constant prefix, the item's value of another (non-URL) field,
and one constant suffix; a slim rendering leaves it out of items after the first.
"""

from __future__ import annotations

from ._leaves import EMBEDDED, VALUE_KEY_CHARS, leaves

_Values = dict[str, dict[object, list[int]]]
_SEPARATORS = "/=?&#:.{"


def _common_prefix(texts: list[str]) -> str:
    """The longest prefix all ``texts`` share (the smallest and largest share it with every other)."""
    lo, hi = min(texts), max(texts)
    k = 0
    while k < len(lo) and lo[k] == hi[k]:
        k += 1
    return lo[:k]


def _per_item(n: int, by_value: dict[object, list[int]]) -> list[str] | None:
    """The column as one string per item (numbers as JSON writes them); None when an item has
    several values or none, or a string was shortened by ``value_key``."""
    out: list[str | None] = [None] * n
    for key, idx in by_value.items():
        if type(key) is str:
            if len(key) >= VALUE_KEY_CHARS:
                return None
            text = key
        elif type(key) is tuple and key[0] in ("int", "str"):
            text = str(key[1])
        else:
            return None
        for i in idx:
            if out[i] is not None:
                return None
            out[i] = text
    if any(v is None for v in out):
        return None
    return out  # type: ignore[return-value]


def _templated_urls(n: int, values: _Values, present: dict[str, int]) -> list[str]:
    """Paths of URL columns that every item has and that follow from another field (see module)."""
    sources: dict[tuple[str, ...], str] = {}
    urls: list[tuple[str, list[str]]] = []
    for path, by_value in values.items():
        if present[path] != n or "[]" in path or EMBEDDED in path or not path or len(by_value) < 2:
            continue
        first = next(iter(by_value))
        is_url = type(first) is str and "://" in first
        col = _per_item(n, by_value)
        if col is None:
            continue
        if is_url:
            urls.append((path, col))
        else:
            sources.setdefault(tuple(col), path)
    out: list[str] = []
    for path, col in urls:
        prefix = _common_prefix(col)
        # Back to a separator: ids sharing their first digits must not lose them to the prefix.
        prefix = prefix[: max(prefix.rfind(c) for c in _SEPARATORS) + 1]
        suffix = _common_prefix([v[len(prefix) :][::-1] for v in col])[::-1]
        cuts = [k for k in (suffix.find(c) for c in _SEPARATORS) if k >= 0]
        suffix = suffix[min(cuts) :] if cuts else ""
        middle = tuple(v[len(prefix) : len(v) - len(suffix)] for v in col)
        if middle in sources:
            out.append(path)
    return out


def elidable(n: int, values: _Values, present: dict[str, int]) -> list[str]:
    """Object-only leaf paths that every item has and that add nothing once one item was shown:
    constant values, or values that follow from an earlier field (same grouping of the items, like
    ``author.url`` follows ``author.login``). All-distinct fields (ids) never count as redundant."""
    out: list[str] = []
    seen: dict[tuple[int, ...], str] = {}
    for path, by_value in values.items():
        if present[path] != n or "[]" in path or EMBEDDED in path or not path:
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
    out.extend(p for p in _templated_urls(n, values, present) if p not in out)
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
