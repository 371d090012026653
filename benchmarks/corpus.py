"""Corpus benchmark: every fixture payload through ``hm.crush`` and through headroom-ai 0.42.

One process, one run, both systems side by side on the same payloads (``fixtures/corpus`` and
``fixtures/generated``), printing per payload:

- tokens before and after for both (o200k_base via tiktoken, never an estimate);
- needles visible in the output, and recoverable (visible or inside a stored original the output's
  keys give back: ``hm.retrieve`` for ours, headroom-ai's own CCR store for its ``hash=``/``<<ccr:>>``
  markers);
- milliseconds per payload for both: the median of ``--runs`` cold runs;

then totals and ratios (ours vs peer, tokens and speed).

How each side is called
    ours: ``hm.crush(payload, store=hm.MemoryStore())``, a fresh store per run, default settings.
    peer: ``headroom.compress(messages, model="gpt-4o")`` on a conversation (system, user, an assistant
    tool call, then the payload as the OpenAI tool result); its compressed tool message is read back.

Cold inputs
    headroom-ai caches compressions by a digest of the exact content, so a repeated payload would be
    a cache hit. Every timed run therefore gets a distinct input: run 0 is the payload itself, run k
    appends k spaces at the end (trailing whitespace: valid JSON stays valid JSON, text keeps its
    lines). Both sides get the same inputs. Token and needle figures come from run 0, the exact
    payload. One-time start-up (imports, headroom-ai's detector and pipeline construction) is paid
    before measuring by a warm-up on a synthetic payload that is not a fixture, for both sides.

Usage::

    .venv/bin/python benchmarks/corpus.py                # table
    .venv/bin/python benchmarks/corpus.py --json         # machine-readable results
    .venv/bin/python benchmarks/corpus.py --only prometheus --runs 5
    .venv/bin/python benchmarks/corpus.py --quick        # one run per payload
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Payload, load_payloads, median, o200k_counter, offline_env, table

offline_env()

USER_MESSAGE = "Run the tool and tell me what matters in its output."
_PEER_KEY_RE = re.compile(r"<<ccr:([0-9a-f]{6,})|hash=['\"]?([0-9a-f]{6,})")


@dataclass
class Side:
    """One system's figures for one payload."""

    tokens_after: int
    visible: int
    recoverable: int
    ms: float
    """Median of the cold runs."""
    runs_ms: list[float]
    label: str
    """Our strategy, or the peer's transforms."""


def cold_variant(text: str, run: int) -> str:
    """A distinct input per run (no cache can hit) with the payload's nature unchanged."""
    return text if run == 0 else text + " " * run


def _needles(needles: tuple[str, ...], output: str, originals: list[str]) -> tuple[int, int]:
    visible = sum(n in output for n in needles)
    recoverable = sum(n in output or any(n in o for o in originals) for n in needles)
    return visible, recoverable


def measure_ours(payload: Payload, runs: int, count: Callable[[str], int]) -> Side:
    import headroom_middleware as hm

    samples = []
    first: Any = None
    store: Any = None
    for run in range(runs):
        text = cold_variant(payload.text, run)
        run_store = hm.MemoryStore()
        gc.collect()
        t0 = time.perf_counter()
        result = hm.crush(text, store=run_store)
        samples.append((time.perf_counter() - t0) * 1000)
        if run == 0:
            first, store = result, run_store
    originals = [o for o in (hm.retrieve(store, k) for k in first.keys) if o is not None]
    visible, recoverable = _needles(payload.needles, first.text, originals)
    return Side(count(first.text), visible, recoverable, median(samples), samples, first.strategy)


def peer_conversation(text: str, run: int) -> list[dict[str, Any]]:
    call_id = f"call_bench_{run}"
    return [
        {"role": "system", "content": "You are an agent that uses tools."},
        {"role": "user", "content": USER_MESSAGE},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "run_tool", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": text},
    ]


def _peer_tool_output(messages: list[dict[str, Any]]) -> str:
    content = next(m for m in reversed(messages) if m.get("role") == "tool").get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content)


