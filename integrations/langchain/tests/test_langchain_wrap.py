"""compress_tool and retrieve_tool with LangGraph's ToolNode and on their own."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import pytest
from headroom_langchain import SavingsCounter, compress_tool, default_store, retrieve_tool
from headroom_langchain.testing import ScriptedChatModel, call
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import InjectedToolCallId, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import InjectedState, ToolNode, ToolRuntime, tools_condition
from langgraph.types import Command

import headroom_middleware as hm
from headroom_middleware._markers import marker_keys

RETRIEVE = hm.RETRIEVE_TOOL_NAME


def _key_in(messages: list[BaseMessage]) -> str:
    for m in messages:
        if isinstance(m, ToolMessage) and isinstance(m.content, str) and marker_keys(m.content):
            return marker_keys(m.content)[0]
    raise AssertionError("no marker")


def _graph(model: ScriptedChatModel, tools: list[Any]) -> Any:
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", RunnableLambda(agent, afunc=aagent))
    g.add_node("tools", ToolNode(tools))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", tools_condition, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile()


def _search_tool(payload: str) -> Any:
    @tool
    def search(query: str) -> str:
        """Search the inventory."""
        return payload

    return search


def _script() -> list[Any]:
    return [
        call("search", {"query": "stopped"}, "c1"),
        lambda msgs: call(RETRIEVE, {"key": _key_in(msgs)}, "c2"),
        AIMessage("done"),
    ]


def _check(messages: list[BaseMessage], payload: str, store: hm.Store) -> None:
    tool_msgs = [m for m in messages if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_msgs] == ["search", RETRIEVE]
    assert hm.carries_marker(tool_msgs[0].content) and len(tool_msgs[0].content) < len(payload) // 2
    keys = tool_msgs[0].response_metadata["headroom"]["keys"]
    assert keys and tool_msgs[1].content == hm.retrieve(store, keys[0])
    assert len(tool_msgs[1].content) > 2 * len(tool_msgs[0].content)


def test_toolnode_graph_round_trip(payload: str) -> None:
    store = hm.MemoryStore()
    counter = SavingsCounter()
    tools = [compress_tool(_search_tool(payload), store, counter=counter), retrieve_tool(store)]
    model = ScriptedChatModel(script=_script())
    result = _graph(model, tools).invoke({"messages": [HumanMessage("stopped instances?")]})
    _check(result["messages"], payload, store)
    assert model.bound_tools == ["search", RETRIEVE]
    assert counter.snapshot()["results"] == 1 and counter.tokens_saved > 0


async def test_toolnode_graph_round_trip_async(payload: str) -> None:
    loop_thread = threading.get_ident()
    writers: list[int] = []

    class RecordingStore(hm.MemoryStore):  # type: ignore[misc]
        def put(self, key: str, data: bytes) -> bool:
            writers.append(threading.get_ident())
            return bool(super().put(key, data))

    store = RecordingStore()
    tools = [compress_tool(_search_tool(payload), store), retrieve_tool(store)]
    result = await _graph(ScriptedChatModel(script=_script()), tools).ainvoke(
        {"messages": [HumanMessage("stopped instances?")]}
    )
    _check(result["messages"], payload, store)
    assert writers and loop_thread not in writers


def test_toolnode_stream_updates(payload: str) -> None:
    tools = [compress_tool(_search_tool(payload)), retrieve_tool()]  # the shared default store
    seen = []
    graph = _graph(ScriptedChatModel(script=_script()), tools)
    for update in graph.stream({"messages": [HumanMessage("q")]}, stream_mode="updates"):
        for m in update.get("tools", {}).get("messages", []):
            seen.append(m)
    _check(seen, payload, default_store())


def test_wrapper_keeps_the_tool_interface(payload: str) -> None:
    inner = _search_tool(payload)
    wrapped = compress_tool(inner)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(inner)
    assert (wrapped.name, wrapped.description, wrapped.args) == (inner.name, inner.description, inner.args)
    assert compress_tool(wrapped) is wrapped


def test_direct_invoke_compresses_strings(payload: str) -> None:
    store = hm.MemoryStore()
    out = compress_tool(_search_tool(payload), store).invoke({"query": "x"})
    assert isinstance(out, str) and hm.carries_marker(out)
    assert hm.retrieve(store, marker_keys(out)[0]) is not None


def _run_node(tools: list[Any], name: str, args: dict[str, Any]) -> list[Any]:
    """Run one tool call through a ToolNode inside a graph; the tool messages it added to the state."""
    g = StateGraph(MessagesState)
    g.add_node("tools", ToolNode(tools))
    g.add_edge(START, "tools")
    g.add_edge("tools", END)
    msg = AIMessage("", tool_calls=[{"name": name, "args": args, "id": "c1", "type": "tool_call"}])
    out = g.compile().invoke({"messages": [HumanMessage("go"), msg]})
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_content_and_artifact(payload: str) -> None:
    @tool(response_format="content_and_artifact")
    def search(query: str) -> tuple[str, list[int]]:
        """Search."""
        return payload, [1, 2, 3]

    (msg,) = _run_node([compress_tool(search)], "search", {"query": "x"})
    assert hm.carries_marker(msg.content) and msg.artifact == [1, 2, 3] and msg.tool_call_id == "c1"


def test_return_direct_is_copied(payload: str) -> None:
    @tool(return_direct=True)
    def search(query: str) -> str:
        """Search."""
        return payload

    assert compress_tool(search).return_direct is True


def test_injected_tool_call_id_and_command(payload: str) -> None:
    @tool
    def search(query: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Search."""
        return Command(update={"messages": [ToolMessage(payload, tool_call_id=tool_call_id)]})

    wrapped = compress_tool(search)
    assert "tool_call_id" not in convert_to_openai_tool(wrapped)["function"]["parameters"]["properties"]
    # ToolNode applied the Command's update: the state holds the compressed ToolMessage.
    (msg,) = _run_node([wrapped], "search", {"query": "x"})
    assert msg.tool_call_id == "c1" and hm.carries_marker(msg.content)
    # Called directly with a tool call, the wrapper hands back the Command itself, compressed inside.
    tool_call = {"name": "search", "args": {"query": "x"}, "id": "c9", "type": "tool_call"}
    cmd = wrapped.invoke(tool_call)
    assert isinstance(cmd, Command)
    (inner,) = cmd.update["messages"]
    assert inner.tool_call_id == "c9" and hm.carries_marker(inner.content)


