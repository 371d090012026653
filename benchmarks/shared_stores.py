"""Shared stores: put+get pairs per second and p99 latency, ours against headroom-ai 0.42's backends.

``SQLiteStore`` (one file) against headroom-ai's ``SQLiteBackend``, and ``RedisStore`` against its
``RedisBackend`` on the same ``redis-server`` (started here on a free loopback port with persistence
off; skipped when ``redis-server`` or the ``redis`` package is missing). Each of 1 and 8 threads does
put(key, 1 KB) then get(key) on its own keys, all starting together behind a barrier; a pair's latency
is timed around both calls. headroom-ai stores a ``CompressionEntry`` (the original text and its
metadata) where ours stores the original's bytes: each side is asked to keep the same 1 KB original.

    .venv/bin/python benchmarks/shared_stores.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import headroom_middleware as hm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Pair, measure_pairs, table


def ours(store: hm.Store) -> Pair:
    def pair(key: str, data: bytes) -> bool:
        store.put(key, data)
        return store.get(key) == data

    return pair


def peer(backend: object) -> Pair:
    from headroom.cache.compression_store import CompressionEntry

    def pair(key: str, data: bytes) -> bool:
        text = data.decode()
        entry = CompressionEntry(
            hash=key,
            original_content=text,
            compressed_content="",
            original_tokens=0,
            compressed_tokens=0,
            original_item_count=0,
            compressed_item_count=0,
            tool_name=None,
            tool_call_id=None,
            query_context=None,
            created_at=time.time(),
        )
        backend.set(key, entry)  # type: ignore[attr-defined]
        got = backend.get(key)  # type: ignore[attr-defined]
        return got is not None and got.original_content == text

    return pair


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on a free loopback port (its URL), or None when it cannot run here."""
    binary = shutil.which("redis-server")
    try:
        import redis  # noqa: F401
    except ImportError:
        binary = None
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations")
    pairs = 500 if parser.parse_args().quick else 3_000
    from headroom.cache.backends.sqlite import SQLiteBackend

    rows: list[list[str]] = []

    def compare(name: str, mine: Pair, theirs: Pair) -> None:
        for threads in (1, 8):
            a = measure_pairs(mine, threads, pairs)
            b = measure_pairs(theirs, threads, pairs)
            rows.append(
                [
                    name,
                    str(threads),
                    f"{a[0]:,.0f}",
                    f"{b[0]:,.0f}",
                    f"{a[0] / b[0]:.2f}x",
                    f"{a[1]:.0f}",
                    f"{b[1]:.0f}",
                ]
            )

    with tempfile.TemporaryDirectory() as tmp, hm.SQLiteStore(Path(tmp) / "ours.db") as store:
        compare("SQLite", ours(store), peer(SQLiteBackend(Path(tmp) / "peer.db")))
    with redis_server() as url:
        if url is None:
            print("Redis: skipped (redis-server or the redis package is missing)\n")
        else:
            from headroom.cache.backends.redis import RedisBackend

            store = hm.RedisStore(url)
            try:
                compare("Redis", ours(store), peer(RedisBackend(url)))
            finally:
                store.close()
    print(f"Shared stores: put+get pairs of 1 KB originals, {pairs:,} pairs per thread\n")
    print(
        table(
            [
                "store",
                "threads",
                "pairs/s ours",
                "pairs/s peer",
                "ours vs peer",
                "p99 us ours",
                "p99 us peer",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
