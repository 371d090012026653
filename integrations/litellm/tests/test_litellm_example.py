"""examples/litellm_agent.py runs offline end to end (mock model, real LiteLLM, real callback)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import litellm
import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "litellm_agent.py"


def test_offline_agent_compresses_and_retrieves(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("litellm_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = list(litellm.callbacks)
    try:
        assert module.main([]) == 0
    finally:
        litellm.callbacks = saved
    out = capsys.readouterr().out
    turns = re.findall(r"turn (\d+): (\d+) tool result\(s\) compressed, ([\d,]+) -> ([\d,]+) tokens", out)
    assert [t[0] for t in turns] == ["1", "2", "3", "4"]
    for _, _, before, after in turns[1:]:
        assert int(after.replace(",", "")) < int(before.replace(",", ""))
    assert "answered headroom_retrieve(" in out  # the round-trip, as the callback logged it
    assert "1 headroom_retrieve call(s) answered inside LiteLLM" in out
    assert "30 buffer-creation comparisons retrieved" in out  # only complete after the retrieval
    assert "-7.52 %" in out and "Finished: SUCCESS" in out
    saved_tokens = re.search(r"saved ([\d,]+) tokens", out)
    assert saved_tokens is not None and int(saved_tokens.group(1).replace(",", "")) > 0
