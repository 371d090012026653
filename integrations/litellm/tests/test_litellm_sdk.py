"""HeadroomCallback with the real LiteLLM SDK against fake OpenAI / Anthropic servers on 127.0.0.1.

Every assertion is on the bytes the fake provider received (what went on the wire) or on what the
caller got back.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import litellm
import pytest
from _litellm_fake_provider import (
    KEY_RE,
    USER_TOOL,
    USER_TOOL_ANTHROPIC,
    FakeProvider,
    Reply,
    ToolCall,
    all_text,
    anthropic_conversation,
    is_part_of,
    openai_conversation,
    retrieval_answers,
    retrieval_script,
    tool_names,
)
from headroom_litellm import HeadroomCallback


def _openai(provider: FakeProvider) -> dict[str, Any]:
    return {"model": "openai/gpt-fake", "api_base": provider.base_url + "/v1", "api_key": "sk-fake"}


def _anthropic(provider: FakeProvider) -> dict[str, Any]:
    return {"model": "anthropic/claude-haiku-4-5", "api_base": provider.base_url, "api_key": "sk-ant-fake"}


def _stored_original(cb: HeadroomCallback, request: dict[str, Any], original: str) -> str:
    """What the first marker's key holds: exact stored bytes, and a part of the original document."""
    match = KEY_RE.search(all_text(request))
    assert match is not None
    data = cb.pipeline.store.get(match.group(1))
    assert data is not None
    text = data.decode()
    assert is_part_of(json.loads(original), json.loads(text))
    return text


def _is_part_of(document: Any, value: Any) -> bool:
    if document == value:
        return True
    children = (
        document.values() if isinstance(document, dict) else document if isinstance(document, list) else ()
    )
    return any(_is_part_of(child, value) for child in children)


async def _collect(stream: Any) -> str:
    parts = []
    async for chunk in stream:
        delta = chunk.choices[0].delta
        if delta.content:
            parts.append(delta.content)
        assert not delta.tool_calls, "a retrieval call leaked into the caller's stream"
    return "".join(parts)


async def test_tool_result_is_compressed_on_the_wire(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str
) -> None:
    messages = openai_conversation(ec2_json)
    tools = [USER_TOOL]
    messages_before, tools_before = copy.deepcopy(messages), copy.deepcopy(tools)

    response = await litellm.acompletion(messages=messages, tools=tools, **_openai(provider))

    assert response.choices[0].message.content == "ok"
    [body] = provider.requests()
    sent = body["messages"][3]["content"]
    assert sent != ec2_json and len(sent) < len(ec2_json) / 3
    assert KEY_RE.search(sent), "the compressed result names its key"
    assert tool_names(body) == ["describe_instances", "headroom_retrieve"]
    assert body["messages"][:2] == messages_before[:2]  # system and user text untouched
    assert body["messages"][2]["tool_calls"] == messages_before[2]["tool_calls"]
    assert messages == messages_before and tools == tools_before  # the caller's objects are untouched
    assert headroom.stats()["tokens_saved"] > 0


async def test_small_conversation_passes_through_unchanged(
    provider: FakeProvider, headroom: HeadroomCallback
) -> None:
    messages = openai_conversation('{"instances": []}')
    await litellm.acompletion(messages=messages, tools=[USER_TOOL], **_openai(provider))
    [body] = provider.requests()
    assert body["messages"][3]["content"] == '{"instances": []}'
    assert tool_names(body) == ["describe_instances"]


@pytest.mark.parametrize("stream", [False, True])
async def test_retrieval_is_answered_inside_litellm(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, stream: bool
) -> None:
    provider.reset(retrieval_script)
    response = await litellm.acompletion(
        messages=openai_conversation(ec2_json), tools=[USER_TOOL], stream=stream, **_openai(provider)
    )
    text = await _collect(response) if stream else response.choices[0].message.content
    first, second = provider.requests()
    stored = _stored_original(headroom, first, ec2_json)
    assert text == f"final answer after retrieving {len(stored)} characters"
    assert not first.get("stream") and not second.get("stream")  # the stream was converted for the loop
    assert retrieval_answers(second) == [stored]  # what was dropped, byte for byte
    assert tool_names(second).count("headroom_retrieve") == 1
    assert headroom.stats()["retrievals_answered"] == 1


