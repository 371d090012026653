"""Property tests over arbitrary JSON values: round trip, validity, determinism, recoverability."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import headroom_middleware as hm
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.engines import Context
from headroom_middleware.engines.json import compress_json
from headroom_middleware.engines.json._lossless import spans_of, table_form
from headroom_middleware.engines.json._table import decode

# Strings as a parser can produce them: any code point but lone surrogates.
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=25,
)
_keys = st.sampled_from(["id", "name", "state", "", "a|b", "x=y", "×", "n"])
_record = st.dictionaries(_keys, _json, max_size=5)
_records = st.lists(_record, min_size=2, max_size=12)
_doc = _json | _records | st.dictionaries(_keys, _records | _json, max_size=4)

_FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _prefer_tables(text: str) -> int:
    return 0 if text.startswith("@T") else len(text) + 10


@_FAST
@given(_doc)
def test_table_form_round_trips_exactly(value: object) -> None:
    text = table_form(value, spans_of(value), _prefer_tables)
    if text is None:
        return
    back = decode(text)
    assert back == value
    assert orjson.dumps(back) == orjson.dumps(value)
    assert orjson.dumps(hm.expand(text)) == orjson.dumps(value)


@_FAST
@given(_doc)
def test_lossless_output_expands_to_the_value(value: object) -> None:
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    r = compress_json(text, Context(max_tokens=10**9, count_tokens=estimate_tokens))
    assert r is not None and not r.originals
    assert orjson.dumps(hm.expand(r.text)) == orjson.dumps(value)
    if r.is_json:
        assert r.text == orjson.dumps(value).decode()


@_FAST
@given(_doc, st.integers(40, 400))
def test_lossy_output_valid_deterministic_recoverable(value: object, budget: int) -> None:
    text = orjson.dumps(value).decode()
    ctx = Context(max_tokens=budget, count_tokens=estimate_tokens)
    r1 = compress_json(text, ctx)
    r2 = compress_json(text, ctx)
    if r1 is None:
        return  # handed to the text engine (nothing fits as JSON)
    assert r2 is not None and r1.text == r2.text and r1.originals == r2.originals
    if r1.originals:
        assert r1.is_json
        orjson.loads(r1.text)  # valid JSON
        assert estimate_tokens(r1.text) <= budget
        for key, payload in r1.originals:
            assert key == hm.make_key(payload)
            assert key in r1.text
            orjson.loads(payload)
    else:
        assert orjson.dumps(hm.expand(r1.text)) == orjson.dumps(value)
