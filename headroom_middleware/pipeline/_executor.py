"""Where the CPU work of ``acompress`` runs: a dedicated thread, a process pool, or inline.

- ``thread`` (default): a small pool owned by the pipeline (1 thread unless ``workers`` says more).
  The event loop stays responsive; with the GIL, more threads add no throughput but do add lag, and
  a dedicated pool never starves the loop's default executor. While it works, the GIL switch interval
  is shortened (``.._interpreter``) so the loop gets the GIL back within about a millisecond.
- ``process``: a ``ProcessPoolExecutor`` (forkserver where available) running the pure engine
  (``_crush.plan``); workers return the compressed text and the original bytes, and the store writes
  happen in the parent. Use it for throughput on several cores.
- ``inline``: on the calling thread (blocks the loop; for measurements and tests).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import pickle
import threading
import weakref
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

from .. import _crush
from .._tokens import TokenCounter, estimate_tokens
from ..engines import Compressed

log = logging.getLogger("headroom_middleware")


def plan_in_worker(
    text: str, query: str | None, max_tokens: int, count_tokens: TokenCounter | None
) -> tuple[Compressed, int]:
    """The engine's answer and its token count; runs in a worker process (no store there)."""
    result = _crush.plan(text, query=query, max_tokens=max_tokens, count_tokens=count_tokens, lossy=True)
    return result, (count_tokens or estimate_tokens)(result.text)


def is_picklable(obj: object) -> bool:
    """True when ``obj`` can be sent to a worker process."""
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


class LazyPool:
    """A thread or process pool created on first use and shut down by ``close`` or at exit."""

    def __init__(self, kind: str, workers: int | None) -> None:
        self.kind = kind
        self.workers = workers or (1 if kind == "thread" else max(os.cpu_count() or 1, 1))
        self._pool: Executor | None = None
        self._lock = threading.Lock()
        self._closed = False
        _LIVE.add(self)  # weakly: an unused pipeline can still be garbage-collected

    def get(self) -> Executor:
        pool = self._pool
        if pool is not None:
            return pool
        with self._lock:
            if self._closed:
                raise RuntimeError("headroom_middleware: the pipeline was closed")
            if self._pool is None:
                if self.kind == "process":
                    self._pool = ProcessPoolExecutor(self.workers, mp_context=_mp_context())
                else:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="headroom")
            return self._pool

    def reset(self) -> None:
        """Drop a broken pool (a worker died); the next ``get`` starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _LIVE.discard(self)

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


# Every pool not yet closed, shut down by one exit hook (not one hook per pipeline).
_LIVE: weakref.WeakSet[LazyPool] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for pool in list(_LIVE):
        pool.close()


def _forget_pools_after_fork() -> None:
    # A forked child (gunicorn/uvicorn workers after preload) inherits pool objects whose threads and
    # processes belong to the parent: work sent to them would never run. Start afresh instead.
    for pool in list(_LIVE):
        pool._lock = threading.Lock()
        pool._pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork copies locks held by other threads (store stripes, logging) into the child: avoid it.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
