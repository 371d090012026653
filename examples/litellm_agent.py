"""A LiteLLM agent whose big tool results are compressed by ``HeadroomCallback``.

Three tools return real payloads from ``fixtures/``: an API list (EC2 DescribeInstances JSON), a CI
build log (Jenkins console), and a code-search result (grep -rn output). The agent keeps every result
whole in its own history; the callback compresses them on the way to the model on every request
(memoized, so a result reads byte-identical in each later turn) and answers the model's
``headroom_retrieve`` calls inside LiteLLM, so the agent loop never sees them.

Offline by default: an in-process fake OpenAI server on 127.0.0.1 plays the model. It calls the
three tools in turn, then asks ``headroom_retrieve`` for the error lines of the compressed build
log, and answers from what came back. With a real model (any LiteLLM model name, its key set):

    python examples/litellm_agent.py --model gpt-4o-mini                 # OPENAI_API_KEY
    python examples/litellm_agent.py --model anthropic/claude-sonnet-4-5   # ANTHROPIC_API_KEY

Printed: per turn, the tool-result tokens before/after compression; each retrieval round-trip; the
total saved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network for the price map

import litellm
from headroom_litellm import HeadroomCallback

REPO = Path(__file__).resolve().parents[1]
TASK = (
    "Give the on-call a short status: how many EC2 instances are running and how many terminated, "
    "how last night's node micro-benchmark build ended and which benchmark regressed the most (with "
    "its change), and which files of our code base set timeouts. Use the tools."
)

# -- the three tools ---------------------------------------------------------------------------------


def describe_instances(region: str = "us-east-1") -> str:
    """An API list: the raw EC2 DescribeInstances response."""
    return (REPO / "fixtures/corpus/aws_ec2_describe_instances.json").read_text(encoding="utf-8")


def get_build_log(job: str = "benchmark-node-micro-benchmarks") -> str:
    """A log: the Jenkins console output of the last build."""
    return (REPO / "fixtures/corpus/jenkins_console_build_benchmark.txt").read_text(encoding="utf-8")


def search_code(pattern: str = "timeout") -> str:
    """A search result: ``grep -rn`` output (a generated fixture, else a scan of this repository)."""
    generated = REPO / "fixtures/generated/grep_rn_timeout.txt"
    if generated.exists():
        return generated.read_text(encoding="utf-8")
    return _grep_repo(pattern)


def _grep_repo(pattern: str) -> str:
    """A deterministic ``grep -rn``: sorted paths, every matching line as ``path:line:text``."""
    regex = re.compile(re.escape(pattern), re.IGNORECASE)
    lines = []
    for path in sorted(REPO.glob("**/*.py")):
        if ".venv" in path.parts or "site-packages" in path.parts:
            continue
        rel = path.relative_to(REPO).as_posix()
        for no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if regex.search(line):
                lines.append(f"{rel}:{no}:{line}")
    return "\n".join(lines) + "\n"


TOOLS: dict[str, Callable[..., str]] = {
    "describe_instances": describe_instances,
    "get_build_log": get_build_log,
    "search_code": search_code,
}
TOOL_SPECS = [
    {
        "type": "function",
        "function": {
            "name": "describe_instances",
            "description": "Describe every EC2 instance in a region (raw DescribeInstances JSON).",
            "parameters": {"type": "object", "properties": {"region": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_build_log",
            "description": "The console log of the last Jenkins build of a job.",
            "parameters": {"type": "object", "properties": {"job": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_code",
            "description": "grep -rn the code base for a pattern.",
            "parameters": {"type": "object", "properties": {"pattern": {"type": "string"}}},
        },
    },
]


def run_tool(name: str, arguments: str) -> str:
    """Run one tool call; a real model's bad call gets an error text back, as an agent would send."""
    try:
        args = json.loads(arguments)
        return TOOLS[name](**args) if isinstance(args, dict) else TOOLS[name]()
    except (KeyError, TypeError, ValueError) as exc:
        return f"tool error: {type(exc).__name__}: {exc}"


# -- the agent loop ----------------------------------------------------------------------------------


