"""What every benchmark script shares: offline set-up, the fixture payloads, o200k counts, tables.

Call ``offline_env()`` before importing tiktoken, litellm or headroom-ai: it points tiktoken at the
tokenizer files LiteLLM bundles (found through ``importlib``) and keeps LiteLLM from fetching its
cost map, so benchmarks run without network. Payloads are read from ``fixtures/corpus`` and
``fixtures/generated`` only (never from outside the repository).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from headroom_middleware.ccr import make_key

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXTURE_DIRS = ("corpus", "generated")
_DESCRIPTIONS = ("SOURCES.md", "LICENSES.md", "README.md")


def offline_env() -> None:
    """Set the environment so tokenizers and LiteLLM work offline (idempotent, keeps user values)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return
    spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
        if folder.is_dir():
            os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)


@dataclass(frozen=True)
class Payload:
    """One fixture file: a tool output as an agent would receive it, and its needles."""

    name: str
    """``corpus/<file>`` or ``generated/<file>``."""
    text: str
    needles: tuple[str, ...]


def _is_payload(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and not name.startswith(".")
        and not (name.startswith("needles") and name.endswith(".json"))
        and not name.endswith((".md", ".py"))
        and name not in _DESCRIPTIONS
    )


def load_needles() -> dict[str, list[str]]:
    """``corpus/<file>`` -> needles, from corpus/needles.json and generated/needles*.json."""
    needles: dict[str, list[str]] = {}
    for folder in FIXTURE_DIRS:
        for file in sorted((FIXTURES / folder).glob("needles*.json")):
            for entry in json.loads(file.read_text("utf-8")):
                needles.setdefault(f"{folder}/{entry['file']}", []).extend(entry["needles"])
    return needles


def load_payloads(only: str | None = None) -> list[Payload]:
    """Every fixture payload in a stable order; ``only`` keeps names containing that string."""
    needles = load_needles()
    payloads = []
    for folder in FIXTURE_DIRS:
        for path in sorted((FIXTURES / folder).glob("*")):
            name = f"{folder}/{path.name}"
            if not _is_payload(path) or (only is not None and only not in name):
                continue
            text = path.read_bytes().decode("utf-8", "surrogateescape")
            payloads.append(Payload(name, text, tuple(needles.get(name, ()))))
    return payloads


def o200k_counter() -> Callable[[str], int]:
    """Exact o200k_base token count (tiktoken), special-token lookalikes counted as text."""
    import tiktoken

    enc = tiktoken.get_encoding("o200k_base")

    def count(text: str) -> int:
        clean = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return len(enc.encode(clean, disallowed_special=()))

    return count


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


Pair = Callable[[str, bytes], bool]
"""put then get one key; True when the get returned the original."""


def measure_pairs(pair: Pair, threads: int, pairs: int) -> tuple[float, float]:
    """(pairs per second over all threads, p99 pair latency in microseconds) of ``threads`` threads
    each doing ``pairs`` put+get pairs of 1 KB on its own keys, all starting together behind a barrier."""
    payloads = [[f"thread {t} item {i} ".encode() * 50 for i in range(pairs)] for t in range(threads)]
    keys = [[make_key(p + str(time.perf_counter_ns()).encode()) for p in ps] for ps in payloads]
    latencies: list[list[int]] = [[] for _ in range(threads)]
    failures = [0]
    barrier = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        mine, data, lat = keys[t], payloads[t], latencies[t]
        clock = time.perf_counter_ns
        barrier.wait()
        for i in range(pairs):
            t0 = clock()
            ok = pair(mine[i], data[i])
            lat.append(clock() - t0)
            if not ok:
                failures[0] += 1

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    if failures[0]:
        raise AssertionError(f"{failures[0]} keys put were not read back")
    every = sorted(x for lat in latencies for x in lat)
    return threads * pairs / wall, every[min(len(every) - 1, round(0.99 * (len(every) - 1)))] / 1000
