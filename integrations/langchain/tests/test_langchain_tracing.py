"""With LangSmith tracing on, the savings show up as metadata of the middleware's tool-call span."""

from __future__ import annotations

from typing import Any

from headroom_langchain import HeadroomMiddleware
from headroom_langchain.testing import ScriptedChatModel, call
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langsmith import Client
from langsmith.run_helpers import tracing_context


class CapturingClient(Client):
    """A real LangSmith client whose uploads are kept in memory instead of sent."""

    def __init__(self) -> None:
        super().__init__(api_key="test", api_url="http://127.0.0.1:9", auto_batch_tracing=False)
        self.captured: dict[str, dict[str, Any]] = {}

    def create_run(self, **kwargs: Any) -> None:  # type: ignore[override]
        self.captured[str(kwargs.get("id"))] = dict(kwargs)

    def update_run(self, run_id: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.captured.setdefault(str(run_id), {}).update(kwargs)

    def metadata_of(self, name: str) -> list[dict[str, Any]]:
        runs = [r for r in self.captured.values() if r.get("name") == name]
        return [(r.get("extra") or {}).get("metadata") or {} for r in runs]


def _agent(log_payload: str) -> Any:
    @tool
    def get_log(build: str) -> str:
        """The console log of a build."""
        return log_payload

    model = ScriptedChatModel(script=[call("get_log", {"build": "1"}, "c1"), AIMessage("done")])
    return create_agent(model, tools=[get_log], middleware=[HeadroomMiddleware()])


def _check(client: CapturingClient, result: dict[str, Any], span: str) -> None:
    (meta,) = client.metadata_of(span)
    assert meta["headroom"]["results"] == 1
    assert meta["headroom"]["tokens_saved"] == result["headroom"]["tokens_saved"] > 0
    assert meta["headroom"]["keys"] == result["headroom"]["keys"]


def test_savings_in_langsmith_metadata(log_payload: str) -> None:
    client = CapturingClient()
    with tracing_context(enabled=True, client=client, project_name="headroom-test"):
        result = _agent(log_payload).invoke({"messages": [HumanMessage("why did the build fail?")]})
    _check(client, result, "HeadroomMiddleware.wrap_tool_call")


async def test_savings_in_langsmith_metadata_async(log_payload: str) -> None:
    client = CapturingClient()
    with tracing_context(enabled=True, client=client, project_name="headroom-test"):
        result = await _agent(log_payload).ainvoke({"messages": [HumanMessage("why did the build fail?")]})
    _check(client, result, "HeadroomMiddleware.awrap_tool_call")
