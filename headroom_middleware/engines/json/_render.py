"""Rendering a selection: kept items in order, gap markers, one closing marker per crushed array.

The output stays valid JSON: markers are JSON strings placed inside the crushed arrays. Items are
rendered from the bytes serialized once per node; only items that change (nested crushes, cut strings,
slim fields) are serialized again, as new objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import orjson

from ... import _markers
from ...ccr._keys import make_key
from ._lossless import exact
from ._maps import entry
from ._nodes import Node
from ._parse import Path, rebuild_with_marks
from ._scalars import numeric_summary
from ._stats import CHANGE, ERROR, EXTREME, OUTLIER, QUERY, RARE, REPRESENTATIVE

Originals = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class RenderConfig:
    """What a rendering keeps and how it shortens."""

    floor: float
    """Items of this priority or higher are kept."""
    cut: int | None
    """Strings longer than this are cut to their head in kept items."""
    slim: bool = False
    """Kept items after the first leave out constant and redundant fields."""
    titles: bool = False
    """Crushed top-level arrays list the first line of each omitted item's title field."""


def render_document(
    value: object, top: list[Node], cfg: RenderConfig, ndjson: bool
) -> tuple[str, list[tuple[str, bytes]]] | None:
    originals: Originals = []
    shown: set[tuple[Path, ...]] = set()  # membership only, never iterated
    if ndjson:
        parts = _render_parts(top[0], cfg, originals, shown)
        if parts is None:
            parts = top[0].item_bytes
        return "\n".join(p.decode() for p in parts), originals
    replacements = {}
    for node in top:
        out = _render_node(node, cfg, originals, shown)
        if out is not None:
            replacements[node.path] = out
    body = _assemble(value, replacements, cfg.cut)
    if body is None:
        return None
    return body.decode(), originals


def _render_node(
    node: Node, cfg: RenderConfig, originals: Originals, shown: set[tuple[Path, ...]]
) -> bytes | None:
    """The array as the model sees it, or None when it stays exactly as it was."""
    parts = _render_parts(node, cfg, originals, shown)
    if parts is None:
        return None
    if node.keys is not None:
        return b"{" + b",".join(parts) + b"}"
    return b"[" + b",".join(parts) + b"]"


def _render_parts(
    node: Node, cfg: RenderConfig, originals: Originals, shown: set[tuple[Path, ...]]
) -> list[bytes] | None:
    n = len(node.items)
    crush = node.crushable
    kept = node.kept(cfg.floor) if crush else range(n)
    changed = False
    parts: list[bytes] = []
    prev = -1
    top_level = len(node.pattern) == 1
    # Gap markers orient the reader among records; next to bare values they would cost more than the
    # values themselves, so arrays of scalars go without (the marker gives the count).
    gaps = top_level and not node.scalars
    for i in kept:
        if i - prev > 1 and gaps:
            parts.append(_note(node, f"…{prev + 1}", _gap(node, prev, i)))
        # Slim: one full item per kind of item in the whole output shows the shape; later ones drop
        # the fields that are constant or follow from another field.
        slim = cfg.slim and bool(node.elide) and node.pattern in shown
        shown.add(node.pattern)
        item = _render_item(node, i, cfg, originals, shown, slim)
        if item is None:
            item = node.item_bytes[i]
        else:
            changed = True
            if node.keys is not None:  # an object's entry: its key, then the shortened value
                item = entry(node.keys[i], item)
        parts.append(item)
        prev = i
    if prev < n - 1 and gaps:
        parts.append(_note(node, f"…{prev + 1}", _gap(node, prev, n)))
    dropped = n - len(kept)
    if dropped:
        if node.stored is None:  # once per array, however many renderings the budget tries
            payload = node.payload
            node.stored = (make_key(payload), payload)
        key = node.stored[0]
        originals.append(node.stored)
        if cfg.titles and node.title is not None and dropped <= MAX_TITLES:
            parts.append(_note(node, "…titles", orjson.dumps(_titles(node, node.title, kept))))
        note = _kept_note(node, kept, cfg.slim and bool(node.elide) and len(kept) > 1) if top_level else ""
        unit = "items" if node.keys is None else "entries"
        parts.append(_note(node, "…headroom", orjson.dumps(_markers.omitted(dropped, n, unit, key, note))))
    elif not changed:
        return None
    return parts


def _note(node: Node, label: str, marker: bytes) -> bytes:
    """A marker as an array element, or in an object of records as the value of an entry ``label``
    (``…12`` for the gap that starts at entry 12: distinct labels keep the object's keys unique)."""
    return marker if node.keys is None else entry(label, marker)


