"""Pipeline: OpenAI and Anthropic formats, what gets compressed, tool names and queries."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import headroom_middleware as hm
from headroom_middleware import _crush
from headroom_middleware.pipeline._conversation import detect_format


def log_text(n: int = 3000, tag: str = "svc") -> str:
    lines = [
        f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z INFO {tag} request {i} served in {i % 97} ms"
        for i in range(n)
    ]
    lines[n // 2] = f"2024-05-01T12:30:00Z ERROR {tag} database connection refused (attempt 3)"
    return "\n".join(lines) + "\n"


def openai_chat(result: Any, *, tool: str = "fetch_logs", question: str = "why did it fail?") -> list[Any]:
    return [
        {"role": "system", "content": "You are a helpful agent. " * 200},
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": tool, "arguments": json.dumps({"q": "x" * 3000})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": result},
    ]


def anthropic_chat(result: Any, *, tool: str = "fetch_logs", question: str = "why did it fail?") -> list[Any]:
    return [
        {"role": "user", "content": [{"type": "text", "text": question}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "tu_1", "name": tool, "input": {"q": 1}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": result}]},
    ]


@pytest.fixture
def pipe() -> Any:
    with hm.Pipeline(config=hm.Config(max_tokens=300, executor="inline")) as p:
        yield p


def test_openai_string_result_is_compressed_and_recoverable(pipe: hm.Pipeline) -> None:
    text = log_text()
    out, report = pipe.compress(openai_chat(text))
    new = out[3]["content"]
    assert isinstance(new, str) and len(new) < len(text) / 5
    assert hm.carries_marker(new)
    assert "connection refused" in new  # the error line stays visible
    [m] = report.messages
    assert (m.index, m.tool_name, m.part) == (3, "fetch_logs", ())
    assert m.tokens_after < m.tokens_before and m.keys
    assert report.format == "openai" and report.keys == m.keys
    assert report.tokens_saved == m.tokens_before - m.tokens_after > 0
    assert hm.retrieve(pipe.store, m.keys[0]) == text  # byte for byte


def test_openai_content_parts_only_text_parts_change(pipe: hm.Pipeline) -> None:
    text = log_text()
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 50_000}}
    msgs = openai_chat([{"type": "text", "text": "short"}, {"type": "text", "text": text}, image])
    out, report = pipe.compress(msgs)
    parts = out[3]["content"]
    assert parts[0] == {"type": "text", "text": "short"} and parts[2] is image
    assert hm.carries_marker(parts[1]["text"])
    assert report.messages[0].part == (1,)


def test_legacy_function_role_uses_its_name(pipe: hm.Pipeline) -> None:
    msgs = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "function_call": {"name": "legacy_tool", "arguments": "{}"}},
        {"role": "function", "name": "legacy_tool", "content": log_text()},
    ]
    out, report = pipe.compress(msgs)
    assert hm.carries_marker(out[2]["content"])
    assert report.messages[0].tool_name == "legacy_tool"


@pytest.mark.parametrize("as_blocks", [False, True])
def test_anthropic_tool_result(pipe: hm.Pipeline, as_blocks: bool) -> None:
    text = log_text()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "B" * 40_000}}
    result: Any = [{"type": "text", "text": text}, image] if as_blocks else text
    out, report = pipe.compress(anthropic_chat(result))
    block = out[2]["content"][0]
    assert block["type"] == "tool_result" and block["tool_use_id"] == "tu_1"
    new = block["content"][0]["text"] if as_blocks else block["content"]
    assert hm.carries_marker(new) and "connection refused" in new
    if as_blocks:
        assert block["content"][1] is image
    [m] = report.messages
    assert report.format == "anthropic"
    assert (m.index, m.tool_name, m.part) == (2, "fetch_logs", (0, 0) if as_blocks else (0,))
    assert report.tools is not None and report.tools[-1]["name"] == hm.RETRIEVE_TOOL_NAME


def test_nothing_but_tool_results_is_touched(pipe: hm.Pipeline) -> None:
    big = log_text()
    msgs = [
        {"role": "system", "content": big},
        {"role": "user", "content": big},
        {
            "role": "assistant",
            "content": big,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "t", "arguments": big}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "small result"},
    ]
    out, report = pipe.compress(msgs)
    assert out is msgs and report.messages == () and report.tools is None
    amsgs = [
        {"role": "user", "content": [{"type": "text", "text": big}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": big},
                {"type": "tool_use", "id": "t", "name": "x", "input": {"a": big}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]},
    ]
    out, report = pipe.compress(amsgs)
    assert out is amsgs and report.messages == ()


def test_results_at_or_below_min_tokens_are_left_alone() -> None:
    text = log_text(200)
    tokens = hm.estimate_tokens(text)
    with hm.Pipeline(config=hm.Config(min_tokens=tokens, max_tokens=50, executor="inline")) as p:
        out, report = p.compress(openai_chat(text))
        assert report.messages == () and out[3]["content"] == text
    with hm.Pipeline(config=hm.Config(min_tokens=tokens - 1, max_tokens=50, executor="inline")) as p:
        out, report = p.compress(openai_chat(text))
        assert len(report.messages) == 1 and out[3]["content"] != text


def test_retrieval_results_and_marked_content_are_never_compressed(pipe: hm.Pipeline) -> None:
    text = log_text()
    out, _ = pipe.compress(openai_chat(text, tool=hm.RETRIEVE_TOOL_NAME))
    assert out[3]["content"] == text
    out, _ = pipe.compress(openai_chat(text))
    again, report2 = pipe.compress(out)  # already compressed: passes through untouched
    assert report2.messages == () and again[3] is out[3]


def test_query_is_the_latest_user_text_before_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    real = _crush.plan

    def spy(text: str, **kw: Any) -> Any:
        seen.append(kw.get("query"))
        return real(text, **kw)

    monkeypatch.setattr(_crush, "plan", spy)
    with hm.Pipeline(config=hm.Config(max_tokens=300, executor="inline")) as p:
        msgs = openai_chat(log_text(tag="a"), question="first question")
        msgs += [
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "q"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_2", "type": "function", "function": {"name": "t2", "arguments": ""}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_2", "content": log_text(tag="b")},
        ]
        p.compress(msgs)
        assert seen == ["first question", "second\nq"]
        seen.clear()
        p.compress(anthropic_chat(log_text(tag="c"), question="anthropic question"))
        assert seen == ["anthropic question"]
        seen.clear()
        p.compress(openai_chat(log_text(tag="d")), query="explicit")
        assert seen == ["explicit"]


def test_tool_name_falls_back_to_the_message_name(pipe: hm.Pipeline) -> None:
    msgs = [
        {"role": "user", "content": "go"},
        {"role": "tool", "tool_call_id": "unknown", "name": "named_tool", "content": log_text()},
    ]
    _, report = pipe.compress(msgs)
    assert report.messages[0].tool_name == "named_tool"
    msgs = [{"role": "tool", "tool_call_id": "unknown", "content": log_text()}]
    _, report = pipe.compress(msgs)
    assert report.messages[0].tool_name is None


def test_format_detection() -> None:
    assert detect_format(openai_chat("x")) == "openai"
    assert detect_format(anthropic_chat("x")) == "anthropic"
    assert detect_format([{"role": "user", "content": "hi"}]) == "openai"
    assert (
        detect_format([{"role": "user", "content": "hi"}], [{"name": "t", "input_schema": {}}]) == "anthropic"
    )


def test_odd_messages_pass_through(pipe: hm.Pipeline) -> None:
    msgs: list[Any] = [
        "not a dict",
        None,
        {"role": "tool", "content": None},
        {"role": "tool", "content": 42},
        {"role": "tool", "content": [None, {"type": "text", "text": None}]},
        {},
    ]
    snapshot = copy.deepcopy(msgs)
    out, report = pipe.compress(msgs)
    assert out is msgs and out == snapshot and report.messages == ()
