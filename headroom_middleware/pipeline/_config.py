"""``Config``: how a ``Pipeline`` decides what to compress and where the CPU work runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._crush import DEFAULT_MAX_TOKENS
from .._tokens import TokenCounter

ExecutorKind = Literal["thread", "process", "inline"]
EXECUTORS: tuple[str, ...] = ("thread", "process", "inline")


@dataclass(frozen=True, slots=True)
class Config:
    """Settings of a ``Pipeline``; frozen, so one config can be shared by many pipelines.

    - ``min_tokens``: tool results at or below this many tokens are left alone.
    - ``max_tokens``: the token budget of each compressed result (the engine's ``max_tokens``).
    - ``executor``: where ``acompress`` runs CPU work: ``"thread"`` (a dedicated thread pool, the
      default), ``"process"`` (a process pool, for multi-core throughput) or ``"inline"`` (on the
      caller's thread; blocks the event loop, for tests and measurements).
    - ``workers``: pool size; ``None`` means 1 thread, or one process per CPU.
    - ``strict``: raise on internal errors instead of passing the original through.
    - ``memo_size``: how many compressed results the memo keeps (0 disables it).
    - ``switch_interval``: while ``acompress`` works on a background thread, the interpreter's GIL
      switch interval is at most this many seconds, so the event loop waits about that long for the
      GIL instead of 5 ms; restored afterwards. ``None`` leaves the interpreter's setting alone.
    - ``count_tokens``: a tokenizer ``str -> int``; ``None`` uses the fast estimator. Must be picklable
      (a module-level function) for the process executor.
    """

    min_tokens: int = 500
    max_tokens: int = DEFAULT_MAX_TOKENS
    executor: ExecutorKind = "thread"
    workers: int | None = None
    strict: bool = False
    memo_size: int = 4096
    count_tokens: TokenCounter | None = None
    switch_interval: float | None = 0.001

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {self.executor!r}")
        if self.min_tokens < 0:
            raise ValueError(f"min_tokens must be >= 0; got {self.min_tokens}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1; got {self.max_tokens}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1 or None; got {self.workers}")
        if self.memo_size < 0:
            raise ValueError(f"memo_size must be >= 0; got {self.memo_size}")
        if self.switch_interval is not None and not self.switch_interval > 0:
            raise ValueError(f"switch_interval must be > 0 seconds or None; got {self.switch_interval}")
        if self.count_tokens is not None and not callable(self.count_tokens):
            raise TypeError("count_tokens must be a callable str -> int")
