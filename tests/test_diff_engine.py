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
from headroom_middleware.engines.text import _diff_files, _diff_parse, diff

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


@pytest.mark.parametrize(
    "path", [*PATHS, *sorted((ROOT / "fixtures" / "generated").glob("diff_wild_*.txt"))], ids=lambda p: p.name
)
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
    kinds, files = _diff_parse.parse(text.split("\n"))
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
        assert _diff_files.is_generated_path(path), path
    for path in ("src/lock.py", "package.json", "schema_migration.py", "docs/minify.md", "src/snapshot.ts"):
        assert not _diff_files.is_generated_path(path), path


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
    st.sampled_from(
        [
            "commit " + "ab" * 20,
            "Author: A <a@b>",
            "    subject line",
            " src/a.py | 12 +++---",
            " 2 files changed, 3 insertions(+)",
            "---",
            "-- ",
            "From " + "cd" * 20 + " Mon Sep 17 00:00:00 2001",
            "Subject: [PATCH] x",
            "diff -ruN a/x b/x",
            "+++ b/x\t1970-01-01 00:00:00.000000000 +0000",
            "+def f(x):",
        ]
    ),
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
    # The skeleton (every commit, every file header) does not fit half the budget: it may use all of it,
    # and nothing richer is added (no changed line).
    assert 4000 // diff.TARGET_SHARE < estimate_tokens(out) <= 4000
    assert "commit " + f"{0:040x}" in out and "    Change number 0" in out
    assert all(f"rename to new/m{c}.py" in out and f"    Change number {c}" in out for c in range(30))
    assert "old_0_" not in out and "new_29_" not in out
    assert "\n\n" not in out  # blank lines between commits carry nothing


WILD = ROOT / "fixtures" / "generated"
WILD_PATHS = sorted(WILD.glob("diff_wild_*.txt"))


def _wild_needles(path: Path) -> list[str]:
    entries = json.loads((WILD / "needles_diff_wild.json").read_text("utf-8"))
    return next(e["needles"] for e in entries if e["file"] == path.name)


@pytest.mark.parametrize("path", WILD_PATHS, ids=lambda p: p.name)
def test_wild_fixtures_are_detected_and_keep_their_needles(path: Path) -> None:
    text = _read(path)
    assert detect(text) == "diff"
    out = diff.compress(text, _ctx())
    assert out.strategy == "diff:files"
    assert [n for n in _wild_needles(path) if n not in out.text] == []
    assert estimate_tokens(out.text) <= 4000


def _stat_show(files: int) -> str:
    head = ["commit " + "ab" * 20, "Author: Dev <dev@example.com>", "Date:   Tue Nov 24 16:42:11 2026 +0530"]
    head += ["", "    vendor: bump everything", "", "    Why we bump, in one long line of text.", "---"]
    stat = [f" vendor/github.com/acme/lib{i}/client_{i}.go | {i % 40 + 2:4d} +++--" for i in range(files)]
    stat.append(f" {files} files changed, 999 insertions(+), 99 deletions(-)")
    patch = []
    for i in range(files):
        path = f"vendor/github.com/acme/lib{i}/client_{i}.go"
        patch += [
            f"diff --git a/{path} b/{path}",
            "index 1111111..2222222 100644",
            f"--- a/{path}",
            f"+++ b/{path}",
        ]
        patch += ["@@ -1,3 +1,3 @@", " package lib", f"-var x{i} = 1", f"+var x{i} = 2"]
    code = "internal/app/server.go"
    patch += [
        f"diff --git a/{code} b/{code}",
        "index 3333333..4444444 100644",
        f"--- a/{code}",
        f"+++ b/{code}",
    ]
    patch += ["@@ -10,40 +10,40 @@ func main() {", *(f"-\told{i}()" for i in range(40))]
    patch += [*(f"+\tnew{i}()" for i in range(39)), "+\tserveWithDeadline(ctx, cfg.Timeout)"]
    return "\n".join([*head, *stat, "", *patch]) + "\n"


def test_a_long_stat_block_before_the_patch_is_detected() -> None:
    text = _stat_show(150)
    assert text.index("diff --git") > 4096
    assert diff.looks_like(text[:4096])
    stat_only = "\n".join(f" src/m{i}.py | {i + 3} ++-" for i in range(20)) + "\n"
    assert diff.looks_like(stat_only)


