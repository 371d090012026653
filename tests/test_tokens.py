"""The token estimator against tiktoken's o200k_base on every fixture, with a documented bound.

``hm.estimate_tokens`` is a linear model over character classes (see ``_tokens.py``); budgets and
reported savings rest on it. Bounds: within 30% of o200k_base on each fixture, within 10% over all
fixtures together (measured worst cases: aligned tables such as ``kubectl get`` and ``ps aux``
undercount by about 25-27%, because runs of spaces cost the estimator nothing but cost o200k about
one token per run). The table (also in the README) prints on every run; the crushed outputs are
shown for information (markers and table forms are text the model reads too) and not asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import headroom_middleware as hm

PER_FILE_BOUND = 0.30
TOTAL_BOUND = 0.10


def _exact(enc: Any, text: str) -> int:
    # Fixtures may hold text that looks like special tokens; count it as ordinary text.
    return len(
        enc.encode(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), disallowed_special=())
    )


def test_estimator_error_against_o200k(
    all_fixture_paths: list[Path],
    o200k: Any,
    crush_fixture: Callable[[Path], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    header = f"{'fixture':<46} {'o200k':>9} {'estimate':>9} {'error':>7}"
    rows = [header + f"   {'output o200k':>12} {'est':>7} {'err':>7}"]
    exact_total = estimate_total = 0
    too_far = []
    for path in all_fixture_paths:
        crushed = crush_fixture(path)
        exact, estimate = _exact(o200k, crushed.text), hm.estimate_tokens(crushed.text)
        error = (estimate - exact) / exact
        out_exact = _exact(o200k, crushed.result.text)
        out_est = hm.estimate_tokens(crushed.result.text)
        out_err = (out_est - out_exact) / out_exact if out_exact else 0.0
        exact_total += exact
        estimate_total += estimate
        rows.append(
            f"{path.relative_to(path.parents[1]).as_posix():<46} {exact:>9,} {estimate:>9,} "
            f"{error:>+7.1%}   {out_exact:>12,} {out_est:>7,} {out_err:>+7.1%}"
        )
        if abs(error) > PER_FILE_BOUND:
            too_far.append(path.name)
    total_error = (estimate_total - exact_total) / exact_total
    rows.append(f"{'total':<46} {exact_total:>9,} {estimate_total:>9,} {total_error:>+7.1%}")
    with capsys.disabled():
        print("\nestimate_tokens vs o200k_base (input; crushed output for information)")
        print("\n".join(rows))
    assert too_far == [], f"estimate off by more than {PER_FILE_BOUND:.0%}"
    assert abs(total_error) <= TOTAL_BOUND


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "hello world",
        "x" * 10_000,
        "é" * 500,
        "\n" * 1000,
        "1234567890" * 100,
    ],
    ids=["empty", "one", "words", "long-run", "non-ascii", "newlines", "digits"],
)
def test_estimator_basic_properties(text: str) -> None:
    estimate = hm.estimate_tokens(text)
    assert estimate == hm.estimate_tokens(text)  # deterministic
    assert (estimate == 0) == (text == "")
    assert estimate <= max(1, len(text.encode("utf-8")))  # never more tokens than bytes


def test_chunked_counts_equal_the_whole_text_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A big text is encoded a chunk at a time (bounded copies); runs of spaces that cross a chunk
    boundary are counted once, exactly as on the whole text."""
    import random

    from headroom_middleware import _tokens

    rng = random.Random(1)
    texts = [
        "".join(rng.choice(["a", " ", "  ", "é", "\n", "x"]) for _ in range(rng.randint(0, 60)))
        for _ in range(2000)
    ]
    whole = [hm.estimate_tokens(t) for t in texts]
    monkeypatch.setattr(_tokens, "_CHUNK", 7)
    assert [hm.estimate_tokens(t) for t in texts] == whole