def _peer_originals(output: str) -> list[str]:
    """What headroom-ai's CCR store gives back for the keys its output names."""
    from headroom.cache.compression_store import get_compression_store

    store = get_compression_store()
    originals = []
    for match in _PEER_KEY_RE.finditer(output):
        entry = store.retrieve(match.group(1) or match.group(2))
        if entry is not None:
            originals.append(entry.original_content)
    return originals


def measure_peer(payload: Payload, runs: int, count: Callable[[str], int]) -> Side:
    import headroom

    samples = []
    output = ""
    label = ""
    for run in range(runs):
        messages = peer_conversation(cold_variant(payload.text, run), run)
        gc.collect()
        t0 = time.perf_counter()
        result = headroom.compress(messages, model="gpt-4o")
        samples.append((time.perf_counter() - t0) * 1000)
        if run == 0:
            output = _peer_tool_output(result.messages)
            label = ",".join(result.transforms_applied)
    visible, recoverable = _needles(payload.needles, output, _peer_originals(output))
    return Side(count(output), visible, recoverable, median(samples), samples, label)


def quiet_peer() -> None:
    """headroom-ai logs warnings (ONNX runtime, inflation guard) for every call; keep the table readable."""
    logging.getLogger("headroom").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def warm_up() -> None:
    """Pay one-time start-up costs of both systems on a payload that is not a fixture."""
    import headroom

    import headroom_middleware as hm

    records = json.dumps([{"id": i, "status": "ok", "ms": i % 17} for i in range(400)])
    log = "".join(f"2026-01-01T00:00:{i % 60:02d}Z INFO worker {i} done\n" for i in range(2000))
    for i, text in enumerate([records, log, records + " ", log + " "]):
        hm.crush(text, store=hm.MemoryStore())
        headroom.compress(peer_conversation(text, 1000 + i), model="gpt-4o")


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def run(only: str | None, runs: int) -> dict[str, Any]:
    count = o200k_counter()
    payloads = load_payloads(only)
    if not payloads:
        raise SystemExit(f"no payload matches --only {only!r}")
    quiet_peer()
    warm_up()
    rows = []
    for payload in payloads:
        before = count(payload.text)
        ours = measure_ours(payload, runs, count)
        peer = measure_peer(payload, runs, count)
        rows.append(
            {
                "payload": payload.name,
                "bytes": len(payload.text.encode("utf-8", "surrogatepass")),
                "tokens_before": before,
                "needles": len(payload.needles),
                "ours": asdict(ours),
                "peer": asdict(peer),
            }
        )
    return {"method": _method(runs), "payloads": rows, "groups": _groups(rows), "totals": _totals(rows)}


