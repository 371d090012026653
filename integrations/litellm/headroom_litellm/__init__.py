"""headroom-middleware for LiteLLM: compress tool results on the way to the model, answer retrievals.

    import litellm
    from headroom_litellm import HeadroomCallback
    litellm.callbacks = [HeadroomCallback()]      # acompletion (streamed or not), Router, /v1/messages

    from headroom_litellm import completion        # drop-in for sync litellm.completion

Proxy ``config.yaml``::

    litellm_settings:
      callbacks: headroom_litellm.callback        # an instance, not the class
"""

from ._callback import Counters, HeadroomCallback, HeadroomConflictError
from ._completion import acompletion, completion, default_callback
from ._tenant import TenantScopedStore, current_tenant, tenant_of_request, tenant_scope

callback: HeadroomCallback = default_callback()
"""The shared instance: name it in the proxy's config.yaml; the drop-in functions use it too."""

__all__ = [
    "Counters",
    "HeadroomCallback",
    "HeadroomConflictError",
    "TenantScopedStore",
    "acompletion",
    "callback",
    "completion",
    "current_tenant",
    "default_callback",
    "tenant_of_request",
    "tenant_scope",
]
