"""HeadroomMiddleware in real ``create_agent`` agents driven by a scripted tool-calling model."""

from __future__ import annotations

import logging
import re
import threading
from typing import Annotated, Any

import pytest
from headroom_langchain import HeadroomMiddleware, LangGraphStore, _compress
from headroom_langchain.testing import ScriptedChatModel, call
from langchain.agents import create_agent
from langchain.agents.middleware import ClearToolUsesEdit, ContextEditingMiddleware, ToolRetryMiddleware
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

import headroom_middleware as hm
from headroom_middleware._markers import marker_keys

RETRIEVE = hm.RETRIEVE_TOOL_NAME


def _first_key(messages: list[BaseMessage]) -> str:
    for m in messages:
        if isinstance(m, ToolMessage) and isinstance(m.content, str) and marker_keys(m.content):
            return marker_keys(m.content)[0]
    raise AssertionError("no headroom marker in any tool result the model saw")


def _retrieve_step(call_id: str = "c2") -> Any:
    return lambda msgs: call(RETRIEVE, {"key": _first_key(msgs)}, call_id)


def _tool_messages(messages: list[BaseMessage], name: str) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage) and m.name == name]


def _instances_tool(payload: str) -> Any:
    @tool
    def get_instances(region: str) -> str:
        """List the EC2 instances of a region."""
        return payload

    return get_instances


def _ping_tool() -> Any:
    @tool
    def ping(host: str) -> str:
        """Ping a host."""
        return f"{host} is up"

    return ping


def _agent(payload: str, mw: HeadroomMiddleware, **kw: Any) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(
        script=[call("get_instances", {"region": "eu-west-1"}, "c1"), _retrieve_step(), AIMessage("done")]
    )
    return create_agent(model, tools=[_instances_tool(payload)], middleware=[mw], **kw), model


def _check_round_trip(
    result: dict[str, Any], model: ScriptedChatModel, payload: str, store: hm.Store | None
) -> None:
    messages = result["messages"]
    (compressed,) = _tool_messages(messages, "get_instances")
    (retrieved,) = _tool_messages(messages, RETRIEVE)
    # The history holds the compressed form, with its figures; the model saw that form, not the payload.
    assert isinstance(compressed.content, str) and hm.carries_marker(compressed.content)
    assert len(compressed.content) < len(payload) // 2
    meta = compressed.response_metadata["headroom"]
    assert meta["tokens_after"] < meta["tokens_before"] and meta["keys"]
    assert compressed.tool_call_id == "c1" and compressed.status == "success"
    assert payload not in [m.content for m in model.calls[1]]
    # The retrieval call brought the stored original back byte for byte (the records crush left out,
    # far larger than the compressed result), and it was not compressed again.
    assert retrieved.content == hm.retrieve(store, meta["keys"][0])
    assert len(retrieved.content) > 2 * len(compressed.content)
    assert "headroom" not in retrieved.response_metadata
    # Every needle of this payload is visible in the compressed form or in what was retrieved.
    for needle in ("i-0dadad9a5766309d5", "i-04a98c45989173c97", "i-01075d2aecbb230b6", "10.0.1.221"):
        assert needle in compressed.content or needle in retrieved.content
    assert RETRIEVE in model.bound_tools and "get_instances" in model.bound_tools
    # Per-run savings land in the state.
    run = result["headroom"]
    assert run["results"] == 1 and run["tokens_saved"] == meta["tokens_before"] - meta["tokens_after"]
    assert run["keys"] == meta["keys"]


def test_agent_compresses_history_and_retrieves_original(payload: str) -> None:
    mw = HeadroomMiddleware()
    agent, model = _agent(payload, mw)
    result = agent.invoke({"messages": [HumanMessage("which instances are stopped?")]})
    _check_round_trip(result, model, payload, mw.store)
    assert mw.counter.snapshot()["results"] == 1


async def test_agent_async_compresses_off_the_event_loop(payload: str) -> None:
    loop_thread = threading.get_ident()
    writers: list[int] = []

    class RecordingStore(hm.MemoryStore):  # type: ignore[misc]
        def put(self, key: str, data: bytes) -> bool:
            writers.append(threading.get_ident())
            return bool(super().put(key, data))

    mw = HeadroomMiddleware(store=RecordingStore())
    agent, model = _agent(payload, mw)
    result = await agent.ainvoke({"messages": [HumanMessage("which instances are stopped?")]})
    _check_round_trip(result, model, payload, mw.store)
    # The crush (which writes the store) ran in a worker thread, not on the event loop's thread.
    assert writers and loop_thread not in writers


