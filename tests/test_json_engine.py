"""The JSON engine: lossless choice, lossy selection, markers, keys, budget, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

import headroom_middleware as hm
from headroom_middleware._markers import marker_keys
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.engines import Context
from headroom_middleware.engines.json import compress_json

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fixtures" / "corpus"


def _ctx(max_tokens: int = 800, query: str | None = None, lossy: bool = True) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=estimate_tokens, query=query, lossy=lossy)


def _records(n: int = 200) -> list[dict[str, object]]:
    """Ordinary records: one host per 5, a latency that wanders in a narrow band, state ok."""
    return [
        {
            "id": f"req-{i:04d}",
            "host": f"web-{i % 5}",
            "state": "ok",
            "latency_ms": 100 + (i * 7) % 13,
            "path": f"/api/v1/items/{i}",
            "note": "served from cache, nothing to report here at all",
        }
        for i in range(n)
    ]


def _crush(value: object, ctx: Context | None = None) -> tuple[object, hm.engines.Compressed]:
    r = compress_json(orjson.dumps(value).decode(), ctx or _ctx())
    assert r is not None
    assert r.is_json and r.strategy.startswith("json:select"), r.strategy
    return orjson.loads(r.text), r


def _kept_ids(out: object, path: tuple[str, ...] = ()) -> list[str]:
    for key in path:
        assert isinstance(out, dict)
        out = out[key]
    assert isinstance(out, list)
    return [x["id"] for x in out if isinstance(x, dict)]


def _text_items(out: object) -> list[str]:
    assert isinstance(out, list)
    return [x for x in out if isinstance(x, str)]


# --- lossless first -----------------------------------------------------------------------------


def test_within_budget_lossless_and_no_originals() -> None:
    rows = _records(30)
    r = compress_json(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode(), _ctx(max_tokens=100_000))
    assert r is not None and not r.originals and r.strategy in ("json:minify", "json:table")
    assert hm.expand(r.text) == rows


def test_over_budget_without_store_stays_lossless() -> None:
    rows = _records(300)
    r = compress_json(orjson.dumps(rows).decode(), _ctx(max_tokens=200, lossy=False))
    assert r is not None and not r.originals
    assert hm.expand(r.text) == rows


# --- selection ----------------------------------------------------------------------------------


def test_first_last_errors_rare_and_query_kept_in_order() -> None:
    rows = _records(200)
    rows[37]["state"] = "error"
    rows[37]["note"] = "upstream connection refused"
    rows[120]["host"] = "db-primary"  # a host seen once among web-0..web-4
    rows[150]["path"] = "/api/v1/billing/invoice"
    out, _ = _crush(rows, _ctx(query="billing invoice"))
    ids = _kept_ids(out)
    for must in ("req-0000", "req-0037", "req-0120", "req-0150", "req-0199"):
        assert must in ids
    assert ids == sorted(ids)  # original order
    assert len(ids) < 40


def test_http_status_and_level_signals() -> None:
    rows = [{"id": f"e{i:03d}", "status": 200, "level": "info", "msg": "fine"} for i in range(300)]
    rows[10]["status"] = 503
    rows[200]["level"] = "warning"
    ids = _kept_ids(_crush(rows, _ctx(400))[0])
    assert "e010" in ids and "e200" in ids


def test_numeric_outlier_kept() -> None:
    rows = _records(200)
    rows[88]["latency_ms"] = 9000
    ids = _kept_ids(_crush(rows)[0])
    assert "req-0088" in ids


def test_change_point_in_series_kept() -> None:
    series = [{"id": f"t{i:03d}", "cpu": 20.0 + (i % 3)} for i in range(60)]
    series += [{"id": f"t{i:03d}", "cpu": 85.0 + (i % 3)} for i in range(60, 120)]
    ids = _kept_ids(_crush(series, _ctx(300))[0])
    assert "t059" in ids and "t060" in ids


def test_scalar_array_extremes_change_point_and_summary() -> None:
    xs = [10 + (i % 4) for i in range(300)] + [60 + (i % 4) for i in range(300)]
    xs[400] = 5000
    out, _ = _crush({"samples": xs}, _ctx(150))
    assert isinstance(out, dict)
    kept = out["samples"]
    assert 5000 in kept  # max / outlier
    marker = _text_items(kept)[-1]
    assert "of 600 items omitted" in marker and "min/max" in marker and "mean 44.73" in marker
    assert min(xs) in kept
    nums = [x for x in kept if not isinstance(x, str)]
    assert any(x < 20 for x in nums) and any(50 < x < 100 for x in nums)  # both sides of the shift


def test_duplicates_collapsed_with_count() -> None:
    # Arrays, not records, so that the lossless table (which collapses runs itself) does not apply.
    same = ["same", 1, "x" * 40]
    rows = [same] * 100 + [["other", 2, "y" * 40]] + [same] * 99
    out, _ = _crush(rows, _ctx(200))
    texts = _text_items(out)
    assert "[… 99 items identical to the previous one omitted …]" in texts
    assert any("items identical to the next one" in t for t in texts)
    assert ["other", 2, "y" * 40] in out  # type: ignore[operator]


def test_nested_big_arrays_crushed_in_place_and_scalars_stay() -> None:
    doc = {
        "status": "success",
        "cluster": "prod-eu",
        "groups": [
            {
                "name": f"group-{g}",
                "rules": [
                    {"id": f"r{g}-{k}", "state": "inactive", "query": "up == 0 " * 8, "alerts": []}
                    for k in range(12)
                ],
            }
            for g in range(20)
        ],
    }
    hot = doc["groups"][13]["rules"][7]  # type: ignore[index]
    hot["state"] = "firing"
    hot["alerts"] = [{"labels": {"pod": "crashpod-abc", "severity": "critical"}, "state": "firing"}]
    out, r = _crush(doc, _ctx(600))
    assert isinstance(out, dict) and out["status"] == "success" and out["cluster"] == "prod-eu"
    assert "crashpod-abc" in r.text and "group-13" in r.text
    assert len(r.originals) >= 2  # the groups array and at least one nested rules array


# --- markers, keys, payloads, budget -------------------------------------------------------------


def test_markers_are_json_values_naming_stored_keys_and_payloads_hold_every_item() -> None:
    rows = _records(300)
    out, r = _crush({"meta": {"page": 1}, "items": rows})
    assert isinstance(out, dict)
    marker = _text_items(out["items"])[-1]
    assert marker.startswith("[headroom: ") and "of 300 items omitted" in marker
    keys = marker_keys(r.text)
    assert keys == [k for k, _ in r.originals]
    payload = dict(r.originals)[keys[0]]
    assert payload == orjson.dumps(rows)
    assert orjson.loads(payload) == rows  # every dropped item is in the stored payload


def test_budget_is_a_hard_cap() -> None:
    rows = _records(500)
    for budget in (120, 400, 1500):
        r = compress_json(orjson.dumps(rows).decode(), _ctx(budget))
        if r is not None and r.originals:
            assert estimate_tokens(r.text) <= budget


def test_long_strings_cut_when_that_makes_room() -> None:
    rows = [{"id": f"x{i:03d}", "blob": "lorem ipsum " * 200} for i in range(50)]
    rows[25]["blob"] = "FATAL: disk full " + "lorem " * 300
    out, r = _crush(rows, _ctx(500))
    assert "x025" in _kept_ids(out) and "FATAL: disk full" in r.text
    assert '…"' in r.text and "lorem ipsum " * 200 not in r.text and estimate_tokens(r.text) <= 500


def test_each_item_serialized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _records(300)
    doc = {"meta": {"n": 300}, "items": rows}
    text = orjson.dumps(doc).decode()
    calls: Counter[int] = Counter()
    real = orjson.dumps

    def counting(obj: object, *args: object, **kwargs: object) -> bytes:
        calls[id(obj)] += 1
        return real(obj, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(orjson, "dumps", counting)
    value = orjson.loads(text)
    from headroom_middleware.engines.json import _lossless, _select

    spans = _lossless.spans_of(value)
    _lossless.minified(value, spans)
    result = _select.select(value, spans, _ctx(), 10_000)
    assert result is not None and result.originals
    items = value["items"]
    assert calls[id(items)] == 0  # the array is never serialized whole
    assert all(calls[id(x)] == 1 for x in items)  # each item exactly once
    assert dict(result.originals)[hm.make_key(real(rows))] == real(rows)


# --- determinism --------------------------------------------------------------------------------

_SCRIPT = """
import sys, orjson
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.engines import Context
from headroom_middleware.engines.json import compress_json
text = open(sys.argv[1]).read()
r = compress_json(text, Context(max_tokens=1500, count_tokens=estimate_tokens, query="running"))
sys.stdout.write(r.text + "\\n" + ",".join(r.keys))
"""


def test_same_bytes_across_processes_with_different_hash_seeds() -> None:
    path = str(CORPUS / "prometheus_rules.json")
    outs = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        res = subprocess.run([sys.executable, "-c", _SCRIPT, path], env=env, capture_output=True, check=True)
        outs.append(res.stdout)
    assert outs[0] == outs[1] == outs[2] and b"headroom_retrieve" in outs[0]


def test_same_bytes_twice_in_process() -> None:
    text = (CORPUS / "github_pr_commits.json").read_text()
    a, b = compress_json(text, _ctx(2000)), compress_json(text, _ctx(2000))
    assert a is not None and b is not None and a.text == b.text and a.originals == b.originals


# --- NDJSON -------------------------------------------------------------------------------------


def test_ndjson_lossless_and_lossy() -> None:
    rows = _records(200)
    rows[77]["state"] = "failed"
    text = "\n".join(orjson.dumps(r).decode() for r in rows) + "\n"
    small = compress_json(text, _ctx(max_tokens=10**6), ndjson=True)
    assert small is not None and not small.is_json and hm.expand(small.text) == rows
    r = compress_json(text, _ctx(500), ndjson=True)
    assert r is not None and r.originals and not r.is_json
    lines = r.text.split("\n")
    values = [orjson.loads(line) for line in lines]  # every line is a JSON value
    assert any(isinstance(v, dict) and v["id"] == "req-0077" for v in values)
    assert orjson.loads(r.originals[0][1]) == rows
    assert compress_json(text + "{broken\n", _ctx(), ndjson=True) is None


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than orjson parses
        "[" * 600 + "]" * 600,  # parses, deeper than orjson serializes
        '{"a": NaN}',
        "[1, Infinity]",
        "[18446744073709551616]",  # beyond 64 bits
        '["\\ud800"]',  # lone surrogate escape
        '{"a": 1',
    ],
)
def test_bad_input_returns_none(text: str) -> None:
    assert compress_json(text, _ctx()) is None


def test_deep_but_valid_nesting_inside_records_does_not_recurse() -> None:
    deep: object = "bottom"
    for _ in range(200):
        deep = {"d": deep}
    rows = [{"id": f"r{i:03d}", "deep": deep, "pad": "y" * 50} for i in range(100)]
    r = compress_json(orjson.dumps(rows).decode(), _ctx(4000))
    assert r is not None and r.originals  # no RecursionError: crushed like any other array
    orjson.loads(r.text)


# --- end to end ---------------------------------------------------------------------------------


def test_crush_end_to_end_with_store_and_retrieve() -> None:
    store = hm.MemoryStore()
    text = (CORPUS / "aws_ec2_describe_instances.json").read_text()
    res = hm.crush(text, store=store)
    assert res.strategy.startswith("json:select") and res.keys and res.is_json
    assert res.tokens_after < res.tokens_before / 2
    original = hm.retrieve(store, res.keys[0])
    assert original is not None
    assert orjson.loads(original) == orjson.loads(text)["data"]["Reservations"]


@pytest.mark.parametrize(
    "name", ["aws_ec2_describe_instances.json", "github_pr_commits.json", "prometheus_rules.json"]
)
def test_corpus_output_small_valid_and_recoverable(name: str) -> None:
    text = (CORPUS / name).read_text()
    r = compress_json(text, _ctx(4000))
    assert r is not None and r.originals and r.is_json
    orjson.loads(r.text)
    assert estimate_tokens(r.text) <= 4000
    assert estimate_tokens(r.text) * 3 < estimate_tokens(text)
    needles = {d["file"]: d["needles"] for d in orjson.loads((CORPUS / "needles.json").read_bytes())}[name]
    everything = r.text + "".join(p.decode() for _, p in r.originals)
    assert all(n in everything for n in needles)


# --- memory -------------------------------------------------------------------------------------


def test_item_bytes_hold_no_oversized_buffers() -> None:
    """Kept item bytes cost about their length: orjson's output buffers (kilobytes per call) must not
    be kept once per item of a big array (that made a 20 MB array cost 17x its size)."""
    import tracemalloc

    from headroom_middleware.engines.json import _lossless

    value = orjson.loads(orjson.dumps(_records(3000)))
    tracemalloc.start()
    try:
        spans = _lossless.spans_of(value)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = sum(map(len, spans[0].item_bytes))
    assert held < 2 * size, (held, size)


def test_big_integer_found_across_scan_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digit-run scan goes chunk by chunk; a 20-digit integer split by a chunk edge still counts."""
    from headroom_middleware.engines.json import _parse

    monkeypatch.setattr(_parse, "SCAN_CHUNK", 64)
    for pad in range(50, 70):
        text = '{"pad":"' + "x" * pad + '","n":123456789012345678901}'
        assert _parse.parse(text) is None, pad  # beyond 64 bits: refused, whatever the edge
        ok = '{"pad":"' + "x" * pad + '","n":1234567890123456789}'
        assert _parse.parse(ok) == orjson.loads(ok)


