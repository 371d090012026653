"""Keep the cyclic garbage collector out of large crushes.

Crushing a large payload allocates many short-lived containers. CPython counts them and, every so
often, runs a full collection that walks *every* object of the process while holding the GIL. In a
worker thread that stalls the event loop for tens of milliseconds (measured: ``benchmarks/event_loop.py``
p99 lag 19.5 ms with collections, 6.7 ms without). The engines' objects are freed by reference
counting when the crush ends, so pausing automatic collection for its duration defers no real work.

The pause is process-wide (``gc`` has no per-thread switch): a counter shared by concurrent crushes
makes the first one in pause it and the last one out restore what it found. If the application had
turned the collector off itself, it stays off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LARGE_CHARS = 256 * 1024
"""Inputs at least this long pause collection; smaller ones finish before it would matter."""

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collection_paused(size: int) -> Iterator[None]:
    """Pause automatic garbage collection while a crush of ``size`` characters runs."""
    if size < LARGE_CHARS:
        yield
        return
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
