"""The diff engine: every file header and submodule bump in view, generated hunks as +N/-M."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom_middleware import _markers, estimate_tokens, make_key
from headroom_middleware.engines import Context, detect
from headroom_middleware.engines.text import diff

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIFF = ROOT / "fixtures" / "corpus" / "git_diff_pr.diff"
RELEASE_DIFF = ROOT / "fixtures" / "generated" / "git_diff_release.diff"
PATHS = (CORPUS_DIFF, RELEASE_DIFF)


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _needles(path: Path) -> list[str]:
    file = "needles.json" if path.parent.name == "corpus" else "needles_search_diff_table.json"
    entries = json.loads((path.parent / file).read_text("utf-8"))
    return next(e["needles"] for e in entries if e["file"] == path.name)


def _ctx(max_tokens: int = 4000, query: str | None = None, counter: Any = estimate_tokens) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=counter, query=query)


def _body(out: str) -> list[str]:
    return [line for line in out.split("\n") if not line.startswith(("[… ", _markers.MARKER_PREFIX))]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_fixture_is_detected_and_needles_visible(path: Path) -> None:
    text = _read(path)
    assert detect(text) == "diff"
    out = diff.compress(text, _ctx())
    assert out.strategy == "diff:files"
    missing = [n for n in _needles(path) if n not in out.text]
    assert not missing
    assert estimate_tokens(out.text) <= max(4000 // diff.TARGET_SHARE, diff.MIN_TARGET)
    assert estimate_tokens(text) > 4000


def test_every_file_header_of_the_corpus_diff_is_kept() -> None:
    text = _read(CORPUS_DIFF)
    out = diff.compress(text, _ctx()).text
    headers = [line for line in text.split("\n") if line.startswith("diff --git ")]
    assert len(headers) == 18
    assert all(h in out for h in headers)
    assert out.count("deleted file mode 100644") == text.count("deleted file mode 100644")


def test_generated_files_are_summarised_as_added_and_removed_counts() -> None:
    text = _read(RELEASE_DIFF)
    out = diff.compress(text, _ctx()).text
    lines = out.split("\n")
    lock = lines.index("diff --git a/package-lock.json b/package-lock.json")
    assert lines[lock + 1] == _markers.gap(2885, "lines (+2,400/-480)")
    assert '"integrity": "sha512-' not in out
    assert "function " not in out  # the minified bundle's lines
    assert "+    MAX_RETRIES = 0" in out  # while the small hunk stays whole, context included
    assert "     BASE_DELAY_S = 0.2" in out


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
@pytest.mark.parametrize("budget", [150, 600, 2000])
def test_budget_is_a_hard_cap_with_the_real_tokenizer(path: Path, budget: int, o200k: Any) -> None:
    def count(s: str) -> int:
        return len(o200k.encode(s, disallowed_special=()))

    out = diff.compress(_read(path), _ctx(budget, counter=count))
    assert count(out.text) <= budget
    assert _markers.carries_marker(out.text)


def test_tighter_budgets_drop_hunk_lines_before_file_headers() -> None:
    text = _read(CORPUS_DIFF)
    out = diff.compress(text, _ctx(900)).text
    headers = [line for line in text.split("\n") if line.startswith("diff --git ")]
    assert all(h in out for h in headers)
    assert "+Subproject commit 6ecc7b5a8bc124dd807364d102b24e52a51e5ccc" in out
    assert estimate_tokens(out) <= 900


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_original_is_stored_byte_exact_and_lines_are_whole(path: Path) -> None:
    text = _read(path)
    out = diff.compress(text, _ctx(1500))
    ((key, payload),) = out.originals
    assert payload == path.read_bytes()
    assert key == make_key(payload)
    assert _markers.marker_keys(out.text) == [key]
    originals = set(text.split("\n"))
    assert all(line in originals for line in _body(out.text))


def test_hunk_counts_keep_a_removed_sql_comment_out_of_the_headers() -> None:
    body = [f" select {i};" for i in range(40)]
    hunk = ["@@ -1,42 +1,41 @@", *body[:20], "--- a/legacy note", "+++ b/not a header", *body[20:]]
    head = ["diff --git a/q.sql b/q.sql", "index 1111111..2222222 100644", "--- a/q.sql", "+++ b/q.sql"]
    text = "\n".join(head)
    text += "\n" + "\n".join(hunk) + "\n" + "\n".join(f"-- filler {i}" for i in range(400))
    kinds, files = diff._parse(text.split("\n"))
    assert [f.path for f in files] == ["q.sql"]
    lines = text.split("\n")
    assert kinds[lines.index("--- a/legacy note")] == diff.DEL
    assert kinds[lines.index("+++ b/not a header")] == diff.ADD


def test_plain_unified_diff_without_git_headers() -> None:
    parts = []
    for f in range(12):
        parts += [f"--- a/src/file_{f}.c\t2026-11-01 10:00:00", f"+++ b/src/file_{f}.c\t2026-11-02 10:00:00"]
        parts.append("@@ -10,30 +10,30 @@")
        for i in range(30):
            parts += [f"-    old_call_{f}_{i}(x);", f"+    new_call_{f}_{i}(x, y);"]
    text = "\n".join(parts) + "\n"
    assert diff.looks_like(text[:4096])
    out = diff.compress(text, _ctx(1200)).text
    for f in range(12):
        assert f"+++ b/src/file_{f}.c\t2026-11-02 10:00:00" in out
    assert estimate_tokens(out) <= 1200


def test_query_match_survives_a_tight_budget() -> None:
    text = _read(RELEASE_DIFF)
    quota_lines = [line for line in text.split("\n") if line.startswith("+") and "quota" in line]
    late = quota_lines[-1]
    assert late not in diff.compress(text, _ctx(1500)).text
    token = late.split("'")[1] if "'" in late else late.split()[-1]
    assert late in diff.compress(text, _ctx(1500, query=f"where is {token} set?")).text


def test_passthrough_under_budget_and_when_not_lossy() -> None:
    small = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    out = diff.compress(small, _ctx())
    assert (out.text, out.strategy, out.originals) == (small, "passthrough", ())
    big = _read(RELEASE_DIFF)
    out = diff.compress(big, Context(max_tokens=100, count_tokens=estimate_tokens, lossy=False))
    assert (out.text, out.originals) == (big, ())


def test_deterministic_across_processes() -> None:
    text = _read(CORPUS_DIFF)
    here = diff.compress(text, _ctx(1000)).text
    code = (
        "import sys\n"
        "from headroom_middleware import estimate_tokens\n"
        "from headroom_middleware.engines import Context\n"
        "from headroom_middleware.engines.text import diff\n"
        f"text = open({str(CORPUS_DIFF)!r}, encoding='utf-8').read()\n"
        "sys.stdout.write(diff.compress(text, Context(max_tokens=1000, count_tokens=estimate_tokens)).text)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "999"}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert there.stdout == here


def test_generated_paths() -> None:
    for path in (
        "package-lock.json",
        "web/yarn.lock",
        "go.sum",
        "data/schema.json",
        "app/static/app.min.js",
        "src/__snapshots__/a.test.js.snap",
        "api/v1/user_pb2.py",
        "db/schema.rb",
        "Cargo.lock",
    ):
        assert diff.is_generated_path(path), path
    for path in ("src/lock.py", "package.json", "schema_migration.py", "docs/minify.md", "src/snapshot.ts"):
        assert not diff.is_generated_path(path), path


@pytest.mark.parametrize(
    "head",
    [
        "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n",
        "commit 0123456789abcdef\nAuthor: A <a@b>\n\n    fix\n\ndiff --git a/x b/x\n",
        "--- old.txt\t2026-01-01\n+++ new.txt\t2026-01-02\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n",
    ],
)
def test_looks_like_diffs(head: str) -> None:
    assert diff.looks_like(head)


@pytest.mark.parametrize(
    "head",
    [
        '{"diff": "--- a\\n+++ b\\n@@ -1 +1 @@"}',
        "2026-03-04T10:00:00Z INFO applying diff\n2026-03-04T10:00:01Z WARN --- separator\n",
        "src/a.py:12:diff = compute()\nsrc/a.py:14:return diff\n",
        "NAME    READY   STATUS\napi-1   1/1     Running\n",
        "--- Summary ---\n+ 3 added\n- 2 removed\n",
    ],
)
def test_looks_like_rejects_other_kinds(head: str) -> None:
    assert not diff.looks_like(head)


def test_crlf_diff_still_recognises_generated_files() -> None:
    lock = "\r\n".join(f'+    "pkg-{i}": "1.0.{i}",' for i in range(600))
    text = (
        "diff --git a/package-lock.json b/package-lock.json\r\nindex 1..2 100644\r\n"
        "--- a/package-lock.json\r\n+++ b/package-lock.json\r\n@@ -1,0 +1,600 @@\r\n" + lock + "\r\n"
    )
    out = diff.compress(text, _ctx(300)).text
    assert '"pkg-1"' not in out
    assert out.startswith(
        "diff --git a/package-lock.json b/package-lock.json\r\n" + _markers.gap(604, "lines (+600/-0)")
    )


_DIFF_LINES = st.one_of(
    st.builds(
        lambda p: f"diff --git a/{p} b/{p}", st.sampled_from(["a.py", "yarn.lock", "x/y.min.js", "z.c"])
    ),
    st.sampled_from(["index 1..2 100644", "new file mode 100644", "deleted file mode 100644", "--- a/a.py"]),
    st.sampled_from(["+++ b/a.py", "@@ -1,3 +1,4 @@", "@@ -0,0 +1 @@", "\\ No newline at end of file", ""]),
    st.builds(lambda c, t: c + t, st.sampled_from([" ", "+", "-"]), st.text(max_size=40)),
    st.text(max_size=60),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_DIFF_LINES, min_size=1, max_size=150), st.integers(120, 1500), st.none() | st.text(max_size=20)
)
def test_any_input_keeps_the_contract(lines: list[str], budget: int, query: str | None) -> None:
    text = "\n".join(lines)
    out = diff.compress(text, _ctx(budget, query=query))
    assert estimate_tokens(out.text) <= budget or out.strategy == "passthrough"
    assert out == diff.compress(text, _ctx(budget, query=query))
    if out.strategy == "passthrough":
        assert out.text == text
    else:
        ((key, payload),) = out.originals
        assert payload == text.encode("utf-8", "surrogatepass") and key == make_key(payload)
    if out.strategy == "diff:files":  # (input that is not diff output goes to the generic engine)
        originals = set(text.split("\n"))
        assert all(line in originals for line in _body(out.text))


def test_no_newline_note_stays_with_its_line() -> None:
    text = _read(CORPUS_DIFF)
    out = diff.compress(text, _ctx()).text
    assert "-}\n\\ No newline at end of file\n+}" in out


def test_git_log_p_keeps_commit_headers_and_pure_renames() -> None:
    parts = []
    for c in range(30):
        parts += [f"commit {c:040x}", "Author: Dev <dev@example.com>", "", f"    Change number {c}", ""]
        parts += [
            f"diff --git a/old/m{c}.py b/new/m{c}.py",
            "similarity index 100%",
            f"rename from old/m{c}.py",
            f"rename to new/m{c}.py",
        ]
        parts += [f"diff --git a/src/f{c}.py b/src/f{c}.py", "index 1111111..2222222 100644"]
        parts += [f"--- a/src/f{c}.py", f"+++ b/src/f{c}.py", "@@ -1,40 +1,40 @@"]
        parts += [f"-    old_{c}_{i}()" for i in range(40)] + [f"+    new_{c}_{i}()" for i in range(40)]
    text = "\n".join(parts) + "\n"
    out = diff.compress(text, _ctx()).text
    assert estimate_tokens(out) <= 4000 // diff.TARGET_SHARE
    assert "commit " + f"{0:040x}" in out and "    Change number 0" in out
    assert "rename to new/m0.py" in out
    assert "\n\n" not in out  # blank lines between commits carry nothing