def test_injected_state_and_runtime(payload: str) -> None:
    @tool
    def search(query: str, state: Annotated[dict[str, Any], InjectedState], runtime: ToolRuntime) -> str:
        """Search."""
        assert runtime.tool_call_id == "c1" and state["messages"]
        return payload

    (msg,) = _run_node([compress_tool(search)], "search", {"query": "x"})
    assert hm.carries_marker(msg.content)


def test_list_content_blocks(log_payload: str) -> None:
    image = {"type": "image", "url": "https://example.com/x.png"}

    @tool
    def report(build: str) -> list[dict[str, Any]]:
        """Return the build log and a screenshot."""
        return [{"type": "text", "text": log_payload}, image, {"type": "text", "text": "short note"}]

    store = hm.MemoryStore()
    (msg,) = _run_node([compress_tool(report, store)], "report", {"build": "1"})
    blocks = msg.content
    assert isinstance(blocks, list) and len(blocks) == 3
    assert blocks[0]["type"] == "text" and len(blocks[0]["text"]) < len(log_payload)
    assert blocks[1] == image and blocks[2]["text"] == "short note"
    keys = msg.response_metadata["headroom"]["keys"]
    assert keys and hm.retrieve(store, keys[0]) is not None


def test_retrieve_tool_is_never_wrapped_and_name_is_reserved() -> None:
    r = retrieve_tool(hm.MemoryStore())
    assert compress_tool(r) is r

    @tool(RETRIEVE)
    def impostor(key: str) -> str:
        """Not ours."""
        return key

    with pytest.raises(ValueError, match="reserved"):
        compress_tool(impostor)


def test_retrieve_tool_answers(payload: str) -> None:
    store = hm.MemoryStore()
    r = hm.crush(payload, store=store)
    tool_ = retrieve_tool(store)
    original = tool_.invoke({"key": r.keys[0]})
    assert original == hm.retrieve(store, r.keys[0]) and len(original) > len(r.text)
    assert "not a headroom key" in tool_.invoke({"key": "nope"})
    assert "unknown or expired" in tool_.invoke({"key": "0" * 24})
    filtered = tool_.invoke({"key": r.keys[0], "query": "stopped"})
    assert filtered == hm.retrieve(store, r.keys[0], query="stopped") and filtered != payload


async def test_retrieve_tool_async(payload: str) -> None:
    store = hm.MemoryStore()
    r = hm.crush(payload, store=store)
    assert await retrieve_tool(store).ainvoke({"key": r.keys[0]}) == hm.retrieve(store, r.keys[0])


def test_copies_share_store_and_counter(payload: str) -> None:
    import copy

    store = hm.MemoryStore()
    wrapped = compress_tool(_search_tool(payload), store)
    clone = copy.deepcopy(wrapped)
    out = clone.invoke({"query": "x"})
    assert isinstance(out, str) and hm.retrieve(store, marker_keys(out)[0]) is not None
    assert wrapped.counter.snapshot()["results"] == 1  # type: ignore[attr-defined]
    assert copy.deepcopy(retrieve_tool(store)).store is store  # type: ignore[attr-defined]


def test_plain_single_input_tool_keeps_its_schema(log_payload: str) -> None:
    from langchain_core.tools import Tool

    inner = Tool(name="logs", func=lambda build: log_payload, description="Build logs.")
    wrapped = compress_tool(inner)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(inner)
    (msg,) = _run_node([wrapped], "logs", {"__arg1": "7"})
    assert hm.carries_marker(msg.content)


def test_retrieve_tool_speaks_like_the_core() -> None:
    spec = convert_to_openai_tool(retrieve_tool(hm.MemoryStore()))["function"]
    core = hm.retrieval_tool("openai")["function"]
    assert spec["name"] == core["name"] == RETRIEVE
    assert spec["description"] == core["description"]
    assert set(spec["parameters"]["properties"]) == set(core["parameters"]["properties"])
    assert spec["parameters"]["required"] == ["key"]
