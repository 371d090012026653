"""``open_store(url)``: the store a URL names, for configuration that arrives as a string.

A LiteLLM proxy, a CLI or a deployment manifest can only pass text (``HEADROOM_STORE=...``), and a
proxy running several workers needs them to share one store, or a ``headroom_retrieve`` call served by
another worker than the one that compressed the result finds nothing.

- ``None``, ``""`` or ``memory:``: a ``MemoryStore`` (one process).
- ``sqlite:///var/cache/headroom/originals.db`` (absolute) or ``sqlite:originals.db`` (relative to the
  working directory): a ``SQLiteStore`` on that file (the worker processes of one host).
- ``redis://host:6379/0``, ``rediss://...`` (TLS), ``unix:///path/redis.sock``: a ``RedisStore`` (many
  hosts; needs the ``redis`` extra).

Each store's other settings keep their defaults; build the store in code to change them.
"""

from __future__ import annotations

import os

from ._sqlite import SQLiteStore
from ._store import MemoryStore, Store

STORE_ENV = "HEADROOM_STORE"
"""The environment variable the integrations read when they are given no store."""

_FORMS = "memory:, sqlite:///absolute/path.db, sqlite:relative/path.db, redis://host:port/db, rediss://..."


def open_store(url: str | None) -> Store:
    """A new store for ``url`` (see the module docstring); ValueError for anything else."""
    text = (url or "").strip()
    if text in ("", "memory:", "memory://"):
        return MemoryStore()
    scheme, sep, rest = text.partition(":")
    scheme = scheme.lower()
    if sep and scheme == "sqlite":
        path = rest[2:] if rest.startswith("//") else rest  # sqlite:///abs -> /abs, sqlite:rel -> rel
        if not path:
            raise ValueError(f"store URL {url!r} names no database file; forms: {_FORMS}")
        return SQLiteStore(path)
    if sep and scheme in ("redis", "rediss", "unix"):
        from ._redis import RedisStore  # the optional redis package, only when asked for

        return RedisStore(text)
    raise ValueError(f"unknown store URL {url!r}; forms: {_FORMS}")


def configured_store() -> Store:
    """The store ``HEADROOM_STORE`` names, else a ``MemoryStore``: what the integrations and the CLI
    open when they are given no store."""
    return open_store(os.environ.get(STORE_ENV))
