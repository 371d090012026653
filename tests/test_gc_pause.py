"""Large crushes run with automatic garbage collection paused, and leave the collector as they found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

import headroom_middleware as hm
from headroom_middleware import _crush, _interpreter, engines


@pytest.fixture
def seen_enabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Record gc.isenabled() from inside the engine."""
    seen: list[bool] = []
    real = engines.compress

    def recording(text: str, ctx: engines.Context) -> engines.Compressed:
        seen.append(gc.isenabled())
        return real(text, ctx)

    monkeypatch.setattr(_crush.engines, "compress", recording)
    yield seen


def _large_text() -> str:
    return "\n".join(f"line {i} ok" for i in range(_interpreter.LARGE_CHARS // 8))


def test_large_crush_pauses_collection_and_restores_it(seen_enabled: list[bool]) -> None:
    assert gc.isenabled()
    hm.crush(_large_text(), store=hm.MemoryStore())
    assert seen_enabled == [False]
    assert gc.isenabled()


def test_small_crush_leaves_collection_alone(seen_enabled: list[bool]) -> None:
    hm.crush("x" * 1000, store=hm.MemoryStore())
    assert seen_enabled == [True]


def test_collector_disabled_by_the_application_stays_disabled(seen_enabled: list[bool]) -> None:
    gc.disable()
    try:
        hm.crush(_large_text(), store=hm.MemoryStore())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_engine_error_still_restores_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(text: str, ctx: engines.Context) -> engines.Compressed:
        raise RuntimeError("engine failed")

    monkeypatch.setattr(_crush.engines, "compress", boom)
    r = hm.crush(_large_text(), store=hm.MemoryStore())
    assert r.strategy == "passthrough:error"
    assert gc.isenabled()


def test_overlapping_crushes_restore_collection_once_all_are_done() -> None:
    inside = threading.Barrier(2)
    release = threading.Event()
    states: list[bool] = []

    def worker() -> None:
        with _interpreter.collection_paused(_interpreter.LARGE_CHARS):
            inside.wait(timeout=10)
            release.wait(timeout=10)
            states.append(gc.isenabled())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert states == [False, False]  # the first one out does not turn collection back on early
    assert gc.isenabled()