async def test_streamed_call_without_compression_stays_streamed(
    provider: FakeProvider, headroom: HeadroomCallback
) -> None:
    response = await litellm.acompletion(
        messages=[{"role": "user", "content": "hi"}], stream=True, **_openai(provider)
    )
    assert await _collect(response) == "ok"
    [body] = provider.requests()
    assert body["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_chat_retrieval(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, stream: bool
) -> None:
    provider.reset(retrieval_script)
    messages = openai_conversation(ec2_json)  # chat format in, Anthropic Messages on the wire
    response = await litellm.acompletion(
        messages=messages, tools=[USER_TOOL], stream=stream, max_tokens=100, **_anthropic(provider)
    )
    text = await _collect(response) if stream else response.choices[0].message.content
    first, second = provider.requests()
    stored = _stored_original(headroom, first, ec2_json)
    assert text == f"final answer after retrieving {len(stored)} characters"
    assert provider.paths == ["/v1/messages", "/v1/messages"]
    assert ec2_json not in all_text(first)
    assert retrieval_answers(second) == [stored]


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_messages_api(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, stream: bool
) -> None:
    provider.reset(retrieval_script)
    messages = anthropic_conversation(ec2_json)
    before = copy.deepcopy(messages)
    response = await litellm.anthropic_messages(
        messages=messages,
        tools=[USER_TOOL_ANTHROPIC],
        max_tokens=100,
        stream=stream,
        **_anthropic(provider),
    )
    if stream:
        events = [e async for e in response]
        raw = b"".join(e if isinstance(e, bytes) else json.dumps(e).encode() for e in events).decode()
        assert "final answer after retrieving" in raw
        assert "headroom_retrieve" not in raw
    else:
        assert response["content"][0]["text"].startswith("final answer after retrieving")
    first, second = provider.requests()
    stored = _stored_original(headroom, first, ec2_json)
    if not stream:
        assert response["content"][0]["text"] == f"final answer after retrieving {len(stored)} characters"
    assert tool_names(first) == ["describe_instances", "headroom_retrieve"]
    sent = first["messages"][2]["content"][0]["content"]
    assert isinstance(sent, str) and len(sent) < len(ec2_json) / 3
    assert retrieval_answers(second) == [stored]
    assert messages == before


async def test_fail_open_when_the_engine_raises(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import headroom_middleware.pipeline._executor as executor

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(executor._crush, "plan", broken)
    response = await litellm.acompletion(
        messages=openai_conversation(ec2_json), tools=[USER_TOOL], **_openai(provider)
    )
    assert response.choices[0].message.content == "ok"
    [body] = provider.requests()
    assert body["messages"][3]["content"] == ec2_json
    assert tool_names(body) == ["describe_instances"]
    assert headroom.stats()["errors"] >= 1


async def test_fail_open_when_the_pipeline_itself_raises(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("no room")

    monkeypatch.setattr(headroom.pipeline, "acompress", broken)
    await litellm.acompletion(messages=openai_conversation(ec2_json), **_openai(provider))
    [body] = provider.requests()
    assert body["messages"][3]["content"] == ec2_json
    assert headroom.stats()["errors"] == 1


async def test_mixed_calls_hand_the_callers_back_and_splice_ours_in(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str
) -> None:
    def mixed(request: dict[str, Any]) -> Reply:
        key = KEY_RE.search(all_text(request))
        assert key is not None
        return Reply(
            tool_calls=[
                ToolCall("call_r", "headroom_retrieve", {"key": key.group(1)}),
                ToolCall("call_user", "describe_instances", {"region": "eu-west-1"}),
            ]
        )

    provider.reset(mixed)
    messages = openai_conversation(ec2_json)
    response = await litellm.acompletion(messages=messages, tools=[USER_TOOL], **_openai(provider))
    calls = response.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["describe_instances"]
    assert len(provider.requests()) == 1

    # The caller runs its tool and sends the turn back: our call and its answer are spliced in.
    provider.reset()
    turn = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_user",
                "type": "function",
                "function": {"name": "describe_instances", "arguments": "{}"},
            }
        ],
    }
    follow = [*messages, turn, {"role": "tool", "tool_call_id": "call_user", "content": "no instances"}]
    await litellm.acompletion(messages=follow, tools=[USER_TOOL], **_openai(provider))
    [body] = provider.requests()
    assert retrieval_answers(body) == [_stored_original(headroom, body, ec2_json)]
    spliced = body["messages"][4]
    assert [tc["id"] for tc in spliced["tool_calls"]] == ["call_r", "call_user"]
    assert [m.get("tool_call_id") for m in body["messages"][5:7]] == ["call_r", "call_user"]


