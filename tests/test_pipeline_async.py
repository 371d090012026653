"""Pipeline: acompress off the event loop, the fast path, and the process executor."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import headroom_middleware as hm
from headroom_middleware.pipeline import _pipeline


def log_text(n: int = 3000, tag: str = "svc") -> str:
    lines = [
        f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z INFO {tag} request {i} served in {i % 97} ms"
        for i in range(n)
    ]
    lines[n // 2] = f"2024-05-01T12:30:00Z ERROR {tag} database connection refused (attempt 3)"
    return "\n".join(lines) + "\n"


def records(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return json.dumps(
        [
            {
                "id": i,
                "user": f"user{rng.randrange(50)}",
                "latency_ms": rng.randrange(5, 90),
                "status": 500 if i == n // 3 else 200,
                "path": f"/api/v1/items/{rng.randrange(10**6)}",
            }
            for i in range(n)
        ]
    )


def chat(result: str, n_small: int = 0) -> list[Any]:
    msgs: list[Any] = [{"role": "system", "content": "Be brief."}]
    for i in range(n_small):
        msgs.append({"role": "user", "content": f"message {i} " * 10})
        msgs.append({"role": "assistant", "content": f"reply {i} " * 10})
    msgs += [
        {"role": "user", "content": "what failed?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": result},
    ]
    return msgs


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every thread hop the pipeline makes, by function name."""
    calls: list[str] = []
    real = _pipeline.Pipeline._hop

    async def recording(self: _pipeline.Pipeline, fn: Any, *args: Any) -> Any:
        calls.append(fn.__name__)
        return await real(self, fn, *args)

    monkeypatch.setattr(_pipeline.Pipeline, "_hop", recording)
    return calls


async def test_fast_path_makes_no_thread_hop_and_no_copy(hops: list[str]) -> None:
    msgs = chat("a small result: 3 rows", n_small=9)
    with hm.Pipeline() as p:
        out, report = await p.acompress(msgs)
        assert out is msgs and report.messages == () and hops == []
        assert p._threads._pool is None  # the thread pool was never even created


async def test_memo_hits_need_no_thread_hop(hops: list[str]) -> None:
    with hm.Pipeline(config=hm.Config(max_tokens=300)) as p:
        first, _ = await p.acompress(chat(log_text(500)))
        assert hops == ["_run_sync"]
        again, report = await p.acompress(chat(log_text(500)))
        assert hops == ["_run_sync"] and report.messages[0].cached
        assert again[-1]["content"] == first[-1]["content"]


async def test_big_inputs_are_checked_off_the_loop(hops: list[str]) -> None:
    big = log_text(20_000)
    assert len(big) > _pipeline.INLINE_CHECK_CHARS
    with hm.Pipeline(config=hm.Config(max_tokens=300)) as p:
        out, _ = await p.acompress(chat(big))
    assert hops == ["_check_and_run"] and hm.carries_marker(out[-1]["content"])


async def _ticks_during(coro: Any) -> tuple[int, Any]:
    """How many times a ticker task ran on the loop while ``coro`` was awaited."""
    running = True
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = ticks
    result = await coro
    during = ticks - start
    running = False
    await task
    return during, result


@pytest.mark.parametrize("executor", ["thread", "process"])
async def test_acompress_keeps_the_loop_responsive(executor: str) -> None:
    payload = records(20_000)
    with hm.Pipeline(config=hm.Config(executor=executor, workers=2)) as p:  # type: ignore[arg-type]
        ticks, (out, report) = await _ticks_during(p.acompress(chat(payload)))
    assert report.messages and hm.carries_marker(out[-1]["content"])
    assert ticks >= 3


async def test_inline_executor_blocks_the_loop() -> None:
    with hm.Pipeline(config=hm.Config(executor="inline")) as p:
        ticks, (_, report) = await _ticks_during(p.acompress(chat(records(20_000))))
    assert report.messages and ticks == 0


async def test_process_executor_end_to_end_matches_thread_bytes() -> None:
    payloads = [records(3000, seed=s) for s in range(3)] + [log_text(4000)]
    msgs: list[Any] = []
    for i, payload in enumerate(payloads):
        msgs += [
            {"role": "user", "content": f"question {i}"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": f"c{i}", "type": "function", "function": {"name": "t", "arguments": ""}}
                ],
            },
            {"role": "tool", "tool_call_id": f"c{i}", "content": payload},
        ]
    store = hm.MemoryStore()
    with (
        hm.Pipeline(store=store, config=hm.Config(executor="process", workers=2)) as proc,
        hm.Pipeline(config=hm.Config(executor="thread")) as thread,
    ):
        out_p, rep_p = await proc.acompress(msgs)
        out_s, rep_s = proc.compress(msgs[:3])  # sync through the same pool (memo hit for the first)
        out_t, rep_t = await thread.acompress(msgs)
    assert out_p == out_t and rep_p.keys == rep_t.keys and len(rep_p.messages) == 4
    assert out_s[2] == out_p[2] and rep_s.messages[0].cached
    assert hm.retrieve(store, rep_p.messages[-1].keys[0]) == payloads[-1]  # stored in the parent
    for key in rep_p.keys:
        assert store.get(key) is not None


def test_process_executor_sync_compress() -> None:
    with hm.Pipeline(config=hm.Config(executor="process", workers=1, max_tokens=300)) as p:
        out, report = p.compress(chat(log_text()))
    assert hm.carries_marker(out[-1]["content"]) and report.messages[0].keys


