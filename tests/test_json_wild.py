"""JSON engine mechanisms found on real API shapes (``fixtures/generate_json_wild.py``): objects of
records keyed by name, name fields that are not error signals, readable errors and titles under a
short cut, long-tail rare labels, optional nested objects weighed once."""

from __future__ import annotations

import orjson

import headroom_middleware as hm
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.engines import Context
from headroom_middleware.engines.json import compress_json, expand
from headroom_middleware.engines.json._lossless import spans_of
from headroom_middleware.engines.json._maps import is_record_map, record_maps
from headroom_middleware.engines.json._nodes import BAND, build_nodes, score_nodes
from headroom_middleware.engines.json._render import RenderConfig, render_document
from headroom_middleware.engines.json._select import _top_nodes
from headroom_middleware.engines.json._stats import ERROR, RARE, score


def _ctx(max_tokens: int = 800) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=estimate_tokens, query=None, lossy=True)


def _advisories(n: int = 150, critical: int = 97) -> dict[str, object]:
    """``npm audit --json``: ``vulnerabilities`` keyed by package name, one critical."""
    vulns: dict[str, object] = {}
    for i in range(n):
        name = f"pkg-{i:03d}"
        vulns[name] = {
            "name": name,
            "severity": "critical" if i == critical else ("low" if i % 3 else "moderate"),
            "isDirect": False,
            "via": [f"pkg-{(i * 7) % n:03d}", f"pkg-{(i * 11) % n:03d}"],
            "range": "<=2.1.1",
            "nodes": [f"node_modules/{name}"],
            "fixAvailable": True,
        }
    return {"auditReportVersion": 2, "vulnerabilities": vulns, "metadata": {"total": n}}


def test_record_map_detection() -> None:
    doc = _advisories(20)
    assert is_record_map(doc["vulnerabilities"])
    assert [p for p, _ in record_maps(doc)] == [("vulnerabilities",)]
    # Few entries, scalar values, or records of different kinds: a plain object.
    assert not is_record_map({f"k{i}": {"a": i} for i in range(5)})
    assert not is_record_map({f"k{i}": i for i in range(20)})
    assert not is_record_map({f"k{i}": {f"field{i}": i} for i in range(20)})


def test_object_of_records_is_crushed_with_keys_and_stored_exactly() -> None:
    doc = _advisories()
    text = orjson.dumps(doc).decode()
    store = hm.MemoryStore()
    r = hm.crush(text, store=store, max_tokens=800)
    assert r.strategy.startswith("json:select"), r.strategy
    out = orjson.loads(r.text)  # still valid JSON
    vulns = out["vulnerabilities"]
    assert isinstance(vulns, dict) and len(vulns) < 150
    assert vulns["pkg-097"]["severity"] == "critical"  # the entry that matters, under its own key
    assert out["metadata"] == {"total": 150}  # scalars around it stay
    assert any(k.startswith("…") and "entries omitted" in v for k, v in vulns.items())
    assert len(r.keys) == 1
    assert orjson.loads(hm.retrieve(store, r.keys[0])) == doc["vulnerabilities"]
    # Within budget the object stays lossless.
    lossless = hm.crush(text, store=hm.MemoryStore(), max_tokens=10**6)
    assert expand(lossless.text) == doc


def test_object_of_records_without_any_array_is_crushed() -> None:
    doc = {f"id-{i}": {"id": i, "state": "ok" if i != 33 else "failed", "note": "x" * 60} for i in range(120)}
    r = compress_json(orjson.dumps(doc).decode(), _ctx())
    assert r is not None and r.strategy.startswith("json:select"), r and r.strategy
    out = orjson.loads(r.text)
    assert out["id-33"]["state"] == "failed"


def test_name_fields_are_not_error_signals() -> None:
    items = [
        {"metric_name": "Errors" if i % 9 == 0 else "Duration", "EventName": "ListRoles", "state": "ok"}
        for i in range(60)
    ]
    items[40]["state"] = "failed"
    tier, reasons, *_ = score(items, [orjson.dumps(x) for x in items], [])
    assert tier[40] == 1 and reasons[40] & ERROR
    assert not any(reasons[i] & ERROR for i in range(60) if i != 40)


def test_long_tail_singleton_is_rare_but_a_name_column_is_not() -> None:
    common = ["bug", "enhancement", "docs", "question", "triage", "cli", "parser", "deps", "infra", "ui"]
    labels: list[object] = [{"name": common[i % 10], "id": i} for i in range(80)]
    labels[37] = {"name": "regression", "id": 37}
    _, reasons, *_ = score(labels, [orjson.dumps(x) for x in labels], [])
    assert reasons[37] & RARE
    assert not any(reasons[i] & RARE for i in range(80) if i != 37)
    # Many singletons: names, none rare.
    people: list[object] = [{"login": f"user{i % 10 if i < 60 else i}", "id": i} for i in range(80)]
    _, reasons, *_ = score(people, [orjson.dumps(x) for x in people], [])
    assert not any(r & RARE for r in reasons)


def test_optional_object_weighed_once_not_per_leaf() -> None:
    items: list[object] = [{"id": i, "state": "ok"} for i in range(100)]
    for i in (10, 50, 90):  # an optional object with many fields
        items[i] = {"id": i, "state": "ok", "assignee": {f"f{k}": f"v{k}" for k in range(15)}}
    items[70] = {"id": 70, "state": "degraded"}
    _, _, _, _, weight, _ = score(items, [orjson.dumps(x) for x in items], [])
    assert weight[10] <= 2.0  # not 15: one rare field
    assert weight[70] >= 1.0


