"""``RedisStore``: originals shared by every worker on every host that reaches one Redis server.

A put is ``SET prefix+key data NX PX ttl``: one round trip in the usual case. A key names its
content, so when the key is already there (``NX`` declined) the bytes are the same and only the
lifetime is renewed, with ``PEXPIRE`` (a second round trip; if the entry expired in between, the
``SET`` runs again). A get is one ``GET``. (One ``MULTI`` transaction would make the renewal atomic,
but costs a third of the throughput on every put for the sake of the rare repeated one.)

The backend can always fail (server restarting, network down, out of memory): every Redis or socket
error becomes a refusal (``put`` returns False, so ``crush`` keeps a lossless form) or a miss (``get``
returns None), plus one warning per ``WARN_INTERVAL`` seconds at most. Nothing is raised to the
caller for backend trouble. redis-py's connection pool reconnects by itself: a pooled connection that
died with the server is noticed and replaced when next taken from the pool, so the first call after
a restart already works. Our own client retries a failed command once, at once (redis-py's default
retries three times with backoff of up to seconds, which would stall a crush that could simply fall
back).

Durability is the server's: after ``put`` returned True, the original survives a server restart only
when the server persists writes (``appendonly yes``; ``appendfsync always`` makes every acknowledged
write reach the disk before the reply). Without persistence, a restart empties the store exactly like
an eviction: ``get`` answers None, never wrong bytes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # tested in a subprocess (tests/test_redis_store.py)
    raise ImportError(
        "RedisStore needs the redis client package: pip install 'headroom-middleware[redis]'"
    ) from exc

__all__ = ["RedisStore"]

log = logging.getLogger("headroom_middleware")

WARN_INTERVAL = 30.0
"""Seconds between two warnings about an unreachable or failing server (the rest are counted)."""

# Errors that mean "the backend could not do it": connection refused or reset, timeouts, a server that
# is loading, read-only or out of memory, a protocol error. Never a reason to raise to the caller.
_BACKEND_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


def _positive(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or math.isinf(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


class RedisStore:
    """A ``Store`` in a Redis server, for workers in many processes and on many hosts.

    ``url``: where the server is (``redis://[:password@]host:port/db``, ``rediss://`` for TLS,
    ``unix:///path.sock``). ``client``: an existing ``redis.Redis`` to use instead of ``url`` (its own
    retry and timeout settings then apply; it must not decode responses; ``close()`` leaves it open).
    Entries expire ``ttl_seconds`` after their last ``put``. Every key is stored as ``prefix + key``,
    so stores with different prefixes never see each other's entries on one server. A payload longer
    than ``max_value_bytes`` is refused without asking the server. ``socket_timeout`` bounds connecting
    and each read or write, so a dead host costs a put or get at most about twice that (one retry).

    A put never replaces bytes already stored under a key (``NX``): right for CCR keys, which name
    their content. Thread-safe: any number of threads may share one store (redis-py hands each call
    its own pooled connection).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: redis.Redis | None = None,
        ttl_seconds: float = 1800,
        prefix: str = "headroom:",
        max_value_bytes: int = 64 << 20,
        socket_timeout: float = 2.0,
    ) -> None:
        ttl = _positive("ttl_seconds", ttl_seconds)
        timeout = _positive("socket_timeout", socket_timeout)
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a str, got {prefix!r}")
        if isinstance(max_value_bytes, bool) or not isinstance(max_value_bytes, int) or max_value_bytes < 0:
            raise ValueError(f"max_value_bytes must be an int >= 0, got {max_value_bytes!r}")
        if client is None:
            if not isinstance(url, str) or not url:
                raise ValueError(f"url must be a non-empty str, got {url!r}")
            try:
                client = redis.Redis.from_url(
                    url,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                    retry=Retry(NoBackoff(), 1),
                    decode_responses=False,
                )
            except ValueError as exc:  # redis-py says what is wrong (the url may hold a password: not shown)
                raise ValueError(f"bad Redis url: {exc}") from None
            self._owns_client = True
        else:
            self._owns_client = False
        if _decodes_responses(client):
            raise ValueError("client must not decode responses (decode_responses=True): originals are bytes")
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self.max_value_bytes = max_value_bytes
        self.socket_timeout = socket_timeout
        self._ttl_ms = max(1, round(ttl * 1000))
        self._warn_lock = threading.Lock()
        self._next_warning = 0.0
        self._quiet_failures = 0

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` (or renew its lifetime if already there).

        False, and nothing stored, when ``data`` is larger than ``max_value_bytes`` or the server
        cannot be reached or refuses the write (then a rate-limited warning is logged).
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be str, got {type(key).__name__}")
        if not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"data must be bytes, got {type(data).__name__}")
            data = bytes(data)
        if len(data) > self.max_value_bytes:
            return False
        name = self.prefix + key
        try:
            for _ in range(2):
                if self.client.set(name, data, nx=True, px=self._ttl_ms):
                    return True  # stored now (the usual case: one round trip)
                if self.client.pexpire(name, self._ttl_ms):
                    return True  # already there: its lifetime starts again
                # It expired between the two commands: store it again.
        except _BACKEND_ERRORS as exc:
            self._warn("put", exc)
        return False

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``; None when unknown, expired, or the server is unreachable."""
        if not isinstance(key, str):
            return None
        try:
            value: Any = self.client.get(self.prefix + key)
        except _BACKEND_ERRORS as exc:
            self._warn("get", exc)
            return None
        return value if isinstance(value, bytes) else None

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is stored (``EXISTS``: the payload does not travel); False when unreachable.

        The pipeline asks this on every memo hit; answering False while the server is down makes it
        recompress, and the failing put then keeps a lossless form: no key is handed out unchecked.
        """
        if not isinstance(key, str):
            return False
        try:
            return bool(self.client.exists(self.prefix + key))
        except _BACKEND_ERRORS as exc:
            self._warn("exists", exc)
            return False

    def close(self) -> None:
        """Release the pooled connections (only those of a client this store created). Idempotent.

        The store stays usable: a later call reconnects.
        """
        if self._owns_client:
            try:
                self.client.close()
            except _BACKEND_ERRORS as exc:  # closing a socket the server already dropped
                log.debug("headroom: closing the Redis client failed (%s)", type(exc).__name__)

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _warn(self, op: str, exc: BaseException) -> None:
        """Log a backend failure, at most once per ``WARN_INTERVAL`` (a down server fails every call)."""
        now = time.monotonic()
        with self._warn_lock:
            if now < self._next_warning:
                self._quiet_failures += 1
                return
            quiet, self._quiet_failures = self._quiet_failures, 0
            self._next_warning = now + WARN_INTERVAL
        more = f" ({quiet} more failures since the last warning)" if quiet else ""
        log.warning(
            "headroom: Redis store %s failed (%s: %s)%s; originals fall back to lossless forms until it "
            "answers again",
            op,
            type(exc).__name__,
            str(exc)[:200],
            more,
        )

    def __repr__(self) -> str:
        return (
            f"RedisStore({_where(self.client)!r}, ttl_seconds={self.ttl_seconds}, prefix={self.prefix!r}, "
            f"max_value_bytes={self.max_value_bytes})"
        )


def _decodes_responses(client: object) -> bool:
    """True when ``client`` would hand back ``str`` instead of the stored bytes."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    return isinstance(kwargs, dict) and bool(kwargs.get("decode_responses"))


def _where(client: object) -> str:
    """``host:port/db`` (or the socket path) of ``client``; never its password."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return type(client).__name__
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}/{kwargs.get('db', 0)}"
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
