"""The infrastructure output engine: steps as sections, the failing step, what is destroyed, the summary.

Runs on the seeded fixtures of ``fixtures/generate_infra_wild.py`` and on small outputs built here for
one behaviour each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import headroom_middleware as hm
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.engines import Context, detect
from headroom_middleware.engines._detect import text_kind
from headroom_middleware.engines.text import infra
from headroom_middleware.engines.text._infra_sections import Section, head_style, sections_of
from headroom_middleware.engines.text._textlines import LineIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GENERATED = FIXTURES / "generated"
NEEDLES = {
    e["file"]: e["needles"] for e in json.loads((GENERATED / "needles_infra_wild.json").read_text("utf-8"))
}
CLAIMED = {
    "infra_wild_docker_build.txt": "infra:buildkit",
    "infra_wild_terraform_plan.txt": "infra:resource",
    "infra_wild_ansible.txt": "infra:banner",
    "infra_wild_gha_pip.txt": "infra:group",
}


def _ctx(max_tokens: int = 4000, query: str | None = None) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=estimate_tokens, query=query)


@pytest.mark.parametrize("name", sorted(CLAIMED))
def test_fixtures_are_read_as_sections_with_needles_visible(name: str) -> None:
    text = (GENERATED / name).read_text("utf-8")
    r = hm.crush(text, store=hm.MemoryStore())
    assert r.strategy == CLAIMED[name]
    assert r.tokens_after <= 4000
    for needle in NEEDLES[name]:
        assert needle in r.text, needle


def test_other_fixtures_are_not_claimed() -> None:
    """Only the infra fixtures (and the GitHub Actions pytest job, which the test engine claims first)
    look like sections; every other payload keeps the engine it had."""
    claimed = []
    for folder in (FIXTURES / "corpus", GENERATED):
        for path in sorted(folder.iterdir()):
            if path.suffix in (".md", ".py") or path.name.startswith("needles"):
                continue
            head = path.read_text("utf-8", errors="replace")[:4096]
            if infra.looks_like(head):
                claimed.append(path.name)
    assert set(claimed) == {*CLAIMED, "test_github_actions_pytest.txt"}
    gha = (GENERATED / "test_github_actions_pytest.txt").read_text("utf-8")
    assert detect(gha) == "test"


def test_ansible_starting_with_a_bracket_is_still_infra() -> None:
    """``[DEPRECATION WARNING]: …`` first looks like JSON; once that fails, the text kinds decide."""
    text = (GENERATED / "infra_wild_ansible.txt").read_text("utf-8")
    assert detect(text) == "json"
    assert text_kind(text) == "infra"


def test_buildkit_interleaved_steps_are_cut_by_step_id() -> None:
    lines = [
        "#5 [base 2/4] RUN apt-get install -y curl",
        "#6 [web 2/3] RUN npm ci",
        "#5 0.1 Get:1 http://deb.debian.org bookworm InRelease",
        "#6 0.2 npm WARN deprecated x@1",
        "#5 0.3 Setting up curl ...",
        "",
        "#6 ERROR: process did not complete successfully",
        "ERROR: failed to solve",
    ]
    sections, loose = sections_of(lines, "buildkit")
    assert [(s.header, s.members) for s in sections] == [(0, [2, 4]), (1, [3, 6])]
    assert loose == [[5], [7]]


def test_indented_header_section_ends_at_a_dedented_line_after_a_blank() -> None:
    lines = [
        "  # aws_s3_bucket.a will be destroyed",
        '  - resource "aws_s3_bucket" "a" {',
        '      - bucket = "a" -> null',
        "",
        "        # (2 unchanged blocks hidden)",
        "    }",
        "",
        "Plan: 0 to add, 0 to change, 1 to destroy.",
    ]
    sections, loose = sections_of(lines, "resource")
    assert sections[0].members == [1, 2, 3, 4, 5, 6]  # the blank line before a deeper line stays inside
    assert loose == [[7]]


def test_unindented_header_section_runs_to_the_next_header() -> None:
    lines = ["##[group]Run pip install", "pip install", "##[endgroup]", "Collecting x", "", "ERROR: y"]
    sections, loose = sections_of(lines, "group")
    assert sections[0].members == [1, 2, 3, 4, 5]
    assert loose == []


def test_head_style_needs_two_headers_unless_unmistakable() -> None:
    assert head_style("TASK [a] ******\nok: [h]\n") is None
    assert head_style("TASK [a] ******\nok: [h]\n\nTASK [b] ******\nok: [h]\n") == "banner"
    assert head_style("Step 1/9 : FROM python:3.11\n ---> 1a2b\n") == "step"
    assert head_style("a.b: Refreshing state... [id=1]\nc.d: Refreshing state... [id=2]\n" * 2) == "resource"
    assert head_style("plain text\nwith no headers\n") is None
    assert head_style("#12 [bug] Crash on start\n#13 fix typo\n") is None  # an issue list, one "step"


def test_error_words_in_attribute_names_and_zero_counts_are_no_error() -> None:
    index = LineIndex(
        "      ~ timeout = 30 -> 60\n"
        "web-1 : ok=3 changed=0 unreachable=0 failed=0 skipped=0\n"
        "db-2 : ok=3 changed=0 unreachable=0 failed=1 skipped=0\n"
        '      ~ status = "ok" -> "failed"\n'
    )
    assert infra.error_lines(index) == [2, 3]


def test_notable_lines_skip_zero_counts() -> None:
    index = LineIndex(
        "  # aws_db.x must be replaced\n"
        "web-1 : ok=3 unreachable=0 failed=0\n"
        "web-2 : ok=3 unreachable=1 failed=0\n"
        "#10 CANCELED\n"
        "0 upgraded, 3 newly installed, 0 to remove\n"
    )
    assert infra.notable_lines(index) == [0, 2, 3]


def test_failing_units_short_span_is_whole() -> None:
    lines = ["head", "a", "b", "c", "d", "e", "ERR one", "f", "error two", *(f"after {k}" for k in range(9))]
    block = list(range(len(lines)))
    units = infra.failing_units(block, {6, 8}, lines)
    start, stop = 6 - infra.CONTEXT_BEFORE, 8 + infra.CONTEXT_AFTER + 1
    assert stop < len(lines)
    assert units == [[0, *range(start, stop)]]  # the header, then the span with its context


def test_failing_units_long_span_keeps_ends_and_one_error_per_kind() -> None:
    lines = ["header"] + [f"error {k} in step" if k % 10 == 5 else f"line {k}" for k in range(200)]
    lines[150] = "fatal: something else broke"
    block = list(range(len(lines)))
    errors = {i for i, line in enumerate(lines) if "error" in line or "fatal" in line}
    units = infra.failing_units(block, errors, lines)
    first, last = min(errors), max(errors)
    assert units[0] == [0, *range(first - infra.CONTEXT_BEFORE, first + 1)]
    assert units[1][-1] == min(last + infra.CONTEXT_AFTER, len(lines) - 1)
    singles = [u[0] for u in units[2:]]
    assert 150 in singles
    assert len(singles) == 2  # "error N in step" once, "fatal: …" once


def _ansible(hosts: int, failing_task: int) -> str:
    out = []
    for t in range(12):
        out.append(f"TASK [role : step {t}] " + "*" * 50)
        for h in range(hosts):
            if t == failing_task and h == 3:
                out.append(f'fatal: [host-{h}]: FAILED! => {{"msg": "disk quota exceeded on /var"}}')
            else:
                out.append(f"ok: [host-{h}]")
        out.append("")
    out.append("PLAY RECAP " + "*" * 60)
    for h in range(hosts):
        failed = 1 if h == 3 else 0
        out.append(f"host-{h:<10} : ok=12 changed=0 unreachable=0 failed={failed} skipped=0")
    return "\n".join(out) + "\n"


def test_every_header_shown_failing_task_whole_recap_row_kept() -> None:
    text = _ansible(hosts=80, failing_task=7)
    r = infra.compress(text, _ctx(2000))
    assert r.strategy == "infra:banner"
    assert estimate_tokens(r.text) <= 2000
    for t in range(12):
        assert f"TASK [role : step {t}] ***" in r.text
    assert "*" * 10 not in r.text  # banner stars shortened
    assert 'fatal: [host-3]: FAILED! => {"msg": "disk quota exceeded on /var"}' in r.text
    assert f"host-{3:<10} : ok=12 changed=0 unreachable=0 failed=1 skipped=0" in r.text
    assert "PLAY RECAP ***" in r.text


def test_interleaved_step_header_carries_its_line_count() -> None:
    lines = ["#1 [a 1/2] RUN apt-get install", "#2 [b 1/2] RUN make"]
    for k in range(400):
        lines.append(f"#1 {k}.0 Unpacking package-{k} ...")
        lines.append(f"#2 {k}.1 cc -c file_{k}.c")
    lines += ["#2 ERROR: process did not complete successfully: exit code: 2", "#1 CANCELED"]
    r = infra.compress("\n".join(lines) + "\n", _ctx(1500))
    assert "#1 [a 1/2] RUN apt-get install (401 lines)" in r.text
    assert "#2 ERROR: process did not complete successfully: exit code: 2" in r.text
    assert "#1 CANCELED" in r.text


def test_destroyed_resource_header_shown_among_many_updates() -> None:
    out = ["Terraform will perform the following actions:", ""]
    for k in range(300):
        verb = "will be destroyed" if k == 211 else "will be updated in-place"
        out += [f"  # aws_thing.r{k} {verb}", f'  ~ resource "aws_thing" "r{k}" {{']
        out += [f'        attr_{a} = "value-{k}-{a}"' for a in range(8)]
        out += ["    }", ""]
    out.append("Plan: 0 to add, 299 to change, 1 to destroy.")
    r = infra.compress("\n".join(out) + "\n", _ctx(1200))
    assert r.strategy == "infra:resource"
    assert "# aws_thing.r211 will be destroyed" in r.text
    assert "Plan: 0 to add, 299 to change, 1 to destroy." in r.text
    assert estimate_tokens(r.text) <= 1200


def test_ci_step_running_a_test_suite_goes_to_the_test_engine() -> None:
    """A failing step whose output is a test run is better read by the test engine: it shows the failure."""
    out = [f"##[group]Run setup-{k}\nsetting up {k}\n##[endgroup]" for k in range(100)]
    out.append("##[group]Run pytest -v\npytest -v\n##[endgroup]")
    out += [
        "============================= test session starts ==============================",
        "collected 900 items",
    ]
    out += [f"tests/test_a.py::test_{k} PASSED [ {k // 9:2d}%]" for k in range(899)]
    out += [
        "tests/test_a.py::test_refund FAILED",
        "=================================== FAILURES ===================",
    ]
    out += ["    def test_refund():", ">       assert refund(3) == 4", "E       assert 5 == 4", ""]
    out += [
        "tests/test_a.py:12: AssertionError",
        "==== 1 failed, 899 passed in 3.2s ====",
        "##[error]Process completed",
    ]
    text = "\n".join(out) + "\n"
    assert detect(text) == "infra"
    r = infra.compress(text, _ctx())
    assert r.strategy == "test:failures"
    assert "E       assert 5 == 4" in r.text


def test_query_lines_are_kept() -> None:
    text = _ansible(hosts=80, failing_task=7)
    r = infra.compress(text, _ctx(1500, query="host-57"))
    assert "host-57" in r.text


def test_within_budget_or_lossless_passes_through() -> None:
    text = _ansible(hosts=3, failing_task=1)
    assert infra.compress(text, _ctx(100_000)).text == text
    lossless = Context(max_tokens=50, count_tokens=estimate_tokens, lossy=False)
    assert infra.compress(_ansible(hosts=80, failing_task=1), lossless).strategy == "passthrough"


def test_without_headers_falls_back_to_the_generic_engine() -> None:
    text = "\n".join(f"line {k} of something" for k in range(3000)) + "\n"
    assert infra.compress(text, _ctx(500)).strategy == "text:lines"


def test_sections_with_a_strong_error_mark_come_first() -> None:
    lines = [
        "##[group]Run pip install",
        "Collecting pytest-timeout==2.3",  # an error word in a package name
        "##[group]Run make",
        "make: *** [all] Error 2",
        "##[group]Run deploy",
        "deploy timed out, retrying",
    ]
    errors = set(infra.error_lines(LineIndex("\n".join(lines))))
    assert errors == {1, 3, 5}
    sections = [Section(0, [1]), Section(2, [3]), Section(4, [5])]
    assert [s.header for s in infra.by_strength(sections, errors, lines)] == [2, 0, 4]


def test_many_summary_lines_keep_first_and_last_of_each_kind() -> None:
    lines = [f"Error: quota exceeded for bucket-{k}" for k in range(50)] + ["Plan: 1 to add, 0 to change"]
    picked = infra.summary_lines(list(range(len(lines))), lines)
    assert sorted(picked) == [0, 49, 50]
    few = list(range(5))
    assert infra.summary_lines(few, lines) == few


def test_plan_opening_with_refresh_lines_is_not_a_search_result() -> None:
    """``aws_x.r1: Refreshing state...`` reads as ``path:text``; the plan and its apply error must win."""
    out = [f"aws_x.r{k}: Refreshing state... [id=r-{k:06x}]" for k in range(300)]
    out += ["", "Terraform will perform the following actions:", ""]
    for k in range(80):
        out += [f"  # aws_x.r{k} will be updated in-place", f'  ~ resource "aws_x" "r{k}" {{', "    }", ""]
    out += ["Plan: 0 to add, 80 to change, 0 to destroy.", ""]
    out += [f"aws_x.r{k}: Modifying... [id=r-{k:06x}]" for k in range(80)]
    out += [
        "╷",
        "│ Error: updating aws_x (r-4f): ThrottlingException: Rate exceeded",
        "│ ",
        "│   with aws_x.r79,",
    ]
    out += ['│   on main.tf line 12, in resource "aws_x" "r79":', "╵"]
    text = "\n".join(out) + "\n"
    assert detect(text) == "infra"
    r = hm.crush(text, store=hm.MemoryStore(), max_tokens=1500)
    assert r.strategy == "infra:resource"
    for needle in ("Rate exceeded", "with aws_x.r79,", 'on main.tf line 12, in resource "aws_x" "r79":'):
        assert needle in r.text


def test_legacy_builder_step_with_long_output_is_one_section() -> None:
    lines = ["Sending build context to Docker daemon  48.1MB"]
    for k in range(1, 8):
        lines += [f"Step {k}/9 : RUN make step{k}", f" ---> Running in {k:012x}"]
        lines += [f"compiling module_{k}_{j}.c ... done" for j in range(300 if k < 7 else 5)]
        if k < 7:
            lines += [f" ---> {k:012x}", f"Removing intermediate container {k:012x}"]
    lines += [
        "make: *** [Makefile:42: libfoo.so] Error 2",
        "The command '/bin/sh -c make step7' returned a non-zero code: 2",
    ]
    r = hm.crush("\n".join(lines) + "\n", store=hm.MemoryStore(), max_tokens=1000)
    assert r.strategy == "infra:step"
    for k in range(1, 8):
        assert f"Step {k}/9 : RUN make step{k}" in r.text
    assert "make: *** [Makefile:42: libfoo.so] Error 2" in r.text
