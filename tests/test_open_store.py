"""open_store: the store a configuration string names (HEADROOM_STORE)."""

from __future__ import annotations

from pathlib import Path

import pytest

import headroom_middleware as hm


@pytest.mark.parametrize("url", [None, "", "  ", "memory:", "memory://"])
def test_memory_forms(url: str | None) -> None:
    assert type(hm.open_store(url)) is hm.MemoryStore


def test_sqlite_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "originals.db"
    store = hm.open_store(f"sqlite:///{path}")
    assert isinstance(store, hm.SQLiteStore)
    key = hm.make_key(b"payload")
    assert store.put(key, b"payload")
    store.close()
    assert path.is_file()
    with hm.SQLiteStore(path) as again:  # another worker opening the same file reads it
        assert again.get(key) == b"payload"


def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = hm.open_store("sqlite:stores/originals.db")
    assert isinstance(store, hm.SQLiteStore)
    store.close()
    assert (tmp_path / "stores" / "originals.db").is_file()


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:1/0", "rediss://cache.example:6380/2", "unix:///tmp/r.sock"]
)
def test_redis_forms(url: str) -> None:
    pytest.importorskip("redis")
    store = hm.open_store(url)
    assert isinstance(store, hm.RedisStore)
    store.close()


@pytest.mark.parametrize(
    "url", ["sqlite:", "sqlite://", "postgres://db/x", "/var/cache/x.db", "memcached://x"]
)
def test_anything_else_is_a_clear_error(url: str) -> None:
    with pytest.raises(ValueError, match="forms: memory:"):
        hm.open_store(url)


def test_configured_store_follows_headroom_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from headroom_middleware.ccr import configured_store

    monkeypatch.delenv("HEADROOM_STORE", raising=False)
    assert type(configured_store()) is hm.MemoryStore
    monkeypatch.setenv("HEADROOM_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    store = configured_store()
    assert isinstance(store, hm.SQLiteStore)
    store.close()
