"""Benchmark 3: throughput of 8 concurrent large crushes, thread vs process executor.

8 ``acompress`` calls at once, each with its own ~1 MB JSON tool result, through a pipeline with the
thread executor (1 thread: with the GIL more threads add nothing) and one with the process executor
(``workers`` = CPU count). Pools are started before measuring; the memo is off so every round is
cold. Prints the median batch wall time, crushes per second and the ratio. Target: process >= 1.6x
the thread throughput on 2 cores.

    .venv/bin/python benchmarks/throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import headroom_middleware as hm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _big import api_log, chat
from _common import table


def workers_cpu_seconds(pipe: hm.Pipeline) -> float:
    """CPU seconds used so far by the pipeline's worker processes (Linux /proc; 0 elsewhere)."""
    pool = pipe._processes._pool if pipe._processes is not None else None
    total = 0
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.0


async def batch_seconds(pipe: hm.Pipeline, payloads: list[str], rounds: int) -> tuple[float, float]:
    """Median wall seconds of a batch, and the cores our processes used (CPU seconds per wall second)."""
    # Start every worker outside the measurement (a pool starts its processes on demand).
    warm = [chat(api_log(300_000, seed=90 + k), k) for k in range(os.cpu_count() or 1)]
    await asyncio.gather(*(pipe.acompress(m) for m in warm))
    walls = []
    cpu0, workers0 = time.process_time(), workers_cpu_seconds(pipe)
    for _ in range(rounds):
        t0 = time.perf_counter()
        results = await asyncio.gather(*(pipe.acompress(chat(p, i)) for i, p in enumerate(payloads)))
        walls.append(time.perf_counter() - t0)
        assert all(r.messages for _, r in results)
    used = time.process_time() - cpu0 + workers_cpu_seconds(pipe) - workers0
    return statistics.median(walls), used / sum(walls)


async def main_async(quick: bool) -> None:
    rounds = 1 if quick else 3
    payloads = [api_log(1_000_000, seed=s) for s in range(8)]
    cpus = os.cpu_count() or 1
    walls, shares = {}, {}
    load = os.getloadavg()[0]
    for executor in ("thread", "process"):
        cfg = hm.Config(executor=executor, memo_size=0)  # type: ignore[arg-type]
        with hm.Pipeline(config=cfg) as pipe:
            walls[executor], shares[executor] = await batch_seconds(pipe, payloads, rounds)
    rows = [
        [
            name,
            f"{wall * 1000:.0f}",
            f"{len(payloads) / wall:.2f}",
            f"{walls['thread'] / wall:.2f}x",
            f"{shares[name]:.2f}",
        ]
        for name, wall in walls.items()
    ]
    print(
        f"8 concurrent crushes of ~1 MB each, {cpus} CPU(s), median of {rounds} round(s), "
        f"load average {load:.2f} at start\n"
    )
    print(table(["executor", "batch wall ms", "crushes/s", "vs thread", "cores used"], rows))
    if shares["thread"] < 0.9 or shares["process"] < 0.9 * min(cpus, len(payloads)):
        got = f"{shares['thread']:.2f} and {shares['process']:.2f}"
        print(
            f"\nnote: the executors got {got} cores: the machine is busy with other work, so these "
            "figures understate what the process pool can do; re-measure on a quiet machine."
        )
    ratio = walls["thread"] / walls["process"]
    print(
        f"\ntarget process >= 1.6x thread on 2 cores: {'met' if ratio >= 1.6 else 'NOT met'} ({ratio:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    asyncio.run(main_async(parser.parse_args().quick))


if __name__ == "__main__":
    main()