async def run_agent(model: str, extra: dict[str, Any], max_turns: int = 8) -> int:
    headroom = HeadroomCallback()
    litellm.callbacks = [headroom]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a concise SRE assistant."},
        {"role": "user", "content": TASK},
    ]
    print(f"model: {model}\ntask:  {TASK}\n")
    for turn in range(1, max_turns + 1):
        before = headroom.stats()
        response = await litellm.acompletion(model=model, messages=messages, tools=TOOL_SPECS, **extra)
        after = headroom.stats()
        sent_before = after["tokens_before"] - before["tokens_before"]
        sent_after = after["tokens_after"] - before["tokens_after"]
        results = after["results_compressed"] - before["results_compressed"]
        line = f"turn {turn}: {results} tool result(s) compressed, {sent_before:,} -> {sent_after:,} tokens"
        retrievals = after["retrievals_answered"] - before["retrievals_answered"]
        if retrievals:
            line += f"; {retrievals} headroom_retrieve call(s) answered inside LiteLLM"
        print(line)
        message = response.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        if not message.tool_calls:
            print(f"\nanswer: {message.content}\n")
            break
        for call in message.tool_calls:
            output = run_tool(call.function.name or "", call.function.arguments or "{}")
            print(f"  -> {call.function.name}({call.function.arguments}) returned {len(output):,} characters")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": output})
    else:
        print("(stopped after the turn limit)")
    total = headroom.stats()
    print(
        "total over {n} turns: tool results sent as {after:,} tokens instead of {before:,}; "
        "saved {saved:,} tokens ({pct:.0f}%); {r} retrieval(s) answered".format(
            after=total["tokens_after"],
            before=total["tokens_before"],
            saved=total["tokens_saved"],
            n=turn,
            pct=100 * total["tokens_saved"] / max(total["tokens_before"], 1),
            r=total["retrievals_answered"],
        )
    )
    return 0


# -- the offline model: a scripted fake OpenAI server on 127.0.0.1 ----------------------------------

KEY_RE = re.compile(r"headroom_retrieve\(key='([0-9a-f]{24})'")


def scripted_model(request: dict[str, Any]) -> dict[str, Any]:
    """The next assistant message for this conversation: the three tools, one retrieval, an answer.

    It reads only what it was sent (the compressed views and the retrieval answer), like a model.
    """
    messages = request["messages"]
    called = {tc["function"]["name"]: tc for m in messages for tc in m.get("tool_calls") or ()}
    results = {m["tool_call_id"]: m["content"] for m in messages if m.get("role") == "tool"}
    for name, args in (
        ("describe_instances", {}),
        ("get_build_log", {}),
        ("search_code", {"pattern": "timeout"}),
    ):
        if name not in called:
            return _call(f"call_{name}", name, args)
    log_view = results[called["get_build_log"]["id"]]
    if "headroom_retrieve" not in called:
        key = KEY_RE.search(log_view)
        if key is not None:  # some benchmark lines were left out: fetch them all back
            return _call(
                "call_retrieve", "headroom_retrieve", {"key": key.group(1), "query": "buffer-creation.js %"}
            )
    retrieved = (
        results.get(called["headroom_retrieve"]["id"], "") if "headroom_retrieve" in called else log_view
    )
    instances = results[called["describe_instances"]["id"]]
    shown = sorted(set(re.findall(r"\bi-[0-9a-f]{8,17}\b", instances)))
    states = re.findall(r'"Name":\s*"(running|terminated|stopped|pending)"', instances)
    omitted = re.search(r"\[headroom: ([\d,]+ of [\d,]+ \w+) omitted", instances)
    status = next((ln for ln in log_view.splitlines() if ln.startswith("Finished:")), "Finished: ?")
    changes = sorted(
        (float(m.group(2)), m.group(1).split(":", 1)[-1].strip())
        for m in re.finditer(r"^(.*?buffer-creation\.js[^%\n]*?)\s+\**\s*(-?\d+\.\d+) %", retrieved, re.M)
    )
    worst = f"{changes[0][1]} ({changes[0][0]:+.2f} %)" if changes else "none found"
    grep = results[called["search_code"]["id"]]
    files = sorted({m.group(1) for m in re.finditer(r"^([\w./-]+\.\w+):\d+:", grep, re.M)})
    text = (
        f"EC2: {len(shown)} instance ids visible, states seen: {states.count('running')} running, "
        f"{states.count('terminated')} terminated "
        f"({omitted.group(1) + ' omitted, retrievable' if omitted else 'nothing omitted'}). "
        f"Build: {status}; "
        f"{len(changes)} buffer-creation comparisons retrieved, worst regression: {worst}. "
        f"Timeouts are set in {len(files)} files shown, e.g. {', '.join(files[:3])}."
    )
    return {"role": "assistant", "content": text}


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


class _MockModel(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        message = scripted_model(request)
        payload = json.dumps(
            {
                "id": "chatcmpl-mock",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model", "mock"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start_mock_model() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MockModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", help="a LiteLLM model name (needs its provider's key); default: offline mock"
    )
    parser.add_argument("--max-turns", type=int, default=8)
    args = parser.parse_args(argv)
    # The retrieval round-trips, as the callback logs them (sizes and arguments, never content).
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  <> %(message)s"))
    logging.getLogger("headroom_litellm").addHandler(handler)
    logging.getLogger("headroom_litellm").setLevel(logging.INFO)
    if args.model:
        return asyncio.run(run_agent(args.model, {}, args.max_turns))
    server = start_mock_model()
    try:
        extra = {"api_base": f"http://127.0.0.1:{server.server_address[1]}/v1", "api_key": "offline"}
        return asyncio.run(run_agent("openai/mock-agent-model", extra, args.max_turns))
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
