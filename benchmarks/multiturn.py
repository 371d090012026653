"""Benchmark 6: a 20-turn agent transcript re-sent every turn, with and without the memo.

Each turn adds a user question, an assistant tool call and its result, and the answer; every other
turn's result is large (a ~100 KB JSON array or log, each different). As an agent framework does,
the whole transcript (originals, not our compressed forms) is sent through ``Pipeline.compress``
again on every turn. Measured: total time over the 20 turns with the memo (default) and without it
(``memo_size=0``), engine runs in each case, and whether any earlier result ever reads differently
in a later turn (it must not: provider prompt caches depend on stable prefixes). A fresh pipeline
in a separate process must produce the same bytes too.

    .venv/bin/python benchmarks/multiturn.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import headroom_middleware as hm
from headroom_middleware import _crush

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _big import api_log
from _common import table


def transcript(turns: int, size: int) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{"role": "system", "content": "You are an on-call assistant."}]
    for t in range(turns):
        if t % 2 == 0:
            result = api_log(size, seed=t) if t % 4 == 0 else _log(size, t)
        else:
            result = json.dumps({"ok": True, "turn": t})
        msgs += [
            {"role": "user", "content": f"Turn {t}: what do you see in the latest data?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": f"call_{t}", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": f"call_{t}", "content": result},
            {"role": "assistant", "content": f"Summary of turn {t}."},
        ]
    return msgs


def _log(size: int, seed: int) -> str:
    lines, n, i = [], 0, 0
    while n < size:
        level = "ERROR" if i % 997 == 13 else "INFO"
        stamp = f"2024-06-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z"
        line = f"{stamp} {level} worker-{i % 5} job {seed}-{i} done in {i % 83} ms"
        lines.append(line)
        n += len(line) + 1
        i += 1
    return "\n".join(lines)


def replay(
    msgs: list[dict[str, Any]], turns: int, memo_size: int
) -> tuple[float, int, int, int, dict[int, str]]:
    """Send the transcript turn by turn; (seconds, engine runs, bytes changes, checks, final view)."""
    runs = 0
    real = _crush.plan

    def counting(*args: Any, **kw: Any) -> Any:
        nonlocal runs
        runs += 1
        return real(*args, **kw)

    _crush.plan = counting
    first_seen: dict[int, str] = {}
    changes = checks = 0
    try:
        with hm.Pipeline(config=hm.Config(executor="inline", memo_size=memo_size)) as pipe:
            t0 = time.perf_counter()
            for t in range(1, turns + 1):
                out, report = pipe.compress(msgs[: 1 + 4 * t])
                for m in report.messages:
                    text = out[m.index]["content"]
                    if m.index in first_seen:
                        checks += 1
                        changes += first_seen[m.index] != text
                    else:
                        first_seen[m.index] = text
            seconds = time.perf_counter() - t0
    finally:
        _crush.plan = real
    return seconds, runs, changes, checks, first_seen


FRESH = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import headroom_middleware as hm
from multiturn import transcript
msgs = transcript(int(sys.argv[2]), int(sys.argv[3]))
out, report = hm.Pipeline(config=hm.Config(executor="inline")).compress(msgs)
print(json.dumps({m.index: out[m.index]["content"] for m in report.messages}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="~30 KB results instead of ~100 KB")
    quick = parser.parse_args().quick
    turns, size = 20, 30_000 if quick else 100_000
    msgs = transcript(turns, size)
    with_memo = replay(msgs, turns, 4096)
    without = replay(msgs, turns, 0)
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH, str(Path(__file__).resolve().parent), str(turns), str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    other_process = {int(k): v for k, v in json.loads(fresh.stdout).items()}
    rows = [
        [
            "with memo (default)",
            f"{with_memo[0] * 1000:.0f}",
            str(with_memo[1]),
            f"{with_memo[2]} of {with_memo[3]}",
        ],
        ["without memo", f"{without[0] * 1000:.0f}", str(without[1]), f"{without[2]} of {without[3]}"],
    ]
    print(
        f"{turns} turns, a large tool result (~{size // 1000} KB) every other turn, whole transcript re-sent "
        "each turn\n"
    )
    print(table(["pipeline", "total ms", "engine runs", "earlier results changed"], rows))
    print(f"\nmemo speed-up: {without[0] / with_memo[0]:.1f}x")
    same = with_memo[4] == without[4] == other_process
    print(f"same bytes with memo, without memo and in a fresh process: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
