"""Shared test set-up: offline tokenizer and LiteLLM settings, the fixture files, their needles.

- ``TIKTOKEN_CACHE_DIR`` points at the o200k_base/cl100k_base files LiteLLM bundles (found through
  ``importlib``, not a hard-coded path) so tiktoken never tries the network.
- ``LITELLM_LOCAL_MODEL_COST_MAP=True`` keeps LiteLLM from fetching its cost map at import.
- ``--regen-golden`` rewrites ``fixtures/golden/`` from the current output (tests/test_golden.py).
- A test that takes a ``fixture_path`` argument runs once per fixture file (corpus and generated).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXTURE_DIRS = ("corpus", "generated")
# Files in the fixture folders that describe fixtures rather than being tool output.
_NOT_PAYLOADS = (".md", ".py", ".txt.license")


def _litellm_tokenizers_dir() -> str | None:
    """The folder of tokenizer files shipped inside the installed litellm package, if any."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    return str(folder) if folder.is_dir() else None


os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
if "TIKTOKEN_CACHE_DIR" not in os.environ and (_tok := _litellm_tokenizers_dir()):
    os.environ["TIKTOKEN_CACHE_DIR"] = _tok


def is_payload(path: Path) -> bool:
    """True for a fixture payload (tool output), false for needles, docs and generator scripts."""
    name = path.name
    return (
        path.is_file()
        and not name.startswith(".")
        and not (name.startswith("needles") and name.endswith(".json"))
        and not name.endswith(_NOT_PAYLOADS)
        and name not in ("SOURCES.md", "LICENSES.md", "README.md")
    )


def fixture_paths() -> list[Path]:
    """Every payload under fixtures/corpus and fixtures/generated, in a stable order."""
    found: list[Path] = []
    for folder in FIXTURE_DIRS:
        found += sorted(p for p in (FIXTURES / folder).glob("*") if is_payload(p))
    return found


def fixture_id(path: Path) -> str:
    """``corpus/<name>`` or ``generated/<name>``: how fixtures are named in tests and goldens."""
    return path.relative_to(FIXTURES).as_posix()


def read_fixture(path: Path) -> str:
    """A fixture's text exactly as a tool would hand it over (undecodable bytes kept as surrogates)."""
    return path.read_bytes().decode("utf-8", "surrogateescape")


def load_needles() -> dict[str, list[str]]:
    """Fixture id -> needles, from corpus/needles.json and every generated/needles*.json."""
    needles: dict[str, list[str]] = {}
    for folder in FIXTURE_DIRS:
        for file in sorted((FIXTURES / folder).glob("needles*.json")):
            for entry in json.loads(file.read_text("utf-8")):
                needles.setdefault(f"{folder}/{entry['file']}", []).extend(entry["needles"])
    return needles


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite fixtures/golden/ from the current crush output instead of comparing",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fixture_path" in metafunc.fixturenames:
        paths = fixture_paths()
        metafunc.parametrize("fixture_path", paths, ids=[fixture_id(p) for p in paths])


@pytest.fixture(scope="session")
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture(scope="session")
def needles() -> dict[str, list[str]]:
    return load_needles()


@pytest.fixture(scope="session")
def all_fixture_paths() -> list[Path]:
    return fixture_paths()


@pytest.fixture
def fixture_text(fixture_path: Path) -> str:
    return read_fixture(fixture_path)


class Crushed(NamedTuple):
    """One fixture crushed with default settings into its own fresh store."""

    text: str
    result: Any  # hm.CrushResult (typed loosely: the package may not import while engines land)
    store: Any  # hm.MemoryStore


@pytest.fixture(scope="session")
def crush_fixture() -> Iterator[Callable[[Path], Crushed]]:
    """``crush_fixture(path)``: the fixture crushed once per session (fresh MemoryStore, defaults)."""
    import headroom_middleware as hm

    done: dict[Path, Crushed] = {}

    def crush(path: Path) -> Crushed:
        if path not in done:
            text = read_fixture(path)
            store = hm.MemoryStore()
            done[path] = Crushed(text, hm.crush(text, store=store), store)
        return done[path]

    yield crush
    done.clear()


@pytest.fixture(scope="session")
def o200k() -> Any:
    """tiktoken's o200k_base encoding, loaded offline from LiteLLM's bundled files."""
    tiktoken = pytest.importorskip("tiktoken")
    return tiktoken.get_encoding("o200k_base")
