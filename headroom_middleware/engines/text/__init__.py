"""Text engines: one module per kind of text, plus the generic line engine.

``TEXT_KINDS`` is the registry the detector walks, in order: ``(kind, looks_like, compress)``.
``looks_like(head)`` sees only the first few KB; ``compress(text, ctx)`` is the engine itself.
To add an engine: write its module, then add one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from .._base import Compressed, Context
from . import diff, gotest, infra, logs, search, table, tests
from ._search_json import looks_like_rg_json
from .generic import compress_generic

LooksLike = Callable[[str], bool]
Engine = Callable[[str, Context], Compressed]

TEXT_KINDS: list[tuple[str, LooksLike, Engine]] = [
    # (kind, looks_like, compress) — engines register here, most specific first.
    ("gotest", gotest.looks_like, gotest.compress),
    # ``rg --json`` events are NDJSON, but the search engine reads them (as grep lines) better.
    ("search_json", looks_like_rg_json, search.compress),
    ("diff", diff.looks_like, diff.compress),
    ("test", tests.looks_like, tests.compress),
    # Before search and logs: a plan opens with "aws_x.y: Refreshing state..." lines (path:text to a
    # search), a CI console's lines start with timestamps; the steps are the structure.
    ("infra", infra.looks_like, infra.compress),
    ("search", search.looks_like, search.compress),
    ("table", table.looks_like, table.compress),
    ("log", logs.looks_like, logs.compress),
]


def compress_text(text: str, kind: str, ctx: Context) -> Compressed:
    """Compress ``text`` with the engine registered for ``kind`` (the generic one otherwise)."""
    for k, _, engine in TEXT_KINDS:
        if k == kind:
            return engine(text, ctx)
    return compress_generic(text, ctx)
