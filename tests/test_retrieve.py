"""retrieve (exact original, query filter, paging, bad keys, odd payloads) and the retrieval tool."""

from __future__ import annotations

import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom_middleware import RETRIEVE_TOOL_NAME, carries_marker
from headroom_middleware.ccr import MemoryStore, make_key, retrieval_tool, retrieve
from headroom_middleware.ccr._retrieve import query_terms


class RecordingStore:
    """A real dict-backed store that records every key it is asked for."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.calls: list[object] = []

    def put(self, key: str, data: bytes) -> bool:
        self.calls.append(("put", key))
        self.data[key] = data
        return True

    def get(self, key: str) -> bytes | None:
        self.calls.append(("get", key))
        return self.data.get(key)


def _stored(payload: bytes) -> tuple[MemoryStore, str]:
    store = MemoryStore(max_bytes=64 * 2**20)
    key = make_key(payload)
    assert store.put(key, payload)
    return store, key


def _split(answer: str) -> tuple[str, str]:
    """(body, closing count line) of a filtered answer."""
    body, _, last = answer.rpartition("\n")
    assert last.startswith("[headroom: ") and last.endswith("]")
    return body, last


RECORDS = [
    {"id": i, "level": "error" if i % 50 == 7 else "info", "msg": f"request {i} served", "user": f"u{i % 9}"}
    for i in range(400)
]
ERROR_IDS = [r["id"] for r in RECORDS if r["level"] == "error"]


# --- keys are checked before any store sees them ---------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [None, "", "abc", "0123456789ABCDEF01234567", "0123456789abcdef0123456\n", "*" * 24, 42, b"0" * 24],
)
def test_malformed_key_returns_none_and_never_reaches_the_store(bad: object) -> None:
    store = RecordingStore()
    store.data[str(bad)] = b"should never be read"
    assert retrieve(store, bad, "anything") is None  # type: ignore[arg-type]
    assert retrieve(store, bad) is None  # type: ignore[arg-type]
    assert store.calls == []


def test_well_formed_key_reaches_the_store_once() -> None:
    store = RecordingStore()
    key = make_key(b"x")
    store.put(key, b"x")
    store.calls.clear()
    assert retrieve(store, key) == "x"
    assert store.calls == [("get", key)]


def test_unknown_and_expired_keys_return_none() -> None:
    now = [0.0]
    store = MemoryStore(ttl_seconds=5, timer=lambda: now[0])
    key = make_key(b"soon gone")
    assert retrieve(store, key) is None
    store.put(key, b"soon gone")
    assert retrieve(store, key, "gone") is not None
    now[0] = 5.0
    assert retrieve(store, key) is None
    assert retrieve(store, key, "gone") is None


# --- no query: the exact original ------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        orjson.dumps(RECORDS),
        "line one\r\nline two\n\nunicode: caf\u00e9 \u2603 \U0001f600\n".encode(),
        "lone surrogate \ud83d here".encode("utf-8", "surrogatepass"),
        b"",
    ],
)
def test_without_query_the_original_comes_back_byte_exact(payload: bytes) -> None:
    store, key = _stored(payload)
    answer = retrieve(store, key)
    assert answer is not None
    assert answer.encode("utf-8", "surrogatepass") == payload


def test_invalid_utf8_round_trips_through_surrogateescape() -> None:
    payload = b"\xff\xfe binary \x00\x80 tail"
    store, key = _stored(payload)
    answer = retrieve(store, key)
    assert answer is not None
    assert answer.encode("utf-8", "surrogateescape") == payload


# --- query terms ------------------------------------------------------------------------------


def test_query_terms() -> None:
    assert query_terms(None) == ()
    assert query_terms("   ") == ()
    assert query_terms("Timeout  DB timeout") == ("timeout", "db")
    assert query_terms('"connection reset" host-7') == ("connection reset", "host-7")
    assert query_terms('"unbalanced phrase') == ("unbalanced", "phrase")
    assert query_terms('level:"error"') == ('level:"error',)


# --- JSON arrays ------------------------------------------------------------------------------


def test_array_query_returns_matching_items_and_a_count() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    answer = retrieve(store, key, "ERROR")
    assert answer is not None
    body, count = _split(answer)
    assert [item["id"] for item in orjson.loads(body)] == ERROR_IDS
    assert orjson.loads(body) == [r for r in RECORDS if r["level"] == "error"]
    n = len(ERROR_IDS)
    assert count == f"[headroom: {n} of 400 items match 'ERROR'; all shown. {400 - n} others do not match.]"


def test_array_query_needs_every_term_and_understands_field_value() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    answer = retrieve(store, key, "level:error u7")
    assert answer is not None
    body, _ = _split(answer)
    expected = [r for r in RECORDS if r["level"] == "error" and r["user"] == "u7"]
    assert expected and orjson.loads(body) == expected
    answer = retrieve(store, key, 'level:"error" "user":"u7"')
    assert answer is not None
    assert orjson.loads(_split(answer)[0]) == expected
    answer = retrieve(store, key, '"request 12 served"')
    assert answer is not None
    assert orjson.loads(_split(answer)[0]) == [RECORDS[12]]


def test_array_query_with_no_match_says_what_to_do() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    answer = retrieve(store, key, "nonexistent-term")
    assert answer is not None
    body, count = _split(answer)
    assert body == "[]"
    assert "none of the 400 items match 'nonexistent-term'" in count
    assert f"headroom_retrieve(key='{key}')" in count


def _follow_pages(store: MemoryStore, key: str, query: str | None, limit: int) -> tuple[list[str], list[str]]:
    """Read every page by following the call each count line gives; (bodies, count lines)."""
    bodies, counts = [], []
    offset = 0
    while True:
        answer = retrieve(store, key, query, offset=offset, limit=limit)
        assert answer is not None
        body, count = _split(answer)
        bodies.append(body)
        counts.append(count)
        nxt = re.search(r"Next page: headroom_retrieve\((.*)\)\]$", count)
        if nxt is None:
            return bodies, counts
        args = nxt.group(1)
        assert f"key='{key}'" in args and f"limit={limit}" in args
        assert (f"query={query!r}" in args) == (query is not None)
        offset = int(re.search(r"offset=(\d+)", args).group(1))  # type: ignore[union-attr]


def test_array_paging_follows_the_next_page_calls_to_every_match() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    bodies, counts = _follow_pages(store, key, "info", limit=100)
    items = [item for body in bodies for item in orjson.loads(body)]
    assert items == [r for r in RECORDS if r["level"] == "info"]
    assert len(bodies) == 4  # 392 matches, 100 a page
    assert "showing matches 1-100" in counts[0]
    assert counts[-1].endswith("showing matches 301-392 (last page). 8 others do not match.]")


def test_paging_without_query_pages_through_everything() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    bodies, counts = _follow_pages(store, key, None, limit=150)
    assert [item for body in bodies for item in orjson.loads(body)] == RECORDS
    assert counts[0].startswith("[headroom: 400 items in all; showing items 1-150.")


def test_offset_past_the_end_points_back_to_the_first_page() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    answer = retrieve(store, key, "error", offset=1000, limit=5)
    assert answer is not None
    body, count = _split(answer)
    assert body == "[]"
    assert "offset 1,000 is past the last one" in count
    assert f"First page: headroom_retrieve(key='{key}', query='error', limit=5)" in count


@pytest.mark.parametrize("kwargs", [{"offset": -1}, {"offset": True}, {"limit": 0}, {"limit": 2.0}])
def test_bad_paging_arguments_raise(kwargs: dict[str, object]) -> None:
    store, key = _stored(b"abc")
    with pytest.raises(ValueError):
        retrieve(store, key, "a", **kwargs)  # type: ignore[arg-type]


def test_big_integers_keep_every_digit() -> None:
    payload = b'[{"id": 123456789012345678901234567890, "ok": 1.5}, {"id": 2}]'
    store, key = _stored(payload)
    answer = retrieve(store, key, "1234567890123456789012")
    assert answer is not None
    assert _split(answer)[0] == '[{"id":123456789012345678901234567890,"ok":1.5}]'


# --- JSON objects -----------------------------------------------------------------------------

OBJECT = {
    "meta": {"total": 3, "cursor": "abc"},
    "data": {
        "items": [
            {"name": "alpha", "tags": ["red", "timeout"]},
            {"name": "beta", "status": 503, "error": "upstream timeout"},
            {"name": "gamma", "status": 200},
        ],
        "odd key": "timeout budget",
    },
}


def test_object_query_returns_records_with_their_paths() -> None:
    store, key = _stored(orjson.dumps(OBJECT))
    answer = retrieve(store, key, "timeout")
    assert answer is not None
    body, count = _split(answer)
    found = orjson.loads(body)
    assert list(found) == ["$.data.items[0]", "$.data.items[1]", '$.data["odd key"]']
    assert found["$.data.items[1]"] == OBJECT["data"]["items"][1]  # type: ignore[index]
    assert count == "[headroom: 3 of 6 records match 'timeout'; all shown. 3 others do not match.]"


def test_object_scalar_fields_are_records_too() -> None:
    store, key = _stored(orjson.dumps(OBJECT))
    answer = retrieve(store, key, "cursor")
    assert answer is not None
    assert orjson.loads(_split(answer)[0]) == {"$.meta.cursor": "abc"}
    answer = retrieve(store, key, "status:503")
    assert answer is not None
    assert list(orjson.loads(_split(answer)[0])) == ["$.data.items[1]"]


def test_object_paging_in_document_order() -> None:
    store, key = _stored(orjson.dumps(OBJECT))
    bodies, _ = _follow_pages(store, key, None, limit=4)
    paths = [p for body in bodies for p in orjson.loads(body)]
    assert paths == [
        "$.meta.total",
        "$.meta.cursor",
        "$.data.items[0]",
        "$.data.items[1]",
        "$.data.items[2]",
        '$.data["odd key"]',
    ]


# --- text -------------------------------------------------------------------------------------

LOG = "".join(
    f"2024-05-01T10:{i // 60:02d}:{i % 60:02d} {'ERROR db timeout' if i % 40 == 3 else 'INFO ok'} req={i}\r\n"
    for i in range(200)
)


def test_text_query_returns_numbered_lines_and_a_count() -> None:
    store, key = _stored(LOG.encode())
    answer = retrieve(store, key, "error TIMEOUT")
    assert answer is not None
    body, count = _split(answer)
    lines = body.split("\n")
    assert [int(line.split(":", 1)[0]) for line in lines] == [i + 1 for i in range(200) if i % 40 == 3]
    assert lines[0] == "4: 2024-05-01T10:00:03 ERROR db timeout req=3"
    assert count == "[headroom: 5 of 200 lines match 'error TIMEOUT'; all shown. 195 others do not match.]"


def test_text_paging_and_phrases() -> None:
    store, key = _stored(LOG.encode())
    bodies, counts = _follow_pages(store, key, '"info ok"', limit=60)
    numbers = [int(line.split(":", 1)[0]) for body in bodies for line in body.split("\n")]
    assert numbers == [i + 1 for i in range(200) if i % 40 != 3]
    assert counts[-1].endswith("(last page). 5 others do not match.]")


def test_ndjson_and_invalid_json_are_matched_by_line() -> None:
    payload = b'{"a": 1}\n{"a": 2, "hit": true}\n[unclosed\n'
    store, key = _stored(payload)
    answer = retrieve(store, key, "hit")
    assert answer is not None
    assert _split(answer)[0] == '2: {"a": 2, "hit": true}'


# --- odd payloads never raise -------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe\x00\x01binary\nmore\x80bytes",
        "lone \ud800 surrogate\nsecond".encode("utf-8", "surrogatepass"),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"[NaN, Infinity, -Infinity, 1]",
        b'["\\ud800 escaped lone surrogate", "x"]',
        b"",
        b"\n\n\n",
    ],
)
def test_odd_payloads_answer_without_raising(payload: bytes) -> None:
    store, key = _stored(payload)
    for query in ("x", "", None, "1 x"):
        pages: list[dict[str, int]] = [{}, {"limit": 2}, {"offset": 1, "limit": 1}]
        for kwargs in pages:
            answer = retrieve(store, key, query, **kwargs)
            assert isinstance(answer, str)


def test_deep_nesting_parsed_by_orjson_but_too_deep_to_write_back() -> None:
    payload = b"[" * 600 + b'"needle"' + b"]" * 600
    store, key = _stored(payload)
    answer = retrieve(store, key, "needle")
    assert answer is not None
    body, count = _split(answer)
    assert orjson.loads(payload) == orjson.loads(body)
    assert "1 of 1 items match 'needle'" in count


@settings(max_examples=150, deadline=None)
@given(payload=st.binary(max_size=300), query=st.one_of(st.none(), st.text(max_size=12)))
def test_any_bytes_any_query_never_raise_and_are_deterministic(payload: bytes, query: str | None) -> None:
    store, key = _stored(payload)
    first = retrieve(store, key, query, limit=3)
    assert isinstance(first, str)
    assert first == retrieve(store, key, query, limit=3)


@settings(max_examples=100, deadline=None)
@given(
    items=st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 20)), max_size=30),
    term=st.integers(0, 20),
)
def test_array_matches_are_exactly_the_items_containing_the_term(
    items: list[dict[str, int]], term: int
) -> None:
    store, key = _stored(orjson.dumps(items))
    answer = retrieve(store, key, str(term))
    assert answer is not None
    body, _ = _split(answer)
    assert orjson.loads(body) == [i for i in items if str(term) in orjson.dumps(i).decode()]


# --- answers and markers ----------------------------------------------------------------------


def test_answers_with_a_next_page_name_the_key_like_a_marker() -> None:
    store, key = _stored(orjson.dumps(RECORDS))
    answer = retrieve(store, key, "info", limit=10)
    assert answer is not None
    assert carries_marker(answer)


# --- the tool definition ----------------------------------------------------------------------


def test_openai_tool_definition() -> None:
    tool = retrieval_tool("openai")
    assert tool["type"] == "function"
    fn = tool["function"]
    assert fn["name"] == RETRIEVE_TOOL_NAME == "headroom_retrieve"
    params = fn["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["key"]
    assert params["properties"]["key"]["type"] == "string"
    assert params["properties"]["query"]["type"] == "string"
    assert re.fullmatch(params["properties"]["key"]["pattern"], make_key(b"k"))
    assert not re.fullmatch(params["properties"]["key"]["pattern"], "XYZ")
    assert "[headroom:" in fn["description"] and "omitted" in fn["description"]
    assert "query" in fn["description"]


def test_anthropic_tool_definition() -> None:
    tool = retrieval_tool("anthropic")
    assert set(tool) == {"name", "description", "input_schema"}
    assert tool["name"] == RETRIEVE_TOOL_NAME
    assert tool["input_schema"] == retrieval_tool("openai")["function"]["parameters"]
    assert tool["description"] == retrieval_tool()["function"]["description"]


def test_tool_definition_is_fresh_each_call() -> None:
    first = retrieval_tool("openai")
    first["function"]["parameters"]["properties"]["key"]["type"] = "integer"
    first["function"]["name"] = "changed"
    second = retrieval_tool("openai")
    assert second["function"]["name"] == RETRIEVE_TOOL_NAME
    assert second["function"]["parameters"]["properties"]["key"]["type"] == "string"
    assert orjson.dumps(retrieval_tool("anthropic")) == orjson.dumps(retrieval_tool("anthropic"))


def test_unknown_tool_format_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="'openai', 'anthropic'"):
        retrieval_tool("gemini")
