"""MemoryStore: the Store contract, byte bound, TTL, oldest-first eviction, and thread safety."""

from __future__ import annotations

import math
import random
import sys
import threading
import time
from pathlib import Path

import pytest

from headroom_middleware.ccr import MemoryStore, Store, make_key
from headroom_middleware.ccr._store import _stripe_index

sys.path.insert(0, str(Path(__file__).parent))  # for store_helpers (importlib import mode)
from store_helpers import FakeClock, payload


def test_memory_store_is_a_store() -> None:
    assert isinstance(MemoryStore(), Store)


def test_put_then_get_returns_the_same_bytes() -> None:
    store = MemoryStore()
    key, data = payload("hello ", 1000)
    assert store.get(key) is None
    assert key not in store
    assert store.put(key, data) is True
    assert store.get(key) == data
    assert key in store
    assert len(store) == 1
    assert store.bytes_used == 1000


def test_put_is_idempotent() -> None:
    store = MemoryStore()
    key, data = payload("x", 500)
    assert store.put(key, data) is True
    assert store.put(key, data) is True
    assert len(store) == 1
    assert store.bytes_used == 500
    assert store.get(key) == data


def test_put_copies_mutable_buffers() -> None:
    store = MemoryStore()
    buf = bytearray(b"original bytes")
    key = make_key(bytes(buf))
    assert store.put(key, buf) is True  # type: ignore[arg-type]
    buf[:] = b"changed after the put"
    assert store.get(key) == b"original bytes"
    stored = store.get(key)
    assert type(stored) is bytes


def test_put_rejects_non_bytes() -> None:
    store = MemoryStore()
    with pytest.raises(TypeError):
        store.put("0" * 24, "text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.put(123, b"data")  # type: ignore[arg-type]


def test_payload_larger_than_a_stripe_is_refused_not_stored() -> None:
    store = MemoryStore(max_bytes=4000, stripes=4)
    assert store.stripe_bytes == 1000
    key, big = payload("b", 1001)
    assert store.put(key, big) is False
    assert store.get(key) is None
    assert key not in store
    assert store.bytes_used == 0
    key, fits = payload("f", 1000)
    assert store.put(key, fits) is True
    assert store.get(key) == fits


def test_eviction_takes_the_oldest_put_first_and_reads_do_not_protect() -> None:
    store = MemoryStore(max_bytes=300, stripes=1)
    a, b, c, d, e = (payload(t, 100) for t in "abcde")
    for key, data in (a, b, c):
        assert store.put(key, data)
    assert store.get(a[0]) == a[1]  # a read does not make "a" younger
    assert store.put(*d)
    assert store.get(a[0]) is None
    assert [store.get(k) for k, _ in (b, c, d)] == [b[1], c[1], d[1]]
    assert store.put(*b)  # a second put renews "b": "c" is now the oldest
    assert store.put(*e)
    assert store.get(c[0]) is None
    assert [store.get(k) for k, _ in (b, d, e)] == [b[1], d[1], e[1]]
    assert store.bytes_used == 300


def test_a_full_stripe_does_not_evict_other_stripes() -> None:
    store = MemoryStore(max_bytes=800, stripes=4)
    by_stripe: dict[int, list[tuple[str, bytes]]] = {}
    for i in range(400):
        key, data = payload(f"p{i}-", 100)
        by_stripe.setdefault(_stripe_index(key, 4), []).append((key, data))
    assert sorted(by_stripe) == [0, 1, 2, 3]  # hex-prefix striping spreads keys over every stripe
    quiet_key, quiet_data = by_stripe[1][0]
    assert store.put(quiet_key, quiet_data)
    for key, data in by_stripe[0][:20]:  # overfill stripe 0 (capacity 200 bytes = 2 payloads)
        assert store.put(key, data)
    assert store.get(quiet_key) == quiet_data
    assert [store.get(k) is not None for k, _ in by_stripe[0][:20]].count(True) == 2


def test_stripe_choice_is_deterministic_and_accepts_any_str_key() -> None:
    assert _stripe_index("00000003" + "0" * 16, 16) == 3
    assert _stripe_index("ffffffff" + "0" * 16, 16) == 15
    # Not a CCR key (e.g. a namespaced key): still a fixed stripe, never Python's seeded hash().
    assert _stripe_index("tenant-a:xyz", 16) == _stripe_index("tenant-a:xyz", 16)
    store = MemoryStore(max_bytes=10_000)
    assert store.put("tenant-a:xyz", b"payload")
    assert store.get("tenant-a:xyz") == b"payload"
    assert store.get(12345) is None  # type: ignore[arg-type]
    assert 12345 not in store


def test_ttl_expires_lazily_with_a_fake_clock() -> None:
    clock = FakeClock()
    store = MemoryStore(max_bytes=10_000, ttl_seconds=10, stripes=2, timer=clock)
    key, data = payload("t", 100)
    assert store.put(key, data)
    clock.now += 9.999
    assert store.get(key) == data
    clock.now += 0.001
    assert store.get(key) is None
    assert key not in store
    assert len(store) == 0
    assert store.bytes_used == 0


def test_put_again_renews_the_lifetime() -> None:
    clock = FakeClock()
    store = MemoryStore(max_bytes=10_000, ttl_seconds=10, timer=clock)
    key, data = payload("r", 100)
    assert store.put(key, data)
    clock.now += 8
    assert store.put(key, data)
    clock.now += 8  # 16 s after the first put, 8 s after the second
    assert store.get(key) == data
    clock.now += 2
    assert store.get(key) is None


def test_expired_entries_free_their_bytes_for_new_ones() -> None:
    clock = FakeClock()
    store = MemoryStore(max_bytes=200, ttl_seconds=5, stripes=1, timer=clock)
    old = [payload(t, 100) for t in "xy"]
    for key, data in old:
        assert store.put(key, data)
    clock.now += 6
    fresh = [payload(t, 100) for t in "zw"]
    for key, data in fresh:
        assert store.put(key, data)
    assert [store.get(k) for k, _ in fresh] == [d for _, d in fresh]
    assert store.bytes_used == 200


def test_ttl_with_the_real_clock() -> None:
    store = MemoryStore(max_bytes=10_000, ttl_seconds=0.05)
    key, data = payload("real", 100)
    assert store.put(key, data)
    assert store.get(key) == data
    time.sleep(0.12)
    assert store.get(key) is None


def test_byte_bound_holds_under_random_load() -> None:
    rng = random.Random(7)
    store = MemoryStore(max_bytes=5000, stripes=4)
    live: dict[str, bytes] = {}
    for i in range(3000):
        key, data = payload(f"{i}:", rng.randint(0, 1300))
        stored = store.put(key, data)
        assert stored is (len(data) <= 1250)
        if stored:
            live[key] = data
        assert store.bytes_used <= 5000
    present = {k: v for k, v in live.items() if store.get(k) is not None}
    assert all(store.get(k) == v for k, v in present.items())
    assert store.bytes_used == sum(len(v) for v in present.values())
    assert len(store) == len(present)


def test_clear_len_contains() -> None:
    store = MemoryStore()
    keys = []
    for i in range(50):
        key, data = payload(f"c{i}", 64)
        store.put(key, data)
        keys.append(key)
    assert len(store) == 50
    assert all(k in store for k in keys)
    store.clear()
    assert len(store) == 0
    assert store.bytes_used == 0
    assert not any(k in store for k in keys)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stripes": 0},
        {"stripes": -2},
        {"stripes": 1.5},
        {"stripes": True},
        {"max_bytes": 0},
        {"max_bytes": -1},
        {"max_bytes": 10.0},
        {"max_bytes": 8, "stripes": 16},
        {"ttl_seconds": 0},
        {"ttl_seconds": -5},
        {"ttl_seconds": math.nan},
        {"ttl_seconds": "60"},
    ],
)
def test_constructor_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MemoryStore(**kwargs)  # type: ignore[arg-type]