@pytest.mark.parametrize(
    "head",
    [
        " id | name  | status\n----+-------+--------\n  1 | alice | 3\n  2 | bob   | 4\n  3 | carol | 5\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 5 | 6 |\n",
        "commit " + "ab" * 20 + "\nAuthor: A <a@b>\n\n    one file | 2 ++\n",
    ],
)
def test_tables_with_pipes_are_not_stat_blocks(head: str) -> None:
    assert not diff.looks_like(head)


def test_stat_lines_and_vendored_headers_give_way_to_the_code_change() -> None:
    text = _stat_show(150)
    out = diff.compress(text, _ctx()).text
    assert "    vendor: bump everything" in out and "    Why we bump, in one long line of text." in out
    assert "client_7.go | " not in out and _markers.gap(151, "--stat lines") in out
    assert " 150 files changed, 999 insertions(+), 99 deletions(-)" in out
    assert "diff --git a/vendor/github.com/acme/lib7/client_7.go" not in out
    assert "lines of 150 files under vendor/github.com/acme/ (+150/-150)" in out
    assert "+\tnew0()" in out and "diff --git a/internal/app/server.go b/internal/app/server.go" in out
    assert estimate_tokens(out) <= 4000 // diff.TARGET_SHARE


def test_two_generated_files_keep_their_headers() -> None:
    text = _stat_show(2)
    out = diff.compress(text, _ctx(300)).text
    assert (
        "diff --git a/vendor/github.com/acme/lib1/client_1.go b/vendor/github.com/acme/lib1/client_1.go"
        in out
    )


@pytest.mark.parametrize(
    "code",
    [
        "    async def refresh(self, session: Session, *, force: bool = False) -> Token:",
        "def main():",
        "class TokenManager(Base):",
        "func (c *Client) Invoke(ctx context.Context, method string) error {",
        "export function prorateCharge(sub: Subscription): number {",
        "export default class About extends React.Component {",
        "  public static List<String> names(int limit) {",
        "  async handle(req, res) {",
        "pub(crate) fn parse(input: &str) -> Result<Ast, Error> {",
        "int parse_header(struct parser *p, const char *buf, size_t len, unsigned flags)",
        "static void *xmalloc(size_t n);",
        "export const fetchUser = async (id: string) => {",
        "type Config struct {",
    ],
)
def test_signatures(code: str) -> None:
    assert _diff_files.is_signature(code)


@pytest.mark.parametrize(
    "code",
    [
        "\treturn parse_header(p, buf, len);",
        "    result = compute(x)",
        "export default Relay.createContainer(About, {",
        "    log.debug('def %s', name)",
        "return foo(bar)",
        "The function parse(x) is deprecated.",
        "    const total = daysInPeriod(sub);",
        "",
        "   ",
    ],
)
def test_not_signatures(code: str) -> None:
    assert not _diff_files.is_signature(code)


def test_a_changed_signature_deep_in_a_big_hunk_is_kept() -> None:
    body = [f"-        old_statement_{i}(x)" for i in range(60)] + [
        f"+        new_statement_{i}(x)" for i in range(60)
    ]
    body[100:100] = [
        "-    def refresh_token(self, session):",
        "+    def refresh(self, session, *, force=False):",
    ]
    parts = ["diff --git a/src/tokens.py b/src/tokens.py", "index 1..2 100644", "--- a/src/tokens.py"]
    parts += ["+++ b/src/tokens.py", "@@ -10,61 +10,61 @@ class TokenManager:", *body]
    for f in range(20):  # other files competing for the budget
        parts += [f"diff --git a/src/m{f}.py b/src/m{f}.py", "--- a/src/m{f}.py", f"+++ b/src/m{f}.py"]
        parts += ["@@ -1,30 +1,30 @@", *(f"-    a_{f}_{i} = {i}" for i in range(30))]
        parts += [f"+    b_{f}_{i} = {i}" for i in range(30)]
    text = "\n".join(parts) + "\n"
    out = diff.compress(text, _ctx(1200)).text
    assert "+    def refresh(self, session, *, force=False):" in out
    assert "-    def refresh_token(self, session):" in out
    assert "new_statement_59" not in out  # the rest of the hunk did not fit


