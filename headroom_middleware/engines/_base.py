"""What every engine receives and returns.

Engines are pure functions of their input: they never touch a store. They return the text the model
will see and the originals (key, bytes) that must be stored for that text to be lossless end to end.
``crush`` stores them, and if the store refuses any, falls back to a lossless form. Keeping engines pure
lets the pipeline run them in a process pool and write to the store in the parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._tokens import TokenCounter


@dataclass(frozen=True, slots=True)
class Context:
    """The per-call settings an engine works with."""

    max_tokens: int
    """Token budget for the visible output of this result."""
    count_tokens: TokenCounter
    """How tokens are counted (the estimator unless the caller gave a tokenizer)."""
    query: str | None = None
    """What the user asked (latest user message); items and lines matching it are kept."""
    lossy: bool = True
    """False when nothing may be dropped (no store): engines return lossless forms only."""


@dataclass(frozen=True, slots=True)
class Compressed:
    """An engine's answer for one input."""

    text: str
    """What the model sees."""
    strategy: str
    """Short readable label, e.g. ``json:table``, ``json:select``, ``log:templates``."""
    originals: tuple[tuple[str, bytes], ...] = field(default=())
    """(key, payload) pairs to store; empty when nothing was dropped."""
    is_json: bool = False
    """True when ``text`` is valid JSON."""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.originals)
