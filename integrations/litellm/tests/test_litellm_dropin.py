"""Sync calls: the callback's one warning, and the drop-in ``completion`` / ``acompletion``."""

from __future__ import annotations

import logging
from typing import Any

import headroom_litellm
import litellm
import pytest
from _litellm_fake_provider import (
    KEY_RE,
    USER_TOOL,
    FakeProvider,
    Reply,
    ToolCall,
    all_text,
    openai_conversation,
    retrieval_answers,
    retrieval_script,
    tool_names,
)
from headroom_litellm import HeadroomCallback


def _openai(provider: FakeProvider) -> dict[str, Any]:
    return {"model": "openai/gpt-fake", "api_base": provider.base_url + "/v1", "api_key": "sk-fake"}


def test_sync_completion_with_the_callback_warns_once(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="headroom_litellm"):
        for _ in range(2):
            litellm.completion(messages=openai_conversation(ec2_json), **_openai(provider))
    warnings = [r for r in caplog.records if "UNCOMPRESSED" in r.getMessage()]
    assert len(warnings) == 1 and "headroom_litellm.completion" in warnings[0].getMessage()
    assert headroom.stats()["sync_calls_uncompressed"] == 2
    assert [b["messages"][3]["content"] for b in provider.requests()] == [ec2_json, ec2_json]


def test_sync_completion_with_nothing_large_does_not_warn(
    provider: FakeProvider, headroom: HeadroomCallback, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="headroom_litellm"):
        litellm.completion(messages=openai_conversation("[]"), **_openai(provider))
    assert not [r for r in caplog.records if "UNCOMPRESSED" in r.getMessage()]
    assert headroom.stats()["sync_calls_uncompressed"] == 0


@pytest.mark.parametrize("stream", [False, True])
def test_drop_in_completion_compresses_and_answers_retrieval(
    provider: FakeProvider, ec2_json: str, stream: bool
) -> None:
    cb = HeadroomCallback()
    provider.reset(retrieval_script)
    messages = openai_conversation(ec2_json)
    response = headroom_litellm.completion(
        messages=messages, tools=[USER_TOOL], stream=stream, headroom=cb, **_openai(provider)
    )
    if stream:
        text = "".join(chunk.choices[0].delta.content or "" for chunk in response)
    else:
        text = response.choices[0].message.content
    first, second = provider.requests()
    assert ec2_json not in all_text(first)
    assert tool_names(first) == ["describe_instances", "headroom_retrieve"]
    assert first.get("stream", False) is stream
    [answer] = retrieval_answers(second)
    key = KEY_RE.search(all_text(first))
    assert key is not None and cb.pipeline.store.get(key.group(1)) == answer.encode()
    assert text == f"final answer after retrieving {len(answer)} characters"
    assert messages == openai_conversation(ec2_json)
    assert cb.stats()["retrievals_answered"] == 1


async def test_drop_in_acompletion_without_any_callback(provider: FakeProvider, ec2_json: str) -> None:
    saved = list(litellm.callbacks)
    litellm.callbacks = []
    try:
        cb = HeadroomCallback()
        provider.reset(retrieval_script)
        response = await headroom_litellm.acompletion(
            messages=openai_conversation(ec2_json), tools=[USER_TOOL], headroom=cb, **_openai(provider)
        )
    finally:
        litellm.callbacks = saved
    first, second = provider.requests()
    [answer] = retrieval_answers(second)
    assert response.choices[0].message.content == f"final answer after retrieving {len(answer)} characters"
    assert ec2_json not in all_text(first)


def test_drop_in_passes_small_calls_straight_through(provider: FakeProvider) -> None:
    response = headroom_litellm.completion(
        messages=[{"role": "user", "content": "hi"}], stream=True, **_openai(provider)
    )
    assert "".join(c.choices[0].delta.content or "" for c in response) == "ok"
    [body] = provider.requests()
    assert body["stream"] is True and "tools" not in body


def test_drop_in_mixed_calls_stream_hands_back_the_callers_call(
    provider: FakeProvider, ec2_json: str
) -> None:
    def mixed(request: dict[str, Any]) -> Reply:
        key = KEY_RE.search(all_text(request))
        assert key is not None
        return Reply(
            text="checking",
            tool_calls=[
                ToolCall("call_r", "headroom_retrieve", {"key": key.group(1)}),
                ToolCall("call_user", "describe_instances", {}),
            ],
        )

    cb = HeadroomCallback()
    provider.reset(mixed)
    chunks = list(
        headroom_litellm.completion(
            messages=openai_conversation(ec2_json),
            tools=[USER_TOOL],
            stream=True,
            headroom=cb,
            **_openai(provider),
        )
    )
    calls = [tc for c in chunks for tc in c.choices[0].delta.tool_calls or ()]
    assert [tc.function.name for tc in calls] == ["describe_instances"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "checking"
    assert len(provider.requests()) == 1 and cb.stats()["retrievals_held_for_caller_turn"] == 1
