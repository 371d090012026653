"""Tenant isolation: originals stored for one tenant cannot be retrieved by another."""

from __future__ import annotations

from typing import Any

import litellm
from _litellm_fake_provider import (
    KEY_RE,
    USER_TOOL,
    FakeProvider,
    Reply,
    ToolCall,
    all_text,
    openai_conversation,
    retrieval_answers,
)
from headroom_litellm import HeadroomCallback, TenantScopedStore, tenant_of_request, tenant_scope

from headroom_middleware import MemoryStore, make_key


def test_scoped_store_keeps_tenants_apart() -> None:
    base = MemoryStore()
    store = TenantScopedStore(base)
    data = b"secret of tenant A"
    key = make_key(data)
    with tenant_scope("A"):
        assert store.put(key, data) is True
        assert store.get(key) == data
    with tenant_scope("B"):
        assert store.get(key) is None
    assert store.get(key) is None  # no tenant: its own space too
    assert base.get(key) is None and base.get(store.scoped_key(key, "A")) == data
    assert "A" not in store.scoped_key(key, "A")  # tenant ids never appear in store keys


def test_tenant_of_request_reads_what_litellm_gives() -> None:
    assert tenant_of_request({}) is None
    assert tenant_of_request({"user": "u1"}) == tenant_of_request({"user": "u1", "metadata": {"trace": 1}})
    assert tenant_of_request({"user": "u1"}) != tenant_of_request({"user": "u2"})
    proxy = {"metadata": {"user_api_key_hash": "h1", "user_api_key_team_id": "t1"}}
    messages_route = {"litellm_metadata": {"user_api_key_hash": "h1", "user_api_key_team_id": "t1"}}
    assert tenant_of_request(proxy) == tenant_of_request(messages_route) is not None
    other_key = {"metadata": {"user_api_key_hash": "h2", "user_api_key_team_id": "t1"}}
    assert tenant_of_request(proxy) != tenant_of_request(other_key)


async def test_retrieval_from_another_tenant_gets_nothing(
    provider: FakeProvider, headroom: HeadroomCallback, ec2_json: str
) -> None:
    kw: dict[str, Any] = {"model": "openai/gpt-fake", "api_base": provider.base_url + "/v1", "api_key": "k"}
    # Tenant A's call stores the original.
    await litellm.acompletion(
        messages=openai_conversation(ec2_json), tools=[USER_TOOL], user="tenant-a", **kw
    )
    key_match = KEY_RE.search(all_text(provider.requests()[0]))
    assert key_match is not None
    key = key_match.group(1)

    def ask_for(request: dict[str, Any]) -> Reply:
        if retrieval_answers(request):
            return Reply(text="done")
        return Reply(tool_calls=[ToolCall("call_x", "headroom_retrieve", {"key": key})])

    # Tenant B's model asks for A's key: the answer says nothing is stored.
    provider.reset(ask_for)
    small = [{"role": "user", "content": "hi"}]
    b_tools = [USER_TOOL, *_retrieval_tool()]
    await litellm.acompletion(messages=small, tools=b_tools, user="tenant-b", **kw)
    [answer_b] = retrieval_answers(provider.requests()[1])
    assert "nothing is stored" in answer_b and ec2_json[:200] not in answer_b

    # Tenant A asking for the same key gets its original.
    provider.reset(ask_for)
    await litellm.acompletion(messages=small, tools=b_tools, user="tenant-a", **kw)
    [answer_a] = retrieval_answers(provider.requests()[1])
    with tenant_scope(tenant_of_request({"user": "tenant-a"})):
        assert headroom.pipeline.store.get(key) == answer_a.encode()


def _retrieval_tool() -> list[dict[str, Any]]:
    from headroom_middleware import retrieval_tool

    return [retrieval_tool("openai")]
