"""The real LiteLLM proxy (``litellm --config``) with ``callbacks: headroom_litellm.callback``.

The proxy runs as a subprocess on a free 127.0.0.1 port, pointed at the fake provider of this test
process; httpx drives it like any client would. Needs the proxy's own dependencies (the ``proxy``
extra of this package); skipped with the reason when they are missing.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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

from headroom_middleware import retrieval_tool

MASTER_KEY = "sk-headroom-test-master"
STARTUP_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proxy_importable() -> str | None:
    probe = subprocess.run(
        [sys.executable, "-c", "import fastapi, uvicorn, backoff, yaml, litellm.proxy.proxy_server"],
        capture_output=True,
        text=True,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        timeout=300,
    )
    return None if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["?"])[-1]


@pytest.fixture(scope="module")
def proxy_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy")


@pytest.fixture(scope="module")
def proxy(provider_server: FakeProvider, proxy_workdir: Path) -> Iterator[str]:
    missing = _proxy_importable()
    if missing:
        pytest.skip(
            f"the LiteLLM proxy cannot start here: {missing} (pip install 'integrations/litellm[proxy]')"
        )
    workdir = proxy_workdir
    config = workdir / "config.yaml"
    config.write_text(
        f"""
model_list:
  - model_name: fake-openai
    litellm_params:
      model: openai/gpt-fake
      api_base: {provider_server.base_url}/v1
      api_key: sk-fake
  - model_name: fake-claude
    litellm_params:
      model: anthropic/claude-haiku-4-5
      api_base: {provider_server.base_url}
      api_key: sk-ant-fake
litellm_settings:
  callbacks: headroom_litellm.callback
"""
    )
    port = _free_port()
    log_path = workdir / "proxy.log"
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        # The originals go to a file every proxy worker can read (hm.open_store).
        "HEADROOM_STORE": f"sqlite:///{workdir / 'originals.db'}",
    }
    litellm_cli = Path(sys.executable).with_name("litellm")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(litellm_cli), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the proxy exited at start-up:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the proxy did not come up:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _post(base: str, path: str, body: dict[str, Any]) -> httpx.Response:
    response = httpx.post(
        base + path, json=body, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=120
    )
    assert response.status_code == 200, response.text[:2000]
    return response


def test_proxy_chat_is_compressed(proxy: str, provider: FakeProvider, ec2_json: str) -> None:
    messages = openai_conversation(ec2_json)
    reply = _post(
        proxy, "/v1/chat/completions", {"model": "fake-openai", "messages": messages, "tools": [USER_TOOL]}
    )
    assert reply.json()["choices"][0]["message"]["content"] == "ok"
    # The proxy's pre-call hook ran and recorded the savings (metadata -> response headers).
    saved = int(reply.headers["x-headroom-tokens-saved"])
    assert saved == int(reply.headers["x-headroom-tokens-before"]) - int(
        reply.headers["x-headroom-tokens-after"]
    )
    assert saved > 0
    [sent_body] = provider.requests()
    sent = sent_body["messages"][3]["content"]
    assert len(sent) < len(ec2_json) / 3 and KEY_RE.search(sent)
    assert tool_names(sent_body) == ["describe_instances", "headroom_retrieve"]


def test_proxy_streamed_chat_answers_retrieval(proxy: str, provider: FakeProvider, ec2_json: str) -> None:
    provider.reset(retrieval_script)
    body = {
        "model": "fake-openai",
        "messages": openai_conversation(ec2_json),
        "tools": [USER_TOOL],
        "stream": True,
    }
    reply = _post(proxy, "/v1/chat/completions", body)
    assert reply.headers["content-type"].startswith("text/event-stream")
    text = ""
    for line in reply.text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            delta = json.loads(line[6:])["choices"][0]["delta"]
            text += delta.get("content") or ""
            assert not delta.get("tool_calls")
    first, second = provider.requests()
    assert ec2_json not in all_text(first)
    [answer] = retrieval_answers(second)
    assert text == f"final answer after retrieving {len(answer)} characters"
    assert is_part_of(json.loads(ec2_json), json.loads(answer))


def test_proxy_messages_route_is_compressed_and_retrieval_answered(
    proxy: str, provider: FakeProvider, ec2_json: str
) -> None:
    provider.reset(retrieval_script)
    body = {
        "model": "fake-claude",
        "max_tokens": 200,
        "messages": anthropic_conversation(ec2_json),
        "tools": [USER_TOOL_ANTHROPIC],
    }
    reply = _post(proxy, "/v1/messages", body)
    content = reply.json()["content"]
    assert int(reply.headers["x-headroom-tokens-saved"]) > 0
    first, second = provider.requests()
    assert provider.paths == ["/v1/messages", "/v1/messages"]
    sent = first["messages"][2]["content"][0]["content"]
    assert len(sent) < len(ec2_json) / 3 and KEY_RE.search(sent)
    assert tool_names(first) == ["describe_instances", "headroom_retrieve"]
    [answer] = retrieval_answers(second)
    assert is_part_of(json.loads(ec2_json), json.loads(answer))
    assert content == [{"type": "text", "text": f"final answer after retrieving {len(answer)} characters"}]


def test_proxy_keeps_end_users_apart(proxy: str, provider: FakeProvider, ec2_json: str) -> None:
    conversation = openai_conversation(ec2_json, question="Which instances are stopped? (alice)")
    _post(proxy, "/v1/chat/completions", {"model": "fake-openai", "messages": conversation, "user": "alice"})
    key = KEY_RE.search(all_text(provider.requests()[0]))
    assert key is not None

    def ask_for_alices_key(request: dict[str, Any]) -> Reply:
        if retrieval_answers(request):
            return Reply(text="done")
        return Reply(tool_calls=[ToolCall("call_x", "headroom_retrieve", {"key": key.group(1)})])

    small = [{"role": "user", "content": "hi"}]
    tools = [USER_TOOL, retrieval_tool("openai")]
    answers = {}
    for user in ("bob", "alice"):
        provider.reset(ask_for_alices_key)
        body = {"model": "fake-openai", "messages": small, "tools": tools, "user": user}
        assert _post(proxy, "/v1/chat/completions", body).json()["choices"][0]["message"]["content"] == "done"
        [answers[user]] = retrieval_answers(provider.requests()[1])
    assert "nothing is stored" in answers["bob"]
    assert is_part_of(json.loads(ec2_json), json.loads(answers["alice"]))


def test_proxy_keeps_originals_in_the_store_headroom_store_names(
    proxy: str, proxy_workdir: Path, provider: FakeProvider, ec2_json: str
) -> None:
    """HEADROOM_STORE=sqlite:///... puts the originals in one file, so several proxy workers share them."""
    database = proxy_workdir / "originals.db"
    conversation = openai_conversation(ec2_json, question="Which instances are stopped? (store)")
    _post(proxy, "/v1/chat/completions", {"model": "fake-openai", "messages": conversation})
    key = KEY_RE.search(all_text(provider.requests()[0]))
    assert key is not None
    with sqlite3.connect(database) as db:
        stored = dict(db.execute("SELECT key, data FROM originals"))
    # Filed under the request's tenant: ``<key>@<tenant digest>`` (see headroom_litellm._tenant).
    # (Earlier tests stored the same original for other tenants: one row each.)
    rows = [data for name, data in stored.items() if name.split("@")[0] == key.group(1)]
    assert rows
    assert all(is_part_of(json.loads(ec2_json), json.loads(data)) for data in rows)
