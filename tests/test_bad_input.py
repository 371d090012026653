"""Hostile and malformed input: ``crush`` never raises and returns something sensible.

``crush`` has a fail-open net (an internal error passes the input through as ``passthrough:error``).
These tests run with ``strict=True`` so that the net cannot hide a crash: bad input must be handled
by the engines themselves. "Sensible" is checked by ``_assert_sensible``: a string result, no error
strategy, keys that retrieve, output that claims to be JSON parses as strict JSON, and when nothing
was stored the output alone stands for the input (pass-through or ``hm.expand``).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tracemalloc
from typing import Any

import orjson
import pytest

import headroom_middleware as hm

# A budget small enough that every payload below has to be compressed, not passed through.
SMALL_BUDGET = 200


def _crush(text: Any, max_tokens: int | None = SMALL_BUDGET) -> tuple[Any, Any]:
    store = hm.MemoryStore()
    return hm.crush(text, store=store, max_tokens=max_tokens, strict=True), store


def _assert_sensible(r: Any, store: Any, original: str) -> None:
    assert isinstance(r.text, str)
    assert not r.strategy.startswith("passthrough:error")
    assert r.tokens_before >= 0 and r.tokens_after >= 0
    if r.is_json:
        orjson.loads(r.text.encode("utf-8", "surrogatepass"))  # strict JSON: no NaN, no bare Infinity
    for key in r.keys:
        assert hm.is_key(key)
        assert hm.retrieve(store, key) is not None, "a key in r.keys does not retrieve"
    if r.keys:
        assert hm.carries_marker(r.text), "content was dropped but the model is not told how to get it"
    elif r.text != original:
        # Nothing stored, so the visible form must be lossless on its own.
        assert hm.expand(r.text) == json.loads(original)


def _records(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"item-{i}", "status": "ok", **extra} for i in range(n)]


def test_invalid_json_goes_to_text_engine() -> None:
    # Pretty-printed (many lines, so a line engine can drop some), then cut off mid-record.
    text = json.dumps(_records(400), indent=2)[:-30] + ',\n  {"id": oops'
    r, store = _crush(text)
    _assert_sensible(r, store, text)
    assert r.keys, "an over-budget text must be compressed"
    assert any(hm.retrieve(store, k) == text for k in r.keys), "the original text must come back whole"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity(literal: str) -> None:
    body = json.dumps(_records(300), indent=2)
    text = body[:-2] + f',\n  {{"id": 300, "latency": {literal}}}\n]'
    r, store = _crush(text)
    _assert_sensible(r, store, text)
    recovered = r.text + "".join(hm.retrieve(store, k) or "" for k in r.keys)
    assert literal in recovered


def test_integers_beyond_64_bits() -> None:
    big = 2**64 + 12345  # orjson refuses it; the digits must still survive exactly
    huge = -(10**40) - 7
    small = json.dumps([{"id": 1, "serial": big}, {"id": 2, "serial": huge}])
    r, store = _crush(small, max_tokens=None)  # within budget: nothing may be dropped
    _assert_sensible(r, store, small)
    assert str(big) in r.text and str(huge) in r.text

    text = json.dumps([*_records(300), {"id": 300, "serial": big}])
    r, store = _crush(text)
    _assert_sensible(r, store, text)
    recovered = r.text + "".join(hm.retrieve(store, k) or "" for k in r.keys)
    assert str(big) in recovered


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_lone_surrogates(as_json: bool) -> None:
    if as_json:
        # A raw lone surrogate inside a JSON string (what a bad decoder hands over) and an escaped one.
        text = json.dumps(_records(300))[:-1] + ', {"id": 300, "name": "bad\ud800x", "esc": "\\udc00"}]'
    else:
        text = "".join(f"line {i} ok\n" for i in range(2000)) + "broken \udcff value\n" + "tail\n"
    r, store = _crush(text)
    _assert_sensible(r, store, text)
    originals = [hm.retrieve(store, k) for k in r.keys]
    if not as_json:
        assert text in originals, "the text engine stores the original exactly, surrogates included"


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_nul_bytes(as_json: bool) -> None:
    if as_json:
        text = json.dumps([{"id": i, "blob": "a\u0000b" * 3} for i in range(400)])
    else:
        text = "".join(f"row {i}\x00col\x00{i * 7}\n" for i in range(2000))
    r, store = _crush(text)
    _assert_sensible(r, store, text)
    if not as_json:
        assert text in [hm.retrieve(store, k) for k in r.keys]


def test_binary_looking_text() -> None:
    rng = random.Random(7)
    blob = bytes(rng.randrange(256) for _ in range(200_000))
    text = blob.decode("latin-1")  # every byte a character: control characters, NULs, high bytes
    r, store = _crush(text)
    _assert_sensible(r, store, text)
    assert len(r.text) < len(text)
    assert text in [hm.retrieve(store, k) for k in r.keys]


def test_bytes_input_matches_str_input() -> None:
    text = json.dumps(_records(300))
    as_bytes, _ = _crush(text.encode("utf-8"))
    as_str, _ = _crush(text)
    assert (as_bytes.text, as_bytes.keys, as_bytes.strategy) == (as_str.text, as_str.keys, as_str.strategy)


def test_undecodable_bytes_input() -> None:
    data = b"header\n" + bytes(range(256)) * 400 + b"\nfooter\n"
    r, store = _crush(data)
    _assert_sensible(r, store, data.decode("utf-8", "surrogateescape"))
    stored = [hm.retrieve(store, k) for k in r.keys]
    # The original bytes come back exactly when re-encoded the way crush decoded them.
    assert any(s is not None and s.encode("utf-8", "surrogateescape") == data for s in stored)


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")], ids=["arrays", "objects"])
def test_deep_nesting(opener: str, closer: str) -> None:
    depth = 100_000
    text = opener * depth + "1" + closer * depth
    r, store = _crush(text)  # a RecursionError would surface here under strict=True
    assert not r.strategy.startswith("passthrough:error")
    if r.keys:
        # Text engines store the text; a JSON engine stores canonical bytes, which here are the same.
        assert hm.carries_marker(r.text)
        assert text in [hm.retrieve(store, k) for k in r.keys]
    else:
        assert r.text == text


_FIFTY_MB = 50 * 2**20
_SHAPES = {
    "one_line": lambda: "x" * _FIFTY_MB,
    "json_value": lambda: '{"blob": "' + "x" * _FIFTY_MB + '"}',
}
# tracemalloc counts address space reserved, not memory touched: orjson (yyjson) reserves about 13x its
# input as a parse buffer it mostly never writes, so the traced bound is 16x; resident memory (RSS,
# measured in a child process) gets the tighter 8x.
TRACED_BOUND = 16
RESIDENT_BOUND = 8

# The high-water mark is read from /proc/self/status (VmHWM: this process's own memory since exec),
# not getrusage's ru_maxrss, which Linux carries over from the parent: a child of a big pytest process
# would report the parent's peak.
_RSS_CHILD = """
import sys
import headroom_middleware as hm

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))

