"""The command line, run as a user runs it: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import headroom_middleware as hm

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: bytes | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    return subprocess.run(
        [sys.executable, "-m", "headroom_middleware", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def big_log() -> str:
    lines = [
        f"2024-05-01 12:00:{i % 60:02d} INFO worker-{i % 7} processed batch {i} in {i % 89} ms"
        for i in range(4000)
    ]
    lines[1234] = "2024-05-01 12:20:34 ERROR worker-3 upstream timeout after 30000 ms (batch 1234)"
    lines[2777] = "2024-05-01 12:46:17 INFO worker-5 batch 2777 checksum zeta recorded"
    return "\n".join(lines) + "\n"


def test_version_and_help() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.decode().strip() == f"headroom-middleware {hm.__version__}"
    r = run("--help")
    out = r.stdout.decode()
    assert r.returncode == 0 and all(w in out for w in ("crush", "demo", "bench", "Exit codes"))
    r = run("crush", "--help")
    out = r.stdout.decode()
    assert r.returncode == 0 and all(w in out for w in ("--query", "--max-tokens", "--format", "--stats"))


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("crush",),
        ("crush", "x", "--max-tokens", "0"),
        ("crush", "x", "--format", "yaml"),
        ("bench", "no_such_bench"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    r = run(*args)
    assert r.returncode == 2 and r.stderr and not r.stdout


def test_missing_file_is_a_clear_runtime_error(tmp_path: Path) -> None:
    r = run("crush", str(tmp_path / "nope.json"))
    assert r.returncode == 1 and b"no such file" in r.stderr and b"Traceback" not in r.stderr
    r = run("crush", str(tmp_path))
    assert r.returncode == 1 and b"is a directory" in r.stderr


def test_crush_a_file_with_stats(tmp_path: Path) -> None:
    path = tmp_path / "build.log"
    path.write_text(big_log())
    r = run("crush", str(path), "--stats", "--max-tokens", "400")
    assert r.returncode == 0
    out = r.stdout.decode()
    assert hm.carries_marker(out) and "upstream timeout" in out and len(out) < len(big_log()) / 5
    assert b"tokens" in r.stderr and b"->" in r.stderr and b"keys:" in r.stderr
    assert b"processed batch" not in r.stderr  # stats only, no payload


def test_crush_stdin_as_json() -> None:
    r = run("crush", "-", "--format", "json", "--query", "zeta", stdin=big_log().encode())
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert set(doc) >= {"text", "keys", "tokens_before", "tokens_after", "strategy", "is_json", "lossless"}
    assert doc["tokens_after"] < doc["tokens_before"] and doc["keys"] and not doc["lossless"]
    assert "checksum zeta" in doc["text"]  # the query's line is kept
    assert all(hm.is_key(k) for k in doc["keys"])


def test_crush_small_input_passes_through_exactly() -> None:
    r = run("crush", "-", stdin="just a short line, héllo\n".encode())
    assert r.returncode == 0 and r.stdout == "just a short line, héllo\n".encode()


def test_demo_prints_the_table_and_a_byte_exact_round_trip() -> None:
    r = run("demo")
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    corpus = [
        p.name
        for p in (ROOT / "fixtures" / "corpus").iterdir()
        if p.suffix != ".md" and p.name != "needles.json"
    ]
    assert corpus and all(name in out for name in corpus)
    assert "total" in out and "recoverable" in out
    assert "identical to the file byte for byte" in out
    assert "earlier results byte-identical: yes" in out and "'headroom_retrieve'" in out


def test_demo_explains_missing_fixtures(tmp_path: Path) -> None:
    r = run("demo", "--fixtures", str(tmp_path / "missing"))
    assert r.returncode == 1 and b"fixtures folder not found" in r.stderr


def test_bench_lists_the_benchmarks() -> None:
    r = run("bench", "--list")
    names = r.stdout.decode().split()
    assert r.returncode == 0
    assert {"passthrough", "event_loop", "throughput", "store", "memory", "multiturn"} <= set(names)


def test_crush_binary_input_round_trips_and_json_stays_valid() -> None:
    data = bytes(range(256)) * 4 + b"\xff\xfe tail"  # small: within budget, so passed through
    r = run("crush", "-", stdin=data)
    assert r.returncode == 0 and r.stdout.rstrip(b"\n") == data  # passed through byte for byte
    r = run("crush", "-", "--format", "json", stdin=data)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["text"].encode("utf-8", "surrogateescape").rstrip(b"\n") == data


def test_crush_into_a_shared_store_then_retrieve_byte_for_byte(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'originals.db'}"
    log = big_log()
    r = run("crush", "-", "--store", url, "--format", "json", stdin=log.encode())
    assert r.returncode == 0, r.stderr
    [key] = json.loads(r.stdout)["keys"]
    got = run("retrieve", key, "--store", url)  # another process, the same file
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode() == log
    filtered = run("retrieve", key, "--store", url, "--query", "checksum zeta")
    assert filtered.returncode == 0
    assert "batch 2777 checksum zeta recorded" in filtered.stdout.decode()
    assert "upstream timeout" not in filtered.stdout.decode()


def test_store_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    r = run("crush", "-", "--format", "json", stdin=big_log().encode())
    [key] = json.loads(r.stdout)["keys"]
    assert run("retrieve", key).stdout.decode() == big_log()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("retrieve", "0123456789abcdef01234567"), "needs the shared store"),
        (("retrieve", "not-a-key", "--store", "sqlite:x.db"), "is not a key"),
        (("retrieve", "0123456789abcdef01234567", "--store", "sqlite:x.db"), "nothing is stored"),
        (("crush", "-", "--store", "postgres://db"), "unknown store URL"),
    ],
)
def test_retrieve_and_store_errors_exit_1_with_a_message(
    args: tuple[str, ...], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEADROOM_STORE", raising=False)
    r = run(*args, stdin=b"", cwd=tmp_path)
    assert r.returncode == 1
    assert message in r.stderr.decode()
