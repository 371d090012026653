"""Tenant isolation of stored originals: one store, a separate key space per tenant.

LiteLLM tells us who a request belongs to (the proxy's virtual key, user and team; the SDK's ``user``
parameter). ``TenantScopedStore`` wraps any core ``Store`` and files every original under
``<key>@<tenant digest>``, where the tenant is the one set by ``tenant_scope`` for the current context
(a ``ContextVar``, so it follows the pipeline's thread hops and every concurrent request keeps its own).
A retrieval made for tenant B therefore looks up ``<key>@<B>`` and cannot read what tenant A stored,
even with A's key in hand. Requests with no tenant use the plain key (their own, anonymous space).

The wrapper keeps the core ``Store`` protocol (``put(key, data) -> bool``, ``get(key) -> bytes | None``),
so the pipeline, ``retrieve`` and any backend (memory, SQLite, Redis) work unchanged underneath.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from headroom_middleware import Store

__all__ = ["TenantScopedStore", "current_tenant", "tenant_of_auth", "tenant_of_request", "tenant_scope"]

_TENANT: ContextVar[str | None] = ContextVar("headroom_litellm_tenant", default=None)

# Where LiteLLM puts the caller's identity: the proxy stamps these into the request's metadata
# (``litellm_metadata`` on /v1/messages, where ``metadata`` is Anthropic's own field).
_METADATA_FIELDS = (
    ("team", "user_api_key_team_id"),
    ("user", "user_api_key_user_id"),
    ("key", "user_api_key_hash"),
    ("end_user", "user_api_key_end_user_id"),
)


def current_tenant() -> str | None:
    """The tenant of the running request, or None when it has none."""
    return _TENANT.get()


@contextmanager
def tenant_scope(tenant: str | None) -> Iterator[None]:
    """Run the block (and every thread hop it makes with copied context) as ``tenant``."""
    token = _TENANT.set(tenant)
    try:
        yield
    finally:
        _TENANT.reset(token)


def _identity(parts: Mapping[str, str]) -> str | None:
    if not parts:
        return None
    # Sorted and joined with separators no id contains, so the same identity always reads the same.
    return "\x1f".join(f"{name}\x1e{value}" for name, value in sorted(parts.items()))


def tenant_of_request(kwargs: Mapping[str, Any]) -> str | None:
    """The tenant of a LiteLLM request: proxy key/user/team from its metadata, else the ``user`` param.

    Every identity LiteLLM gives is part of the tenant, so two virtual keys of one team stay apart.
    Hooks that run after the call started (the agentic-loop ones) get kwargs without the named
    parameters (``user``); the call's logging object still has them, so it is read too.
    """
    parts: dict[str, str] = {}
    _collect(kwargs, parts)
    details = getattr(kwargs.get("litellm_logging_obj"), "model_call_details", None)
    if isinstance(details, Mapping):
        _collect(details, parts)
        params = details.get("litellm_params")
        if isinstance(params, Mapping):
            _collect(params, parts)
    return _identity(parts)


def _collect(source: Mapping[str, Any], parts: dict[str, str]) -> None:
    for container in ("litellm_metadata", "metadata"):
        meta = source.get(container)
        if not isinstance(meta, Mapping):
            continue
        for name, field in _METADATA_FIELDS:
            value = meta.get(field)
            if isinstance(value, str) and value and name not in parts:
                parts[name] = value
    user = source.get("user")
    if isinstance(user, str) and user and "end_user" not in parts:
        parts["end_user"] = user


def tenant_of_auth(auth: Any, data: Mapping[str, Any]) -> str | None:
    """The tenant of a proxy request, from the ``UserAPIKeyAuth`` the proxy hands its pre-call hook.

    Gives the same identity as ``tenant_of_request`` reads later from the metadata the proxy stamps,
    so the originals stored before routing are found by the retrieval answered after it.
    """
    from_data = tenant_of_request(data)
    if from_data is not None:
        return from_data
    parts: dict[str, str] = {}
    for name, attr in (
        ("team", "team_id"),
        ("user", "user_id"),
        ("key", "api_key"),
        ("end_user", "end_user_id"),
    ):
        value = getattr(auth, attr, None)
        if isinstance(value, str) and value:
            parts[name] = value
    return _identity(parts)


def _namespace(tenant: str) -> str:
    # A digest, not the id itself: ids never appear in store keys (Redis key listings, SQLite files).
    return hashlib.blake2b(tenant.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class TenantScopedStore:
    """A ``Store`` that gives every tenant its own key space inside ``base``.

    The key comes first in the stored name (``<key>@<tenant>``), so a striped ``MemoryStore`` still
    spreads entries by the key's own hex digits.
    """

    def __init__(self, base: Store) -> None:
        self.base = base

    def scoped_key(self, key: str, tenant: str | None = None) -> str:
        """The name ``key`` is stored under for ``tenant`` (default: the current one)."""
        tenant = current_tenant() if tenant is None else tenant
        return key if not tenant else f"{key}@{_namespace(tenant)}"

    def put(self, key: str, data: bytes) -> bool:
        return self.base.put(self.scoped_key(key), data)

    def get(self, key: str) -> bytes | None:
        return self.base.get(self.scoped_key(key))

    def __repr__(self) -> str:
        return f"TenantScopedStore({self.base!r})"
