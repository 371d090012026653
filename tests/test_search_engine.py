"""The search-results engine: grep -rn / ripgrep output grouped by file, every kept line exact."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom_middleware import _markers, estimate_tokens, make_key
from headroom_middleware.engines import Context, detect
from headroom_middleware.engines.text import _search_json, _search_listings, _search_terms, search

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "fixtures" / "generated"
FIXTURES = ("grep_rn_timeout.txt", "rg_context_retry.txt")


def _read(name: str) -> str:
    return (GENERATED / name).read_bytes().decode("utf-8", "surrogateescape")


def _needles(name: str) -> list[str]:
    entries = json.loads((GENERATED / "needles_search_diff_table.json").read_text("utf-8"))
    return next(e["needles"] for e in entries if e["file"] == name)


def _ctx(max_tokens: int = 4000, query: str | None = None, counter: Any = estimate_tokens) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=counter, query=query)


def _body(out: str) -> list[str]:
    """Output lines that are not markers."""
    return [line for line in out.split("\n") if not line.startswith(("[… ", _markers.MARKER_PREFIX))]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_is_detected_and_needles_visible(name: str) -> None:
    text = _read(name)
    assert detect(text) == "search"
    out = search.compress(text, _ctx())
    assert out.strategy == "search:files"
    missing = [n for n in _needles(name) if n not in out.text]
    assert not missing
    assert estimate_tokens(out.text) <= 4000 < estimate_tokens(text)


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("budget", [120, 400, 1500, 4000])
def test_budget_is_a_hard_cap_with_the_real_tokenizer(name: str, budget: int, o200k: Any) -> None:
    def count(s: str) -> int:
        return len(o200k.encode(s, disallowed_special=()))

    out = search.compress(_read(name), _ctx(budget, counter=count))
    assert count(out.text) <= budget
    assert _markers.carries_marker(out.text)


@pytest.mark.parametrize("name", FIXTURES)
def test_original_is_stored_byte_exact_under_the_named_key(name: str) -> None:
    text = _read(name)
    out = search.compress(text, _ctx())
    ((key, payload),) = out.originals
    assert payload == (GENERATED / name).read_bytes()
    assert key == make_key(payload)
    assert _markers.marker_keys(out.text) == [key]


@pytest.mark.parametrize("name", FIXTURES)
def test_kept_lines_are_whole_original_lines(name: str) -> None:
    text = _read(name)
    originals = set(text.split("\n"))
    body = _body(search.compress(text, _ctx(2500)).text)
    assert body
    assert all(line in originals for line in body)


def test_context_lines_go_before_matches() -> None:
    text = _read("rg_context_retry.txt")
    body = _body(search.compress(text, _ctx()).text)
    assert body
    assert all(search._MATCH_RE.match(line) for line in body)  # no "path-12-" context, no "--"


def test_files_with_many_matches_are_summarised_with_a_count() -> None:
    lines = []
    for f in range(10):
        for m in range(300 if f == 3 else 3):
            lines.append(f"src/area/module_{f}.py:{m + 1}:    deadline = compute_deadline(ctx, {m})")
    out = search.compress("\n".join(lines), _ctx()).text
    shown = [line for line in out.split("\n") if line.startswith("src/area/module_3.py:")]
    assert 1 <= len(shown) <= 20
    assert _markers.gap(300 - len(shown), "matches in src/area/module_3.py") in out
    assert all(f"src/area/module_{f}.py:1:" in out for f in range(10))  # every other file sampled


def test_every_match_is_kept_when_matches_alone_fit() -> None:
    lines = []
    for f in range(5):
        for m in range(8):
            lines += [f"src/mod_{f}.py-{20 * m + k}-    context line before match {m}" for k in range(1, 6)]
            lines.append(f"src/mod_{f}.py:{20 * m + 6}:    value = compute_timeout({m}, retries={f})")
            lines += [f"src/mod_{f}.py-{20 * m + k}-    context line after match {m}" for k in range(7, 12)]
            lines.append("--")
    text = "\n".join(lines)
    matches = [line for line in lines if ":" in line.split(" ", 1)[0]]
    budget = estimate_tokens(text) - 1  # just over: the engine must act
    assert estimate_tokens("\n".join(matches)) < budget // search.TARGET_SHARE
    out = search.compress(text, _ctx(budget)).text
    assert all(m in out for m in matches)
    assert "context line before" not in out


def test_query_match_survives_a_tight_budget() -> None:
    text = _read("grep_rn_timeout.txt")
    lines = text.split("\n")
    without = search.compress(text, _ctx(1500)).text
    # A line hidden without a query, holding a word found on few lines: ask about that word.
    for line in lines:
        words = [w for w in re.findall(r"[a-z]+_[a-z]+", line) if text.count(w) <= 5]
        if line.startswith("tests/") and line not in without and words:
            break
    else:
        raise AssertionError("no candidate line")
    assert line in search.compress(text, _ctx(1500, query=f"what sets {words[0]}?")).text


def test_heading_mode_keeps_paths_and_numbered_matches() -> None:
    blocks = []
    for f in range(30):
        block = [f"lib/pkg_{f}/handler.go"]
        for m in range(20):
            block.append(f"{m * 7 + 3}-\tctx := context.Background() // context {m}")
            block.append(f"{m * 7 + 4}:\treturn retry.Do(ctx, op, {m})")
        blocks.append("\n".join(block))
    text = "\n\n".join(blocks) + "\n"
    assert search.looks_like(text[:4096])
    out = search.compress(text, _ctx()).text
    assert "lib/pkg_0/handler.go" in out
    assert "4:\treturn retry.Do(ctx, op, 0)" in out
    assert "context.Background()" not in out
    assert estimate_tokens(out) <= 4000 // search.TARGET_SHARE


def test_passthrough_under_budget_and_when_not_lossy() -> None:
    small = "src/a.py:1:import os\nsrc/a.py:7:os.environ['X']\nsrc/b.py:3:import os\n"
    out = search.compress(small, _ctx())
    assert (out.text, out.strategy, out.originals) == (small, "passthrough", ())
    big = _read("grep_rn_timeout.txt")
    out = search.compress(big, Context(max_tokens=100, count_tokens=estimate_tokens, lossy=False))
    assert (out.text, out.originals) == (big, ())


def test_deterministic_across_processes() -> None:
    text = _read("rg_context_retry.txt")
    here = search.compress(text, _ctx(900, query="retries disabled")).text
    code = (
        "import sys\n"
        "from headroom_middleware import estimate_tokens\n"
        "from headroom_middleware.engines import Context\n"
        "from headroom_middleware.engines.text import search\n"
        f"text = open({str(GENERATED / 'rg_context_retry.txt')!r}, encoding='utf-8').read()\n"
        "ctx = Context(max_tokens=900, count_tokens=estimate_tokens, query='retries disabled')\n"
        "sys.stdout.write(search.compress(text, ctx).text)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert there.stdout == here
    assert search.compress(text, _ctx(900, query="retries disabled")).text == here


@pytest.mark.parametrize(
    "head",
    [
        "src/app.py:12:import os\nsrc/app.py:40:    os.getenv('X')\nlib/util.py:3:from os import path\n",
        "a/b-c.py-11-before\na/b-c.py:12:hit\na/b-c.py-13-after\n--\na/d.py-4-x\na/d.py:5:hit two\n",
        "src/main.rs\n12:fn main() {\n40:    let x = 1;\n\nsrc/lib.rs\n3:pub mod a;\n",
    ],
)
def test_looks_like_search_output(head: str) -> None:
    assert search.looks_like(head)


@pytest.mark.parametrize(
    "head",
    [
        '{"matches": [{"path": "a.py", "line": 1}]}',
        '[{"path": "a.py:12:x"}]',
        "2026-03-04T10:00:00Z INFO server: started\n2026-03-04T10:00:01Z WARN db: slow query 1200ms\n"
        "2026-03-04T10:00:02Z ERROR api: upstream timeout\n",
        "Nov 25 09:00:01 host sshd[123]: Accepted key\nNov 25 09:00:02 host cron[9]: job\n"
        "Nov 25 09:00:03 host kernel: oom\n",
        "src/a.c:12:5: warning: unused variable 'x' [-Wunused-variable]\n"
        "src/a.c:40:1: error: expected ';' before '}' token\nsrc/b.c:7:3: note: declared here\n",
        "tests/test_a.py::test_one PASSED\ntests/test_a.py::test_two FAILED\n== 1 failed, 1 passed ==\n",
        "order_id,created_at,status\nORD-1,2026-10-01T19:33:00Z,ok\nORD-2,2026-10-01T19:34:00Z,ok\n",
        "Just some prose.\nIt has no structure at all.\nNothing to see here.\n",
    ],
)
def test_looks_like_rejects_other_kinds(head: str) -> None:
    assert not search.looks_like(head)


def test_corpus_payloads_are_not_search() -> None:
    for path in sorted((ROOT / "fixtures" / "corpus").glob("*")):
        if path.suffix in (".md",) or path.name.startswith("needles"):
            continue
        head = path.read_bytes().decode("utf-8", "surrogateescape")[:4096]
        assert not search.looks_like(head), path.name


def test_grep_without_line_numbers() -> None:
    lines = [f"src/pkg{f}/mod_{f}.py:    timeout = {m}  # call {m}" for f in range(40) for m in range(30)]
    text = "\n".join(lines) + "\n"
    assert detect(text) == "search"
    out = search.compress(text, _ctx()).text
    assert estimate_tokens(out) <= 4000 // search.TARGET_SHARE
    assert "src/pkg0/mod_0.py:    timeout = 0  # call 0" in out
    assert _markers.gap(29, "matches in src/pkg0/mod_0.py") in out


def test_tight_budget_names_files_with_counts_before_dropping_them() -> None:
    lines = [
        f"lib/area_{f}/file_{f}.go:{m + 1}:\treturn retry(ctx, {m})" for f in range(50) for m in range(20)
    ]
    out = search.compress("\n".join(lines), _ctx(4000)).text
    assert estimate_tokens(out) <= 4000 // search.TARGET_SHARE
    named = [f for f in range(50) if f"matches in lib/area_{f}/file_{f}.go omitted" in out]
    assert len(named) >= 25  # most files are still named, each with its own count
    assert named == list(range(len(named)))  # in order, the rest counted together at the end


_SEARCH_LINES = st.one_of(
    st.builds(
        lambda f, n, t: f"src/m{f}.py:{n}:{t}", st.integers(0, 5), st.integers(1, 999), st.text(max_size=40)
    ),
    st.builds(
        lambda f, n, t: f"src/m{f}.py-{n}-{t}", st.integers(0, 5), st.integers(1, 999), st.text(max_size=40)
    ),
    st.just("--"),
    st.just(""),
    st.text(max_size=60),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_SEARCH_LINES, min_size=1, max_size=120),
    st.integers(120, 1500),
    st.none() | st.text(max_size=20),
)
def test_any_input_keeps_the_contract(lines: list[str], budget: int, query: str | None) -> None:
    text = "\n".join(lines)
    out = search.compress(text, _ctx(budget, query=query))
    assert estimate_tokens(out.text) <= budget or out.strategy == "passthrough"
    assert out == search.compress(text, _ctx(budget, query=query))
    if out.strategy == "passthrough":
        assert out.text == text
    else:
        ((key, payload),) = out.originals
        assert payload == text.encode("utf-8", "surrogatepass") and key == make_key(payload)
    if out.strategy == "search:files":  # (input that is not search output goes to the generic engine)
        originals = set(text.split("\n"))
        assert all(line in originals for line in _body(out.text))


def test_grep_n_over_one_file() -> None:
    lines = [f"{i}:    log.error('failed to connect: %s', err)  # site {i * 7}" for i in range(1, 400)]
    text = "\n".join(lines)
    assert detect(text) == "search"
    out = search.compress(text, _ctx()).text
    assert lines[0] in out
    assert estimate_tokens(out) <= 4000 // search.TARGET_SHARE
    kept = len(_body(out))
    assert _markers.gap(399 - kept, "matches") in out


# ------------------------------------------------------------------------------- wild shapes
WILD = (
    "search_wild_rg_heading.txt",
    "search_wild_git_grep.txt",
    "search_wild_grep_binary_ctx.txt",
    "search_wild_rg_count.txt",
    "search_wild_fd_paths.txt",
)


@pytest.mark.parametrize("name", WILD)
def test_wild_fixture_is_search_and_keeps_its_needles_in_view(name: str) -> None:
    text = _read(name)
    entries = json.loads((GENERATED / "needles_search_wild.json").read_text("utf-8"))
    needles = next(e["needles"] for e in entries if e["file"] == name)
    assert detect(text) == "search"
    out = search.compress(text, _ctx())
    assert out.strategy == "search:files"
    assert [n for n in needles if n not in out.text] == []
    assert estimate_tokens(out.text) <= 4000 // search.TARGET_SHARE


_ROW = "        q = q.filter(Row.tenant_id == tenant_id)"


def _monorepo_grep(extra: list[str]) -> str:
    """``git grep -n tenant_id``: 400 files under ``services/``, one or two matches each, plus ``extra``."""
    lines = [
        f"services/svc_{f % 9}/mod_{f}.py:{m * 11}:{_ROW}" for f in range(400) for m in range(1, 2 + f % 2)
    ]
    return "\n".join([*lines[:300], *extra, *lines[300:]]) + "\n"


def test_definition_of_the_searched_name_stays_in_view() -> None:
    definition = "services/svc_1/tenancy.py:31:def resolve_tenant_id(request, *, allow_header=False) -> str:"
    use = "services/svc_1/tenancy.py:40:    tenant_id = claims.get('tenant_id')"
    tests_def = "services/svc_1/test_tenancy.py:9:def test_resolve_tenant_id_from_header(client):"
    text = _monorepo_grep([tests_def, definition, use])
    out = search.compress(text, _ctx()).text
    assert definition in out
    assert "1 definitions of the searched name" in out  # a test of the definition is not the definition


def test_searched_term_is_inferred_across_naming_styles() -> None:
    texts = [
        "retry_after = 3",
        "h['Retry-After']",
        "parseRetryAfter(x)",
        "RETRY_AFTER_S = 1",
        "retryAfterMs: 5",
    ]
    assert _search_terms.searched_term(texts * 3) == "retryafter"
    assert _search_terms.searched_term(["alpha one", "beta two", "gamma three", "delta", "omega"]) is None
    found = _search_terms.defined_names(
        [
            "x = 1",
            "export function parseRetryAfter(h) {",
            "func (c *Client) RetryAfter() int {",
            "def test_retry_after():",
            "    retry_after = 2",
        ],
        "retryafter",
    )
    assert found == [(1, "parseretryafter"), (2, "retryafter")]


def test_lone_hit_in_a_rare_folder_comes_before_common_ones() -> None:
    odd = f"scripts/oneoff/fix_orphans.py:57:{_ROW}"
    text = _monorepo_grep([odd])
    out = search.compress(text, _ctx()).text
    assert odd in out
    # The same line among files of a common folder is not singled out by its folder.
    common = odd.replace("scripts/oneoff/", "services/svc_3/")
    assert common not in search.compress(_monorepo_grep([common]), _ctx()).text


def test_unreadable_lines_give_way_to_readable_ones() -> None:
    lines = []
    for f in range(60):  # one match per file: every file is a lone hit
        if f % 2:
            blob = "".join(f"\\x{(f * k) % 256:02x}" for k in range(70))  # a generated descriptor, 280 chars
            lines.append(f"gen/pb/m{f}_pb2.py:11:DESCRIPTOR = AddSerializedFile(b'tenant_id{blob}')")
        else:
            lines.append(f"Binary file build/obj{f}.o matches")
        lines.append(f"src/area_{f}/mod.py:{f + 3}:    tenant_id = request.tenant_id  # {f}")
    text = "\n".join(lines)
    out = search.compress(text, _ctx(2000)).text
    body = _body(out)
    assert body and all(line.startswith("src/") for line in body)


def test_binary_file_lines_are_hits_of_their_file() -> None:
    lines = ["Binary file ./node_modules/x/prebuilds/a.node matches", "grep: ./core.1: binary file matches"]
    lines += [
        f"./lib/m{f}.js:{m}:  if (e.code === 'ECONNRESET') retry({m});" for f in range(3) for m in range(4)
    ]
    kinds, _, paths = search._classify(lines, False, False)
    assert list(kinds[:2]) == [search.MATCH, search.MATCH]
    assert paths[:2] == ["./node_modules/x/prebuilds/a.node", "./core.1"]
    assert search.looks_like("\n".join(lines[:2] * 5 + lines[2:4]))


def test_count_output_shows_the_largest_counts_first() -> None:
    lines = [f"src/pkg_{f % 13}/mod_{f}.py:{1 + f % 5}" for f in range(1500)]
    lines[700] = "src/legacy/reconcile.py:187"
    lines[900] = "src/gen/ledger_pb2.pyi:2"
    lines += [f"docs/empty_{f}.md:0" for f in range(40)]
    text = "\n".join(lines) + "\n"
    assert detect(text) == "search"
    out = search.compress(text, _ctx()).text
    body = _body(out)
    assert body[0] == "src/legacy/reconcile.py:187"
    assert "src/gen/ledger_pb2.pyi:2" in body  # the one file of its kind
    assert all(line.endswith(":5") for line in body[2:])  # then the next largest
    assert "40 more files with none" in out
    assert estimate_tokens(out) <= 4000 // search.TARGET_SHARE


def test_path_listing_keeps_odd_extensions_and_counts_folders() -> None:
    lines = [f"./src/app/{('api', 'core', 'jobs')[f % 3]}/sub_{f % 40}/mod_{f}.py" for f in range(3000)]
    lines[1234] = "./src/app/core/sub_4/rates.json"
    text = "\n".join(lines) + "\n"
    assert detect(text) == "search"
    out = search.compress(text, _ctx()).text
    assert "./src/app/core/sub_4/rates.json" in out
    assert "by folder: src/app/api/ 1,000" in out
    assert ".py 2,999, .json 1" in out
    assert estimate_tokens(out) <= 4000 // search.TARGET_SHARE


def test_base64_lines_are_not_a_path_listing() -> None:
    import base64
    import random

    rng = random.Random(5)
    blob = base64.b64encode(bytes(rng.randrange(256) for _ in range(3000))).decode()
    lines = [blob[i : i + 64] for i in range(0, len(blob), 64)]
    assert not _search_listings.paths_mode(lines)


# ------------------------------------------------------------------------------- wild shapes, round 2
WILD2 = (
    "search_wild2_rg_column_heading.txt",
    "search_wild2_git_grep_p.txt",
    "search_wild2_grep_c_zeros.txt",
    "search_wild2_ack_grouped.txt",
    "search_wild2_rg_json.txt",
)


@pytest.mark.parametrize("name", WILD2)
def test_wild2_fixture_is_search_and_keeps_its_needles_in_view(name: str) -> None:
    text = _read(name)
    entries = json.loads((GENERATED / "needles_search_wild2.json").read_text("utf-8"))
    needles = next(e["needles"] for e in entries if e["file"] == name)
    assert detect(text) in ("search", "search_json")
    out = search.compress(text, _ctx())
    assert out.strategy == "search:files"
    assert [n for n in needles if n not in out.text] == []
    assert estimate_tokens(out.text) <= 4000 // search.TARGET_SHARE


def _column_heading(definition: str) -> str:
    """``rg -n --column --heading tenant_id``: line and column numbers like ``12:34:`` (a time of day to
    a careless eye), 300 files of one or two matches, and ``definition`` in a file of its own."""
    out: list[str] = []
    for f in range(300):
        if f == 150:
            out += ["libs/tenancy.py", f"31:5:{definition}", ""]
        out.append(f"services/svc_{f % 9}/mod_{f}.py")
        out += [f"{10 + m}:{20 + f % 30}:{_ROW}" for m in range(1 + f % 2)]
        out.append("")
    return "\n".join(out) + "\n"


def test_column_heading_is_search_and_keeps_the_definition() -> None:
    definition = "def resolve_tenant_id(request, *, allow_header=False) -> str:"
    text = _column_heading(definition)
    assert detect(text) == "search"
    out = search.compress(text, _ctx()).text
    assert f"31:5:{definition}" in out  # the column before the text does not hide the ``def``
    assert "1 definitions of the searched name" in out


def test_time_of_day_lines_are_not_numbered_matches() -> None:
    lines = [
        f"{h:02d}:{m:02d}:{s:02d} worker[12]: job {h * m} done" for h, m, s in [(9, 1, 5), (9, 2, 7)] * 10
    ]
    assert not search._heading_mode(lines)
    minutes = [f"10:{m:02d}: job {m} done" for m in range(10, 40)]  # ``HH:MM: text``, no path line
    assert not search._heading_mode(minutes)
    one_file = [f"{n * 7}:{n % 40 + 1}:    total += row.amount_{n}" for n in range(1, 40)]
    assert search._heading_mode(one_file)  # ``rg -n --column`` over one file


def test_function_context_lines_are_context() -> None:
    """``git grep -p``: ``path=12=func …`` names the enclosing function; it is context, dropped first, not
    an unparsed line kept in view."""
    lines = []
    for f in range(200):
        lines.append(
            f"internal/pkg_{f % 7}/file_{f}.go={f + 3}=func (s *Store) Renew{f}(ctx context.Context) error {{"
        )
        lines += [
            f"internal/pkg_{f % 7}/file_{f}.go:{f + 5 + m}:\tdeadline := now.Add(s.cfg.LeaseTimeout)"
            for m in range(3)
        ]
    text = "\n".join(lines) + "\n"
    assert detect(text) == "search"
    kinds, _, paths = search._classify(search.split_lines(text), False, False)
    assert search.OTHER not in kinds and kinds.count(search.CONTEXT) == 200 and len(paths) == 200
    out = search.compress(text, _ctx()).text
    assert "context lines dropped" in out and "=func" not in out


def test_a_match_unlike_a_dozen_templates_stands_out() -> None:
    """A polyglot repo: ten match shapes, each on a few percent of the matches, none a majority; the one
    match shaped like none of them is kept."""
    templates = [
        "\tctx, cancel := context.WithTimeout(ctx, s.cfg.LeaseTimeout)",
        "\tif time.Since(l.AcquiredAt) > s.cfg.LeaseTimeout {",
        "\tdeadline := now.Add(s.cfg.LeaseTimeout)",
        "        timeout = self.config.lease_timeout",
        "    lease_timeout: float = 30.0",
        "        if monotonic() - lease.acquired_at > self.lease_timeout:",
        "        log.warning('lease_timeout hit for %s', job_id)",
        "    lease_timeout: 30s",
        '\t\treturn fmt.Errorf("job: lease_timeout %s exceeded", s.cfg.LeaseTimeout)',
        "    self.lease_timeout = kwargs.pop('lease_timeout', 30)",
    ]
    lines = [f"src/m{f}/f{f}.x:{k + 1}:{templates[(f + k) % 10]}" for f in range(300) for k in range(3)]
    odd = "src/odd/policy.go:46:\t\treturn 0 // lease_timeout disabled for batch"
    text = "\n".join([*lines[:500], odd, *lines[500:]]) + "\n"
    out = search.compress(text, _ctx()).text
    assert odd in out and "1 matches unlike the rest" in out


def _rg_json(matches: list[tuple[str, int, str]]) -> str:
    out: list[str] = []
    for path, line_no, text in matches:
        data = {"path": {"text": path}, "lines": {"text": text + "\n"}, "line_number": line_no}
        out.append(json.dumps({"type": "begin", "data": {"path": {"text": path}}}))
        out.append(json.dumps({"type": "match", "data": {**data, "absolute_offset": 9, "submatches": []}}))
        out.append(json.dumps({"type": "end", "data": {"path": {"text": path}, "stats": {"matches": 1}}}))
    summary = {"elapsed_total": {"human": "0.01s"}, "stats": {"matches": len(matches), "searches": 900}}
    out.append(json.dumps({"data": summary, "type": "summary"}))
    return "\n".join(out) + "\n"


def test_rg_json_is_read_as_grep_lines_and_stored_as_events() -> None:
    matches = [(f"src/m{f}/f{f}.py", f + 1, f"    n = max_retries + {f}") for f in range(400)]
    odd = "    max_retries = 0  # never retry charges"
    matches.insert(200, ("src/pay/capture.py", 48, odd))
    text = _rg_json(matches)
    assert detect(text) == "search_json"
    grep = _search_json.rg_json_to_grep(text)
    assert grep.split("\n")[0] == "src/m0/f0.py:1:    n = max_retries + 0"
    assert "rg summary: 401 matches in ? of 900 files searched (0.01s)" in grep
    out = search.compress(text, _ctx())
    assert out.strategy == "search:files"
    assert f"src/pay/capture.py:48:{odd}" in out.text and '"type"' not in out.text
    (key, payload), *_ = out.originals
    assert payload == text.encode("utf-8") and key in out.text


@pytest.mark.parametrize(
    "head",
    [
        '{"type":"begin","data":{"path":{"text":"a.py"}}}\n{"type":"end","data":{"path":{"text":"a.py"}}}',
        '{"Time":"2026-01-01T00:00:00Z","Action":"run","Test":"TestX"}\n{"Time":"x","Action":"pass"}',
        '{"type":"begin","data":{}}\n{"level":"info","msg":"x"}',
    ],
)
def test_looks_like_rg_json_only_for_rg_events(head: str) -> None:
    assert _search_json.looks_like_rg_json(head) is head.startswith('{"type":"begin","data":{"path"')
