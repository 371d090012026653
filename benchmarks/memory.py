"""Benchmark 5: peak memory while crushing a 20 MB JSON array.

The payload (``_big.api_log``, 20 MB) is written to a temporary file; a fresh child process reads it,
notes its peak resident memory (``ru_maxrss``) with the input loaded, runs ``hm.crush`` with a
``MemoryStore``, and notes the peak again. The growth of the peak is what crushing cost on top of
holding the input; it is reported as a multiple of the input size. A second child measures the
same with ``tracemalloc`` (Python-level allocations only) as a cross-check. Target: <= 6x the input.

    .venv/bin/python benchmarks/memory.py [--quick]      (--quick: a 5 MB array)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _big import api_log
from _common import table

CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
import headroom_middleware as hm
store = hm.MemoryStore(max_bytes=1 << 30)
hm.crush("[1]", store=store)  # import-time allocations out of the measurement
if mode == "tracemalloc":
    import tracemalloc
    tracemalloc.start()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
r = hm.crush(text, store=store)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
traced = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else 0
print(json.dumps({"base": base, "peak": peak, "traced": traced, "seconds": seconds,
                  "tokens_before": r.tokens_before, "tokens_after": r.tokens_after, "strategy": r.strategy,
                  "stored": sum(len(store.get(k) or b"") for k in r.keys)}))
"""


def child(mode: str, path: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, path], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 5 MB array instead of 20 MB")
    size = 5_000_000 if parser.parse_args().quick else 20_000_000
    text = api_log(size, seed=7)
    n = len(text.encode())
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        rss = child("rss", path)
        traced = child("tracemalloc", path)
    finally:
        Path(path).unlink()
    growth = rss["peak"] - rss["base"]
    rows = [
        ["peak RSS growth while crushing", f"{growth / 1e6:.1f}", f"{growth / n:.2f}x"],
        [
            "tracemalloc peak (Python allocations)",
            f"{traced['traced'] / 1e6:.1f}",
            f"{traced['traced'] / n:.2f}x",
        ],
        ["stored originals (in the MemoryStore)", f"{rss['stored'] / 1e6:.1f}", f"{rss['stored'] / n:.2f}x"],
    ]
    print(
        f"Crushing a {n / 1e6:.1f} MB JSON array: {rss['tokens_before']:,.0f} -> {rss['tokens_after']:,.0f} "
        f"tokens ({rss['strategy']}) in {rss['seconds']:.2f} s\n"
    )
    print(table(["measure", "MB", "x input"], rows))
    print(
        f"\ntarget peak <= 6x the input: {'met' if growth / n <= 6 else 'NOT met'} ({growth / n:.2f}x; "
        "the stored original is part of the growth)"
    )


if __name__ == "__main__":
    main()
