"""headroom-middleware: compress big tool outputs before they reach the model, keep the originals.

import headroom_middleware as hm
store = hm.MemoryStore()
r = hm.crush(tool_output, store=store)     # r.text is what the model sees
hm.retrieve(store, r.keys[0])               # the original, byte for byte
"""

from typing import TYPE_CHECKING

from ._crush import DEFAULT_MAX_TOKENS, crush
from ._markers import RETRIEVE_TOOL_NAME, carries_marker
from ._result import CrushResult
from ._tokens import estimate_tokens
from ._version import __version__
from .ccr import MemoryStore, SQLiteStore, Store, is_key, make_key, open_store, retrieval_tool, retrieve
from .engines.json import expand
from .pipeline import Config, Pipeline, Report

if TYPE_CHECKING:
    from .ccr._redis import RedisStore as RedisStore

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "RETRIEVE_TOOL_NAME",
    "Config",
    "CrushResult",
    "MemoryStore",
    "Pipeline",
    "Report",
    "SQLiteStore",
    "Store",
    "__version__",
    "carries_marker",
    "crush",
    "estimate_tokens",
    "expand",
    "is_key",
    "make_key",
    "open_store",
    "retrieval_tool",
    "retrieve",
]


def __getattr__(name: str) -> object:
    # ``hm.RedisStore`` is imported on first use: it needs the optional ``redis`` package
    # (``pip install 'headroom-middleware[redis]'``), and ``import headroom_middleware`` must not.
    if name == "RedisStore":
        from .ccr._redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