def _titles(node: Node, path: tuple[str, ...], kept: list[int] | range) -> str:
    """``omitted items by commit.message: #1 deps: update V8…; #2 …`` (first lines, in order)."""
    keep = set(kept)  # membership only
    bits = []
    for i, item in enumerate(node.items):
        if i in keep:
            continue
        value: object = item
        for key in path:
            value = value.get(key) if type(value) is dict else None
        if type(value) is str:
            line = value.split("\n", 1)[0].strip()
            bits.append(f"#{i} {line[:TITLE_CHARS]}{'…' if len(line) > TITLE_CHARS else ''}")
    return f"omitted items by {'.'.join(path)}: " + "; ".join(bits)


def _gap(node: Node, prev: int, nxt: int) -> bytes:
    """Gap marker for the items between two kept ones, saying so when they repeat a neighbour."""
    count = nxt - prev - 1
    raw = node.item_bytes
    unit = "items" if node.keys is None else "entries"  # entries differ in their keys: never identical
    if prev >= 0 and all(raw[j] == raw[prev] for j in range(prev + 1, nxt)):
        return orjson.dumps(_markers.gap(count, f"{unit} identical to the previous one"))
    if nxt < len(raw) and all(raw[j] == raw[nxt] for j in range(prev + 1, nxt)):
        return orjson.dumps(_markers.gap(count, f"{unit} identical to the next one"))
    return orjson.dumps(_markers.gap(count, unit))


def _kept_note(node: Node, kept: list[int] | range, slim: bool) -> str:
    counts = {bit: 0 for bit in (ERROR, QUERY, RARE, OUTLIER, CHANGE, EXTREME, REPRESENTATIVE)}
    for i in kept:
        why = node.reasons[i]
        for bit in counts:
            if why & bit:
                counts[bit] += 1
    names = {
        ERROR: "error",
        QUERY: "query match",
        RARE: "rare",
        OUTLIER: "outlier",
        CHANGE: "change point",
        EXTREME: "min/max",
        REPRESENTATIVE: "representative",
    }
    # First and last are always kept and visible: not worth the words.
    bits = [f"{c} {names[b]}" for b, c in counts.items() if c and b != REPRESENTATIVE]
    sizes = [node.group_size[i] for i in kept if i in node.group_size]
    if sizes:
        shown = ", ".join(str(s) for s in sizes[:6]) + (", …" if len(sizes) > 6 else "")
        bits.append(f"{len(sizes)} representative (groups of {shown} similar)")
    extra = len(node.extra)
    if extra:
        bits.append(f"{extra} sampled")
    if slim:
        bits.append("later items omit constant/derived fields")
    if node.summary is None:
        node.summary = numeric_summary(node.items)
    summary = node.summary
    if summary:
        bits.append(summary)
    return ", ".join(bits)


def _render_item(
    node: Node,
    i: int,
    cfg: RenderConfig,
    originals: Originals,
    shown: set[tuple[Path, ...]],
    slim: bool,
) -> bytes | None:
    """Item ``i`` with its nested arrays crushed, long strings cut, and (``slim``) redundant fields
    left out; None when unchanged."""
    item = node.items[i]
    cut = cfg.cut
    signal = node.tier[i] == 1
    if cut is not None and cut < SIGNAL_CUT and signal:
        # An error or a query match is why the output exists: its messages, nested ones too, must
        # stay readable when the budget cuts every other item's strings to a few words.
        cut = SIGNAL_CUT
        cfg = replace(cfg, cut=cut)
    replacements: dict[Path, bytes] = {}
    for kid in node.children[i]:
        out = _render_node(kid, cfg, originals, shown)
        if out is not None:
            replacements[kid.path] = out
    if not replacements and not slim and (cut is None or len(node.item_bytes[i]) <= cut):
        return None
    # Without nested crushes the rendering depends on the cut and slimness only: the budget search
    # renders the same items many times, so those are remembered.
    memo_key = (i, cut, slim)
    if not replacements and memo_key in node.memo:
        return node.memo[memo_key]
    out = _assemble(item, replacements, cut, node.elide if slim else [], node.title, signal)
    if out is not None and out == node.item_bytes[i]:
        out = None
    if not replacements:
        node.memo[memo_key] = None if out is None else exact(out)  # kept: no oversized orjson buffer
    return out


