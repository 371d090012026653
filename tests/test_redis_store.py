"""RedisStore against a real redis-server: the Store contract, TTL, prefixes, threads, outages, restarts.

Every test talks to an actual ``redis-server`` on 127.0.0.1 started by a fixture on a free port
(``tests/redis_server.py``). Without the binary the tests skip locally and fail in CI (``CI`` set).

What "no lost original" means across a server restart (the PRODUCT.md reliability scenario):

- Always: no exception reaches the caller, and no ``crush`` reports a key whose put failed. A put that
  fails during the outage makes ``crush`` keep a lossless form, so the model's text holds everything.
  Every key reported by a crush that *started after the kill* is retrievable once the server is back.
- With persistence (``--appendonly yes --appendfsync always``): additionally every key reported
  *before* the kill survives it: an acknowledged put was on disk before its reply. So every key any
  crush returned is retrievable after the restart.
- Without persistence: the restarted server is empty; keys reported before the kill answer None
  (like an eviction), never wrong bytes. That is the documented limit, and tested as such.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for redis_server (importlib import mode)

from redis_server import RedisServer, find_binary, free_port

if os.environ.get("CI"):
    import redis  # in CI the dev extra must provide the client: a missing one is a failure
else:
    redis = pytest.importorskip("redis", reason="the redis client is not installed (the 'redis' extra)")

import headroom_middleware as hm
from headroom_middleware._crush import plan
from headroom_middleware.ccr._redis import RedisStore

WAIT = 60.0
"""Seconds the restart scenarios may wait for their workers before failing (a hang guard only)."""


def _binary() -> str:
    binary = find_binary()
    if binary is None:
        reason = "redis-server is not on PATH (install it: apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the Redis store tests")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One non-persistent server shared by the module's tests (each test uses its own prefix)."""
    srv = RedisServer(tmp_path_factory.mktemp("redis"), binary=_binary())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A non-persistent server of the test's own, which the test may kill and restart."""
    srv = RedisServer(tmp_path / "redis", binary=_binary())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def persistent_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server with ``--appendonly yes --appendfsync always``, which the test may kill and restart."""
    srv = RedisServer(tmp_path / "redis", persistent=True, binary=_binary())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def store(server: RedisServer, request: pytest.FixtureRequest) -> Iterator[RedisStore]:
    s = RedisStore(server.url, prefix=f"test:{request.node.name}:")
    yield s
    s.close()


def _client(srv: RedisServer) -> Any:
    return redis.Redis.from_url(srv.url)


def _payload(tag: str, size: int) -> tuple[str, bytes]:
    data = (tag.encode() * (size // max(len(tag), 1) + 1))[:size]
    return hm.make_key(data), data


def records(n: int, seed: int) -> str:
    """A JSON array of API records that ``crush`` shrinks by dropping most of them (so it stores one)."""
    rng = random.Random(seed)
    return json.dumps(
        [
            {
                "id": i,
                "user": f"user{rng.randrange(50)}",
                "latency_ms": rng.randrange(5, 90),
                "status": 500 if i == n // 3 else 200,
                "path": f"/api/v1/items/{rng.randrange(10**6)}",
            }
            for i in range(n)
        ]
    )


def _store_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Redis store" in r.getMessage()]


# -- the contract ---------------------------------------------------------------------------------------


def test_redis_store_is_a_store(store: RedisStore) -> None:
    assert isinstance(store, hm.Store)


def test_round_trip_exact_bytes(store: RedisStore) -> None:
    rng = random.Random(3)
    cases = [b"", b"x", bytes(range(256)), "naïve ☃ \U0001f600".encode(), rng.randbytes(8 << 20)]
    for data in cases:
        key = hm.make_key(data)
        assert store.get(key) is None
        assert key not in store
        assert store.put(key, data) is True
        got = store.get(key)
        assert type(got) is bytes and got == data
        assert key in store
    assert store.put(hm.make_key(b"buf"), bytearray(b"buf")) is True  # type: ignore[arg-type]
    assert store.get(hm.make_key(b"buf")) == b"buf"


def test_bad_keys_and_data(store: RedisStore) -> None:
    with pytest.raises(TypeError):
        store.put("0" * 24, "text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.put(123, b"data")  # type: ignore[arg-type]
    assert store.get(123) is None  # type: ignore[arg-type]
    assert 123 not in store


def test_put_is_idempotent_and_renews_the_ttl(store: RedisStore, server: RedisServer) -> None:
    client = _client(server)
    key, data = _payload("idem ", 1000)
    assert store.put(key, data) is True
    client.pexpire(store.prefix + key, 5000)  # as if most of the lifetime had passed
    assert store.put(key, data) is True
    assert client.pttl(store.prefix + key) > 5000
    assert client.keys(store.prefix + "*") == [(store.prefix + key).encode()]
    assert store.get(key) == data
    client.close()


def test_ttl_is_set_on_the_server(server: RedisServer) -> None:
    client = _client(server)
    key, data = _payload("ttl ", 100)
    with RedisStore(server.url, prefix="ttl-default:") as default:
        assert default.put(key, data)
        assert 1_799_000 < client.pttl("ttl-default:" + key) <= 1_800_000
        assert 1799 <= client.ttl("ttl-default:" + key) <= 1800
    with RedisStore(server.url, prefix="ttl-short:", ttl_seconds=0.25) as short:
        assert short.put(key, data)
        assert 0 < client.pttl("ttl-short:" + key) <= 250
    client.close()


def test_entries_expire(server: RedisServer) -> None:
    with RedisStore(server.url, prefix="expire:", ttl_seconds=0.05) as s:
        key, data = _payload("gone ", 100)
        assert s.put(key, data)
        assert s.get(key) == data
        threading.Event().wait(0.3)
        assert s.get(key) is None
        assert key not in s


def test_prefixes_isolate_stores(server: RedisServer) -> None:
    client = _client(server)
    key, data = _payload("iso ", 300)
    with RedisStore(server.url, prefix="tenant-a:") as a, RedisStore(server.url, prefix="tenant-b:") as b:
        assert a.put(key, data)
        assert b.get(key) is None and key not in b
        assert client.get("tenant-a:" + key) == data
        assert client.exists("tenant-b:" + key) == 0
        other = b"the same key, tenant b's bytes"
        assert b.put(key, other)
        assert (a.get(key), b.get(key)) == (data, other)
    client.close()


def test_oversize_value_is_refused_without_a_round_trip(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(server)
    with RedisStore(server.url, prefix="big:", max_value_bytes=1000) as s:
        key, data = _payload("o", 1001)
        assert s.put(key, data) is False
        assert s.get(key) is None
        assert client.exists("big:" + key) == 0
        assert _store_warnings(caplog) == []  # a size refusal is a normal answer, not a backend fault
        key, data = _payload("f", 1000)
        assert s.put(key, data) is True and s.get(key) == data
    client.close()


def test_a_server_refusing_writes_is_a_refusal(server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    client = _client(server)
    client.config_set("maxmemory", "1")  # noeviction (the default policy): every write is refused with OOM
    try:
        with RedisStore(server.url, prefix="oom:") as s:
            key, data = _payload("oom ", 1000)
            assert s.put(key, data) is False
            assert s.get(key) is None
    finally:
        client.config_set("maxmemory", "0")
        client.close()
    assert any("OutOfMemoryError" in m or "OOM" in m for m in _store_warnings(caplog))


def test_many_threads_mixed_put_get(store: RedisStore) -> None:
    threads, ops = 8, 300
    written: list[dict[str, bytes]] = [{} for _ in range(threads)]
    errors: list[str] = []

    def worker(n: int) -> None:
        rng = random.Random(n)
        mine = written[n]
        keys: list[str] = []
        try:
            for i in range(ops):
                roll = rng.random()
                if roll < 0.5 or not keys:
                    key, data = _payload(f"t{n}/{i}/", rng.choice((0, 1, 50, 1000, 70_000)))
                    if not store.put(key, data):
                        errors.append(f"put refused {key}")
                    mine[key] = data
                    keys.append(key)
                elif roll < 0.8:
                    key = rng.choice(keys)
                    if store.get(key) != mine[key]:
                        errors.append(f"wrong bytes for {key}")
                else:  # another worker's key (absent or exact) or one never written
                    other = written[rng.randrange(threads)]
                    key = next(iter(other), "f" * 24) if other else "f" * 24
                    got = store.get(key)
                    if got is not None and got != other.get(key):
                        errors.append(f"wrong bytes for {key}")
        except Exception as exc:  # pragma: no cover - the failure message
            errors.append(repr(exc))

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    union = {k: v for w in written for k, v in w.items()}
    assert all(store.get(k) == v for k, v in union.items())


def test_crush_and_retrieve_through_redis(store: RedisStore) -> None:
    text = records(300, seed=11)
    result = hm.crush(text, store=store)
    assert result.keys and result.tokens_after < result.tokens_before / 5
    expected = dict(plan(text).originals)
    for key in result.keys:
        assert store.get(key) == expected[key]
        assert hm.retrieve(store, key) == expected[key].decode()
    assert json.loads(hm.retrieve(store, result.keys[0]) or "") == json.loads(text)
    found = hm.retrieve(store, result.keys[0], query="status:500")
    assert found is not None and '"status":500' in found


# -- construction -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl_seconds": 0},
        {"ttl_seconds": -1},
        {"ttl_seconds": float("nan")},
        {"ttl_seconds": float("inf")},
        {"ttl_seconds": "60"},
        {"ttl_seconds": True},
        {"socket_timeout": 0},
        {"socket_timeout": None},
        {"max_value_bytes": -1},
        {"max_value_bytes": 1.5},
        {"prefix": None},
        {"url": ""},
        {"url": "http://127.0.0.1:6379/0"},
    ],
)
def test_constructor_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RedisStore(**kwargs)


def test_a_given_client_is_used_and_left_open(server: RedisServer) -> None:
    client = _client(server)
    s = RedisStore(client=client, prefix="given:")
    key, data = _payload("given ", 64)
    assert s.put(key, data) and client.get("given:" + key) == data
    s.close()
    assert client.ping() is True and s.get(key) == data  # close() did not close the caller's client
    with pytest.raises(ValueError, match="decode"):
        RedisStore(client=redis.Redis.from_url(server.url, decode_responses=True))
    client.close()


def test_close_is_idempotent_and_the_store_reconnects(server: RedisServer) -> None:
    s = RedisStore(server.url, prefix="close:")
    key, data = _payload("c ", 64)
    assert s.put(key, data)
    s.close()
    s.close()
    assert s.get(key) == data
    s.close()
    where = f"127.0.0.1:{server.port}/0"
    assert repr(s) == f"RedisStore({where!r}, ttl_seconds=1800, prefix='close:', max_value_bytes=67108864)"
    assert "s3cret" not in repr(RedisStore("redis://:s3cret@127.0.0.1:1/0"))


# -- outages ------------------------------------------------------------------------------------------


def test_server_down_from_the_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="headroom_middleware")
    s = RedisStore(f"redis://127.0.0.1:{free_port()}/0", prefix="down:", socket_timeout=0.5)
    key, data = _payload("down ", 100)
    for _ in range(100):
        assert s.put(key, data) is False
        assert s.get(key) is None
        assert key not in s
    assert len(_store_warnings(caplog)) == 1  # rate-limited: one warning, not three hundred
    text = records(300, seed=5)
    result = hm.crush(text, store=s)
    assert result.keys == () and result.lossless
    assert hm.expand(result.text) == json.loads(text)  # the lossless form holds every record
    assert result.tokens_after < result.tokens_before
    s.close()


def test_the_same_store_reconnects_after_a_restart(fresh_server: RedisServer) -> None:
    s = RedisStore(fresh_server.url, prefix="re:")
    before_key, before = _payload("before ", 500)
    assert s.put(before_key, before)
    fresh_server.restart()  # the pooled connection is now dead, and no call has noticed yet
    first_key, first = _payload("first ", 500)
    assert s.put(first_key, first) is True  # the very first call after the restart succeeds
    assert s.get(first_key) == first
    assert s.get(before_key) is None  # not persistent: the restart emptied the server
    fresh_server.kill()
    assert s.put(*_payload("during ", 500)) is False
    assert s.get(first_key) is None
    fresh_server.start()
    after_key, after = _payload("after ", 500)
    assert s.put(after_key, after) is True
    assert s.get(after_key) == after
    s.close()


RUN_MAX_TOKENS = 300
"""Budget of the restart scenario's crushes: small payloads (fast) that still drop records."""


