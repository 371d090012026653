"""Every fixture's ``hm.crush`` output, pinned byte for byte in ``fixtures/golden/``.

For ``fixtures/<dir>/<name>`` the golden files are ``fixtures/golden/<dir>/<name>.out`` (exactly
``r.text`` as UTF-8) and ``<name>.meta.json`` (strategy, keys, token figures, is_json). Any change
to an engine that changes what the model sees shows up here as a diff to review; when the change is
intended, rewrite them (orphans of removed fixtures are deleted) with::

    .venv/bin/python -m pytest tests/test_golden.py --regen-golden

Settings are the defaults an agent gets: a fresh ``MemoryStore``, no query, default budget.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = FIXTURES / "golden"


def _golden_paths(fixture_path: Path) -> tuple[Path, Path]:
    rel = fixture_path.relative_to(FIXTURES)
    base = GOLDEN / rel.parent / rel.name
    return base.with_name(base.name + ".out"), base.with_name(base.name + ".meta.json")


def _meta(result: Any) -> str:
    meta = {
        "strategy": result.strategy,
        "keys": list(result.keys),
        "tokens_before": result.tokens_before,
        "tokens_after": result.tokens_after,
        "is_json": result.is_json,
    }
    return json.dumps(meta, indent=1) + "\n"


def test_output_matches_golden(
    fixture_path: Path, crush_fixture: Callable[[Path], Any], regen_golden: bool
) -> None:
    crushed = crush_fixture(fixture_path)
    out = crushed.result.text.encode("utf-8", "surrogatepass")
    meta = _meta(crushed.result)
    out_path, meta_path = _golden_paths(fixture_path)
    if regen_golden:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(out)
        meta_path.write_text(meta, "utf-8")
    assert out_path.exists(), f"no golden output for {fixture_path.name}: run pytest --regen-golden"
    assert meta_path.read_text("utf-8") == meta
    # Compare bytes, but report the first difference readably instead of two multi-MB blobs.
    golden = out_path.read_bytes()
    if out != golden:
        at = next(
            (i for i, (a, b) in enumerate(zip(out, golden, strict=False)) if a != b),
            min(len(out), len(golden)),
        )
        raise AssertionError(
            f"{fixture_path.name}: output differs from golden at byte {at} "
            f"(len {len(out)} vs {len(golden)}): got {out[max(0, at - 40) : at + 80]!r}, "
            f"golden {golden[max(0, at - 40) : at + 80]!r}"
        )


def test_no_orphan_golden_files(all_fixture_paths: list[Path], regen_golden: bool) -> None:
    """A golden file whose fixture is gone would pin nothing; ``--regen-golden`` deletes it."""
    expected: set[Path] = set()
    for path in all_fixture_paths:
        expected.update(_golden_paths(path))
    present = {p for p in GOLDEN.rglob("*") if p.is_file()} if GOLDEN.exists() else set()
    if regen_golden:
        for orphan in present - expected:
            orphan.unlink()
        present &= expected
    assert sorted(map(str, present - expected)) == []
