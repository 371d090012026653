"""acompress shortens the GIL switch interval while its worker thread runs, and restores it."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import headroom_middleware as hm
from headroom_middleware import _crush, _interpreter, engines

DEFAULT = 0.005


def big_chat() -> list[Any]:
    result = "\n".join(f"2024-05-01T12:00:{i % 60:02d}Z INFO served request {i}" for i in range(4000))
    return [
        {"role": "user", "content": "what happened?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": result},
    ]


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[None]:
    sys.setswitchinterval(DEFAULT)
    yield
    sys.setswitchinterval(DEFAULT)


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str]]:
    """The switch interval and thread name the engine ran with."""
    calls: list[tuple[float, str]] = []
    real = engines.compress

    def recording(text: str, ctx: engines.Context) -> engines.Compressed:
        calls.append((sys.getswitchinterval(), threading.current_thread().name))
        return real(text, ctx)

    monkeypatch.setattr(_crush.engines, "compress", recording)
    return calls


def test_background_crush_runs_with_a_short_interval_and_restores_it(seen: list[tuple[float, str]]) -> None:
    with hm.Pipeline() as pipe:
        _, report = asyncio.run(pipe.acompress(big_chat()))
    assert report.keys
    assert len(seen) == 1
    interval, thread = seen[0]
    assert interval == pytest.approx(0.001)
    assert thread.startswith("headroom")
    assert sys.getswitchinterval() == pytest.approx(DEFAULT)


def test_none_leaves_the_interpreter_alone(seen: list[tuple[float, str]]) -> None:
    with hm.Pipeline(config=hm.Config(switch_interval=None)) as pipe:
        asyncio.run(pipe.acompress(big_chat()))
    assert seen[0][0] == pytest.approx(DEFAULT)


def test_sync_compress_runs_on_the_callers_thread_untouched(seen: list[tuple[float, str]]) -> None:
    with hm.Pipeline() as pipe:
        pipe.compress(big_chat())
    assert seen == [(pytest.approx(DEFAULT), threading.current_thread().name)]


def test_a_shorter_interval_chosen_by_the_application_is_kept(seen: list[tuple[float, str]]) -> None:
    sys.setswitchinterval(0.0002)
    with hm.Pipeline() as pipe:
        asyncio.run(pipe.acompress(big_chat()))
    assert seen[0][0] == pytest.approx(0.0002)
    assert sys.getswitchinterval() == pytest.approx(0.0002)


def test_overlapping_blocks_restore_once_when_the_last_leaves() -> None:
    with _interpreter.switch_interval(0.001):
        with _interpreter.switch_interval(0.002):  # another pipeline's setting: the first rules
            assert sys.getswitchinterval() == pytest.approx(0.001)
        assert sys.getswitchinterval() == pytest.approx(0.001)
    assert sys.getswitchinterval() == pytest.approx(DEFAULT)


def test_a_change_made_by_the_application_meanwhile_stays() -> None:
    with _interpreter.switch_interval(0.001):
        sys.setswitchinterval(0.003)
    assert sys.getswitchinterval() == pytest.approx(0.003)


def test_an_error_in_the_block_still_restores_the_interval() -> None:
    with pytest.raises(RuntimeError), _interpreter.switch_interval(0.001):
        raise RuntimeError("engine failed")
    assert sys.getswitchinterval() == pytest.approx(DEFAULT)


def test_concurrent_calls_restore_the_interval_when_all_are_done(seen: list[tuple[float, str]]) -> None:
    async def many(pipe: hm.Pipeline) -> None:
        await asyncio.gather(*(pipe.acompress(big_chat(), query=f"request {i}") for i in range(6)))

    with hm.Pipeline(config=hm.Config(workers=3, memo_size=0)) as pipe:
        asyncio.run(many(pipe))
    assert len(seen) == 6
    assert all(interval == pytest.approx(0.001) for interval, _ in seen)
    assert sys.getswitchinterval() == pytest.approx(DEFAULT)


@pytest.mark.parametrize("bad", [0, -0.001])
def test_config_rejects_a_non_positive_interval(bad: float) -> None:
    with pytest.raises(ValueError, match="switch_interval"):
        hm.Config(switch_interval=bad)


@pytest.mark.parametrize("found", [0.005, 0.0071, 0.0123456, 0.02])
def test_the_interval_found_comes_back_exactly(found: float) -> None:
    sys.setswitchinterval(found)
    before = sys.getswitchinterval()
    with _interpreter.switch_interval(0.001):
        assert sys.getswitchinterval() == pytest.approx(0.001)
    assert sys.getswitchinterval() == before