async def test_savings_reach_the_logging_metadata(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str
) -> None:
    seen: list[dict[str, Any]] = []

    class Spy(litellm.integrations.custom_logger.CustomLogger):  # type: ignore[name-defined,misc]
        async def async_log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            seen.append(kwargs["litellm_params"]["metadata"])

    litellm.callbacks = [headroom, Spy()]
    caller_metadata = {"trace": "t1"}
    await litellm.acompletion(
        messages=openai_conversation(ec2_json), metadata=caller_metadata, **_openai(provider)
    )
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    [meta] = seen
    assert meta["trace"] == "t1"
    assert meta["headroom"]["tokens_saved"] == headroom.stats()["tokens_saved"] > 0
    assert meta["compression_savings"]["tokens_saved"] == meta["headroom"]["tokens_saved"]
    assert caller_metadata == {"trace": "t1"}
    [body] = provider.requests()
    assert "metadata" not in body  # litellm keeps its metadata off the wire


async def test_conflict_with_litellm_headroom_guardrail_is_a_clear_error(
    provider: FakeProvider, headroom: HeadroomCallback
) -> None:
    from litellm.proxy.guardrails.guardrail_hooks.headroom.headroom import HeadroomGuardrail

    litellm.callbacks = [headroom, HeadroomGuardrail(api_base="http://127.0.0.1:9", guardrail_name="hr")]
    with pytest.raises(Exception, match="built-in Headroom guardrail"):
        await litellm.acompletion(messages=[{"role": "user", "content": "hi"}], **_openai(provider))
    assert provider.requests() == []