def test_counter_totals_several_runs(payload: str) -> None:
    mw = HeadroomMiddleware()
    for _ in range(2):
        agent, _model = _agent(payload, mw)
        result = agent.invoke({"messages": [HumanMessage("list them")]})
        assert result["headroom"]["results"] == 1
    snap = mw.counter.snapshot()
    assert snap["results"] == 2 and snap["tokens_saved"] == 2 * result["headroom"]["tokens_saved"]


def test_stream_updates_carry_the_compressed_result(payload: str) -> None:
    agent, _model = _agent(payload, HeadroomMiddleware())
    tool_updates = []
    for update in agent.stream({"messages": [HumanMessage("list them")]}, stream_mode="updates"):
        if "tools" in update:
            tool_updates.extend(update["tools"]["messages"])
    by_name = {m.name: m for m in tool_updates}
    assert hm.carries_marker(by_name["get_instances"].content)
    assert len(by_name[RETRIEVE].content) > 2 * len(by_name["get_instances"].content)


async def test_astream_updates_carry_the_compressed_result(payload: str) -> None:
    agent, _model = _agent(payload, HeadroomMiddleware())
    names = []
    async for update in agent.astream({"messages": [HumanMessage("list them")]}, stream_mode="updates"):
        for m in update.get("tools", {}).get("messages", []):
            names.append(m.name)
            if m.name == "get_instances":
                assert hm.carries_marker(m.content)
    assert names == ["get_instances", RETRIEVE]


def test_small_results_pass_untouched() -> None:
    model = ScriptedChatModel(script=[call("ping", {"host": "db1"}, "c1"), AIMessage("done")])
    mw = HeadroomMiddleware()
    agent = create_agent(model, tools=[_ping_tool()], middleware=[mw])
    result = agent.invoke({"messages": [HumanMessage("is db1 up?")]})
    (msg,) = _tool_messages(result["messages"], "ping")
    assert msg.content == "db1 is up" and "headroom" not in msg.response_metadata
    assert result["headroom"]["results"] == 0 and mw.counter.snapshot()["results"] == 0


def test_content_and_artifact_keeps_the_artifact(payload: str) -> None:
    @tool(response_format="content_and_artifact")
    def get_instances(region: str) -> tuple[str, dict[str, int]]:
        """List the EC2 instances of a region."""
        return payload, {"bytes": len(payload)}

    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1"), AIMessage("done")])
    agent = create_agent(model, tools=[get_instances], middleware=[HeadroomMiddleware()])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    (msg,) = _tool_messages(result["messages"], "get_instances")
    assert hm.carries_marker(msg.content)
    assert msg.artifact == {"bytes": len(payload)}


def test_return_direct_ends_with_the_compressed_result(payload: str) -> None:
    @tool(return_direct=True)
    def get_instances(region: str) -> str:
        """List the EC2 instances of a region."""
        return payload

    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1")])
    agent = create_agent(model, tools=[get_instances], middleware=[HeadroomMiddleware()])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    last = result["messages"][-1]
    assert isinstance(last, ToolMessage) and last.name == "get_instances"
    assert hm.carries_marker(last.content)
    assert len(model.calls) == 1  # the agent stopped after the tool, as return_direct asks


