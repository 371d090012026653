"""The result of crushing one tool output."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CrushResult:
    """What ``crush`` returns: the text the model sees and what it cost."""

    text: str
    """What the model sees."""
    keys: tuple[str, ...]
    """CCR keys written for this result; empty when nothing was dropped."""
    tokens_before: int
    tokens_after: int
    strategy: str
    """Short readable label: ``passthrough``, ``json:minify``, ``json:table``, ``json:select``, ``log``…"""
    is_json: bool = False
    """True when ``text`` is valid JSON."""

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def lossless(self) -> bool:
        """True when nothing was dropped: ``text`` alone (through ``expand``) gives the input back."""
        return not self.keys
