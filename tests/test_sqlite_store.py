"""SQLiteStore: the Store contract on a real file, byte bound, TTL, threads, processes, backend trouble."""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import orjson
import pytest

import headroom_middleware as hm
from headroom_middleware.ccr import SQLiteStore, Store, make_key

sys.path.insert(0, str(Path(__file__).parent))  # for store_helpers (importlib import mode)
from store_helpers import FakeClock, payload


def _rows(path: Path) -> dict[str, int]:
    """key -> size, read straight from the file (another connection, as another process would)."""
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT key, size FROM originals").fetchall())


def _meta_total(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        ((total,),) = conn.execute("SELECT total_bytes FROM meta").fetchall()
        return int(total)


def _records(n: int) -> list[dict[str, object]]:
    return [
        {"id": f"req-{i:04d}", "host": f"web-{i % 5}", "state": "ok", "latency_ms": 100 + (i * 7) % 13}
        for i in range(n)
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "originals.db"


# -- the contract ----------------------------------------------------------------------------------


def test_sqlite_store_is_a_store(db: Path) -> None:
    with SQLiteStore(db) as store:
        assert isinstance(store, Store)


def test_file_and_folder_are_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.db"
    with SQLiteStore(path):
        assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]


def test_round_trip_exact_bytes_and_survives_reopening(db: Path) -> None:
    payloads = [
        b"",
        b"hello",
        bytes(range(256)) * 4,  # every byte value, NULs and invalid UTF-8 included
        random.Random(3).randbytes(8 * 2**20),
    ]
    with SQLiteStore(db) as store:
        for data in payloads:
            key = make_key(data)
            assert store.get(key) is None
            assert store.put(key, data) is True
            got = store.get(key)
            assert type(got) is bytes and got == data
    with SQLiteStore(db) as again:  # a new store object (another worker) reads the same file
        assert [again.get(make_key(d)) for d in payloads] == payloads


def test_put_is_idempotent(db: Path) -> None:
    with SQLiteStore(db) as store:
        key, data = payload("x", 500)
        assert store.put(key, data) is True
        assert store.put(key, bytearray(data)) is True  # type: ignore[arg-type]
        assert store.get(key) == data
    assert _rows(db) == {key: 500}
    assert _meta_total(db) == 500


def test_put_copies_mutable_buffers_and_rejects_wrong_types(db: Path) -> None:
    with SQLiteStore(db) as store:
        buf = bytearray(b"original bytes")
        key = make_key(bytes(buf))
        assert store.put(key, buf) is True  # type: ignore[arg-type]
        buf[:] = b"changed after the put"
        assert store.get(key) == b"original bytes"
        assert store.put(make_key(b"view"), memoryview(b"view")) is True  # type: ignore[arg-type]
        assert store.get(make_key(b"view")) == b"view"
        with pytest.raises(TypeError):
            store.put("0" * 24, "text, not bytes")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            store.put(123, b"data")  # type: ignore[arg-type]
        assert store.get(123) is None  # type: ignore[arg-type]


def test_payload_larger_than_max_bytes_is_refused_not_stored(db: Path) -> None:
    with SQLiteStore(db, max_bytes=1000) as store:
        small, data = payload("s", 10)
        assert store.put(small, data)
        key, big = payload("b", 1001)
        assert store.put(key, big) is False
        assert store.get(key) is None
        assert store.get(small) == data  # a refusal evicts nothing
        key, fits = payload("f", 1000)
        assert store.put(key, fits) is True
        assert store.get(key) == fits
        assert store.get(small) is None  # ... but a payload that fits makes room
    assert _rows(db) == {key: 1000}


# -- byte bound and eviction -----------------------------------------------------------------------


def test_eviction_takes_the_oldest_put_first_and_reads_do_not_protect(db: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    with SQLiteStore(db, max_bytes=300, timer=clock) as store:
        a, b, c, d, e = (payload(t, 100) for t in "abcde")
        for key, data in (a, b, c):
            clock.now += 1
            assert store.put(key, data)
        assert store.get(a[0]) == a[1]  # a read does not make "a" younger
        clock.now += 1
        assert store.put(*d)
        assert store.get(a[0]) is None
        assert [store.get(k) for k, _ in (b, c, d)] == [b[1], c[1], d[1]]
        clock.now += 1
        assert store.put(*b)  # a second put renews "b": "c" is now the oldest
        clock.now += 1
        assert store.put(*e)
        assert store.get(c[0]) is None
        assert [store.get(k) for k, _ in (b, d, e)] == [b[1], d[1], e[1]]
    assert _meta_total(db) == 300


def test_puts_at_the_same_instant_are_evicted_in_put_order(db: Path) -> None:
    clock = FakeClock(1_700_000_000.0)  # never moves
    with SQLiteStore(db, max_bytes=250, timer=clock) as store:
        keys = [payload(t, 100) for t in "pqrs"]
        for key, data in keys:
            assert store.put(key, data)
        assert [store.get(k) is not None for k, _ in keys] == [False, False, True, True]


def test_byte_bound_holds_under_random_load(db: Path) -> None:
    rng = random.Random(7)
    clock = FakeClock(1_700_000_000.0)
    live: dict[str, bytes] = {}
    with SQLiteStore(db, max_bytes=5000, timer=clock) as store:
        for i in range(600):
            clock.now += rng.random()
            key, data = payload(f"{i}:", rng.randint(0, 1300))
            assert store.put(key, data) is True
            live[key] = data
            if i % 50 == 0:
                rows = _rows(db)
                assert sum(rows.values()) <= 5000
                assert _meta_total(db) == sum(rows.values())
        rows = _rows(db)
        assert sum(rows.values()) <= 5000
        assert _meta_total(db) == sum(rows.values())
        assert all(store.get(k) == live[k] for k in rows)
    order = list(live)  # oldest first: what survives is exactly the newest puts
    assert set(rows) == set(order[len(order) - len(rows) :])


def test_running_total_stays_exact_when_another_tool_deletes_rows(db: Path) -> None:
    """The running total lives in triggers, so even rows deleted by another tool keep it exact."""
    with SQLiteStore(db, max_bytes=1000) as store:
        keys = [payload(t, 300) for t in "uvw"]
        for key, data in keys:
            assert store.put(key, data)
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM originals WHERE key = ?", (keys[0][0],))
        assert _meta_total(db) == 600
        key, data = payload("z", 400)
        assert store.put(key, data)  # fits in 1000 - 600: no eviction needed
        assert [store.get(k) for k, _ in keys[1:]] == [d for _, d in keys[1:]]
    assert _meta_total(db) == 1000


# -- TTL -------------------------------------------------------------------------------------------


def test_ttl_expires_on_read_with_a_fake_clock(db: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    with SQLiteStore(db, ttl_seconds=10, timer=clock) as store:
        key, data = payload("t", 100)
        assert store.put(key, data)
        clock.now += 9.999
        assert store.get(key) == data
        clock.now += 0.001
        assert store.get(key) is None


def test_put_again_renews_the_lifetime(db: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    with SQLiteStore(db, ttl_seconds=10, timer=clock) as store:
        key, data = payload("r", 100)
        assert store.put(key, data)
        clock.now += 8
        assert store.put(key, data)
        clock.now += 8  # 16 s after the first put, 8 s after the second
        assert store.get(key) == data
        clock.now += 2
        assert store.get(key) is None
        assert store.put(key, data)  # an expired key put again is live again
        assert store.get(key) == data


def test_expired_rows_are_purged_by_a_later_put(db: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    with SQLiteStore(db, max_bytes=10_000, ttl_seconds=5, timer=clock) as store:
        old = [payload(t, 100) for t in "xy"]
        for key, data in old:
            assert store.put(key, data)
        clock.now += 4
        young, data = payload("young", 100)
        assert store.put(young, data)
        assert len(_rows(db)) == 3
        clock.now += 2  # the first two expired, the young one has 3 s left
        key, data = payload("z", 100)
        assert store.put(key, data)
        assert sorted(_rows(db)) == sorted([young, key])
        assert _meta_total(db) == 200


def test_ttl_with_the_real_clock(db: Path) -> None:
    with SQLiteStore(db, ttl_seconds=0.05) as store:
        key, data = payload("real", 100)
        assert store.put(key, data)
        assert store.get(key) == data
        time.sleep(0.12)
        assert store.get(key) is None


# -- threads and processes -------------------------------------------------------------------------


def _hammer(store: SQLiteStore, threads: int = 8, ops: int = 400) -> list[dict[str, bytes]]:
    """``threads`` workers doing mixed put/get; every answer must be exact or None, never wrong."""
    written: list[dict[str, bytes]] = [{} for _ in range(threads)]
    errors: list[str] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        rng = random.Random(n)
        mine = written[n]
        start.wait()
        for i in range(ops):
            roll = rng.random()
            if roll < 0.5 or not mine:
                key, data = payload(f"t{n}/{i}/", rng.randint(1, 2000))
                if not store.put(key, data):
                    errors.append(f"put refused {key}")
                mine[key] = data
            else:
                other = written[rng.randrange(threads)] if roll > 0.8 else mine
                key = rng.choice(list(other)) if other else "0" * 24
                got = store.get(key)
                if got is not None and got != other.get(key):
                    errors.append(f"wrong bytes for {key}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    return written


def test_threads_within_capacity_every_key_stays_readable(db: Path) -> None:
    with SQLiteStore(db, max_bytes=64 * 2**20) as store:
        written = _hammer(store)
        union = {k: v for w in written for k, v in w.items()}
        assert len(union) > 8 * 150
        assert all(store.get(k) == v for k, v in union.items())
    assert _rows(db) == {k: len(v) for k, v in union.items()}
    assert _meta_total(db) == sum(len(v) for v in union.values())


def test_threads_over_capacity_never_exceed_the_bound(db: Path) -> None:
    with SQLiteStore(db, max_bytes=64 * 1024) as store:
        written = _hammer(store)
        union = {k: v for w in written for k, v in w.items()}
        rows = _rows(db)
        assert 0 < len(rows) < len(union)  # evictions happened, survivors exist
        assert all(store.get(k) == union[k] for k in rows)
    assert sum(rows.values()) <= 64 * 1024
    assert _meta_total(db) == sum(rows.values())


_PROCESS_WORKER = """
from headroom_middleware.ccr import SQLiteStore, make_key

def data(n, i):
    return (f"worker {n} payload {i} ".encode() * (1 + i % 50))

def run(path, n, workers, count, start, written, errors):
    with SQLiteStore(path, max_bytes=64 * 2**20) as store:
        start.wait()  # every process writes at the same time: real contention on the file lock
        for i in range(count):
            if not store.put(make_key(data(n, i)), data(n, i)):
                errors.put(f"worker {n}: put {i} refused")
        written.wait()
        for m in range(workers):
            for i in range(count):
                if store.get(make_key(data(m, i))) != data(m, i):
                    errors.put(f"worker {n}: key {i} of worker {m} unreadable")
    errors.put(f"done {n}")
"""
_WORKER_NAMES: dict[str, object] = {}
exec(_PROCESS_WORKER, _WORKER_NAMES)  # the parent checks the children's payloads with their own code
_process_data = cast("Callable[[int, int], bytes]", _WORKER_NAMES["data"])


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_processes_read_each_others_keys_through_one_file(db: Path, method: str) -> None:
    workers, count = 3, 150
    SQLiteStore(db).close()  # schema in place before the race (the workers would manage without)
    ctx = (
        multiprocessing.get_context("spawn")
        if method == "spawn"
        else multiprocessing.get_context("forkserver")
    )
    start, written = ctx.Barrier(workers), ctx.Barrier(workers)
    errors = ctx.Queue()
    code = _PROCESS_WORKER + "\nrun(*ARGS)\n"
    procs = [  # exec as the target: this test module may not be importable in a fresh interpreter
        ctx.Process(target=exec, args=(code, {"ARGS": (str(db), n, workers, count, start, written, errors)}))
        for n in range(workers)
    ]
    for p in procs:
        p.start()
    messages = [errors.get(timeout=120) for _ in range(workers)]
    for p in procs:
        p.join(timeout=60)
    assert sorted(messages) == [f"done {n}" for n in range(workers)]
    assert [p.exitcode for p in procs] == [0] * workers
    with SQLiteStore(db) as store:
        for n in range(workers):
            assert all(store.get(make_key(_process_data(n, i))) == _process_data(n, i) for i in range(count))
    assert len(_rows(db)) == workers * count


def test_a_store_used_before_fork_works_in_the_child(db: Path) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    with SQLiteStore(db) as store:
        key, data = payload("parent", 1000)
        assert store.put(key, data) and store.get(key) == data  # the parent's pool holds a connection
        pid = os.fork()
        if pid == 0:  # the child: it must not reuse the parent's connection
            status = 1
            try:
                status = 0 if store.get(key) == data and store.put(*payload("child", 1000)) else 2
            finally:
                os._exit(status)  # never back into pytest from the child
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        child_key, child_data = payload("child", 1000)
        assert store.get(child_key) == child_data
        assert store.put(*payload("after", 10)) and store.get(key) == data


# -- backend trouble: never an exception, refusal instead, lossless crush --------------------------


def _crush_big_json(store: Store) -> tuple[hm.CrushResult, list[dict[str, object]]]:
    rows = _records(400)
    return hm.crush(orjson.dumps(rows).decode(), store=store, max_tokens=200), rows


def test_crush_and_retrieve_through_the_store(db: Path) -> None:
    with SQLiteStore(db) as store:
        r, rows = _crush_big_json(store)
        assert r.keys
        with SQLiteStore(db) as other_worker:
            for key in r.keys:
                original = hm.retrieve(other_worker, key)
                assert original is not None and original == hm.retrieve(store, key)
            assert any(hm.retrieve(other_worker, k) == orjson.dumps(rows).decode() for k in r.keys)
            found = hm.retrieve(other_worker, r.keys[0], query="req-0321")
            assert found is not None and "req-0321" in found


def _writable(path: Path) -> bool:
    try:
        if path.is_dir():
            (path / "probe").touch()
            (path / "probe").unlink()
        else:
            with path.open("r+b"):
                pass
    except OSError:
        return False
    return True


@contextmanager
def _unwritable(*paths: Path) -> Iterator[None]:
    """``paths`` made unwritable: chmod, or for root (whom chmod does not stop) the immutable flag."""
    modes = {p: p.stat().st_mode & 0o777 for p in paths}
    immutable: list[Path] = []
    try:
        for p in paths:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
        if any(_writable(p) for p in paths):
            chattr = shutil.which("chattr")
            for p in paths:
                if chattr is None or subprocess.run([chattr, "+i", str(p)], capture_output=True).returncode:
                    pytest.skip("cannot make a path unwritable here (root without chattr +i)")
                immutable.append(p)
        assert not any(_writable(p) for p in paths)
        yield
    finally:
        for p in immutable:
            subprocess.run(["chattr", "-i", str(p)], check=True)
        for p, mode in modes.items():
            os.chmod(p, mode)


def test_unwritable_location_refuses_and_crush_stays_lossless(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with _unwritable(folder), caplog.at_level(logging.WARNING, logger="headroom_middleware"):
        store = SQLiteStore(folder / "originals.db")  # not an error: the folder may become writable
        key, data = payload("ro", 100)
        assert store.put(key, data) is False
        assert store.get(key) is None
        r, rows = _crush_big_json(store)
        assert r.keys == ()
        assert hm.expand(r.text) == rows
        store.close()
    assert any("SQLiteStore" in rec.getMessage() for rec in caplog.records)
    assert not (folder / "originals.db").exists()


def test_read_only_database_file_refuses_puts(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    path = folder / "originals.db"
    key, data = payload("kept", 100)
    with SQLiteStore(path) as store:
        assert store.put(key, data)
    with _unwritable(folder, path):
        store = SQLiteStore(path)
        other, more = payload("new", 100)
        assert store.put(other, more) is False
        assert store.get(other) is None
        store.close()
    with SQLiteStore(path) as store:  # writable again: nothing was lost
        assert store.get(key) == data
        assert store.put(other, more)


def test_locked_past_the_timeout_refuses_then_recovers(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteStore(db, timeout=0.05)
    key, data = payload("before", 100)
    assert store.put(key, data)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with caplog.at_level(logging.WARNING, logger="headroom_middleware"):
            new, more = payload("during", 100)
            assert [store.put(new, more) for _ in range(5)] == [False] * 5
            assert store.get(key) == data  # WAL: readers are not blocked by a writer
            r, rows = _crush_big_json(store)
            assert r.keys == () and hm.expand(r.text) == rows
        warnings = [rec for rec in caplog.records if "SQLiteStore" in rec.getMessage()]
        assert len(warnings) == 1  # rate-limited: one warning for six failures
        assert "locked" in warnings[0].getMessage()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.put(new, more) is True
    assert store.get(new) == more
    store.close()


class _SmallDisk(SQLiteStore):
    """A store whose file may not grow past 40 pages, so SQLite itself answers "database or disk is full"."""

    def _open(self) -> sqlite3.Connection:
        conn = super()._open()
        conn.execute("PRAGMA max_page_count = 40")
        return conn


def test_disk_full_refuses_and_keeps_what_was_stored(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    with _SmallDisk(db) as store, caplog.at_level(logging.WARNING, logger="headroom_middleware"):
        answers = {}
        for i in range(100):
            key, data = payload(f"full{i}", 3000)
            answers[key] = (store.put(key, data), data)
        stored = [k for k, (ok, _) in answers.items() if ok]
        assert 0 < len(stored) < 100
        assert all(store.get(k) == answers[k][1] for k in stored)
        assert all(store.get(k) is None for k, (ok, _) in answers.items() if not ok)
    assert any("full" in rec.getMessage() for rec in caplog.records)
    assert sorted(_rows(db)) == sorted(stored)
    assert _meta_total(db) == 3000 * len(stored)  # every failed put rolled back whole


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.db"
    path.write_bytes(b"this is a text file, not a database\n" * 200)
    with pytest.raises(ValueError, match="not a usable SQLite database"):
        SQLiteStore(path)
    assert path.read_bytes().startswith(b"this is a text file")  # never overwritten

    broken = tmp_path / "broken.db"
    keys = [payload(f"c{i}", 3000) for i in range(20)]
    with SQLiteStore(broken) as store:
        assert all(store.put(k, d) for k, d in keys)
    with sqlite3.connect(broken) as conn:  # the originals table's pages, found while the file is sound
        ((root,),) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'originals'").fetchall()
        ((page_size,),) = conn.execute("PRAGMA page_size").fetchall()
    with broken.open("r+b") as f:  # a disk error: the table's root page becomes garbage
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    store = SQLiteStore(broken)  # the schema still reads, so this is only found at run time
    assert store.get(keys[0][0]) is None
    assert store.put(*payload("new", 100)) is False
    store.close()


def test_closed_store_refuses_quietly(db: Path) -> None:
    with SQLiteStore(db) as store:
        key, data = payload("k", 10)
        assert store.put(key, data)
    assert store.put(key, data) is False
    assert store.get(key) is None
    store.close()  # idempotent


# -- construction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_bytes": 0},
        {"max_bytes": -1},
        {"max_bytes": 10.0},
        {"max_bytes": True},
        {"ttl_seconds": 0},
        {"ttl_seconds": -5},
        {"ttl_seconds": math.nan},
        {"ttl_seconds": "60"},
        {"timeout": -1},
        {"timeout": math.nan},
        {"timeout": math.inf},
    ],
)
def test_constructor_rejects_bad_arguments(db: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SQLiteStore(db, **kwargs)  # type: ignore[arg-type]
    assert not db.exists()


def test_constructor_rejects_bad_paths(tmp_path: Path) -> None:
    for bad in ("", ":memory:", "file:x.db?mode=memory"):
        with pytest.raises(ValueError, match="database file"):
            SQLiteStore(bad)
    with pytest.raises(ValueError, match="folder"):
        SQLiteStore(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot create the folder"):
        SQLiteStore(blocker / "sub" / "store.db")
    with pytest.raises(TypeError):
        SQLiteStore(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SQLiteStore(b"/tmp/x.db")  # type: ignore[arg-type]


def test_defaults_and_repr(db: Path) -> None:
    with SQLiteStore(db) as store:
        assert (store.max_bytes, store.ttl_seconds, store.timeout) == (1 << 30, 1800, 5.0)
        assert store.path == db
        assert repr(store).startswith(f"SQLiteStore({str(db)!r}")