def _assemble(
    value: object,
    replacements: dict[Path, bytes],
    cut: int | None,
    elide: list[tuple[str, ...]] | None = None,
    title: tuple[str, ...] | None = None,
    signal: bool = False,
) -> bytes | None:
    """Compact JSON of ``value``, nested arrays replaced by their rendering, long strings cut (the
    ``title`` field, which names the record, only past its first line or ``TITLE_KEEP`` characters)."""
    if () in replacements:
        return replacements[()]
    marks = {path: f"\x00headroom-span-{n}\x00" for n, path in enumerate(replacements)}
    rebuilt = rebuild_with_marks(value, marks) if marks else value
    if elide and type(rebuilt) is dict:
        rebuilt = _without(rebuilt, elide)
    if cut is not None:
        cut_value = _cut_strings(rebuilt, cut, embedded=signal)
        if title is not None and cut < TITLE_KEEP:
            _restore_title(cut_value, rebuilt, title)
        rebuilt = cut_value
    text = orjson.dumps(rebuilt)
    for path, mark in marks.items():
        quoted = orjson.dumps(mark)
        if text.count(quoted) != 1:
            return None
        text = text.replace(quoted, replacements[path], 1)
    return text


def _restore_title(cut_value: object, original: object, path: tuple[str, ...]) -> None:
    """Put the title back into ``cut_value`` (a fresh copy made by ``_cut_strings``), cut at
    ``TITLE_KEEP``: an issue's or a commit's title is what names it, a few words are not enough."""
    for key in path[:-1]:
        if type(cut_value) is not dict or type(original) is not dict:
            return
        cut_value, original = cut_value.get(key), original.get(key)
    if type(cut_value) is not dict or type(original) is not dict:
        return
    text = original.get(path[-1])
    if type(text) is str and path[-1] in cut_value:
        cut_value[path[-1]] = _cut_strings(text, TITLE_KEEP)


def _without(value: dict[str, object], paths: list[tuple[str, ...]]) -> dict[str, object]:
    """A copy of ``value`` without the leaves at ``paths`` (objects on the way are copied, not changed)."""
    top = dict(value)
    copies: dict[tuple[str, ...], dict[str, object]] = {(): top}
    for path in paths:
        node = top
        for depth, key in enumerate(path[:-1]):
            prefix = path[: depth + 1]
            copy = copies.get(prefix)
            if copy is None:
                child = node.get(key)
                if type(child) is not dict:
                    break
                copy = copies[prefix] = dict(child)
                node[key] = copy
            node = copy
        else:
            node.pop(path[-1], None)
    return top


TITLE_KEEP = 120
"""The title field of kept records is cut no shorter than this."""
SIGNAL_CUT = 100
"""Strings of tier-1 items (errors, query matches) are never cut shorter than this."""
CUT_DEPTH = 24
_SPACE_RE = re.compile(r"\s")
MAX_TITLES = 100
TITLE_CHARS = 60
FIRST_LINE_MAX = 80
TOKEN_CUT = 96
"""Strings without spaces (ids, names, hashes) are cut only past this length: a cut id is useless."""


def _cut_strings(value: object, cut: int, depth: int = 0, *, embedded: bool = False) -> object:
    """A copy of ``value`` with strings longer than ``cut`` shortened to their head (bounded depth).

    ``embedded``: a string holding a JSON object is cut inside instead (its keys and short values
    stay, its long values are cut), so the ``errorCode`` of an error's embedded event is not lost
    with the tail of the string."""
    if isinstance(value, str):
        limit = cut if _SPACE_RE.search(value, 0, cut) else max(cut, TOKEN_CUT)
        if embedded and len(value) > limit + 8 and value.startswith("{") and value.endswith("}"):
            inner = _cut_embedded(value, cut, depth)
            if inner is not None:
                return inner
        if len(value) > limit + 8 and not value.startswith("\x00headroom-span-"):
            # The head reads best up to the end of its first line (a commit's subject, a message's
            # summary) when that line is short; otherwise the first ``cut`` characters.
            line_end = value.find("\n", 0, FIRST_LINE_MAX + 1)
            head = value[:line_end] if line_end > 0 else value[:limit]
            return head + "…"
        return value
    if depth >= CUT_DEPTH:
        return value
    if type(value) is dict:
        return {k: _cut_strings(v, cut, depth + 1, embedded=embedded) for k, v in value.items()}
    if type(value) is list:
        return [_cut_strings(v, cut, depth + 1, embedded=embedded) for v in value]
    return value


def _cut_embedded(value: str, cut: int, depth: int) -> str | None:
    """``value`` (a JSON object in a string) with its own long strings cut; None when it is not one."""
    try:
        parsed = orjson.loads(value)
        if type(parsed) is not dict:
            return None
        return orjson.dumps(_cut_strings(parsed, cut, depth + 1)).decode()
    except (ValueError, TypeError):  # not JSON, lone surrogates, nesting past what orjson writes
        return None