def test_a_generated_banner_marks_any_file_generated() -> None:
    def file(path: str, first: str) -> list[str]:
        body = [f" {first}", " ", *(f"+var v{i} = {i}" for i in range(200))]
        return [f"diff --git a/{path} b/{path}", f"--- a/{path}", f"+++ b/{path}", "@@ -1,2 +1,202 @@", *body]

    gen = file("internal/api/client.gen.go.txt", "// Code generated by oapi-codegen. DO NOT EDIT.")
    hand = file("internal/api/handlers.go", "// Package api serves the HTTP API.")
    late = ["diff --git a/x.go b/x.go", "--- a/x.go", "+++ b/x.go", "@@ -300,3 +300,3 @@"]
    late += [" // Code generated by hand, see docs", "-a", "+b"]  # not the file's first lines
    _, files = _diff_parse.parse([*gen, *hand, *late])
    assert [f.generated for f in files] == [True, False, False]
    configure = ["diff -ruN a/configure b/configure", "--- a/configure\t2026-10-01 10:00:00.000000000 +0000"]
    configure += ["+++ b/configure\t2026-11-01 10:00:00.000000000 +0000", "@@ -1,4 +1,4 @@", " #! /bin/sh"]
    configure += [
        "-# Generated by GNU Autoconf 2.71 for foo 1.0.",
        "+# Generated by GNU Autoconf 2.72 for foo 1.1.",
        " #",
    ]
    assert _diff_parse.parse(configure)[1][0].generated


def test_diff_ruN_sections_are_one_file_each_and_epoch_dates_mean_deletion() -> None:
    text = _read(WILD / "diff_wild_diff_ruN.txt")
    lines = text.split("\n")
    kinds, files = _diff_parse.parse(lines)
    assert len(files) == sum(1 for line in lines if line.startswith("diff -ruN "))
    gone = next(f for f in files if f.path.endswith("strlcpy.c"))
    assert gone.deleted and gone.path == "libfoo-2.4.0/src/compat/strlcpy.c"
    assert kinds[gone.start + 2] == diff.KEY  # "+++ …\t1970-01-01 …" says the file is gone
    parser = next(f for f in files if f.path.endswith("parser.c"))
    assert kinds[parser.start + 1] == kinds[parser.start + 2] == diff.MINOR  # dates only repeat the header
    assert next(f for f in files if f.path.endswith("/configure")).generated


def test_marker_paths_drop_a_space_separated_timestamp() -> None:
    assert _diff_parse.path_of_marker("--- a/yarn.lock 2026-11-25 10:00:00.000000000 +0000") == "yarn.lock"
    assert _diff_parse.path_of_marker("+++ b/src/x.c\t2026-11-25 10:00:00") == "src/x.c"
    assert _diff_parse.path_of_marker("+++ b/my file.txt") == "my file.txt"


def test_no_newline_note_after_the_hunk_counts_ran_out_belongs_to_the_hunk() -> None:
    lines = ["--- a/x", "+++ b/x", "@@ -1 +1 @@", "-a", "+b", "\\ No newline at end of file"]
    kinds, _ = _diff_parse.parse(lines)
    assert kinds[5] == diff.NOTE


def test_data_files_leave_room_for_the_code_change() -> None:
    def payload(ext: str) -> str:
        parts = []
        for name in ("a_page1", "b_page2", "c_page3", "d_page4"):
            path = f"api/testdata/{name}.{ext}"
            parts += [
                f"diff --git a/{path} b/{path}",
                f"--- a/{path}",
                f"+++ b/{path}",
                "@@ -1,400 +1,400 @@",
            ]
            parts += [f"-    k{h}: {h}," for h in range(400)] + [f"+    k{h}: {h + 1}," for h in range(400)]
        code = "src/billing.ts"
        parts += [f"diff --git a/{code} b/{code}", f"--- a/{code}", f"+++ b/{code}", "@@ -1,30 +1,30 @@"]
        parts += [f"-  const a{i} = {i};" for i in range(30)] + [
            f"+  const a{i} = {i + 1};" for i in range(30)
        ]
        return "\n".join(parts) + "\n"

    def shown(out: str, prefix: str) -> int:
        return sum(1 for line in out.split("\n") if line[1:].startswith(prefix))

    data = diff.compress(payload("json"), _ctx(1500)).text  # recorded JSON beside the code change
    code = diff.compress(payload("js"), _ctx(1500)).text  # the same lines, as code
    assert shown(data, "  const") > shown(code, "  const")
    assert shown(data, "    k") < shown(code, "    k")


def test_allowance_in_order_fills_first_hunks_first() -> None:
    assert diff._in_order(10, [4, 4, 4]) == [4, 4, 2]
    assert diff._in_order(0, [4]) == [0]


def test_spread_shares_a_file_allowance_over_its_hunks() -> None:
    assert diff._spread(10, [2, 30, 30]) == [2, 4, 4]
    assert diff._spread(3, [5, 5, 5, 5]) == [1, 1, 1, 0]
    assert diff._spread(100, [5, 7]) == [5, 7]
    assert diff._spread(0, [5]) == [0]