def test_command_results_are_compressed(payload: str) -> None:
    @tool
    def get_instances(region: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """List the EC2 instances of a region."""
        return Command(update={"messages": [ToolMessage(payload, tool_call_id=tool_call_id)]})

    model = ScriptedChatModel(
        script=[call("get_instances", {"region": "x"}, "c1"), _retrieve_step(), AIMessage("done")]
    )
    mw = HeadroomMiddleware()
    agent = create_agent(model, tools=[get_instances], middleware=[mw])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    tool_msgs = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert tool_msgs[0].tool_call_id == "c1" and hm.carries_marker(tool_msgs[0].content)
    key = marker_keys(tool_msgs[0].content)[0]
    assert tool_msgs[1].name == RETRIEVE and tool_msgs[1].content == hm.retrieve(mw.store, key)
    assert result["headroom"]["results"] == 1


def test_langgraph_store_holds_the_originals(payload: str) -> None:
    graph_store = InMemoryStore()
    mw = HeadroomMiddleware(store="langgraph")
    agent, model = _agent(payload, mw, store=graph_store)
    result = agent.invoke({"messages": [HumanMessage("which instances are stopped?")]})
    _check_round_trip(result, model, payload, LangGraphStore(graph_store))
    assert mw.store is None  # nothing was kept anywhere but the graph's store


def test_langgraph_store_passed_directly(payload: str) -> None:
    graph_store = InMemoryStore()
    agent, model = _agent(payload, HeadroomMiddleware(store=graph_store))
    result = agent.invoke({"messages": [HumanMessage("list")]})
    _check_round_trip(result, model, payload, LangGraphStore(graph_store))
    assert graph_store.search(("headroom", "originals"))


def test_store_url_keeps_the_originals_in_that_store(payload: str, tmp_path: Any) -> None:
    """A URL names a shared store (hm.open_store): the originals land in that SQLite file."""
    mw = HeadroomMiddleware(store=f"sqlite:///{tmp_path / 'originals.db'}")
    assert isinstance(mw.store, hm.SQLiteStore)
    agent, model = _agent(payload, mw)
    result = agent.invoke({"messages": [HumanMessage("which instances are stopped?")]})
    _check_round_trip(result, model, payload, hm.SQLiteStore(tmp_path / "originals.db"))


def test_no_store_opens_the_one_headroom_store_names(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    assert isinstance(HeadroomMiddleware().store, hm.SQLiteStore)
    monkeypatch.delenv("HEADROOM_STORE")
    assert isinstance(HeadroomMiddleware().store, hm.MemoryStore)


def test_an_unknown_store_string_is_refused_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"'langgraph' or a URL .*sqlite:///"):
        HeadroomMiddleware(store="postgres://db/originals")


def test_user_tool_named_headroom_retrieve_is_refused() -> None:
    @tool(RETRIEVE)
    def fake_retrieve(key: str) -> str:
        """Not headroom's."""
        return "x"

    model = ScriptedChatModel(script=[AIMessage("done")])
    agent = create_agent(model, tools=[fake_retrieve], middleware=[HeadroomMiddleware()])
    with pytest.raises(ValueError, match="reserved for the retrieval tool"):
        agent.invoke({"messages": [HumanMessage("hi")]})


def test_fail_open_returns_the_original(payload: str, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(_compress, "_crush_text", broken)
    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1"), AIMessage("done")])
    agent = create_agent(model, tools=[_instances_tool(payload)], middleware=[HeadroomMiddleware()])
    with caplog.at_level(logging.WARNING, logger="headroom_langchain"):
        result = agent.invoke({"messages": [HumanMessage("list")]})
    (msg,) = _tool_messages(result["messages"], "get_instances")
    assert msg.content == payload
    # The warning names the tool and the error type; messages (which could quote the payload) stay out.
    assert "get_instances" in caplog.text and "RuntimeError" in caplog.text
    assert "injected fault" not in caplog.text

    strict = create_agent(
        ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1")]),
        tools=[_instances_tool(payload)],
        middleware=[HeadroomMiddleware(strict=True)],
    )
    with pytest.raises(RuntimeError, match="injected fault"):
        strict.invoke({"messages": [HumanMessage("list")]})


def test_store_that_refuses_gets_a_lossless_result(payload: str) -> None:
    class FullStore:
        def put(self, key: str, data: bytes) -> bool:
            return False

        def get(self, key: str) -> bytes | None:
            return None

    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1"), AIMessage("done")])
    agent = create_agent(
        model, tools=[_instances_tool(payload)], middleware=[HeadroomMiddleware(FullStore())]
    )
    result = agent.invoke({"messages": [HumanMessage("list")]})
    (msg,) = _tool_messages(result["messages"], "get_instances")
    # Nothing may be dropped when the store cannot keep it: no marker, and no data lost.
    assert not hm.carries_marker(msg.content)
    meta = msg.response_metadata.get("headroom")
    assert meta is None or meta["keys"] == []


def test_excluded_tools_are_left_alone(payload: str) -> None:
    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1"), AIMessage("done")])
    mw = HeadroomMiddleware(exclude_tools=["get_instances"])
    agent = create_agent(model, tools=[_instances_tool(payload)], middleware=[mw])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    (msg,) = _tool_messages(result["messages"], "get_instances")
    assert msg.content == payload


def test_tool_retry_inside_headroom_compresses_the_final_result(payload: str) -> None:
    attempts = []

    @tool
    def get_instances(region: str) -> str:
        """List the EC2 instances of a region (fails once)."""
        attempts.append(region)
        if len(attempts) == 1:
            raise ConnectionError("flaky")
        return payload

    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1"), AIMessage("done")])
    mw = HeadroomMiddleware()
    retry = ToolRetryMiddleware(max_retries=2, initial_delay=0, jitter=False)
    agent = create_agent(model, tools=[get_instances], middleware=[mw, retry])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    (msg,) = _tool_messages(result["messages"], "get_instances")
    assert len(attempts) == 2 and hm.carries_marker(msg.content)
    assert mw.counter.snapshot()["results"] == 1


# -- ContextEditingMiddleware ---------------------------------------------------------------------------
# It works in wrap_model_call: it edits what one model call sees, never the history. HeadroomMiddleware
# works in wrap_tool_call. So their order in `middleware=[...]` does not change anything, but
# ClearToolUsesEdit replaces older tool results with "[cleared]" in the model's view, markers included:
# the model then no longer sees the keys. Listing the compressed tools in `exclude_tools` keeps their
# (already small) compressed results and markers visible.


def _context_editing_run(payload: str, order: str, exclude: tuple[str, ...]) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(
        script=[
            call("get_instances", {"region": "x"}, "c1"),
            call("ping", {"host": "db1"}, "c2"),
            AIMessage("done"),
        ]
    )
    editing = ContextEditingMiddleware(edits=[ClearToolUsesEdit(trigger=100, keep=1, exclude_tools=exclude)])
    headroom = HeadroomMiddleware()
    middleware: list[Any] = [headroom, editing] if order == "headroom-first" else [editing, headroom]
    agent = create_agent(model, tools=[_instances_tool(payload), _ping_tool()], middleware=middleware)
    return agent.invoke({"messages": [HumanMessage("list, then ping")]}), model


def _seen_by_model(model: ScriptedChatModel, call_index: int, name: str) -> str:
    (msg,) = _tool_messages(model.calls[call_index], name)
    assert isinstance(msg.content, str)
    return msg.content


@pytest.mark.parametrize("order", ["headroom-first", "editing-first"])
def test_context_editing_without_exclude_clears_the_marker(payload: str, order: str) -> None:
    result, model = _context_editing_run(payload, order, exclude=())
    # The model's last view: the compressed result was cleared, marker and key with it.
    assert _seen_by_model(model, 2, "get_instances") == "[cleared]"
    # The history still holds the compressed form, and the original is still in the store.
    (stored,) = _tool_messages(result["messages"], "get_instances")
    assert hm.carries_marker(stored.content)


@pytest.mark.parametrize("order", ["headroom-first", "editing-first"])
def test_context_editing_with_exclude_keeps_the_marker(payload: str, order: str) -> None:
    _result, model = _context_editing_run(payload, order, exclude=("get_instances",))
    seen = _seen_by_model(model, 2, "get_instances")
    assert hm.carries_marker(seen) and seen != payload


def test_context_editing_order_does_not_matter(payload: str) -> None:
    _, first = _context_editing_run(payload, "headroom-first", exclude=())
    _, second = _context_editing_run(payload, "editing-first", exclude=())
    assert [m.content for m in first.calls[2]] == [m.content for m in second.calls[2]]


def test_wrapped_tools_and_middleware_share_one_store(payload: str) -> None:
    from headroom_langchain import compress_tool

    store = hm.MemoryStore()
    mw = HeadroomMiddleware(store)
    wrapped = compress_tool(_instances_tool(payload), store)
    model = ScriptedChatModel(
        script=[call("get_instances", {"region": "x"}, "c1"), _retrieve_step(), AIMessage("done")]
    )
    agent = create_agent(model, tools=[wrapped], middleware=[mw])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    (compressed,) = _tool_messages(result["messages"], "get_instances")
    (retrieved,) = _tool_messages(result["messages"], RETRIEVE)
    # The wrapper compressed it; the middleware saw the marker and left it alone (never twice).
    assert compressed.response_metadata["headroom"]["keys"] and mw.counter.snapshot()["results"] == 0
    assert retrieved.content == hm.retrieve(store, compressed.response_metadata["headroom"]["keys"][0])


def test_run_savings_count_only_this_run(payload: str) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    model = ScriptedChatModel(
        script=[
            call("get_instances", {"region": "x"}, "c1"),
            AIMessage("first answer"),
            call("ping", {"host": "db1"}, "c2"),
            AIMessage("second answer"),
        ]
    )
    mw = HeadroomMiddleware()
    agent = create_agent(
        model, tools=[_instances_tool(payload), _ping_tool()], middleware=[mw], checkpointer=InMemorySaver()
    )
    thread = {"configurable": {"thread_id": "t1"}}
    first = agent.invoke({"messages": [HumanMessage("list")]}, thread)
    second = agent.invoke({"messages": [HumanMessage("now ping db1")]}, thread)
    assert first["headroom"]["results"] == 1
    # The thread's history still holds the first run's compressed result; the second run compressed nothing.
    assert _tool_messages(second["messages"], "get_instances")
    assert second["headroom"]["results"] == 0 and second["headroom"]["keys"] == []
    assert mw.counter.snapshot()["results"] == 1


def test_pii_redaction_also_covers_retrieved_originals(payload: str) -> None:
    from langchain.agents.middleware import PIIMiddleware

    store = hm.MemoryStore()
    pii = PIIMiddleware("ip", strategy="redact", apply_to_tool_results=True)
    model = ScriptedChatModel(
        script=[call("get_instances", {"region": "x"}, "c1"), _retrieve_step(), AIMessage("done")]
    )
    agent = create_agent(model, tools=[_instances_tool(payload)], middleware=[HeadroomMiddleware(store), pii])
    result = agent.invoke({"messages": [HumanMessage("list")]})
    tool_msgs = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_msgs] == ["get_instances", RETRIEVE]
    # PII redaction runs on the history before each model call: the compressed result and the retrieved
    # original are both redacted there, and the marker survives. The store keeps the unredacted original.
    ipv4 = re.compile(r"\b10\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
    assert not any(ipv4.search(m.content) for m in tool_msgs)
    assert hm.carries_marker(tool_msgs[0].content)
    key = marker_keys(tool_msgs[0].content)[0]
    assert ipv4.search(hm.retrieve(store, key) or "")


async def test_parallel_tool_calls_are_each_compressed(payload: str, log_payload: str) -> None:
    @tool
    def get_log(build: str) -> str:
        """The console log of a build."""
        return log_payload

    both = AIMessage(
        "",
        tool_calls=[
            {"name": "get_instances", "args": {"region": "x"}, "id": "c1", "type": "tool_call"},
            {"name": "get_log", "args": {"build": "7"}, "id": "c2", "type": "tool_call"},
        ],
    )
    mw = HeadroomMiddleware()
    model = ScriptedChatModel(script=[both, AIMessage("done")])
    agent = create_agent(model, tools=[_instances_tool(payload), get_log], middleware=[mw])
    result = await agent.ainvoke({"messages": [HumanMessage("why did build 7 fail?")]})
    tool_msgs = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert sorted(m.tool_call_id for m in tool_msgs) == ["c1", "c2"]
    assert all(hm.carries_marker(m.content) for m in tool_msgs)
    assert result["headroom"]["results"] == 2 and mw.counter.snapshot()["results"] == 2


async def test_langgraph_store_async(payload: str) -> None:
    graph_store = InMemoryStore()
    agent, model = _agent(payload, HeadroomMiddleware(store="langgraph"), store=graph_store)
    result = await agent.ainvoke({"messages": [HumanMessage("which instances are stopped?")]})
    _check_round_trip(result, model, payload, LangGraphStore(graph_store))


def test_langgraph_store_missing_falls_back_to_lossless(payload: str, caplog: Any) -> None:
    model = ScriptedChatModel(script=[call("get_instances", {"region": "x"}, "c1"), AIMessage("done")])
    agent = create_agent(
        model, tools=[_instances_tool(payload)], middleware=[HeadroomMiddleware(store="langgraph")]
    )
    with caplog.at_level(logging.WARNING, logger="headroom_langchain"):
        result = agent.invoke({"messages": [HumanMessage("list")]})
    (msg,) = _tool_messages(result["messages"], "get_instances")
    assert not hm.carries_marker(msg.content)  # nothing dropped without a place to keep it
    assert "create_agent(store=...)" in caplog.text


async def test_concurrent_runs_share_one_middleware(payload: str) -> None:
    import asyncio

    mw = HeadroomMiddleware()

    async def one(i: int) -> dict[str, Any]:
        model = ScriptedChatModel(
            script=[call("get_instances", {"region": f"r{i}"}, "c1"), _retrieve_step(), AIMessage("ok")]
        )
        agent = create_agent(model, tools=[_instances_tool(payload)], middleware=[mw])
        question = HumanMessage("which instances are stopped?")
        result: dict[str, Any] = await agent.ainvoke({"messages": [question]})
        _check_round_trip(result, model, payload, mw.store)
        return result

    results = await asyncio.gather(*(one(i) for i in range(6)))
    # Same payload and query: every run compressed it to the same bytes under the same key.
    assert len({r["headroom"]["keys"][0] for r in results}) == 1
    assert len({_tool_messages(r["messages"], "get_instances")[0].content for r in results}) == 1
    assert mw.counter.snapshot()["results"] == 6
