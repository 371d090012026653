"""Router with two deployments, and 200 concurrent acompletion calls, through HeadroomCallback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import litellm
from _litellm_fake_provider import (
    KEY_RE,
    USER_TOOL,
    FakeProvider,
    Reply,
    all_text,
    openai_conversation,
    retrieval_answers,
    retrieval_script,
    tool_names,
)
from headroom_litellm import HeadroomCallback


def _records(tag: int, n: int = 300) -> str:
    """A tool result of ``n`` records; record ``tag`` is the odd one out (an error)."""
    rows = [
        {"id": f"job-{tag}-{i}", "status": "ok", "duration_ms": 100 + i % 7, "region": "eu-west-1"}
        for i in range(n)
    ]
    rows[tag % n] = {**rows[tag % n], "status": "error", "error": f"disk full on node {tag}"}
    return json.dumps(rows)


def _echo_question(request: dict[str, Any]) -> Reply:
    question = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return Reply(text=f"answer to: {question}")


async def test_200_concurrent_acompletion_calls(provider: FakeProvider, headroom: HeadroomCallback) -> None:
    provider.reset(_echo_question)
    n = 200
    calls = [
        litellm.acompletion(
            model="openai/gpt-fake",
            api_base=provider.base_url + "/v1",
            api_key="sk-fake",
            messages=openai_conversation(_records(i), question=f"what failed in batch {i}?"),
            tools=[USER_TOOL],
        )
        for i in range(n)
    ]
    responses = await asyncio.gather(*calls)

    assert [r.choices[0].message.content for r in responses] == [
        f"answer to: what failed in batch {i}?" for i in range(n)
    ]
    bodies = provider.requests()
    assert len(bodies) == n
    by_question = {b["messages"][1]["content"]: b for b in bodies}
    for i in range(n):
        body = by_question[f"what failed in batch {i}?"]
        sent = body["messages"][3]["content"]
        assert len(sent) < len(_records(i)) / 3
        assert f"disk full on node {i}" in sent  # the anomaly of *this* call survived, no cross-talk
        # The retrieval tool goes out exactly when something was dropped (a lossless table needs none).
        expected = (
            ["describe_instances", "headroom_retrieve"] if KEY_RE.search(sent) else ["describe_instances"]
        )
        assert tool_names(body) == expected
    stats = headroom.stats()
    assert stats["requests_compressed"] == n and stats["errors"] == 0


async def test_router_with_two_deployments(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str
) -> None:
    base = provider.base_url + "/v1"
    router = litellm.Router(
        model_list=[
            {
                "model_name": "agent",
                "litellm_params": {"model": "openai/gpt-a", "api_base": base, "api_key": "k"},
            },
            {
                "model_name": "agent",
                "litellm_params": {"model": "openai/gpt-b", "api_base": base, "api_key": "k"},
            },
        ],
        routing_strategy="simple-shuffle",
    )
    messages = openai_conversation(ec2_json)
    for _ in range(24):
        await router.acompletion(model="agent", messages=messages, tools=[USER_TOOL])
    bodies = provider.requests()
    assert {b["model"] for b in bodies} == {"gpt-a", "gpt-b"}
    sent = {b["messages"][3]["content"] for b in bodies}
    assert len(sent) == 1  # every deployment got the same compressed bytes (deterministic)
    assert ec2_json not in sent and KEY_RE.search(next(iter(sent)))

    # Retrieval through the Router: answered inside LiteLLM, at the deployment that was picked.
    provider.reset(retrieval_script)
    response = await router.acompletion(model="agent", messages=messages, tools=[USER_TOOL], stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in response])
    first, second = provider.requests()
    assert first["model"] == second["model"]
    [answer] = retrieval_answers(second)
    assert text == f"final answer after retrieving {len(answer)} characters"
    key = KEY_RE.search(all_text(first))
    assert key is not None and headroom.pipeline.store.get(key.group(1)) == answer.encode()
