"""Keep originals in a LangGraph ``BaseStore`` (the one given to ``create_agent(store=...)``).

LangGraph stores hold JSON-like dicts, not bytes, and some (Postgres, Redis) serialise values as JSON,
so an original is kept as base64 text under ``{"b64": ...}``. The adapter implements the core ``Store``
protocol (``put(key, data) -> bool``, ``get(key) -> bytes | None``), so ``hm.crush`` and
``hm.retrieve`` use it like any other store. Every worker and host that shares the LangGraph store
(e.g. a ``PostgresStore``) can then answer ``headroom_retrieve`` for originals another one wrote.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # langgraph is an optional dependency of this package
    from langgraph.store.base import BaseStore

DEFAULT_NAMESPACE: tuple[str, ...] = ("headroom", "originals")


class LangGraphStore:
    """Core ``Store`` over a LangGraph ``BaseStore``: originals under ``namespace``, keyed by CCR key.

    ``ttl_minutes`` is passed to stores that support TTL (LangGraph counts TTL in minutes); ``None``
    keeps the store's own default. Values are never indexed for semantic search.
    """

    def __init__(
        self,
        store: BaseStore,
        namespace: tuple[str, ...] = DEFAULT_NAMESPACE,
        *,
        ttl_minutes: float | None = None,
    ) -> None:
        self.store = store
        self.namespace = tuple(namespace)
        self.ttl_minutes = ttl_minutes

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key``. Idempotent: the key is the digest of ``data``."""
        value = {"b64": base64.b64encode(bytes(data)).decode("ascii"), "size": len(data)}
        if self.ttl_minutes is None:
            self.store.put(self.namespace, key, value, index=False)
        else:
            self.store.put(self.namespace, key, value, index=False, ttl=self.ttl_minutes)
        return True

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when unknown, expired, or not ours."""
        item = self.store.get(self.namespace, key)
        if item is None:
            return None
        return _decode(item.value)

    def __repr__(self) -> str:
        return f"LangGraphStore({type(self.store).__name__}, namespace={self.namespace!r})"


def _decode(value: Any) -> bytes | None:
    encoded = value.get("b64") if isinstance(value, dict) else None
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def as_core_store(store: Any) -> Any:
    """``store`` as a core ``Store``: a LangGraph ``BaseStore`` is wrapped, anything else kept."""
    if isinstance(store, LangGraphStore):
        return store
    # Duck-typed so this module never imports langgraph: BaseStore is the only store with these.
    if hasattr(store, "list_namespaces") and hasattr(store, "abatch"):
        return LangGraphStore(store)
    return store
