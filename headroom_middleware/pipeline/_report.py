"""What one ``Pipeline.compress`` call did: per compressed result and in total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MessageReport:
    """One tool result that the model now sees compressed."""

    index: int
    """Index of the message in the conversation."""
    tool_name: str | None
    """Name of the tool that produced the result (from the matching call), if known."""
    tokens_before: int
    tokens_after: int
    keys: tuple[str, ...]
    """CCR keys under which the dropped content is stored; empty for lossless forms."""
    strategy: str
    """The engine's label, e.g. ``json:table`` or ``json:select``."""
    part: tuple[int, ...] = ()
    """Where the text sits inside the message: () for string content, else content-part indices."""
    cached: bool = False
    """True when the result came from the memo (compressed in an earlier call)."""

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after


@dataclass(frozen=True, slots=True)
class Report:
    """Summary of one call; ``tools`` is what to send as the tool list (None: the caller's, unchanged)."""

    messages: tuple[MessageReport, ...]
    tokens_before: int
    """Tokens of the compressed results before compression (results left alone are not counted)."""
    tokens_after: int
    keys: tuple[str, ...]
    """Every CCR key the compressed results name, in message order."""
    seconds: float
    tools: list[dict[str, Any]] | None
    format: str
    """``"openai"`` or ``"anthropic"``."""
    errors: int = 0
    """Results left as they were because compressing them failed (a warning was logged for each)."""

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def changed(self) -> bool:
        """True when the messages or the tool list differ from the caller's."""
        return bool(self.messages) or self.tools is not None
