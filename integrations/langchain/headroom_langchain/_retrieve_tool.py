"""``headroom_retrieve`` as a LangChain tool: the model fetches an original that a marker names."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.tools.base import ArgsSchema
from pydantic import BaseModel, Field

import headroom_middleware as hm

from ._default_store import default_store
from ._store import as_core_store

log = logging.getLogger("headroom_langchain")

_FALLBACK_DESCRIPTION = (
    "Fetch content that headroom left out of a compressed tool result. Call it with the key named in a "
    "[headroom: ... headroom_retrieve(key='...')] marker; pass query to get only the matching records "
    "or lines."
)


class RetrieveArgs(BaseModel):
    """Arguments of ``headroom_retrieve``."""

    key: str = Field(description="The 24-character key from a headroom marker.")
    query: str | None = Field(
        default=None, description="Optional. Only return items or lines containing all of these terms."
    )
    offset: int = Field(default=0, ge=0, description="Optional. Matches to skip, to read the next page.")
    limit: int | None = Field(default=None, ge=1, description="Optional. Most matches to return.")


@functools.lru_cache(maxsize=1)
def _description() -> str:
    """The core's wording of the tool, so every integration describes it to the model the same way."""
    try:
        spec: Any = hm.retrieval_tool("openai")
        fn = spec.get("function", spec) if isinstance(spec, dict) else {}
        text = fn.get("description") if isinstance(fn, dict) else None
        if isinstance(text, str) and text:
            return text
    except Exception as exc:  # the description is cosmetic: never fail tool creation over it
        log.debug("headroom: core retrieval_tool() unavailable (%s); using the built-in wording", exc)
    return _FALLBACK_DESCRIPTION


def answer(
    store: hm.Store | None, key: str, query: str | None = None, offset: int = 0, limit: int | None = None
) -> str:
    """The text ``headroom_retrieve`` returns: the original (or its matches), or what to do instead."""
    if store is None:
        return (
            "headroom_retrieve: no store is configured here, so nothing can be fetched. "
            "Call the original tool again if you need its full output."
        )
    if not hm.is_key(key):
        return (
            f"headroom_retrieve: {key!r} is not a headroom key (24 lowercase hex characters). "
            "Copy the key exactly as the marker shows it."
        )
    try:
        text = hm.retrieve(store, key, query=query or None, offset=offset, limit=limit)
    except Exception as exc:  # a store outage must not end the agent's run
        log.warning("headroom: retrieve of %s failed (%s)", key, type(exc).__name__)
        return (
            "headroom_retrieve: the store could not be read just now. "
            "Try again, or call the original tool again."
        )
    if text is None:
        return (
            f"headroom_retrieve: nothing is stored under key {key!r} (unknown or expired). "
            "Call the original tool again to get its full output."
        )
    return text


class HeadroomRetrieveTool(BaseTool):
    """The ``headroom_retrieve`` tool reading originals from one ``store``."""

    name: str = hm.RETRIEVE_TOOL_NAME
    description: str = Field(default_factory=_description)
    args_schema: ArgsSchema | None = RetrieveArgs
    store: Any = None
    """A core ``Store`` (``hm.MemoryStore``, ``LangGraphStore``…); ``None`` answers that none is set."""

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> HeadroomRetrieveTool:
        # A copy shares the store (and counter): it must serve and write the same originals. Stores
        # hold locks, which cannot be deep-copied anyway.
        return self.model_copy()

    def _run(
        self, key: str, query: str | None = None, offset: int = 0, limit: int | None = None, **_: Any
    ) -> str:
        return answer(self.store, key, query, offset, limit)

    async def _arun(
        self, key: str, query: str | None = None, offset: int = 0, limit: int | None = None, **_: Any
    ) -> str:
        # Stores may do I/O (SQLite, Redis) and a query filters a large original: keep it off the loop.
        return await asyncio.to_thread(answer, self.store, key, query, offset, limit)


def retrieve_tool(store: Any = None) -> BaseTool:
    """A ``headroom_retrieve`` tool serving originals from ``store``: the store the results were crushed into.

    ``store`` is a core ``Store`` or a LangGraph ``BaseStore``; ``None`` means the process-wide default
    store that ``compress_tool`` also uses when given none.
    """
    return HeadroomRetrieveTool(store=default_store() if store is None else as_core_store(store))
