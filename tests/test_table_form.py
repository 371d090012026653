"""The lossless table form: what it looks like, and that ``expand`` gives back the exact value."""

from __future__ import annotations

import orjson
import pytest

import headroom_middleware as hm
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.engines import Context
from headroom_middleware.engines.json import compress_json
from headroom_middleware.engines.json._lossless import spans_of, table_form
from headroom_middleware.engines.json._table import cell, decode, render_table


def _prefer_tables(text: str) -> int:
    """A counter under which every table block is cheaper than JSON (to exercise the form itself)."""
    return 0 if text.startswith("@T") else len(text) + 10


def _table(value: object) -> str | None:
    return table_form(value, spans_of(value), _prefer_tables)


def _roundtrip(value: object) -> str:
    text = _table(value)
    assert text is not None
    back = decode(text)
    assert back == value
    assert orjson.dumps(back) == orjson.dumps(value)  # same key order, same types
    assert hm.expand(text) == value
    return text


def test_example_reads_as_documented() -> None:
    rows = [
        {"id": 1, "name": "alice", "kind": "user", "tags": ["a"]},
        {"id": 2, "name": "bob", "kind": "user"},
        {"id": 2, "name": "bob", "kind": "user"},
    ] * 3
    block = render_table("1", rows)
    assert block is not None
    lines = block.split("\n")
    assert lines[0] == '@T1 9 rows: id|name|kind="user"|tags'
    assert lines[1] == '1|alice|["a"]'
    assert lines[2] == "×2 2|bob|"  # a run of identical rows; empty cell = key absent
    _roundtrip(rows)


def test_missing_key_and_null_differ() -> None:
    rows = [{"a": 1, "b": None}, {"a": 2}, {"a": 3, "b": None}, {"a": 4, "b": 5}]
    text = _roundtrip(rows)
    assert "2|\n" in text and "1|null" in text


@pytest.mark.parametrize(
    "s",
    [
        "",
        "123",
        "-1.5e3",
        "true",
        "null",
        " lead",
        "trail ",
        "a|b",
        "×3 x",
        '"q"',
        "{x",
        "[y",
        "é ünï",
        "a\nb",
    ],
)
def test_ambiguous_strings_are_quoted_and_survive(s: str) -> None:
    rows = [{"k": s, "n": i} for i in range(3)] + [{"k": "plain", "n": 9}]
    _roundtrip(rows)
    assert cell(s) != s or s in ("é ünï",)


def test_bare_strings_where_unambiguous() -> None:
    assert cell("running") == "running"
    assert cell("2016-11-01T06:53:37Z") == "2016-11-01T06:53:37Z"
    assert cell("12") == '"12"'
    assert cell(12) == "12"
    assert cell(True) == "true"


def test_pipes_inside_nested_json_are_escaped() -> None:
    rows = [{"x": {"p": "a|b"}, "y": [1, "|"]}, {"x": {}, "y": []}, {"x": None, "y": "|"}]
    text = _roundtrip(rows)
    assert "\\u007c" in text


def test_nested_array_in_object_gets_a_skeleton() -> None:
    doc = {"status": "ok", "data": {"items": [{"id": i, "state": "on"} for i in range(20)], "n": 20}}
    text = _roundtrip(doc)
    first = text.split("\n", 1)[0]
    assert first == '{"status":"ok","data":{"items":@T1,"n":20}}'


def test_inconsistent_key_order_is_not_a_table() -> None:
    rows = [{"a": 1, "b": 2}, {"b": 3, "a": 4}] * 5
    assert render_table("1", rows) is None
    assert _table(rows) is None


def test_column_names_that_need_quoting() -> None:
    rows = [{"": 1, "a=b": 2, "x|y": 3, '"q': 4, "×": 5} for _ in range(4)] + [
        {"": 0, "a=b": 0, "x|y": 0, '"q': 0, "×": 0}
    ]
    _roundtrip(rows)


def test_engine_picks_table_when_cheaper_and_expand_restores() -> None:
    rows = [{"id": i, "host": f"web-{i % 7}", "region": "eu-west-1", "ok": i % 5 != 0} for i in range(200)]
    text = orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()
    ctx = Context(max_tokens=100_000, count_tokens=estimate_tokens)
    r = compress_json(text, ctx)
    assert r is not None and r.strategy == "json:table" and not r.is_json and not r.originals
    assert hm.expand(r.text) == rows
    assert estimate_tokens(r.text) < estimate_tokens(orjson.dumps(rows).decode())


def test_minify_when_no_table_pays() -> None:
    value = {"a": [1, 2, 3], "b": {"c": "d"}}
    r = compress_json(
        orjson.dumps(value, option=orjson.OPT_INDENT_2).decode(), Context(4000, estimate_tokens)
    )
    assert r is not None and r.strategy == "json:minify" and r.is_json
    assert r.text == orjson.dumps(value).decode()
    assert hm.expand(r.text) == value


def test_expand_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        hm.expand("not json at all {")
