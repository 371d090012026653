"""``retrieve``: the answer to a ``headroom_retrieve`` call.

Without a query, the original comes back exactly as it was stored. With one, only what matches:

- A JSON array: the matching items, as a compact JSON array.
- A JSON object: the matching records found walking it, as a compact JSON object mapping each
  record's path (``$.data.items[3]``) to the record. Records are the elements of the outermost
  arrays (an array inside a record stays part of that record) and the scalar fields outside arrays.
- Anything else (text, NDJSON, JSON that will not parse, binary): the matching lines, each prefixed
  with its 1-based line number (``12: ...``).

Each filtered answer ends with one line saying how many of the total matched, which page is shown,
and the exact call for the next page. A query is split into terms on whitespace (``"a phrase"`` in
double quotes is one term); a unit matches when every term occurs in it, case-insensitively. For JSON
the text searched is the unit's compact JSON without double quotes, so ``status:500`` finds
``{"status":500}``. ``offset`` skips that many matches and ``limit`` caps how many are shown; paging
without a query pages through every item or line. The answer depends on nothing but the stored bytes
and the arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import orjson

from .._markers import MARKER_PREFIX, retrieve_call
from ._keys import is_key
from ._store import Store

__all__ = ["query_terms", "retrieve"]

_Dumps = Callable[[object], str]

_TERM_RE = re.compile(r'"([^"]*)"|(\S+)')
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTAINER_START_RE = re.compile(r"\s*[\[{]")
# orjson reads integers past 64 bits as floats (losing digits): a payload holding a run of 19 or more
# digits goes through the stdlib instead. Digits map to "0", all else to " ", then one substring search
# finds such a run (far faster than a regex over text full of hex ids).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def retrieve(
    store: Store,
    key: str,
    query: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> str | None:
    """The original stored under ``key``, or only its items/lines matching ``query``, one page of them.

    None when ``key`` is not a well-formed CCR key (the store is never asked) or is unknown or expired.
    Without ``query``, ``offset`` or ``limit`` the answer is the stored bytes decoded exactly
    (``surrogatepass``; bytes that are not UTF-8 come back as ``surrogateescape`` code points), so
    ``answer.encode("utf-8", "surrogatepass")`` gives the stored bytes back. ``offset`` (matches to
    skip, >= 0) and ``limit`` (matches to show, >= 1, None for all) page through the matches.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be an int >= 0, got {offset!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be an int >= 1 or None, got {limit!r}")
    if not is_key(key):
        return None
    data = store.get(key)
    if data is None:
        return None
    data = bytes(data)
    text = _decode(data)
    terms = query_terms(query)
    if not terms and offset == 0 and limit is None:
        return text
    page = _Page(key, query.strip() if terms and query else None, terms, offset, limit)
    return _answer_json(data, text, page) or _answer_lines(text, page)


def query_terms(query: str | None) -> tuple[str, ...]:
    """The case-folded terms of ``query``: words, or ``"quoted phrases"``; duplicates dropped."""
    if not query:
        return ()
    terms: dict[str, None] = {}
    for m in _TERM_RE.finditer(query):
        phrase, word = m.groups()
        term = (phrase if phrase is not None else word.strip('"')).strip().casefold()
        if term:
            terms.setdefault(term, None)
    return tuple(terms)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class _Page:
    """The filter and page asked for, and the wording of the line that closes every answer."""

    key: str
    query: str | None
    terms: tuple[str, ...]
    offset: int
    limit: int | None

    def select(self, haystacks: Sequence[str]) -> tuple[list[int], int]:
        """Indices of the matching units on this page, and how many match in all."""
        terms = self.terms
        matches = [i for i, h in enumerate(haystacks) if all(t in h for t in terms)]
        end = None if self.limit is None else self.offset + self.limit
        return matches[self.offset : end], len(matches)

    def summary(self, unit: str, total: int, matched: int, shown: int) -> str:
        """One line: how many matched of how many, what is shown, and the call for the next page."""
        key, query, offset, limit = self.key, self.query, self.offset, self.limit
        if query is None:  # paging through everything
            if total == 0:
                return f"{MARKER_PREFIX}the original holds no {unit}.]"
            head, span_unit, rest = f"{total:,} {unit} in all", unit, ""
        else:
            if matched == 0:
                return (
                    f"{MARKER_PREFIX}none of the {total:,} {unit} match {query!r} (every term must "
                    f"appear). Try fewer or other terms, or {retrieve_call(key)} for the whole original.]"
                )
            head, span_unit = f"{matched:,} of {total:,} {unit} match {query!r}", "matches"
            others = total - matched
            rest = "" if others == 0 else f" {others:,} other{' does' if others == 1 else 's do'} not match."
        if offset >= matched:
            first = retrieve_call(key, query=query, limit=limit)
            return f"{MARKER_PREFIX}{head}; offset {offset:,} is past the last one. First page: {first}]"
        end = offset + shown
        if offset == 0 and end == matched:
            return f"{MARKER_PREFIX}{head}; all shown.{rest}]"
        span = f"showing {span_unit} {offset + 1:,}-{end:,}"
        if end == matched:
            return f"{MARKER_PREFIX}{head}; {span} (last page).{rest}]"
        call = retrieve_call(key, query=query, offset=end, limit=limit)
        return f"{MARKER_PREFIX}{head}; {span}.{rest} Next page: {call}]"


def _answer_json(data: bytes, text: str, page: _Page) -> str | None:
    """The answer for a JSON array or object; None when the payload is not one (lines then)."""
    parsed = _parse_json(data, text)
    if parsed is None:
        return None
    value, dumps = parsed
    # Units are searched without their double quotes, so the terms are too: level:"error" works.
    page = replace(page, terms=tuple(t.replace('"', "") for t in page.terms))
    try:
        if isinstance(value, list):
            haystacks = [_searchable(dumps(item)) for item in value]
            shown, matched = page.select(haystacks)
            body = dumps([value[i] for i in shown])
            return f"{body}\n{page.summary('items', len(value), matched, len(shown))}"
        if isinstance(value, dict):
            records = _records(value)
            haystacks = [_searchable(f"{path} {dumps(item)}") for path, item in records]
            shown, matched = page.select(haystacks)
            body = dumps({records[i][0]: records[i][1] for i in shown})
            return f"{body}\n{page.summary('records', len(records), matched, len(shown))}"
    except (TypeError, ValueError, RecursionError):  # an odd value: the lines answer still works
        return None
    return None


def _answer_lines(text: str, page: _Page) -> str:
    lines = text.split("\n") if text else []
    folded = text.casefold().split("\n") if text else []
    if text.endswith("\n"):
        lines.pop()
        folded.pop()
    shown, matched = page.select(folded)
    out = [f"{i + 1}: {lines[i].removesuffix(chr(13))}" for i in shown]
    out.append(page.summary("lines", len(lines), matched, len(shown)))
    return "\n".join(out)


def _searchable(json_text: str) -> str:
    return json_text.replace('"', "").casefold()


def _parse_json(data: bytes, text: str) -> tuple[object, _Dumps] | None:
    """The JSON array or object in the payload, and the serializer that writes its values back exactly."""
    if _CONTAINER_START_RE.match(text) is None:
        return None
    if _LONG_DIGIT_RUN not in data.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(data), _dumps_orjson
        except orjson.JSONDecodeError:
            pass  # NaN, lone surrogates, nesting past orjson's limit: the stdlib may still read it
    try:
        return json.loads(text), _dumps_stdlib
    except (ValueError, RecursionError):
        return None


def _dumps_orjson(value: object) -> str:
    try:
        return orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError:  # nesting deeper than orjson writes
        return _dumps_stdlib(value)


def _dumps_stdlib(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _records(root: dict[str, object]) -> list[tuple[str, object]]:
    """(path, record) in document order: elements of the outermost arrays, and scalar fields.

    Iterative, so no nesting depth the parser accepted can exhaust the Python stack.
    """
    out: list[tuple[str, object]] = []
    stack: list[tuple[str, object]] = [("$", root)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, list):
            out.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend(reversed([(_child_path(path, k), v) for k, v in value.items()]))
        else:
            out.append((path, value))
    return out


def _child_path(path: str, name: str) -> str:
    if _IDENTIFIER_RE.fullmatch(name):
        return f"{path}.{name}"
    return f"{path}[{_dumps_stdlib(name)}]"
