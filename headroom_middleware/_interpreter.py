"""Interpreter-wide settings held while crushes run: the garbage collector and the GIL switch interval.

Both are process-wide (CPython has no per-thread switch for either), so each is held by a counter
shared by concurrent crushes: the first one in changes the setting and the last one out puts back
what it found.

- ``collection_paused``: crushing a large payload allocates many short-lived containers. CPython
  counts them and, every so often, runs a full collection that walks *every* object of the process
  while holding the GIL. In a worker thread that stalls the event loop for tens of milliseconds
  (``benchmarks/event_loop.py``: p99 lag 19.5 ms with collections, 6.7 ms without). The engines'
  objects are freed by reference counting when the crush ends, so the pause defers no real work.
- ``switch_interval``: a thread that wants the GIL waits one switch interval (5 ms by default)
  before the holder is asked to let go. Crushing is CPU-bound Python, so while ``acompress``'s worker
  runs, the event loop's thread pays that wait on nearly every wake-up (measured: ticker p50 lag
  5.2 ms, p99 7.8-10.3 ms, twice the interval when a finished call and a timer wake the loop back to
  back). At 1 ms the loop gets the GIL within about a millisecond (p99 ~6 ms, most of it one 3.5 ms
  ``orjson.loads``) and the worker loses a few microseconds per switch. The interval is only ever
  shortened (an application that chose a shorter one keeps it), and one the application sets while
  crushes run stays.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

LARGE_CHARS = 256 * 1024
"""Inputs at least this long pause collection; smaller ones finish before it would matter."""


class _Held:
    """A process-wide change applied by the first holder in and undone by the last one out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._undo: Callable[[], None] = _nothing

    @contextmanager
    def held(self, apply: Callable[[], Callable[[], None]]) -> Iterator[None]:
        """``apply()`` makes the change and returns how to undo it (called when the last holder leaves)."""
        with self._lock:
            if self._depth == 0:
                self._undo = apply()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._undo()


def _nothing() -> None:
    return None


_collector = _Held()
_interval = _Held()


def collection_paused(size: int) -> AbstractContextManager[None]:
    """Pause automatic garbage collection while a crush of ``size`` characters runs."""
    return _collector.held(_pause_collection) if size >= LARGE_CHARS else nullcontext()


def switch_interval(seconds: float | None) -> AbstractContextManager[None]:
    """Keep the GIL switch interval at most ``seconds`` while the block runs (None: unchanged)."""
    if seconds is None:
        return nullcontext()
    return _interval.held(lambda: _shorten_interval(seconds))


def _pause_collection() -> Callable[[], None]:
    if not gc.isenabled():
        return _nothing  # the application turned the collector off itself: it stays off
    gc.disable()
    return gc.enable


def _shorten_interval(seconds: float) -> Callable[[], None]:
    found = sys.getswitchinterval()
    if seconds >= found:
        return _nothing
    sys.setswitchinterval(seconds)
    ours = sys.getswitchinterval()

    def restore() -> None:
        if sys.getswitchinterval() == ours:  # otherwise the application changed it meanwhile: keep that
            # CPython keeps whole microseconds and truncates: half a microsecond more makes the value
            # read back the one found (0.0002 would otherwise come back as 0.000199).
            sys.setswitchinterval(found + 5e-7)

    return restore
