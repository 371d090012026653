"""The JSON engine: lossless table form, ``expand``, and budgeted lossy selection.

``compress_json`` parses once, builds the minified and table forms from one serialization of the
document's arrays, returns the cheaper one when it fits the budget (or when nothing may be dropped),
and otherwise crushes the big arrays in place (``_select``).
"""

from __future__ import annotations

from itertools import pairwise

import orjson

from .._base import Compressed, Context
from ._lossless import Span, minified, spans_of, table_form
from ._maps import record_maps
from ._parse import parse
from ._select import select
from ._table import decode, looks_like_table


def compress_json(text: str, ctx: Context, *, ndjson: bool = False) -> Compressed | None:
    """Compress JSON or NDJSON ``text``; None when it does not parse or no JSON form fits the budget
    (the text engine takes it then)."""
    value = parse(text, ndjson=ndjson)
    if value is None and (ndjson or text.strip() != "null"):
        return None
    try:
        spans = spans_of(value)
        mini = minified(value, spans)
    except (orjson.JSONEncodeError, RecursionError):  # nesting past what orjson serializes
        return None
    if ndjson:  # one record per line, from the same item bytes
        assert isinstance(value, list)
        rows = spans[0].item_bytes if spans and spans[0].path == () else [orjson.dumps(v) for v in value]
        mini_text = b"\n".join(rows).decode()
    else:
        if not spans and not record_maps(value):
            value = None  # nothing to table or crush: no later step needs the value; let a huge one go
        mini_text = mini.decode()
    del mini  # a second full copy of a huge document must not live on through the selection
    best, best_tokens, strategy = mini_text, ctx.count_tokens(mini_text), "json:minify"
    # A table saves well under two thirds of the minified tokens: when even that cannot fit and a lossy
    # form is allowed, do not spend the time building it.
    # (Runs of identical records are the exception: the table collapses them.)
    hopeless = ctx.lossy and best_tokens > 3 * ctx.max_tokens and not any(_mostly_runs(s) for s in spans)
    table = None if hopeless else table_form(value, spans, ctx.count_tokens)
    if table is not None:
        t = ctx.count_tokens(table)
        if t < best_tokens:
            best, best_tokens, strategy = table, t, "json:table"
    if best_tokens <= ctx.max_tokens or not ctx.lossy:
        return Compressed(best, strategy, (), is_json=strategy == "json:minify" and not ndjson)
    # None when no selection fits (no big array to crush, or huge scalars): the text engine then
    # enforces the budget on the raw text.
    return select(value, spans, ctx, best_tokens, ndjson=ndjson)


def _mostly_runs(span: Span) -> bool:
    """True when most items repeat the one before (the table collapses such runs to one line)."""
    return sum(1 for a, b in pairwise(span.item_bytes) if a == b) * 2 > len(span.item_bytes)


def expand(text: str) -> object:
    """The exact JSON value a lossless form stands for (minified JSON, the table form or NDJSON).

    Raises ``ValueError`` when ``text`` is none of these.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    if looks_like_table(text):
        return decode(text)
    value = parse(text, ndjson=True)
    if value is None:
        raise ValueError("not JSON, NDJSON or the table form")
    return value
