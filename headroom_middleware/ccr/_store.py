"""Where originals live: the ``Store`` protocol and ``MemoryStore``.

``MemoryStore`` is a set of independent stripes. Each stripe is a ``threading.Lock`` guarding a
cachetools ``TTLCache`` whose size is measured in payload bytes, so ``max_bytes`` is a hard bound on
the sum of the stored payloads, entries expire lazily after ``ttl_seconds``, and when a stripe is full
its oldest entries go first. A key picks its stripe from its own hex digits (keys are already uniform
hashes), so two threads only wait for each other when their keys share a stripe.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from cachetools import Cache, TTLCache

__all__ = ["MemoryStore", "Store"]


@runtime_checkable
class Store(Protocol):
    """What ``crush`` writes originals to and ``retrieve`` reads them from.

    Every store (``MemoryStore`` here; SQLite and Redis stores later) keeps this contract:

    - Keys are CCR keys (``make_key``: 24 lowercase hex characters naming the exact bytes stored).
      ``retrieve`` checks the format before a key reaches a store.
    - ``put(key, data)`` returns True when ``data`` is stored under ``key`` or already was, and False
      when the store cannot take it (larger than its capacity, backend unavailable, ...). It never
      pretends: after True, ``get(key)`` returns ``data`` until the entry expires or is evicted. A key
      names its content, so ``put`` is idempotent; putting a key again may renew its lifetime. A
      refusal is a normal answer, not an exception (``crush`` treats an exception as a refusal too,
      and then keeps a lossless form instead of dropping anything).
    - ``get(key)`` returns the exact bytes that were put, or None when the key is unknown, expired,
      evicted or the backend is unavailable. Never a partial value.
    - Both are safe to call from any number of threads at once.
    """

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key``; True when stored or already there, False when refused."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when unknown or expired."""
        ...


class _OldestFirstTTLCache(TTLCache[str, bytes]):
    """A ``TTLCache`` whose reads do not refresh an entry, so eviction takes the oldest put first.

    (A plain ``TTLCache`` is least-recently-*used*: every read moves the entry to the back.)
    Membership checks are expiry-aware and never reorder; the base ``Cache`` lookup reads the value
    without touching the order.
    """

    def __getitem__(self, key: str) -> bytes:
        if key in self:
            return Cache.__getitem__(self, key)
        raise KeyError(key)


def _stripe_index(key: str, stripes: int) -> int:
    """The stripe of ``key``: its first hex digits for CCR keys, a CRC for anything else.

    Never Python's ``hash()`` (seeded per process): the same key lands in the same stripe everywhere.
    """
    try:
        return int(key[:8], 16) % stripes
    except ValueError:
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % stripes


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class MemoryStore:
    """An in-process ``Store`` bounded in bytes and time: striped locks, TTL, oldest-first eviction.

    ``max_bytes`` bounds the sum of stored payload sizes (``len(data)``); Python's own per-entry
    bookkeeping (a few hundred bytes) is not counted. It is split evenly over ``stripes``, so one
    payload may use at most ``max_bytes // stripes``: a bigger one is refused (``put`` returns False)
    rather than stored. Entries expire ``ttl_seconds`` after their last ``put``; expired entries are
    dropped lazily (on the next write to their stripe, or when counted). When a stripe is full, its
    oldest entries are evicted until the new one fits. ``timer`` is the clock (seconds, monotonic);
    tests may pass a fake one.
    """

    def __init__(
        self,
        max_bytes: int = 256 * 2**20,
        ttl_seconds: float = 1800,
        stripes: int = 16,
        *,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        stripes = _positive_int("stripes", stripes)
        max_bytes = _positive_int("max_bytes", max_bytes)
        if max_bytes < stripes:
            raise ValueError(f"max_bytes ({max_bytes}) must be at least stripes ({stripes})")
        if (
            isinstance(ttl_seconds, bool)
            or not isinstance(ttl_seconds, (int, float))
            or math.isnan(ttl_seconds)
            or ttl_seconds <= 0
        ):
            raise ValueError(f"ttl_seconds must be a positive number, got {ttl_seconds!r}")
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.stripe_bytes = max_bytes // stripes
        self._locks = tuple(threading.Lock() for _ in range(stripes))
        self._caches = tuple(
            _OldestFirstTTLCache(self.stripe_bytes, ttl_seconds, timer=timer, getsizeof=len)
            for _ in range(stripes)
        )

    @property
    def stripes(self) -> int:
        return len(self._caches)

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` (renewing its lifetime if already there).

        False, and nothing stored, when ``data`` is larger than one stripe's capacity.
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be str, got {type(key).__name__}")
        if not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"data must be bytes, got {type(data).__name__}")
            data = bytes(data)  # never keep a buffer the caller can still mutate
        if len(data) > self.stripe_bytes:
            return False
        i = _stripe_index(key, len(self._caches))
        with self._locks[i]:
            self._caches[i][key] = data
        return True

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when unknown or expired."""
        if not isinstance(key, str):
            return None
        i = _stripe_index(key, len(self._caches))
        with self._locks[i]:
            return self._caches[i].get(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        i = _stripe_index(key, len(self._caches))
        with self._locks[i]:
            return key in self._caches[i]

    def __len__(self) -> int:
        """Live (unexpired) entries."""
        total = 0
        for lock, cache in zip(self._locks, self._caches, strict=True):
            with lock:
                total += len(cache)  # TTLCache drops expired entries before counting
        return total

    @property
    def bytes_used(self) -> int:
        """Sum of the sizes of the live payloads (never more than ``max_bytes``)."""
        total = 0
        for lock, cache in zip(self._locks, self._caches, strict=True):
            with lock:
                cache.expire()
                total += int(cache.currsize)
        return total

    def clear(self) -> None:
        """Drop every entry."""
        for lock, cache in zip(self._locks, self._caches, strict=True):
            with lock:
                cache.clear()

    def __repr__(self) -> str:
        return (
            f"MemoryStore(max_bytes={self.max_bytes}, ttl_seconds={self.ttl_seconds}, stripes={self.stripes})"
        )
