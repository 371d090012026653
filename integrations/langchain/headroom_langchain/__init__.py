"""headroom-middleware for LangChain and LangGraph.

    from langchain.agents import create_agent
    from headroom_langchain import HeadroomMiddleware, compress_tool, retrieve_tool

    agent = create_agent(model, tools=[search, get_logs], middleware=[HeadroomMiddleware()])
    tools = [compress_tool(t) for t in tools] + [retrieve_tool()]   # LangGraph ToolNode / any loop

``HeadroomMiddleware`` needs the ``agents`` extra (langchain, langgraph); ``compress_tool`` and
``retrieve_tool`` need only langchain-core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._default_store import default_store
from ._retrieve_tool import HeadroomRetrieveTool, retrieve_tool
from ._savings import METADATA_KEY, Savings, SavingsCounter
from ._store import LangGraphStore
from ._wrap import CompressedTool, compress_tool

if TYPE_CHECKING:
    from ._middleware import HeadroomMiddleware

__all__ = [
    "METADATA_KEY",
    "CompressedTool",
    "HeadroomMiddleware",
    "HeadroomRetrieveTool",
    "LangGraphStore",
    "Savings",
    "SavingsCounter",
    "compress_tool",
    "default_store",
    "retrieve_tool",
]


def __getattr__(name: str) -> Any:
    # The middleware imports langchain (the optional `agents` extra): load it only when asked for.
    if name == "HeadroomMiddleware":
        from ._middleware import HeadroomMiddleware

        return HeadroomMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
