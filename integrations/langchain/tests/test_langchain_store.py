"""LangGraphStore: the core Store protocol over a LangGraph BaseStore."""

from __future__ import annotations

from headroom_langchain import LangGraphStore, retrieve_tool
from headroom_langchain._store import as_core_store
from langgraph.store.memory import InMemoryStore

import headroom_middleware as hm


def test_round_trip_of_arbitrary_bytes() -> None:
    store = LangGraphStore(InMemoryStore())
    data = bytes(range(256)) + "é\u2028".encode()
    key = hm.make_key(data)
    assert store.put(key, data) is True
    assert store.put(key, data) is True  # idempotent
    assert store.get(key) == data
    assert store.get("0" * 24) is None


def test_namespaces_keep_tenants_apart() -> None:
    base = InMemoryStore()
    a, b = LangGraphStore(base, ("headroom", "a")), LangGraphStore(base, ("headroom", "b"))
    a.put("1" * 24, b"secret")
    assert a.get("1" * 24) == b"secret" and b.get("1" * 24) is None


def test_foreign_values_read_as_missing() -> None:
    base = InMemoryStore()
    store = LangGraphStore(base)
    base.put(store.namespace, "2" * 24, {"something": "else"})
    base.put(store.namespace, "3" * 24, {"b64": "not base64!"})
    assert store.get("2" * 24) is None and store.get("3" * 24) is None


def test_crush_and_retrieve_through_a_graph_store(payload: str) -> None:
    base = InMemoryStore()
    store = LangGraphStore(base)
    r = hm.crush(payload, store=store)
    assert r.keys
    original = retrieve_tool(base).invoke({"key": r.keys[0]})
    assert original == hm.retrieve(store, r.keys[0]) and len(original) > len(r.text)


def test_as_core_store_wraps_only_graph_stores() -> None:
    mem = hm.MemoryStore()
    assert as_core_store(mem) is mem
    wrapped = as_core_store(InMemoryStore())
    assert isinstance(wrapped, LangGraphStore) and as_core_store(wrapped) is wrapped