@pytest.mark.parametrize("stream", [False, True])
async def test_responses_api(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, stream: bool
) -> None:
    provider.reset(retrieval_script)
    items = [
        {"role": "user", "content": "Which instances are stopped?"},
        {"type": "function_call", "call_id": "call_1", "name": "describe_instances", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": ec2_json},
    ]
    tools = [
        {"type": "function", "name": "describe_instances", "parameters": {"type": "object", "properties": {}}}
    ]
    before = copy.deepcopy(items)
    response = await litellm.aresponses(
        input=items,
        tools=tools,
        stream=stream,
        model="openai/gpt-fake",
        api_base=provider.base_url + "/v1",
        api_key="k",
    )
    if stream:
        events = [e async for e in response]
        done = [e for e in events if getattr(e, "type", "") == "response.completed"]
        text = done[-1].response.output[-1].content[0].text
    else:
        text = response.output[-1].content[0].text
    first, second = provider.requests()
    assert provider.paths == ["/v1/responses", "/v1/responses"]
    sent = first["input"][2]["output"]
    assert len(sent) < len(ec2_json) / 3 and KEY_RE.search(sent)
    assert tool_names(first) == ["describe_instances", "headroom_retrieve"]
    stored = _stored_original(headroom, first, ec2_json)
    assert retrieval_answers(second) == [stored]
    assert text == f"final answer after retrieving {len(stored)} characters"
    assert items == before


async def test_retrieval_rounds_are_bounded(
    provider: FakeProvider, ec2_json: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cb = HeadroomCallback(max_rounds=2)
    monkeypatch.setattr(litellm, "callbacks", [cb])
    rounds = iter(range(100))

    def insatiable(request: dict[str, Any]) -> Reply:
        key = KEY_RE.search(all_text(request))
        assert key is not None
        n = next(rounds)  # a new query every time, so LiteLLM's repeat detector stays out of it
        return Reply(
            text=f"round {n}",
            tool_calls=[ToolCall(f"call_{n}", "headroom_retrieve", {"key": key.group(1), "query": f"q{n}"})],
        )

    provider.reset(insatiable)
    response = await litellm.acompletion(
        messages=openai_conversation(ec2_json), tools=[USER_TOOL], **_openai(provider)
    )
    assert len(provider.requests()) == 3  # the request and two retrieval rounds
    assert response.choices[0].message.tool_calls is None  # our call never reaches the caller
    assert response.choices[0].message.content == "round 2"
    assert cb.stats()["retrievals_answered"] == 2


async def test_earlier_results_read_the_same_in_later_turns(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, build_log: str
) -> None:
    turn1 = openai_conversation(ec2_json)
    await litellm.acompletion(messages=turn1, tools=[USER_TOOL], **_openai(provider))
    turn2 = [
        *turn1,
        {"role": "assistant", "content": "Let me check the build too."},
        {"role": "user", "content": "And the build?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_2", "type": "function", "function": {"name": "build_log", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_2", "content": build_log},
    ]
    await litellm.acompletion(messages=turn2, tools=[USER_TOOL], **_openai(provider))
    first, second = provider.requests()
    assert json.dumps(second["messages"][:4]) == json.dumps(first["messages"][:4])  # stable prefix
    assert len(second["messages"][-1]["content"]) < len(build_log) / 10
    assert tool_names(second).count("headroom_retrieve") == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_messages_mixed_calls_are_spliced_back(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, stream: bool
) -> None:
    def mixed(request: dict[str, Any]) -> Reply:
        key = KEY_RE.search(all_text(request))
        assert key is not None
        return Reply(
            tool_calls=[
                ToolCall("toolu_r", "headroom_retrieve", {"key": key.group(1)}),
                ToolCall("toolu_user", "describe_instances", {}),
            ]
        )

    provider.reset(mixed)
    messages = anthropic_conversation(ec2_json)
    kw = {"tools": [USER_TOOL_ANTHROPIC], "max_tokens": 100, **_anthropic(provider)}
    response = await litellm.anthropic_messages(messages=messages, stream=stream, **kw)
    if stream:
        raw = b"".join(
            [e if isinstance(e, bytes) else json.dumps(e).encode() async for e in response]
        ).decode()
        assert '"name": "describe_instances"' in raw and "headroom_retrieve" not in raw
        assert "event: error" not in raw
    else:
        assert [b["name"] for b in response["content"] if b["type"] == "tool_use"] == ["describe_instances"]
    [first] = provider.requests()
    assert "max_agentic_loops" not in first  # our loop-cap hint never reaches the wire

    provider.reset()
    follow = [
        *messages,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_user", "name": "describe_instances", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_user", "content": "none"}],
        },
    ]
    await litellm.anthropic_messages(messages=follow, **kw)
    [body] = provider.requests()
    assert [b["id"] for b in body["messages"][3]["content"]] == ["toolu_user", "toolu_r"]
    assert [b["tool_use_id"] for b in body["messages"][4]["content"]] == ["toolu_r", "toolu_user"]
    assert retrieval_answers(body) == [_stored_original(headroom, body, ec2_json)]


async def test_anthropic_messages_stream_rounds_are_bounded(
    provider: FakeProvider, ec2_json: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cb = HeadroomCallback(max_rounds=2)
    monkeypatch.setattr(litellm, "callbacks", [cb])
    rounds = iter(range(100))

    def insatiable(request: dict[str, Any]) -> Reply:
        key = KEY_RE.search(all_text(request))
        assert key is not None
        n = next(rounds)
        return Reply(
            text=f"round {n}",
            tool_calls=[ToolCall(f"toolu_{n}", "headroom_retrieve", {"key": key.group(1), "query": f"q{n}"})],
        )

    provider.reset(insatiable)
    response = await litellm.anthropic_messages(
        messages=anthropic_conversation(ec2_json),
        tools=[USER_TOOL_ANTHROPIC],
        max_tokens=100,
        stream=True,
        **_anthropic(provider),
    )
    raw = b"".join([e if isinstance(e, bytes) else json.dumps(e).encode() async for e in response]).decode()
    assert len(provider.requests()) == 3
    assert "round 2" in raw and "headroom_retrieve" not in raw and "event: error" not in raw
