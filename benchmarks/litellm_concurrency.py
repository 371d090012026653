"""Many concurrent ``litellm.acompletion`` calls through ``HeadroomCallback`` against a local fake provider.

Each call carries its own large tool result (300 JSON records with one error record that names the
call). The same calls run twice in one process, without and with the callback, and the script prints
errors, wrong answers, wall time of each run and their ratio, tokens saved, and the bytes the fake
provider received. Correctness is checked per call: the answer must be the one for that call, and
with the callback the body must carry that call's own error record (no cross-talk between requests).

    LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python benchmarks/litellm_concurrency.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations" / "litellm" / "tests"))

import litellm
from _litellm_fake_provider import USER_TOOL, FakeProvider, Reply, openai_conversation
from headroom_litellm import HeadroomCallback


def records(tag: int, n: int = 300) -> str:
    rows = [{"id": f"job-{tag}-{i}", "status": "ok", "duration_ms": 100 + i % 7} for i in range(n)]
    rows[tag % n] = {**rows[tag % n], "status": "error", "error": f"disk full on node {tag}"}
    return json.dumps(rows)


def echo_question(request: dict[str, Any]) -> Reply:
    question = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return Reply(text=f"answer to: {question}")


async def run(provider: FakeProvider, calls: int, callback: HeadroomCallback | None) -> dict[str, Any]:
    provider.reset(echo_question)
    litellm.callbacks = [callback] if callback is not None else []
    conversations = [
        openai_conversation(records(i), question=f"what failed in batch {i}?") for i in range(calls)
    ]
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(
            litellm.acompletion(
                model="openai/gpt-fake",
                api_base=provider.base_url + "/v1",
                api_key="sk-fake",
                messages=conv,
                tools=[USER_TOOL],
                num_retries=0,
            )
            for conv in conversations
        ),
        return_exceptions=True,
    )
    seconds = time.perf_counter() - t0
    errors = sum(isinstance(r, BaseException) for r in results)
    wrong = sum(
        1
        for i, r in enumerate(results)
        if not isinstance(r, BaseException)
        and r.choices[0].message.content != f"answer to: what failed in batch {i}?"
    )
    bodies = provider.requests()
    by_question = {b["messages"][1]["content"]: b["messages"][3]["content"] for b in bodies}
    lost = sum(
        1
        for i in range(calls)
        if f"disk full on node {i}" not in by_question.get(f"what failed in batch {i}?", "")
    )
    return {
        "seconds": seconds,
        "errors": errors,
        "wrong": wrong,
        "lost_anomalies": lost,
        "bytes_sent": sum(len(b) for b in provider.bodies),
    }


async def main(calls: int) -> int:
    provider = FakeProvider().start()
    try:
        plain = await run(provider, calls, None)
        callback = HeadroomCallback()
        with_cb = await run(provider, calls, callback)
    finally:
        provider.stop()
    stats = callback.stats()
    print(f"{calls} concurrent acompletion calls, fake OpenAI server on 127.0.0.1")
    for name, r in (("without callback", plain), ("with HeadroomCallback", with_cb)):
        print(
            f"  {name:22s} {r['seconds']:7.2f} s  errors={r['errors']}  wrong answers={r['wrong']}  "
            f"lost error records={r['lost_anomalies']}  bytes on the wire={r['bytes_sent']:,}"
        )
    print(f"  time ratio (with / without): {with_cb['seconds'] / plain['seconds']:.2f}x")
    print(f"  wire bytes ratio (with / without): {with_cb['bytes_sent'] / plain['bytes_sent']:.3f}")
    print(
        f"  tool-result tokens: {stats['tokens_before']:,} -> {stats['tokens_after']:,} "
        f"(saved {stats['tokens_saved']:,}); callback errors={stats['errors']}"
    )
    ok = (
        with_cb["errors"] == 0
        and with_cb["wrong"] == 0
        and with_cb["lost_anomalies"] == 0
        and stats["errors"] == 0
    )
    print("RESULT:", "zero errors" if ok else "FAILURES (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    sys.exit(asyncio.run(main(parser.parse_args().calls)))