@dataclass(frozen=True)
class Outcome:
    """One crush of the restart scenario and the server's phase when it started and ended."""

    text: str
    result: hm.CrushResult
    started: int  # 0: first server up, 1: killed, 2: restarting or restarted
    ended: int


def _crush_through_a_restart(srv: RedisServer, store: RedisStore, threads: int = 4) -> list[Outcome]:
    """Threads crush distinct payloads while ``srv`` is SIGKILLed and started again on its port.

    Each step waits for the workers to have done enough in the current phase (no sleeps, no timing):
    some keyed results before the kill, some crushes begun and finished while the server is down, some
    keyed results begun after the restart.
    """
    outcomes: list[Outcome] = []
    errors: list[str] = []
    phase = 0
    stop = threading.Event()
    changed = threading.Condition()

    def worker(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            text = records(120, seed=n * 1_000_000 + i)
            started = phase
            try:
                result = hm.crush(text, store=store, max_tokens=RUN_MAX_TOKENS)
            except Exception as exc:  # crush promises never to raise: any exception fails the test
                errors.append(repr(exc))
                stop.set()
                return
            with changed:
                outcomes.append(Outcome(text, result, started, phase))
                changed.notify_all()

    def wait_for(what: str, predicate: Callable[[], bool]) -> None:
        with changed:
            if not changed.wait_for(lambda: predicate() or stop.is_set(), timeout=WAIT):
                stop.set()
                pytest.fail(f"workers did not get to: {what}")
        assert errors == []

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    try:
        wait_for("12 keyed results", lambda: sum(bool(o.result.keys) for o in outcomes) >= 12)
        srv.kill()
        phase = 1
        wait_for(
            "8 crushes during the outage",
            lambda: sum(o.started == o.ended == 1 for o in outcomes) >= 8,
        )
        phase = 2  # before the start: a crush begun in phase 1 that ends in phase 1 never saw a server
        srv.start()
        wait_for(
            "12 keyed results after the restart",
            lambda: sum(o.started == 2 and bool(o.result.keys) for o in outcomes) >= 12,
        )
    finally:
        stop.set()
        for t in pool:
            t.join()
    assert errors == []
    return outcomes


def _originals(text: str) -> dict[str, bytes]:
    """What a crush of the restart scenario stores for ``text`` (the engine is deterministic)."""
    return dict(plan(text, max_tokens=RUN_MAX_TOKENS).originals)


def _check_common(outcomes: list[Outcome], store: RedisStore) -> None:
    """What holds with or without persistence."""
    for o in outcomes:
        assert o.result.strategy != "passthrough:error"
        if o.result.lossless:
            assert hm.expand(o.result.text) == json.loads(o.text)  # nothing dropped, nothing lost
        else:
            assert set(o.result.keys) <= _originals(o.text).keys()
        if o.started == o.ended == 1:  # every put failed: nothing may have been dropped
            assert o.result.keys == ()
        if o.started >= 1:  # begun after the kill: a reported key was put to the new server
            expected = _originals(o.text)
            assert all(store.get(k) == expected[k] for k in o.result.keys)


def test_restart_mid_run_with_persistence_loses_no_original(persistent_server: RedisServer) -> None:
    store = RedisStore(persistent_server.url, prefix="run:", socket_timeout=5)
    outcomes = _crush_through_a_restart(persistent_server, store)
    _check_common(outcomes, store)
    keyed = [o for o in outcomes if o.result.keys]
    assert sum(o.ended == 0 for o in keyed) >= 12
    for o in keyed:  # every key any crush returned, including those from before the SIGKILL
        expected = _originals(o.text)
        for key in o.result.keys:
            assert store.get(key) == expected[key]
            assert hm.retrieve(store, key) == expected[key].decode()
    store.close()


def test_restart_mid_run_without_persistence(fresh_server: RedisServer) -> None:
    store = RedisStore(fresh_server.url, prefix="run:")
    outcomes = _crush_through_a_restart(fresh_server, store)
    _check_common(outcomes, store)
    before = [k for o in outcomes if o.ended == 0 for k in o.result.keys]
    assert len(before) >= 12
    assert all(store.get(k) is None for k in before)  # gone with the unsaved dataset, never wrong bytes
    store.close()


# -- the pipeline -------------------------------------------------------------------------------------


class _ThreadRecordingStore(RedisStore):
    """A RedisStore that notes the thread of every call."""

    threads: list[int]

    def put(self, key: str, data: bytes) -> bool:
        self.threads.append(threading.get_ident())
        return super().put(key, data)

    def get(self, key: str) -> bytes | None:
        self.threads.append(threading.get_ident())
        return super().get(key)

    def __contains__(self, key: object) -> bool:
        self.threads.append(threading.get_ident())
        return super().__contains__(key)


async def test_pipeline_acompress_does_store_io_off_the_loop(server: RedisServer) -> None:
    store = _ThreadRecordingStore(server.url, prefix="pipe:")
    store.threads = []
    payload = records(300, seed=21)
    msgs: list[Any] = [
        {"role": "user", "content": "which request failed?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": payload},
    ]
    loop_thread = threading.get_ident()
    with hm.Pipeline(store=store, config=hm.Config(max_tokens=300)) as p:
        out, report = await p.acompress(msgs)
        assert report.keys and hm.carries_marker(out[-1]["content"])
        again, report2 = await p.acompress(msgs)  # a memo hit: the store is asked whether it still holds it
        assert report2.messages[0].cached and again[-1]["content"] == out[-1]["content"]
        answer = await p.ahandle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": report.keys[0]})
    assert answer is not None and json.loads(answer) == json.loads(payload)
    assert store.threads and loop_thread not in store.threads
    store.close()


def test_a_missing_client_is_a_clear_import_error() -> None:
    import subprocess

    code = (
        "import sys; sys.modules['redis'] = None\n"
        "try:\n"
        "    import headroom_middleware.ccr._redis\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'headroom-middleware[redis]'" in out
