"""Pipeline: copy-on-write, memo across turns, retrieval tool, handle_tool_call, fail-open, strict."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

import headroom_middleware as hm
from headroom_middleware import _crush


def log_text(n: int = 3000, tag: str = "svc") -> str:
    lines = [
        f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z INFO {tag} request {i} served in {i % 97} ms"
        for i in range(n)
    ]
    lines[n // 2] = f"2024-05-01T12:30:00Z ERROR {tag} database connection refused (attempt 3)"
    return "\n".join(lines) + "\n"


def turn(i: int, result: str) -> list[Any]:
    """One agent turn: a question, a tool call, its result, the answer."""
    return [
        {"role": "user", "content": f"question {i}"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {"name": f"tool_{i}", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": f"call_{i}", "content": result},
        {"role": "assistant", "content": f"answer {i}"},
    ]


def inline(**kw: Any) -> hm.Pipeline:
    return hm.Pipeline(config=hm.Config(max_tokens=300, executor="inline", **kw))


@pytest.fixture
def plan_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = _crush.plan

    def counting(text: str, **kw: Any) -> Any:
        calls.append(text)
        return real(text, **kw)

    monkeypatch.setattr(_crush, "plan", counting)
    return calls


# -- copy-on-write --------------------------------------------------------------------------------------


def test_caller_messages_are_never_mutated_and_untouched_ones_are_shared() -> None:
    msgs = [
        {"role": "system", "content": "sys"},
        *turn(1, log_text(tag="a")),
        *turn(2, "small"),
        *turn(3, log_text(tag="b")),
    ]
    snapshot = copy.deepcopy(msgs)
    with inline() as p:
        out, report = p.compress(msgs)
    assert msgs == snapshot  # deep equality: nothing inside was touched
    assert out is not msgs and len(out) == len(msgs)
    changed = {m.index for m in report.messages}
    assert changed == {3, 11}
    for i, (new, old) in enumerate(zip(out, msgs, strict=True)):
        if i in changed:
            assert new is not old and new["content"] != old["content"]
            assert {k: v for k, v in new.items() if k != "content"} == {
                k: v for k, v in old.items() if k != "content"
            }
        else:
            assert new is old


def test_anthropic_copy_on_write_keeps_sibling_blocks() -> None:
    other = {"type": "tool_result", "tool_use_id": "b", "content": "tiny"}
    text_block = {"type": "text", "text": "and here is more"}
    msgs = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "a", "name": "x", "input": {}},
                {"type": "tool_use", "id": "b", "name": "y", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "a",
                    "content": [{"type": "text", "text": log_text()}],
                },
                other,
                text_block,
            ],
        },
    ]
    snapshot = copy.deepcopy(msgs)
    with inline() as p:
        out, _ = p.compress(msgs)
    assert msgs == snapshot
    assert out[0] is msgs[0] and out[1] is msgs[1]
    assert out[2]["content"][1] is other and out[2]["content"][2] is text_block
    assert hm.carries_marker(out[2]["content"][0]["content"][0]["text"])


def test_no_change_returns_the_callers_list_itself() -> None:
    msgs = turn(1, "small result")
    with inline() as p:
        out, report = p.compress(msgs, tools=[{"type": "function", "function": {"name": "t"}}])
    assert out is msgs and not report.changed and report.tools is None
    assert (report.tokens_before, report.tokens_after, report.keys) == (0, 0, ())


# -- memo -----------------------------------------------------------------------------------------------


def test_resent_turns_read_byte_identical_and_are_not_recompressed(plan_calls: list[str]) -> None:
    history: list[Any] = []
    seen: dict[int, str] = {}  # message index -> what the model saw the first time
    with inline() as p:
        for i in range(10):
            history += turn(i, log_text(tag=f"t{i}") if i % 2 == 0 else "small")
            out, report = p.compress(history)
            for m in report.messages:
                text = out[m.index]["content"]
                assert seen.setdefault(m.index, text) == text
            assert [m.cached for m in report.messages] == [True] * (len(report.messages) - 1) + [i % 2 == 1]
        assert len(plan_calls) == 5  # one engine run per large result, however often it is re-sent
        assert len(seen) == 5


def test_memo_off_still_gives_identical_bytes(plan_calls: list[str]) -> None:
    history = turn(1, log_text())
    with inline() as a, inline(memo_size=0) as b:
        first, _ = a.compress(history)
        history2 = [*history, *turn(2, "small")]
        again, report = b.compress(history2)
    assert again[2]["content"] == first[2]["content"]
    assert report.messages[0].cached is False and len(plan_calls) == 2


def test_memo_hit_after_store_eviction_recompresses_and_restores_the_original(plan_calls: list[str]) -> None:
    text = log_text()
    store = hm.MemoryStore()
    with hm.Pipeline(store=store, config=hm.Config(max_tokens=300, executor="inline")) as p:
        out1, r1 = p.compress(turn(1, text))
        key = r1.keys[0]
        fresh = hm.MemoryStore()
        p.store = fresh  # the store lost everything (eviction, restart)
        out2, r2 = p.compress(turn(1, text))
        assert r2.messages[0].cached is False and len(plan_calls) == 2
        assert out2[2]["content"] == out1[2]["content"]
        assert hm.retrieve(fresh, key) == text


def test_memo_is_bounded() -> None:
    with inline(memo_size=2) as p:
        for i in range(5):
            p.compress(turn(i, log_text(tag=f"m{i}")))
        assert len(p._memo) == 2


# -- retrieval tool -------------------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {}}}]


def test_retrieval_tool_added_once_at_the_end_only_when_needed() -> None:
    with inline() as p:
        _, report = p.compress(turn(1, "small"), tools=TOOLS)
        assert report.tools is None
        out, report = p.compress(turn(1, log_text()), tools=TOOLS)
        assert report.tools is not None and report.tools is not TOOLS
        assert [t["function"]["name"] for t in report.tools] == ["search", hm.RETRIEVE_TOOL_NAME]
        assert report.tools[0] is TOOLS[0] and len(TOOLS) == 1  # caller's list untouched
        assert report.tools[-1] == hm.retrieval_tool("openai")
        # Next turn: the caller sends the tool list we returned; nothing to add.
        _, report2 = p.compress(out, tools=report.tools)
        assert report2.tools is None
        # Next turn without our tool in the list: a marker from an earlier turn still needs it.
        _, report3 = p.compress([*out, *turn(2, "small")], tools=TOOLS)
        assert report3.tools is not None and report3.tools[-1] == hm.retrieval_tool("openai")
        # No tools at all: the list is just ours.
        _, report4 = p.compress(turn(1, log_text()))
        assert report4.tools == [hm.retrieval_tool("openai")]


def test_lossless_compression_does_not_add_the_tool() -> None:
    records = json.dumps([{"id": i, "kind": "same", "region": "eu"} for i in range(400)], indent=4)
    with hm.Pipeline(config=hm.Config(max_tokens=100_000, executor="inline")) as p:
        out, report = p.compress(turn(1, records))
    assert report.messages and report.messages[0].keys == ()
    assert report.tools is None and not hm.carries_marker(out[2]["content"])


def test_retrieval_tool_kept_when_the_history_calls_it() -> None:
    msgs = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "r",
                    "type": "function",
                    "function": {
                        "name": hm.RETRIEVE_TOOL_NAME,
                        "arguments": '{"key": "0123456789abcdef01234567"}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "r", "content": "restored text"},
    ]
    with inline() as p:
        _, report = p.compress(msgs, tools=TOOLS)
    assert report.tools is not None and report.tools[-1]["function"]["name"] == hm.RETRIEVE_TOOL_NAME


# -- handle_tool_call -----------------------------------------------------------------------------------


def test_handle_tool_call() -> None:
    text = log_text()
    with inline() as p:
        _, report = p.compress(turn(1, text))
        key = report.keys[0]
        assert p.handle_tool_call("other_tool", "{}") is None
        assert p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, json.dumps({"key": key})) == text
        assert p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": key}) == text
        assert p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, json.dumps({"key": key}).encode()) == text
        filtered = p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": key, "query": "connection refused"})
        assert filtered is not None and "connection refused" in filtered and len(filtered) < len(text) / 10
        unknown = p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": "f" * 24})
        assert unknown is not None and "unknown or expired" in unknown
        page = p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": key, "query": "INFO", "limit": "5"})
        assert page is not None and page.count("INFO svc request") == 5 and "offset=5" in page
        page2 = p.handle_tool_call(
            hm.RETRIEVE_TOOL_NAME, {"key": key, "query": "INFO", "offset": 5, "limit": 5}
        )
        assert page2 is not None and page2 != page and "request 5 served" in page2
        for bad_page in [{"limit": 0}, {"offset": -1}, {"offset": "soon"}, {"limit": True}]:
            answer = p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": key, **bad_page})
            assert answer is not None and "must be an integer" in answer
        for bad in ["{not json", "[1, 2]", None, 42, {"query": "x"}, {"key": "short"}, {"key": 5}]:
            answer = p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, bad)  # type: ignore[arg-type]
            assert isinstance(answer, str) and "error" in answer and "key" in answer


def test_handle_tool_call_survives_a_failing_store(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def put(self, key: str, data: bytes) -> bool:
            return True

        def get(self, key: str) -> bytes | None:
            raise ConnectionError("down")

    with hm.Pipeline(store=Broken(), config=hm.Config(executor="inline")) as p:
        answer = p.handle_tool_call(hm.RETRIEVE_TOOL_NAME, {"key": "a" * 24})
    assert answer is not None and "try the call again" in answer.lower()


# -- fail-open and strict -------------------------------------------------------------------------------


def _explode(text: str, **kw: Any) -> Any:
    raise RuntimeError("engine bug")


def test_engine_error_leaves_the_message_and_logs_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_crush, "plan", _explode)
    msgs = [*turn(1, log_text(tag="x")), *turn(2, "small")]
    snapshot = copy.deepcopy(msgs)
    with caplog.at_level(logging.WARNING, logger="headroom_middleware"), inline() as p:
        out, report = p.compress(msgs)
    assert out is msgs and msgs == snapshot
    assert report.errors == 1 and report.messages == ()
    [rec] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "RuntimeError" in rec.getMessage() and "request 1 served" not in rec.getMessage()


def test_strict_mode_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_crush, "plan", _explode)
    with inline(strict=True) as p, pytest.raises(RuntimeError, match="engine bug"):
        p.compress(turn(1, log_text()))


def test_failing_token_counter_is_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    def bad_counter(text: str) -> int:
        raise ValueError("tokenizer down")

    with inline(count_tokens=bad_counter) as p:
        out, report = p.compress(turn(1, log_text()))
    assert report.errors == 1 and out[2]["content"] == log_text()


def test_store_refusal_keeps_a_lossless_form() -> None:
    class Refusing:
        def put(self, key: str, data: bytes) -> bool:
            return False

        def get(self, key: str) -> bytes | None:
            return None

    with hm.Pipeline(store=Refusing(), config=hm.Config(max_tokens=300, executor="inline")) as p:
        out, report = p.compress(turn(1, log_text()))
    assert report.keys == () and report.tools is None
    assert not hm.carries_marker(out[2]["content"])


def test_logs_never_hold_the_payload(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="headroom_middleware"), inline() as p:
        p.compress(turn(1, log_text()))
    messages = [r.getMessage() for r in caplog.records if r.name == "headroom_middleware"]
    assert any(r.levelno == logging.INFO for r in caplog.records)
    assert any("tool_1" in m for m in messages)
    assert all("served in" not in m and "connection refused" not in m for m in messages)


# -- config and exports ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"executor": "fibers"},
        {"min_tokens": -1},
        {"max_tokens": 0},
        {"workers": 0},
        {"memo_size": -5},
        {"count_tokens": "tiktoken"},
    ],
)
def test_bad_config_is_refused_at_construction(bad: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        hm.Config(**bad)


def test_public_names() -> None:
    from headroom_middleware.pipeline import MessageReport

    assert {"Pipeline", "Config", "Report"} <= set(hm.__all__)
    cfg = hm.Config()
    assert (cfg.min_tokens, cfg.max_tokens, cfg.executor, cfg.workers, cfg.strict, cfg.memo_size) == (
        500,
        hm.DEFAULT_MAX_TOKENS,
        "thread",
        None,
        False,
        4096,
    )
    with inline() as p:
        _, report = p.compress(turn(1, log_text()))
    assert isinstance(report, hm.Report) and isinstance(report.messages[0], MessageReport)
    assert report.seconds > 0 and report.changed


def test_identical_results_in_one_call_run_the_engine_once(plan_calls: list[str]) -> None:
    text = log_text()
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": "tail_log", "arguments": "{}"}}
        for i in range(3)
    ]
    msgs = [
        {"role": "user", "content": "compare the three hosts"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c0", "content": text},
        {"role": "tool", "tool_call_id": "c1", "content": text},  # same output, same question: a twin
        {"role": "tool", "tool_call_id": "c2", "content": log_text(tag="other")},
    ]
    with inline(memo_size=0) as p:
        out, report = p.compress(msgs)
    assert len(plan_calls) == 2
    assert [m.index for m in report.messages] == [2, 3, 4]
    assert out[2]["content"] == out[3]["content"] != out[4]["content"]
    assert [m.cached for m in report.messages] == [False, True, False]


def test_store_outage_keeps_memo_bytes_stable(plan_calls: list[str]) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.inner = hm.MemoryStore()
            self.down = False

        def put(self, key: str, data: bytes) -> bool:
            if self.down:
                raise ConnectionError("down")
            return self.inner.put(key, data)

        def get(self, key: str) -> bytes | None:
            if self.down:
                raise ConnectionError("down")
            return self.inner.get(key)

    store = Flaky()
    msgs = turn(1, log_text())
    with hm.Pipeline(store=store, config=hm.Config(max_tokens=300, executor="inline")) as p:
        first, _ = p.compress(msgs)
        store.down = True
        again, report = p.compress([*msgs, *turn(2, "small")])
    assert again[2]["content"] == first[2]["content"] and report.errors == 0
    assert report.messages[0].cached and len(plan_calls) == 1