def _groups(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Totals per fixture folder: the real corpus on its own, apart from the generated shapes."""
    folders = sorted({r["payload"].split("/", 1)[0] for r in rows})
    return {f: _totals([r for r in rows if r["payload"].startswith(f + "/")]) for f in folders}


def _method(runs: int) -> dict[str, Any]:
    from importlib.metadata import version

    import headroom_middleware as hm

    return {
        "ours": f"headroom_middleware {hm.__version__}: hm.crush(payload, store=MemoryStore())",
        "peer": f"headroom-ai {version('headroom-ai')}: headroom.compress(messages, model='gpt-4o')",
        "tokens": "o200k_base (tiktoken)",
        "runs": runs,
        "cold": "run k appends k trailing spaces (distinct content per run); warm-up on a non-fixture",
    }


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(side: str, key: str) -> Any:
        return sum(r[side][key] for r in rows)

    before = sum(r["tokens_before"] for r in rows)
    needles = sum(r["needles"] for r in rows)
    ours_ms, peer_ms = total("ours", "ms"), total("peer", "ms")
    return {
        "tokens_before": before,
        "ours_tokens_after": total("ours", "tokens_after"),
        "peer_tokens_after": total("peer", "tokens_after"),
        "ours_ratio": total("ours", "tokens_after") / before,
        "peer_ratio": total("peer", "tokens_after") / before,
        "ours_vs_peer_tokens": total("ours", "tokens_after") / max(total("peer", "tokens_after"), 1),
        "needles": needles,
        "ours_visible": total("ours", "visible"),
        "ours_recoverable": total("ours", "recoverable"),
        "peer_visible": total("peer", "visible"),
        "peer_recoverable": total("peer", "recoverable"),
        "ours_ms": ours_ms,
        "peer_ms": peer_ms,
        "speedup": peer_ms / ours_ms if ours_ms else float("inf"),
        "payloads_larger_than_peer": [
            r["payload"] for r in rows if r["ours"]["tokens_after"] > r["peer"]["tokens_after"]
        ],
        "payloads_slower_than_peer": [r["payload"] for r in rows if r["ours"]["ms"] > r["peer"]["ms"]],
    }


def _total_row(label: str, t: dict[str, Any]) -> list[object]:
    return [
        label,
        f"{t['tokens_before']:,}",
        f"{t['ours_tokens_after']:,}",
        f"{t['peer_tokens_after']:,}",
        f"{t['ours_ratio']:.1%}",
        f"{t['peer_ratio']:.1%}",
        t["needles"],
        f"{t['ours_visible']}/{t['ours_recoverable']}",
        f"{t['peer_visible']}/{t['peer_recoverable']}",
        f"{t['ours_ms']:.1f}",
        f"{t['peer_ms']:.1f}",
        f"{t['speedup']:.1f}",
        "",
    ]


def render(results: dict[str, Any]) -> str:
    headers = [
        "payload",
        "tokens",
        "ours",
        "peer",
        "ours %",
        "peer %",
        "needles",
        "ours vis/rec",
        "peer vis/rec",
        "ours ms",
        "peer ms",
        "speed x",
        "ours strategy",
    ]
    rows = []
    for r in results["payloads"]:
        o, p, n = r["ours"], r["peer"], r["needles"]
        rows.append(
            [
                r["payload"],
                f"{r['tokens_before']:,}",
                f"{o['tokens_after']:,}",
                f"{p['tokens_after']:,}",
                _pct(o["tokens_after"], r["tokens_before"]),
                _pct(p["tokens_after"], r["tokens_before"]),
                n,
                f"{o['visible']}/{o['recoverable']}" if n else "-",
                f"{p['visible']}/{p['recoverable']}" if n else "-",
                f"{o['ms']:.1f}",
                f"{p['ms']:.1f}",
                f"{p['ms'] / o['ms']:.1f}" if o["ms"] else "-",
                o["label"],
            ]
        )
    for folder, group in results.get("groups", {}).items():
        rows.append(_total_row(f"{folder}/ subtotal", group))
    t = results["totals"]
    n = t["needles"]
    rows.append(_total_row("TOTAL", t))
    m = results["method"]
    lines = [
        f"ours: {m['ours']}",
        f"peer: {m['peer']}",
        f"tokens: {m['tokens']}; ms: median of {m['runs']} cold runs ({m['cold']})",
        "",
        table(headers, rows),
        "",
        f"tokens after / before: ours {t['ours_ratio']:.1%}, peer {t['peer_ratio']:.1%}; "
        f"ours / peer tokens after: {t['ours_vs_peer_tokens']:.2f}",
        f"needles visible: ours {_pct(t['ours_visible'], n)}, peer {_pct(t['peer_visible'], n)}; "
        f"recoverable: ours {_pct(t['ours_recoverable'], n)}, peer {_pct(t['peer_recoverable'], n)}",
        f"speed: ours {t['ours_ms']:.1f} ms, peer {t['peer_ms']:.1f} ms in total: "
        f"ours {t['speedup']:.1f}x faster",
        "payloads where ours is larger than peer: " + (", ".join(t["payloads_larger_than_peer"]) or "none"),
        "payloads where ours is slower than peer: "
        + (", ".join(t.get("payloads_slower_than_peer", [])) or "none"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ours vs headroom-ai 0.42 on the fixture payloads")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--only", metavar="NAME", help="only payloads whose name contains NAME")
    parser.add_argument("--runs", type=int, default=3, help="cold runs per payload (median; default 3)")
    parser.add_argument("--quick", action="store_true", help="one cold run per payload (same as --runs 1)")
    args = parser.parse_args(argv)
    results = run(args.only, 1 if args.quick else max(1, args.runs))
    print(json.dumps(results, indent=1) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