def test_git_show_keeps_subject_and_author_drops_body_last() -> None:
    text = _read(WILD / "diff_wild_git_show_vendor.txt")
    out = diff.compress(text, _ctx()).text
    assert "Author: Priya Raman <priya.raman@example.com>" in out
    assert "    Fixes: PLAT-2231" in out
    tight = diff.compress(text, _ctx(700)).text
    assert "    rpc: propagate caller deadlines through Invoke and bump grpc to v1.68.0" in tight
    assert "    Fixes: PLAT-2231" not in tight and "lines of the commit message" in tight


def test_format_patch_mail_headers_and_message_are_classified() -> None:
    mail = [
        "From 8c07985b796bfa0002f6f33dda1101aa94a6300c Mon Sep 17 00:00:00 2001",
        "From: Dev One <dev@example.com>",
        "Date: Tue, 24 Nov 2026 10:00:00 +0000",
        "Subject: [PATCH 2/3] net: retry the handshake once",
        " when the peer resets",
        "",
        "Why, in a paragraph.",
        "",
        "Signed-off-by: Dev One <dev@example.com>",
        "---",
        " src/net.py | 2 +-",
        " 1 file changed, 1 insertion(+), 1 deletion(-)",
        "",
        "diff --git a/src/net.py b/src/net.py",
        "index 1111111..2222222 100644",
        "--- a/src/net.py",
        "+++ b/src/net.py",
        "@@ -1 +1 @@",
        "-a",
        "+b",
        "-- ",
        "2.47.0",
    ]
    kinds, _ = _diff_parse.parse(mail)
    assert [kinds[i] for i in (0, 1, 2, 3, 4)] == [
        diff.COMMIT,
        diff.AUTHOR,
        diff.AUTHOR,
        diff.COMMIT,
        diff.COMMIT,
    ]
    assert kinds[6] == kinds[8] == diff.BODY
    assert kinds[9] == kinds[10] == diff.STAT and kinds[11] == diff.PREAMBLE
    assert kinds[20] == kinds[21] == diff.STAT


def test_bulk_data_paths() -> None:
    assert _diff_files.is_data_path("api/testdata/invoices.json", 12)
    assert _diff_files.is_data_path("ui/public/locales/de-DE.json", 30)
    assert _diff_files.is_data_path("ui/public/icons/sprite.svg", 16)
    assert _diff_files.is_data_path("reports/q3_export.csv", 2400)
    assert not _diff_files.is_data_path("package.json", 6)
    assert not _diff_files.is_data_path(".github/workflows/ci.yml", 20)
    assert not _diff_files.is_data_path("src/testdata_loader.py", 900)


def _combined_diff(files: int) -> str:
    out = []
    for k in range(files):
        out += [
            f"diff --cc src/m{k}.py",
            "index 1111111,2222222..3333333",
            f"--- a/src/m{k}.py",
            f"+++ b/src/m{k}.py",
        ]
        out.append("@@@ -1,40 -1,40 +1,60 @@@ def run(self):")
        out += [f"   x{k}_{j} = {j}" if j % 3 else f" + y{k}_{j} = {j}" for j in range(60)]
        if k == files // 2:
            out += [
                "++<<<<<<< HEAD",
                " +    weight = old_rule()",
                "++=======",
                "+     weight = new_rule()",
                "++>>>>>>> topic",
            ]
    return "\n".join(out) + "\n"


def test_combined_diff_is_detected_and_changes_in_any_parent_column_count() -> None:
    text = _combined_diff(30)
    assert detect(text) == "diff"
    kinds, files = _diff_parse.parse(text.split("\n"))
    assert len(files) == 30 and files[0].path == "src/m0.py"
    lines = text.split("\n")
    second_column = lines.index(" + y0_0 = 0")
    assert kinds[second_column] == _diff_parse.ADD  # a change against the second parent only
    out = diff.compress(text, _ctx()).text
    assert "++<<<<<<< HEAD" in out and "++>>>>>>> topic" in out  # a conflict left in a file always shows
    assert " +    weight = old_rule()" in out and "+     weight = new_rule()" in out  # both of its sides


def test_conflict_marker_is_not_a_heading_underline() -> None:
    assert _diff_parse.is_conflict_marker("=======")
    assert _diff_parse.is_conflict_marker("<<<<<<< HEAD")
    assert not _diff_parse.is_conflict_marker("===========")
    assert not _diff_parse.is_conflict_marker("<<<<<<<<<<")