def test_defaults() -> None:
    store = MemoryStore()
    assert (store.max_bytes, store.ttl_seconds, store.stripes) == (256 * 2**20, 1800, 16)
    assert store.stripe_bytes == 16 * 2**20


def _run_stress(
    store: MemoryStore, threads: int = 8, ops: int = 10_000
) -> tuple[list[dict[str, bytes]], int]:
    """``threads`` workers doing ``ops`` mixed put/get each while a monitor checks the byte bound."""
    written: list[dict[str, bytes]] = [{} for _ in range(threads)]
    errors: list[str] = []
    done = threading.Event()
    checks = 0

    def monitor() -> None:
        nonlocal checks
        while not done.is_set():
            used = store.bytes_used
            checks += 1
            if used > store.max_bytes:
                errors.append(f"bytes_used {used} > max_bytes {store.max_bytes}")
            time.sleep(0.0005)

    def worker(n: int) -> None:
        rng = random.Random(n)
        mine = written[n]
        mine_keys: list[str] = []
        for i in range(ops):
            roll = rng.random()
            if roll < 0.5 or not mine_keys:
                key, data = payload(f"t{n}/{i}/", rng.randint(1, 200))
                if store.put(key, data):
                    mine[key] = data
                    mine_keys.append(key)
            elif roll < 0.8:
                key = mine_keys[rng.randrange(len(mine_keys))]
                got = store.get(key)
                if got is not None and got != mine[key]:
                    errors.append(f"wrong bytes for {key}")
            else:  # another worker's key, or one never written: absent or exact, never wrong
                other = written[rng.randrange(threads)]
                key = next(iter(other), "0" * 24) if other else "0" * 24
                got = store.get(key)
                if got is not None and got != other.get(key):
                    errors.append(f"wrong bytes for {key}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    watcher = threading.Thread(target=monitor)
    watcher.start()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    done.set()
    watcher.join()
    assert errors == []
    return written, checks


def test_stress_within_capacity_every_key_stays_readable() -> None:
    store = MemoryStore(max_bytes=64 * 2**20, stripes=16)
    written, checks = _run_stress(store)
    assert checks > 0
    union = {k: v for w in written for k, v in w.items()}  # short payloads repeat across workers
    total = sum(len(v) for v in union.values())
    assert len(union) > 8 * 4000
    assert total <= store.stripe_bytes  # even all in one stripe would fit: nothing may be evicted
    for key, data in union.items():
        assert store.get(key) == data
    assert store.bytes_used == total
    assert len(store) == len(union)


def test_stress_over_capacity_never_exceeds_the_bound() -> None:
    store = MemoryStore(max_bytes=64 * 1024, stripes=8)
    written, checks = _run_stress(store)
    assert checks > 0
    assert store.bytes_used <= store.max_bytes
    union = {k: v for w in written for k, v in w.items()}
    present = {k: v for k, v in union.items() if store.get(k) is not None}
    assert 0 < len(present) < len(union)  # evictions happened, survivors exist
    assert all(store.get(k) == v for k, v in present.items())
    assert store.bytes_used == sum(len(v) for v in present.values())
