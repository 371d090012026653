"""Every registered text engine survives arbitrary text: ``looks_like`` and ``compress`` never raise.

The detector calls each ``looks_like`` on the first few KB of whatever a tool returned (binary dumps,
``\\r`` line endings, NUL bytes, lone surrogates from undecodable bytes); one that raises turns a
compressible result into a pass-through with a warning. The strategies mix raw characters with the
fragments the engines key on (CSV quotes, diff headers, test markers, log levels) so that the engines'
own parsing paths are reached, not only their early exits.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.ccr._keys import make_key
from headroom_middleware.engines._base import Context
from headroom_middleware.engines.text import TEXT_KINDS
from headroom_middleware.engines.text.generic import compress_generic

_FRAGMENTS = (
    "\n", "\r", "\r\n", "\x00", "\ud800", "\udcff", '"', ",", "\t", "  ", "|", "x", "é", "0", "12",
    "a,b,c\n", '"q\r",1,2\n', "NAME   READY   STATUS\n", "pod-1   0/1   CrashLoopBackOff\n",
    "diff --git a/f b/f\n", "--- a/f\n", "+++ b/f\n", "@@ -1,2 +1,3 @@\n", "+added\n", "-gone\n",
    "FAILED tests/t.py::test_x - AssertionError\n", "=== RUN   TestX\n", "--- FAIL: TestX (0.01s)\n",
    '{"Action":"fail","Test":"TestX"}\n', "src/a.py:12:match\n", "src/a.py-13-context\n",
    "2024-01-01T00:00:00Z ERROR boom id=42\n", "Traceback (most recent call last):\n",
    '  File "a.py", line 3, in f\n', "-rw-r--r-- 1 u g 12 Jan  1 00:00 f\n", "total 8\n",
)  # fmt: skip

_ANY_CHAR = st.characters(blacklist_categories=())  # surrogates included
_TEXTS = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_ANY_CHAR, max_size=8)), max_size=60).map(
    "".join
)
_ENGINES = [(kind, compress) for kind, _, compress in TEXT_KINDS] + [("text", compress_generic)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_looks_like_never_raises(text: str) -> None:
    for kind, looks_like, _ in TEXT_KINDS:
        assert looks_like(text) in (True, False), kind


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _TEXTS, st.sampled_from([1, 20, 200]), st.one_of(st.none(), st.sampled_from(["boom", "TestX", "\ud800"]))
)
def test_compress_never_raises_and_stores_the_exact_text(text: str, budget: int, query: str | None) -> None:
    ctx = Context(max_tokens=budget, count_tokens=estimate_tokens, query=query)
    for kind, compress in _ENGINES:
        result = compress(text, ctx)
        assert isinstance(result.text, str), kind
        for key, payload in result.originals:
            assert key == make_key(payload), kind
        if result.originals:
            # Text engines store the original text itself, byte for byte.
            assert text.encode("utf-8", "surrogatepass") in [p for _, p in result.originals], kind
        else:
            assert result.text == text or result.strategy != "passthrough", kind
        assert compress(text, ctx) == result, kind  # deterministic


def test_table_looks_like_with_carriage_return_and_binary() -> None:
    """The regressions that raised ``_csv.Error``: a ``\\r`` inside quotes, a NUL, binary noise."""
    samples = [
        'a,"b\r",c\nd,e,f\ng,h,i\nj,k,l\n',
        'a,b,c\n"x\x00",y,z\n1,2,3\n4,5,6\n',
        bytes(range(256)).decode("latin-1") * 12,
        'h1\th2\th3\n"\r"\t"\x00"\tz\n1\t2\t3\n4\t5\t6\n',
    ]
    for sample in samples:
        for kind, looks_like, compress in TEXT_KINDS:
            assert looks_like(sample) in (True, False), kind
            compress(sample * 40, Context(max_tokens=30, count_tokens=estimate_tokens))
