"""Benchmark 1: pass-through cost of a 20-message chat with nothing large.

Ours: ``Pipeline.compress`` (and ``acompress``) on a chat whose tool results are all small, so the
fast path answers. Peer: headroom-ai 0.42's ``headroom.compress(messages, model="gpt-4o")`` on the
same chat, in the same process and run. Each figure is the median over ``--repeats`` timing loops of
the mean time per call. Target: ours <= 50 us.

    .venv/bin/python benchmarks/passthrough.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import headroom_middleware as hm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, offline_env, table

offline_env()


def chat() -> list[dict[str, Any]]:
    """20 messages: system, user/assistant turns, two small tool calls with their results."""
    msgs: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a helpful assistant for a DevOps team."}
    ]
    for i in range(5):
        msgs.append({"role": "user", "content": f"Question {i}: how is service-{i} doing today? " * 3})
        msgs.append(
            {"role": "assistant", "content": f"Service-{i} looks healthy; p99 latency is {40 + i} ms. " * 3}
        )
    for i in range(2):
        msgs.append({"role": "user", "content": f"Check the deployment status of app-{i}."})
        msgs.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": "deployment_status", "arguments": f'{{"app": "app-{i}"}}'},
                    }
                ],
            }
        )
        msgs.append(
            {
                "role": "tool",
                "tool_call_id": f"call_{i}",
                "content": f'{{"app": "app-{i}", "replicas": 3, "ready": 3, "status": "Running"}}',
            }
        )
        msgs.append({"role": "assistant", "content": f"app-{i} is running with 3 of 3 replicas ready."})
    msgs.append({"role": "user", "content": "Thanks, anything else I should know?"})
    assert len(msgs) == 20
    return msgs


def anthropic_chat() -> list[dict[str, Any]]:
    """The same 20 messages in the Anthropic Messages format (tool_use / tool_result blocks)."""
    msgs: list[dict[str, Any]] = []
    for m in chat()[1:]:
        if m["role"] == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": m["content"]}
            msgs.append({"role": "user", "content": [block]})
        elif m.get("tool_calls"):
            call = m["tool_calls"][0]
            use = {"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": {}}
            msgs.append({"role": "assistant", "content": [use]})
        else:
            msgs.append({"role": m["role"], "content": [{"type": "text", "text": m["content"]}]})
    msgs.append({"role": "assistant", "content": [{"type": "text", "text": "Nothing else."}]})
    assert len(msgs) == 20
    return msgs


def per_call(fn: Callable[[], object], loops: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean seconds per call over ``loops`` calls."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t0) / loops)
    return median(samples)


def per_call_async(pipe: hm.Pipeline, msgs: list[dict[str, Any]], loops: int, repeats: int) -> float:
    async def run() -> float:
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                await pipe.acompress(msgs)
            samples.append((time.perf_counter() - t0) / loops)
        return median(samples)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer loops (a few seconds)")
    args = parser.parse_args()
    loops, peer_loops, repeats = (2000, 100, 5) if args.quick else (20000, 500, 7)
    msgs = chat()
    pipe = hm.Pipeline()
    out, report = pipe.compress(msgs)
    assert out is msgs and not report.changed, "the fast path should leave this chat alone"
    ours = per_call(lambda: pipe.compress(msgs), loops, repeats)
    ours_async = per_call_async(pipe, msgs, loops, repeats)
    amsgs = anthropic_chat()
    assert pipe.compress(amsgs)[0] is amsgs
    ours_anthropic = per_call(lambda: pipe.compress(amsgs), loops, repeats)

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    import headroom

    headroom.compress(msgs, model="gpt-4o")  # one-time start-up outside the measurement
    peer = per_call(lambda: headroom.compress(msgs, model="gpt-4o"), peer_loops, repeats)
    pipe.close()

    rows = [
        ["ours: Pipeline.compress", f"{ours * 1e6:.1f}", f"{peer / ours:.0f}x faster"],
        ["ours: await Pipeline.acompress", f"{ours_async * 1e6:.1f}", f"{peer / ours_async:.0f}x faster"],
        [
            "ours: Pipeline.compress (Anthropic format)",
            f"{ours_anthropic * 1e6:.1f}",
            f"{peer / ours_anthropic:.0f}x faster",
        ],
        ["headroom-ai 0.42: headroom.compress", f"{peer * 1e6:.1f}", "1x"],
    ]
    print("Pass-through of a 20-message chat with nothing large (median of mean per call)\n")
    print(table(["system", "us/call", "vs headroom-ai"], rows))
    verdict = "met" if ours * 1e6 <= 50 else "NOT met"
    print(f"\ntarget ours <= 50 us: {verdict} ({ours * 1e6:.1f} us)")


if __name__ == "__main__":
    main()
