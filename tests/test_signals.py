"""Error signals shared by the engines: which words and fields mark trouble."""

from __future__ import annotations

import pytest

from headroom_middleware.engines._signals import field_signals, has_error_words


@pytest.mark.parametrize(
    "text",
    [
        "Task timed out after 30.03 seconds",
        "request timeout",
        "read timedout on socket",
        "connection time out",
        "ERROR: disk full",
        "2 tests failed",
        "CrashLoopBackOff",
        "permission denied",
        "OOMKilled",
        "goroutine 1 panicked",
    ],
)
def test_error_words_are_found(text: str) -> None:
    assert has_error_words(text)


@pytest.mark.parametrize("text", ["errorless run", "time spent outside", "timed output buffer", "ok"])
def test_words_that_only_look_like_errors_are_not(text: str) -> None:
    assert not has_error_words(text)


@pytest.mark.parametrize(
    ("name", "value", "signals"),
    [
        ("status", 503, True),
        ("status", 200, False),
        ("exit_code", 2, True),
        ("exit_code", 0, False),
        ("level", "WARN", True),
        ("level", "info", False),
        ("status", "404", True),
        ("message", "upstream timed out", True),
        ("enabled", True, False),
    ],
)
def test_field_signals(name: str, value: object, signals: bool) -> None:
    assert field_signals(name, value) is signals
