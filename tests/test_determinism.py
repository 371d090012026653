"""Same input, same bytes: within one process and across processes with different hash seeds.

Provider prompt caches key on exact prefixes, so a tool result crushed in turn 3 must read the same in
turn 30 and on another worker. Every fixture is crushed twice in this process and once in each of two
subprocesses (PYTHONHASHSEED 0 and 4242); text, keys and strategy must agree everywhere. The generated
fixtures must also regenerate byte for byte (every ``fixtures/generate_*.py --check``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import headroom_middleware as hm

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: crush each path given on stdin, print one JSON object of fingerprints.
_CHILD = """
import hashlib, json, sys
import headroom_middleware as hm
out = {}
for path in json.load(sys.stdin):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    r = hm.crush(text, store=hm.MemoryStore())
    digest = hashlib.sha256(r.text.encode("utf-8", "surrogatepass")).hexdigest()
    out[path] = [digest, list(r.keys), r.strategy, r.tokens_after]
json.dump(out, sys.stdout)
"""


def _fingerprint(result: Any) -> list[Any]:
    digest = hashlib.sha256(result.text.encode("utf-8", "surrogatepass")).hexdigest()
    return [digest, list(result.keys), result.strategy, result.tokens_after]


def _in_child(paths: list[Path], hash_seed: str) -> dict[str, list[Any]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps([str(p) for p in paths]),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    result: dict[str, list[Any]] = json.loads(proc.stdout)
    return result


def test_same_bytes_twice_in_one_process(fixture_path: Path, fixture_text: str) -> None:
    first = hm.crush(fixture_text, store=hm.MemoryStore())
    second = hm.crush(fixture_text, store=hm.MemoryStore())
    assert first.text == second.text
    assert (first.keys, first.strategy, first.tokens_after) == (
        second.keys,
        second.strategy,
        second.tokens_after,
    )


def test_same_bytes_across_processes_and_hash_seeds(
    all_fixture_paths: list[Path], crush_fixture: Callable[[Path], Any]
) -> None:
    here = {str(p): _fingerprint(crush_fixture(p).result) for p in all_fixture_paths}
    seed_a = _in_child(all_fixture_paths, "0")
    seed_b = _in_child(all_fixture_paths, "4242")
    for path in here:
        assert seed_a[path] == here[path], f"{Path(path).name}: differs in a child with PYTHONHASHSEED=0"
        assert seed_b[path] == here[path], f"{Path(path).name}: differs in a child with PYTHONHASHSEED=4242"


@pytest.mark.parametrize("generator", sorted((ROOT / "fixtures").glob("generate_*.py")), ids=lambda p: p.name)
def test_generated_fixtures_regenerate_byte_for_byte(generator: Path) -> None:
    """Every fixture generator (``fixtures/generate_*.py``) must reproduce its committed files."""
    proc = subprocess.run([sys.executable, str(generator), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
