"""CCR: compress, cache, retrieve. Where originals are keyed, stored and fetched back.

- ``_keys``: the key of an original (blake2b of its exact bytes).
- ``_store``: the ``Store`` protocol and ``MemoryStore`` (striped locks, TTL, byte bound).
- ``_sqlite``: ``SQLiteStore``, one file shared by the worker processes of a host.
- ``_redis``: ``RedisStore``, one Redis server shared by many hosts (optional ``redis`` package; not
  imported here, ``hm.RedisStore`` loads it on first use).
- ``_open``: ``open_store(url)``, the store a URL names (``HEADROOM_STORE``).
- ``_retrieve``: ``retrieve(store, key, query)``, the answer to a ``headroom_retrieve`` call.
- ``_tool``: the ``headroom_retrieve`` tool definition in OpenAI and Anthropic formats.
"""

from ._keys import KEY_LENGTH, is_key, make_key
from ._open import STORE_ENV, configured_store, open_store
from ._retrieve import retrieve
from ._sqlite import SQLiteStore
from ._store import MemoryStore, Store
from ._tool import retrieval_tool

__all__ = [
    "KEY_LENGTH",
    "STORE_ENV",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "configured_store",
    "is_key",
    "make_key",
    "open_store",
    "retrieval_tool",
    "retrieve",
]