def test_unpicklable_counter_falls_back_to_threads(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="headroom_middleware"):
        p = hm.Pipeline(config=hm.Config(executor="process", count_tokens=lambda s: len(s) // 4))
    assert p._processes is None and "pickle" in caplog.text
    out, report = p.compress(chat(log_text()))
    assert report.messages and hm.carries_marker(out[-1]["content"])
    p.close()


async def test_closed_pipeline_says_so() -> None:
    p = hm.Pipeline(config=hm.Config(max_tokens=300))
    p.close()
    p.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await p.acompress(chat(log_text(500)))


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(["\n", "0", "7", " ", "a", "é", "😀", "\t", "{", "\u0800"]), max_size=400
    )
)
def test_length_bound_of_the_fast_path_holds_for_the_estimator(text: str) -> None:
    # A text the fast path skips (len <= min_tokens / 2.2) can never exceed min_tokens.
    assert hm.estimate_tokens(text) <= max(1, _pipeline.ESTIMATOR_TOKENS_PER_CHAR * len(text))


def test_length_bound_worst_cases() -> None:
    for ch in ["\n", "7", "😀", "\u0800"]:
        text = ch * 1000
        assert hm.estimate_tokens(text) <= _pipeline.ESTIMATOR_TOKENS_PER_CHAR * len(text)


@pytest.mark.parametrize("error", [RuntimeError("worker bug"), BrokenProcessPool("a worker died")])
async def test_process_worker_failure_is_fail_open(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    def failing_submit(self: _pipeline.Pipeline, todo: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        fut.set_exception(error)
        return fut

    monkeypatch.setattr(_pipeline.Pipeline, "_submit", failing_submit)
    msgs = chat(log_text())
    with hm.Pipeline(config=hm.Config(executor="process", workers=1)) as p:
        assert p._processes is not None
        p._processes.get()  # a live pool, so that a broken one can be seen dropped
        with caplog.at_level(logging.WARNING, logger="headroom_middleware"):
            out, report = await p.acompress(msgs)
            out_sync, report_sync = p.compress(msgs)
        assert out is msgs and out_sync is msgs and report.errors == report_sync.errors == 1
        assert type(error).__name__ in caplog.text
        # A broken pool is dropped so that the next call starts a fresh one.
        assert (p._processes._pool is None) == isinstance(error, BrokenProcessPool)


async def test_process_strict_mode_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_submit(self: _pipeline.Pipeline, todo: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        fut.set_exception(RuntimeError("worker bug"))
        return fut

    monkeypatch.setattr(_pipeline.Pipeline, "_submit", failing_submit)
    with hm.Pipeline(config=hm.Config(executor="process", strict=True)) as p, pytest.raises(RuntimeError):
        await p.acompress(chat(log_text()))


def test_pools_are_tracked_weakly_for_the_exit_hook() -> None:
    import gc
    import weakref

    from headroom_middleware.pipeline import _executor

    p = hm.Pipeline(config=hm.Config(executor="process", workers=1))
    assert p._processes is not None
    assert p._threads in _executor._LIVE and p._processes in _executor._LIVE
    p.close()
    assert p._threads not in _executor._LIVE and p._processes not in _executor._LIVE
    q = hm.Pipeline()
    ref = weakref.ref(q._threads)
    del q
    gc.collect()
    assert ref() is None  # an unclosed, unused pipeline does not leak through the exit hook


async def test_ahandle_tool_call_reads_the_store_off_the_loop(hops: list[str]) -> None:
    text = log_text()
    with hm.Pipeline(config=hm.Config(max_tokens=300, executor="inline")) as p:
        _, report = p.compress(chat(text))
        assert await p.ahandle_tool_call("other", "{}") is None and hops == []
        assert await p.ahandle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": report.keys[0]}) == text
        assert hops == ["handle_tool_call"]


async def test_a_remote_store_is_never_asked_on_the_loop(hops: list[str]) -> None:
    class RemoteLike:  # any store that is not the in-process MemoryStore may do I/O
        def __init__(self) -> None:
            self.inner = hm.MemoryStore()

        def put(self, key: str, data: bytes) -> bool:
            return self.inner.put(key, data)

        def get(self, key: str) -> bytes | None:
            return self.inner.get(key)

    with hm.Pipeline(store=RemoteLike(), config=hm.Config(max_tokens=300)) as p:
        await p.acompress(chat(log_text(500)))
        hops.clear()
        _, report = await p.acompress(chat(log_text(500)))  # a memo hit: the store check hops too
    assert report.messages[0].cached and hops == ["_check_and_run"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_fresh_pools() -> None:
    with hm.Pipeline(config=hm.Config(max_tokens=300)) as p:

        async def once() -> bool:
            out, _ = await p.acompress(chat(log_text(tag=str(os.getpid()))))
            return hm.carries_marker(out[-1]["content"])

        assert asyncio.run(once())  # the thread pool exists now, in this process
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: the inherited pool's thread does not exist here
            ok = False
            try:
                ok = asyncio.run(asyncio.wait_for(once(), 60))
            finally:
                os.write(w, b"1" if ok else b"0")
                os._exit(0)
        os.close(w)
        answer = os.read(r, 1)
        os.waitpid(pid, 0)
    assert answer == b"1"
