"""Needles: the short strings an agent needs from a payload must survive compression.

Needles come from ``fixtures/corpus/needles.json`` and every ``fixtures/generated/needles*.json``
(format: ``[{"file": name, "needles": [...]}, ...]``). A needle is *visible* when it is a substring
of ``r.text`` and *recoverable* when it is visible or inside ``hm.retrieve(store, key)`` for one of
``r.keys``. Every needle must be recoverable (no data loss); at least 95% must be visible overall.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VISIBLE_TARGET = 0.95


def _check(crushed: Any, needles: list[str]) -> tuple[list[str], list[str]]:
    """(visible, recoverable) needles of one crushed fixture."""
    import headroom_middleware as hm

    r = crushed.result
    originals = [hm.retrieve(crushed.store, key) for key in r.keys]
    visible = [n for n in needles if n in r.text]
    recoverable = [n for n in needles if n in r.text or any(o is not None and n in o for o in originals)]
    return visible, recoverable


def test_needle_files_name_existing_fixtures(needles: dict[str, list[str]]) -> None:
    assert needles, "no needles found"
    for fixture, strings in needles.items():
        path = FIXTURES / fixture
        assert path.is_file(), f"needles name a missing fixture: {fixture}"
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        assert [n for n in strings if n not in text] == [], f"needles not in {fixture}"


def test_every_needle_recoverable(
    fixture_path: Path, needles: dict[str, list[str]], crush_fixture: Callable[[Path], Any]
) -> None:
    wanted = needles.get(fixture_path.relative_to(FIXTURES).as_posix(), [])
    if not wanted:
        pytest.skip("no needles for this fixture")
    crushed = crush_fixture(fixture_path)
    for key in crushed.result.keys:
        assert crushed.store.get(key) is not None, f"key {key} named in r.keys was not stored"
    _, recoverable = _check(crushed, wanted)
    assert [n for n in wanted if n not in recoverable] == []


def test_visibility_overall(
    all_fixture_paths: list[Path],
    needles: dict[str, list[str]],
    crush_fixture: Callable[[Path], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = []
    total = seen = 0
    for path in all_fixture_paths:
        wanted = needles.get(path.relative_to(FIXTURES).as_posix(), [])
        if not wanted:
            continue
        visible, recoverable = _check(crush_fixture(path), wanted)
        total += len(wanted)
        seen += len(visible)
        missing = [n for n in wanted if n not in visible]
        rows.append(
            f"{path.name:<40} {len(visible):>3}/{len(wanted):<3} visible "
            f"{len(recoverable):>3}/{len(wanted):<3} recoverable  hidden: {missing}"
        )
    with capsys.disabled():
        print("\nneedles per fixture (hidden = retrievable but not in r.text)")
        print("\n".join(rows))
        print(f"visible overall: {seen}/{total} = {seen / total:.1%} (target >= {VISIBLE_TARGET:.0%})")
    assert seen / total >= VISIBLE_TARGET