def test_big_array_overflowing_with_errors_shows_every_kind_spread_and_outliers() -> None:
    """More errors than the budget holds: every kind of error (a rare 404 among many 5xx), spread
    over the whole array, and the slow outliers stay visible; not just the first errors in order."""
    rows = []
    for i in range(20_000):
        status = 500 if i % 97 == 5 else (404 if i % 2503 == 7 else 200)
        row: dict[str, object] = {
            "id": f"req-{i:06d}",
            "service": f"svc-{i % 6}",
            "status": status,
            "latency_ms": 20 + (i * 7919) % 23 + (5000 if i % 4999 == 11 else 0),
        }
        if status >= 500:
            row["error"] = "upstream connect error or disconnect/reset before headers"
        rows.append(row)
    _out, r = _crush(rows, _ctx(4000))
    kept = [x for x in orjson.loads(r.text) if isinstance(x, dict)]
    errors = [int(str(x["id"])[4:]) for x in kept if x["status"] == 500]
    assert {x["status"] for x in kept} >= {200, 404, 500}
    assert max(errors) > 15_000 and min(errors) < 5_000  # spread, not the first ones in order
    assert sum(1 for x in kept if int(str(x["latency_ms"])) > 1000) >= 3  # outliers kept too
    assert estimate_tokens(r.text) <= 4000