size = 50 * 2**20
text = "x" * size if sys.argv[1] == "one_line" else '{"blob": "' + "x" * size + '"}'
store = hm.MemoryStore(max_bytes=512 * 2**20)
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # restart VmHWM from the current resident size
except OSError:
    pass
resident_before = status("VmRSS")
r = hm.crush(text, store=store, strict=True)
print(status("VmHWM") - resident_before, len(text), r.strategy)
"""


@pytest.mark.parametrize("shape", sorted(_SHAPES))
def test_50_mb_string_completes_with_bounded_memory(shape: str) -> None:
    text = _SHAPES[shape]()
    store = hm.MemoryStore(max_bytes=512 * 2**20)
    tracemalloc.start()
    try:
        r = hm.crush(text, store=store, strict=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A memory bound, not a timing threshold: a few copies of the input are fine, a blow-up is not.
    assert peak < TRACED_BOUND * len(text), f"traced peak {peak / 2**20:.0f} MiB for 50 MiB"
    assert not r.strategy.startswith("passthrough:error")
    assert r.tokens_after <= r.tokens_before
    if r.keys:
        stored = [hm.retrieve(store, k) for k in r.keys]
        assert all(s is not None for s in stored)
        assert len(r.text) < len(text)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("shape", sorted(_SHAPES))
def test_50_mb_string_resident_memory(shape: str) -> None:
    """Peak resident growth while crushing (high-water mark minus resident size just before)."""
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, shape], capture_output=True, text=True, check=True
    )
    growth, size, strategy = proc.stdout.split()
    assert not strategy.startswith("passthrough:error")
    assert int(growth) < RESIDENT_BOUND * int(size), f"resident growth {int(growth) / 2**20:.0f} MiB"


def test_empty_string() -> None:
    r, _store = _crush("")
    assert (r.text, r.keys, r.tokens_before, r.tokens_after) == ("", (), 0, 0)
    assert not r.strategy.startswith("passthrough:error")


@pytest.mark.parametrize("text", [" ", "\n", " \t\r\n" * 10_000], ids=["space", "newline", "40k"])
def test_whitespace_only(text: str) -> None:
    r, store = _crush(text)
    assert not r.strategy.startswith("passthrough:error")
    assert r.tokens_after <= r.tokens_before
    if r.keys:
        assert hm.carries_marker(r.text)
        assert text in [hm.retrieve(store, k) for k in r.keys]
    else:
        assert r.text.strip() == ""
