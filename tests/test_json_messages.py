"""Message fields of JSON records are compared by template: rare messages and duration outliers survive."""

from __future__ import annotations

import random

import orjson

import headroom_middleware as hm
from headroom_middleware.engines.json._leaves import gather_columns
from headroom_middleware.engines.json._messages import note_messages


def search_hits(n: int = 800, seed: int = 3) -> list[dict[str, object]]:
    """Elasticsearch-style hits: every message different, all at INFO, a few templates."""
    rng = random.Random(seed)
    hits: list[dict[str, object]] = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.6:
            msg = f"GET /api/items/{rng.randrange(10**5)} 200 {rng.randrange(3, 80)}ms"
        elif kind < 0.9:
            msg = f"POST /api/orders/{rng.randrange(10**5)} 201 {rng.randrange(20, 140)}ms"
        else:
            msg = f"cache refresh for tenant t{rng.randrange(900)} took {rng.randrange(1, 9)}s"
        hits.append(
            {
                "_id": f"{rng.getrandbits(64):016x}",
                "_source": {
                    "@timestamp": f"2026-11-25T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                    "level": "INFO",
                    "host": f"ip-10-0-{rng.randrange(4)}-{rng.randrange(255)}",
                    "message": msg,
                },
            }
        )
    return hits


def crush(value: object) -> hm.CrushResult:
    return hm.crush(orjson.dumps({"took": 38, "hits": {"hits": value}}).decode(), store=hm.MemoryStore())


def test_a_duration_far_above_its_template_stays_visible() -> None:
    hits = search_hits()
    hits[555]["_source"]["message"] = "GET /api/items/42 200 9481ms"  # type: ignore[index]
    r = crush(hits)
    assert r.keys
    assert "GET /api/items/42 200 9481ms" in r.text


def test_a_rare_message_without_error_words_stays_visible() -> None:
    hits = search_hits()
    hits[402]["_source"]["message"] = "config reloaded: feature flag checkout_v2=on by ops-bot"  # type: ignore[index]
    r = crush(hits)
    assert "config reloaded: feature flag checkout_v2=on by ops-bot" in r.text


def test_without_the_odd_message_it_is_not_invented() -> None:
    r = crush(search_hits())
    assert "9481ms" not in r.text and "config reloaded" not in r.text


def _notes(values: list[str], limit: int) -> dict[int, list[tuple[float, int]]]:
    """What note_messages says of one column of ``values``: index -> [(weight, reason)]."""
    cols = gather_columns([{"m": v} for v in values])
    said: dict[int, list[tuple[float, int]]] = {}
    note_messages(
        cols,
        {"m": len(set(values))},
        len(values),
        limit,
        lambda i, w, why: said.setdefault(i, []).append((w, why)),
        1,
        2,
    )
    return said


def test_every_template_is_seen_once_rare_ones_and_outliers_weigh_more() -> None:
    values = [f"GET /api/items/{i} 200 {10 + i % 7}ms" for i in range(200)]
    values[50] = "config reloaded by ops-bot"
    values[120] = "GET /api/items/120 200 9481ms"
    said = _notes(values, limit=14)
    assert said[0] == [(0.5, 1)]  # first of the common template
    assert said[50] == [(0.5, 1), (1.0, 1)]  # first and only of a rare template
    assert said[120] == [(1.0, 2)]  # a duration far above its template's
    assert set(said) == {0, 50, 120}


def test_prose_and_identifiers_are_not_templated() -> None:
    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "sigma", "omega", "kappa", "theta", "lambda", "zeta"]
    prose = [" ".join(rng.choice(words) for _ in range(6)) for _ in range(200)]
    ids = [f"user{i}" for i in range(200)]  # no spaces: ids, not messages
    firsts, lasts = ["ana", "ben", "eli", "jun", "kofi", "lena"], ["kim", "sato", "weber", "rossi", "zhou"]
    names = [f"{rng.choice(firsts)} {rng.choice(lasts)}" for _ in range(200)]  # as many templates as values
    for values in (prose, ids, names):
        assert _notes(values, limit=14) == {}