def _issues(n: int = 60, special: int = 41) -> list[object]:
    out: list[object] = []
    for i in range(n):
        title = f"Improve handling of option number {i} in the config loader module of the command line tool"
        state = "open"
        if i == special:
            title = "Crash in the parser when reading a config file with an empty hooks table under load"
            state = "failed"
        body = f"Steps to reproduce problem {i} in detail. " * 40
        out.append({"number": i, "title": title, "state": state, "body": body})
    return out


def test_signal_items_and_titles_stay_readable_under_a_short_cut() -> None:
    value = _issues()
    top = _top_nodes(value, spans_of(value))
    top[0].title = ("title",)
    score_nodes(build_nodes(top), [])
    rendered = render_document(value, top, RenderConfig(BAND[2] - 0.5, 32, True), False)
    assert rendered is not None
    by_number = {x["number"]: x for x in orjson.loads(rendered[0]) if isinstance(x, dict)}
    special, first = by_number[41], by_number[0]
    # The error item keeps SIGNAL_CUT characters of its body; an ordinary item is cut to 32.
    assert len(special["body"]) > 100 > 40 > len(first["body"])
    # Every kept item's title (the field naming it) stays whole; without it the title is cut too.
    assert (
        special["title"]
        == "Crash in the parser when reading a config file with an empty hooks table under load"
    )
    assert first["title"].endswith("of the command line tool")
    top[0].title = None
    top[0].memo.clear()
    again = render_document(value, top, RenderConfig(BAND[2] - 0.5, 32, True), False)
    assert again is not None
    assert not orjson.loads(again[0])[0]["title"].endswith("of the command line tool")


def _trail(n: int = 80, denied: int = 53) -> list[object]:
    """``aws cloudtrail lookup-events``: the event itself is a JSON string inside each record."""
    out: list[object] = []
    for i in range(n):
        inner: dict[str, object] = {
            "eventName": "GetObject",
            "awsRegion": "eu-west-1",
            "requestID": f"R{i:05d}",
        }
        if i == denied:
            inner["errorCode"] = "AccessDenied"
            inner["errorMessage"] = (
                "User: arn:aws:sts::1:assumed-role/x is not authorized to perform this. " * 3
            )
        inner["userAgent"] = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 " * 2
        out.append(
            {
                "EventId": f"e-{i:04d}",
                "EventName": "GetObject",
                "CloudTrailEvent": orjson.dumps(inner).decode(),
            }
        )
    return out


def test_embedded_json_string_fields_are_scored_and_cut_inside() -> None:
    items = _trail()
    tier, reasons, *_ = score(items, [orjson.dumps(x) for x in items], [])
    assert tier[53] == 1 and reasons[53] & ERROR  # errorCode inside the string, seen as a field
    assert not any(reasons[i] & ERROR for i in range(80) if i != 53)
    value: object = {"Events": items}
    top = _top_nodes(value, spans_of(value))
    score_nodes(build_nodes(top), [])
    rendered = render_document(value, top, RenderConfig(BAND[2] - 0.5, 32, True), False)
    assert rendered is not None
    kept = [x for x in orjson.loads(rendered[0])["Events"] if isinstance(x, dict)]
    event = next(x for x in kept if x["EventId"] == "e-0053")
    inner = orjson.loads(event["CloudTrailEvent"])  # still a JSON object, its long values cut
    assert inner["errorCode"] == "AccessDenied"
    assert inner["errorMessage"].endswith("…") and len(inner["errorMessage"]) < 120
    first = next(x for x in kept if x["EventId"] == "e-0000")
    assert first["CloudTrailEvent"].endswith("…") and len(first["CloudTrailEvent"]) <= 100  # the head only


def test_error_named_fields_signal_when_they_hold_a_value() -> None:
    items: list[object] = [{"id": i, "error": None, "errorCode": ""} for i in range(50)]
    items[12] = {"id": 12, "error": None, "errorCode": "ThrottlingException"}
    items[30] = {"id": 30, "error": "upstream reset", "errorCode": ""}
    tier, reasons, *_ = score(items, [orjson.dumps(x) for x in items], [])
    assert {i for i in range(50) if reasons[i] & ERROR} == {12, 30}
    assert tier[12] == tier[30] == 1


def test_templated_url_fields_are_left_out_of_later_items() -> None:
    items: list[object] = []
    for i in range(40):
        login = f"user-{(i * 7) % 13}"
        items.append(
            {
                "url": f"https://api.example.com/issues/{4800 + i}",
                "comments_url": f"https://api.example.com/issues/{4800 + i}/comments",
                "html_url": f"https://example.com/{'pull' if i % 2 else 'issues'}/{4800 + i}",
                "number": 4800 + i,
                "user": {"login": login, "followers_url": f"https://api.example.com/users/{login}/followers"},
                "state": "open",
            }
        )
    _, _, _, elide, _, _ = score(items, [orjson.dumps(x) for x in items], [])
    assert {"url", "comments_url", "user.followers_url"} <= set(elide)
    assert "html_url" not in elide  # two templates: it says something (pull or issue)
    assert "number" not in elide and "user.login" not in elide
