"""What the store tests share: a clock moved by hand and payloads of a given size with their keys."""

from __future__ import annotations

from headroom_middleware.ccr import make_key


class FakeClock:
    """A clock the test moves by hand (``clock.now += 5``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def payload(tag: str, size: int) -> tuple[str, bytes]:
    """``size`` bytes made of ``tag`` repeated, and their CCR key."""
    data = (tag.encode() * (size // max(len(tag), 1) + 1))[:size]
    return make_key(data), data
