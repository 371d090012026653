"""Fake LLM providers on 127.0.0.1 for the LiteLLM tests: OpenAI chat completions and Anthropic Messages.

Each server records the raw body of every request it receives (``server.bodies``) and answers with a
reply chosen by ``server.script(request_json) -> Reply``, as JSON or as an SSE stream when the request
asked for ``"stream": true``. Tests assert on the recorded bytes: that is what went on the wire.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Reply:
    """What the fake model says: text, tool calls, or both."""

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


Script = Callable[[dict[str, Any]], Reply]


def default_script(request: dict[str, Any]) -> Reply:
    return Reply(text="ok")


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # hundreds of concurrent clients connect at once
    daemon_threads = True


class FakeProvider:
    """One threaded HTTP server answering both the OpenAI and the Anthropic routes."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.script: Script = default_script
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self, script: Script = default_script) -> None:
        with self._lock:
            self.bodies.clear()
            self.paths.clear()
            self.script = script

    def requests(self) -> list[dict[str, Any]]:
        """The recorded bodies, parsed."""
        with self._lock:
            return [json.loads(b) for b in self.bodies]

    def record(self, path: str, body: bytes) -> None:
        with self._lock:
            self.bodies.append(body)
            self.paths.append(path)


def _handler_for(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            provider.record(self.path, body)
            request = json.loads(body)
            reply = provider.script(request)
            stream = bool(request.get("stream"))
            if self.path.rstrip("/").endswith("/messages"):
                model = request.get("model", "claude-fake")
                if stream:
                    self._sse(_anthropic_events(reply, model), anthropic=True)
                else:
                    self._json(_anthropic_message(reply, model))
            elif self.path.rstrip("/").endswith("/responses") and not stream:
                self._json(_responses_response(reply, request.get("model", "gpt-fake")))
            elif self.path.rstrip("/").endswith("/chat/completions"):
                model = request.get("model", "gpt-fake")
                if stream:
                    self._sse(_openai_chunks(reply, model), anthropic=False)
                else:
                    self._json(_openai_completion(reply, model))
            else:
                self.send_error(404)

        def _json(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, events: list[tuple[str | None, dict[str, Any] | str]], *, anthropic: bool) -> None:
            parts = []
            for name, data in events:
                text = data if isinstance(data, str) else json.dumps(data)
                parts.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
            payload = "".join(parts).encode()
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


# -- OpenAI ------------------------------------------------------------------------------------------


def _openai_completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in reply.tool_calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _openai_chunks(reply: Reply, model: str) -> list[tuple[str | None, dict[str, Any] | str]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
        return None, {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events: list[tuple[str | None, dict[str, Any] | str]] = [chunk({"role": "assistant", "content": ""})]
    if reply.text:
        half = len(reply.text) // 2
        events += [chunk({"content": reply.text[:half]}), chunk({"content": reply.text[half:]})]
    for i, c in enumerate(reply.tool_calls):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                        }
                    ]
                }
            )
        )
    events.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
    events.append((None, "[DONE]"))
    return events


# -- OpenAI Responses (JSON only) ------------------------------------------------------------------


def _responses_response(reply: Reply, model: str) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if reply.text:
        output.append(
            {
                "type": "message",
                "id": "msg_fake",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        )
    for c in reply.tool_calls:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{c.id}",
                "call_id": c.id,
                "name": c.name,
                "arguments": json.dumps(c.arguments),
                "status": "completed",
            }
        )
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    }


# -- Anthropic ---------------------------------------------------------------------------------------


def _anthropic_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for c in reply.tool_calls:
        blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
    return blocks


def _anthropic_message(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(reply),
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def _anthropic_events(reply: Reply, model: str) -> list[tuple[str | None, dict[str, Any] | str]]:
    start = _anthropic_message(Reply(), model)
    start["stop_reason"] = None
    events: list[tuple[str | None, dict[str, Any] | str]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for i, block in enumerate(_anthropic_blocks(reply)):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "text_delta", "text": block["text"]},
                    },
                )
            )
        else:
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {**block, "input": {}},
                    },
                )
            )
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": 5},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


# -- conversations and scripts the tests share --------------------------------------------------------

KEY_RE = re.compile(r"headroom_retrieve\(key='([0-9a-f]{24})'")
USER_TOOL = {
    "type": "function",
    "function": {
        "name": "describe_instances",
        "description": "List EC2 instances",
        "parameters": {"type": "object", "properties": {}},
    },
}
USER_TOOL_ANTHROPIC = {
    "name": "describe_instances",
    "description": "List EC2 instances",
    "input_schema": {"type": "object", "properties": {}},
}


def openai_conversation(payload: str, question: str = "Which instances are stopped?") -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are an ops assistant."},
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "describe_instances", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": payload},
    ]


def anthropic_conversation(
    payload: str, question: str = "Which instances are stopped?"
) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "describe_instances", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": payload}]},
    ]


def all_text(request: dict[str, Any]) -> str:
    """Every string in a request body, joined (to look for markers and payload bytes)."""
    return json.dumps(request.get("messages", request.get("input", [])), ensure_ascii=False)


def tool_names(request: dict[str, Any]) -> list[str]:
    names = []
    for tool in request.get("tools") or []:
        fn = tool.get("function")
        names.append(fn["name"] if isinstance(fn, dict) else tool.get("name"))
    return names


def retrieval_answers(request: dict[str, Any]) -> list[str]:
    """Texts of the results the request carries for headroom_retrieve calls (any of the three formats)."""
    ids: set[str] = set()
    answers: list[str] = []
    for item in request.get("input") if isinstance(request.get("input"), list) else []:
        if item.get("type") == "function_call" and item.get("name") == "headroom_retrieve":
            ids.add(item["call_id"])
        if item.get("type") == "function_call_output" and item.get("call_id") in ids:
            answers.append(item["output"])
    for m in request.get("messages", []):
        for tc in m.get("tool_calls") or []:
            if tc["function"]["name"] == "headroom_retrieve":
                ids.add(tc["id"])
        content = m.get("content")
        if m.get("role") == "tool" and m.get("tool_call_id") in ids:
            answers.append(
                content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
            )
        if isinstance(content, list):
            for b in content:
                if b.get("type") == "tool_use" and b.get("name") == "headroom_retrieve":
                    ids.add(b["id"])
                if b.get("type") == "tool_result" and b.get("tool_use_id") in ids:
                    inner = b.get("content")
                    answers.append(
                        inner if isinstance(inner, str) else "".join(p.get("text", "") for p in inner)
                    )
    return answers


def retrieval_script(request: dict[str, Any]) -> Reply:
    """A model that asks for the first stored original once, then answers with what it got back."""
    answers = retrieval_answers(request)
    if answers:
        return Reply(text=f"final answer after retrieving {len(answers[-1])} characters")
    match = KEY_RE.search(all_text(request))
    if match is None:
        return Reply(text="nothing was compressed")
    return Reply(tool_calls=[ToolCall("call_r1", "headroom_retrieve", {"key": match.group(1)})])


def is_part_of(document: Any, value: Any) -> bool:
    """True when ``value`` is ``document`` or one of its nested values (what a key can hold for JSON)."""
    if document == value:
        return True
    children = (
        document.values() if isinstance(document, dict) else document if isinstance(document, list) else ()
    )
    return any(is_part_of(child, value) for child in children)