def test_svn_index_header_opens_the_file_and_nonexistent_side_marks_deletion() -> None:
    lines = [
        "Index: src/A.java",
        "=" * 67,
        "--- src/A.java\t(revision 12)",
        "+++ src/A.java\t(working copy)",
        "@@ -1,2 +1,2 @@",
        "-int a;",
        "+int b;",
        " }",
        "Index: src/B.java",
        "=" * 67,
        "--- src/B.java\t(revision 12)",
        "+++ src/B.java\t(nonexistent)",
        "@@ -1,2 +0,0 @@",
        "-x",
        "-y",
        "",
        "Property changes on: src/A.java",
        "_" * 67,
        "Modified: svn:keywords",
        "## -1 +1 ##",
        "-Id",
        "+Id Revision",
    ]
    kinds, files = _diff_parse.parse(lines)
    assert [f.path for f in files] == ["src/A.java", "src/B.java"]
    assert kinds[0] == _diff_parse.KEY and kinds[1] == kinds[2] == kinds[3] == _diff_parse.MINOR
    assert files[1].deleted and not files[0].deleted
    assert kinds[17] == _diff_parse.MINOR and kinds[19] == _diff_parse.HUNK and kinds[20] == _diff_parse.DEL


def test_a_run_of_moved_files_collapses_and_the_changed_rename_stays() -> None:
    out = []
    for k in range(300):
        old, new = f"internal/p/f{k}.go", f"pkg/p/f{k}.go"
        out += [f"diff --git a/{old} b/{new}"]
        if k == 200:
            out += [
                "similarity index 70%",
                f"rename from {old}",
                f"rename to {new}",
                f"--- a/{old}",
                f"+++ b/{new}",
            ]
            out += [
                "@@ -1,3 +1,3 @@",
                " package p",
                "-func Read(off int) error {",
                "+func Read(off int, verify bool) error {",
                " }",
            ]
            continue
        out += ["similarity index 100%", f"rename from {old}", f"rename to {new}"]
    text = "\n".join(out) + "\n"
    _, files = _diff_parse.parse(text.split("\n"))
    assert files[0].moved and not files[200].moved
    res = diff.compress(text, _ctx()).text
    assert "rename to pkg/p/f200.go" in res and "+func Read(off int, verify bool) error {" in res
    assert "rename to pkg/p/f17.go" not in res
    assert "200 files under" in res  # one marker for the run before the real change


def test_git_log_without_patches_keeps_every_subject() -> None:
    out = []
    for k in range(150):
        out += [
            f"commit {k:040x}",
            "Author: A U Thor <a@example.com>",
            "Date:   Tue Nov 24 16:42:11 2026 +0000",
            "",
        ]
        out += [
            f"    area{k % 7}: change number {k} of the thing",
            "",
            "    A longer body that explains it.",
            "",
        ]
        out += [f" src/file{k}.rs | 12 ++++++------", " 1 file changed, 6 insertions(+), 6 deletions(-)", ""]
    text = "\n".join(out)
    assert detect(text) == "diff"
    res = diff.compress(text, _ctx())
    assert res.strategy == "diff:files"
    assert all(f"change number {k} of the thing" in res.text for k in range(150))
    assert "A longer body" not in res.text


def test_word_diff_lines_without_prefix_stay_in_their_hunk() -> None:
    lines = [
        "diff --git a/f.md b/f.md",
        "index 79ac78c..70b27eb 100644",
        "--- a/f.md",
        "+++ b/f.md",
        "@@ -1,6 +1,6 @@",
        "alpha",
        "  beta [-gamma-]{+GAMMA+}",
        "delta",
        "",
        "-- comment {+changed+}",
        "[-removed line-]",
        "{+added line+}",
    ]
    kinds, files = _diff_parse.parse(lines)
    assert [kinds[i] for i in (5, 6, 9, 10, 11)] == [
        _diff_parse.CONTEXT,
        _diff_parse.ADD,
        _diff_parse.ADD,
        _diff_parse.DEL,
        _diff_parse.ADD,
    ]
    assert files[0].hunks[0].changed == [6, 9, 10, 11]
    assert _diff_parse.PREAMBLE not in kinds[5:]  # no content line is mistaken for text outside the diff
    # An ordinary diff whose added line happens to hold such marks is read as before.
    plain = ["--- a/x", "+++ b/x", "@@ -1 +1 @@", "-a", "+re = r'{+x+}'"]
    assert _diff_parse.parse(plain)[0][3:] == bytearray([_diff_parse.DEL, _diff_parse.ADD])
