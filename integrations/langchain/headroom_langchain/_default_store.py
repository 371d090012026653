"""The process-wide store used when no store is given to ``compress_tool`` or ``retrieve_tool``."""

from __future__ import annotations

import threading

import headroom_middleware as hm
from headroom_middleware.ccr import configured_store

_lock = threading.Lock()
_store: hm.Store | None = None


def default_store() -> hm.Store:
    """One store shared by wrappers and the retrieval tool: the one ``HEADROOM_STORE`` names
    (``hm.open_store``), else an ``hm.MemoryStore`` (bounded in bytes, with TTL).

    ``[compress_tool(t) for t in tools] + [retrieve_tool()]`` then works without passing a store around.
    Give an explicit store for several processes or hosts (SQLite, Redis, a LangGraph store).
    """
    global _store
    with _lock:
        if _store is None:
            _store = configured_store()
        return _store
