"""Benchmark 4: MemoryStore put+get pairs per second and p99 latency, striped vs one lock.

Each of 1, 2, 4 and 8 threads does put(key, 1 KB) then get(key) on its own keys; a pair's latency is
timed around both calls. ``stripes=16`` (the default) against ``stripes=1`` (one lock for the whole
store). All threads start together behind a barrier. With the GIL only one thread runs Python at a
time, so striping cannot add throughput here: what it removes is lock waiting, which shows (if at
all) in the tail latency. The figures are what this run measured, nothing more.

    .venv/bin/python benchmarks/store.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import headroom_middleware as hm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measure_pairs, table


def run(stripes: int, threads: int, pairs: int) -> tuple[float, float]:
    """(pairs per second over all threads, p99 pair latency in microseconds)."""
    store = hm.MemoryStore(max_bytes=1 << 30, stripes=stripes)

    def pair(key: str, data: bytes) -> bool:
        store.put(key, data)
        return store.get(key) is not None

    return measure_pairs(pair, threads, pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations")
    pairs = 5_000 if parser.parse_args().quick else 50_000
    rows = []
    for threads in (1, 2, 4, 8):
        striped = run(16, threads, pairs)
        single = run(1, threads, pairs)
        rows.append(
            [
                str(threads),
                f"{striped[0]:,.0f}",
                f"{single[0]:,.0f}",
                f"{striped[0] / single[0]:.2f}x",
                f"{striped[1]:.1f}",
                f"{single[1]:.1f}",
            ]
        )
    print(f"MemoryStore put+get pairs, {pairs:,} pairs per thread, 1 KB values\n")
    print(
        table(
            [
                "threads",
                "pairs/s striped(16)",
                "pairs/s one lock",
                "striped vs one",
                "p99 us striped",
                "p99 us one lock",
            ],
            rows,
        )
    )
    print(
        "\nWith the GIL one thread runs Python at a time: striping is not expected to raise throughput "
        "here; it keeps threads from queueing on one lock (and matters for free-threaded Python)."
    )


if __name__ == "__main__":
    main()
