"""The test/build-output engine and the ``go test -json`` engine.

Runs on the real Jenkins console and ``go test -json`` stream of ``fixtures/corpus`` and the seeded
pytest/cargo/jest/make fixtures, plus small outputs built here for one behaviour each.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

import headroom_middleware as hm
from headroom_middleware._markers import marker_keys
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.ccr import make_key
from headroom_middleware.engines import Context, detect
from headroom_middleware.engines.text import gotest, tests
from headroom_middleware.engines.text._test_units import PASSED_RE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
JENKINS = FIXTURES / "corpus" / "jenkins_console_build_benchmark.txt"
GO_JSON = FIXTURES / "corpus" / "go_test_json.jsonl"
TEST_FIXTURES = sorted((FIXTURES / "generated").glob("test_*.txt"))


def _needles(name: str) -> list[str]:
    found: list[str] = []
    for file in [FIXTURES / "corpus" / "needles.json", *(FIXTURES / "generated").glob("needles*.json")]:
        for entry in json.loads(file.read_text("utf-8")):
            if entry["file"] == name:
                found += entry["needles"]
    return found


def _ctx(max_tokens: int = 4000, query: str | None = None) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=estimate_tokens, query=query)


# --- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        "============================= test session starts ==============================\n"
        "platform linux -- Python 3.11.7, pytest-8.3.3\ncollected 12 items\n",
        "PASS src/a.test.ts\nFAIL src/b.test.ts\n  ● b › works\n",
        "   Compiling serde v1.0.214\nrunning 3 tests\ntest a::b ... ok\n",
        "=== RUN   TestA\n--- PASS: TestA (0.00s)\nok  \texample.com/a\t0.01s\n",
        "src/a.c:1:2: warning: unused variable ‘x’ [-Wunused-variable]\nsrc/b.c:3:4: error: expected ‘;’\n",
        "Started by user alice\nBuilding remotely on agent-7 in workspace /w\n",
    ],
)
def test_looks_like_runners_and_builds(head: str) -> None:
    assert tests.looks_like(head)


@pytest.mark.parametrize(
    "head",
    [
        "2026-11-25T10:00:00Z INFO started\n2026-11-25T10:00:01Z INFO ready\n",
        "Lorem ipsum dolor sit amet.\nConsectetur adipiscing elit.\n",
    ],
)
def test_looks_like_rejects_other_text(head: str) -> None:
    assert not tests.looks_like(head)


def test_fixtures_are_routed_to_these_engines() -> None:
    assert detect(JENKINS.read_text("utf-8")) == "test"
    assert detect(GO_JSON.read_text("utf-8")) == "gotest"
    for path in TEST_FIXTURES:
        assert detect(path.read_text("utf-8")) == "test", path.name


# --- the Jenkins console: benchmark table after thousands of compiler warnings ----------------------


def test_jenkins_needles_significant_rows_and_result() -> None:
    r = tests.compress(JENKINS.read_text("utf-8"), _ctx())
    assert estimate_tokens(r.text) <= 4000
    assert [n for n in _needles(JENKINS.name) if n not in r.text] == []
    shown = r.text.split("\n")
    starred = [ln for ln in shown if "buffer-creation.js" in ln and ("*" in ln.split("'")[-1])]
    assert len(starred) == 2  # the two rows marked significant, and no other table row with stars
    assert any("confidence improvement accuracy" in ln for ln in shown)  # the table header
    assert "warning:" in r.text and "similar)" in r.text  # warnings collapsed with counts


@pytest.mark.parametrize("budget", [250, 600, 1500])
def test_jenkins_small_budgets_are_hard_caps(budget: int) -> None:
    r = tests.compress(JENKINS.read_text("utf-8"), _ctx(budget))
    assert estimate_tokens(r.text) <= budget
    assert len(marker_keys(r.text)) == 1
    assert "Finished: SUCCESS" in r.text  # the final result comes first, whatever the budget


# --- generated runs -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEST_FIXTURES, ids=lambda p: p.name)
def test_generated_runs_keep_failures_and_summaries(path: Path) -> None:
    text = path.read_text("utf-8")
    r = tests.compress(text, _ctx())
    assert r.strategy == "test:failures"
    assert estimate_tokens(r.text) <= 4000
    assert [n for n in _needles(path.name) if n not in r.text] == []
    ((key, payload),) = r.originals
    assert payload == text.encode("utf-8") and key == make_key(payload)


def _pytest_run(failures: int, passed: int = 2000) -> str:
    out = ["============================= test session starts ==============================", "collected"]
    out += [f"tests/test_api.py::test_case_{i} PASSED" for i in range(passed)]
    out += [f"tests/test_cache.py::test_evict_{i} FAILED" for i in range(failures)]
    out.append("=================================== FAILURES ===================================")
    for i in range(failures):
        out += [
            f"_______________________________ test_evict_{i} _______________________________",
            "",
            "    def test_evict():",
            ">       assert cache.size() == 0",
            "E       assert 3 == 0",
            "",
            "tests/test_cache.py:41: AssertionError",
        ]
    out.append(f"========== {failures} failed, {passed} passed in 12.00s ==========")
    return "\n".join(out)


def test_identical_failures_collapse_with_a_count() -> None:
    r = tests.compress(_pytest_run(30), _ctx(2000))
    assert "(×30 identical failures)" in r.text
    assert r.text.count("E       assert 3 == 0") == 1
    assert "tests/test_cache.py:41: AssertionError" in r.text
    assert "30 failed, 2000 passed" in r.text


def test_thousands_of_warnings_collapse_and_the_error_survives() -> None:
    out = []
    for i in range(3000):
        out += [
            f"src/mod{i % 40}.c:{i + 10}:5: warning: unused variable ‘v{i}’ [-Wunused-variable]",
            f"   {i + 10} |     int v{i} = 0;",
            "        |         ^~",
        ]
    out[4500:4500] = [
        "src/net/tls.c:88:3: error: implicit declaration of function ‘SSL_free’",
        "   88 | x",
        "  | ^",
    ]
    out += ["make: *** [Makefile:12: all] Error 1"]
    r = tests.compress("\n".join(out), _ctx(1500))
    assert "src/net/tls.c:88:3: error: implicit declaration of function ‘SSL_free’" in r.text
    assert "make: *** [Makefile:12: all] Error 1" in r.text
    assert "warning: unused variable ‘v0’ [-Wunused-variable] (×3,000 similar)" in r.text
    assert r.text.count("-Wunused-variable") < 10


def test_passthrough_under_budget_and_without_store() -> None:
    small = _pytest_run(1, passed=5)
    assert tests.compress(small, _ctx()).text == small
    big = _pytest_run(3)
    no_store = Context(max_tokens=500, count_tokens=estimate_tokens, lossy=False)
    assert tests.compress(big, no_store).text == big


def test_deterministic() -> None:
    text = JENKINS.read_text("utf-8")
    assert tests.compress(text, _ctx(1500)) == tests.compress(text, _ctx(1500))


# --- go test -json ------------------------------------------------------------------------------


def test_go_json_report_keeps_failures_and_reads_as_text() -> None:
    text = GO_JSON.read_text("utf-8")
    r = gotest.compress(text, _ctx())
    assert r.strategy == "gotest:report"
    assert [n for n in _needles(GO_JSON.name) if n not in r.text] == []
    assert '"Action"' not in r.text  # rendered, not JSON
    first = r.text.split("\n", 1)[0]
    assert first == "go test: 3 of 5 packages failed; tests: 12 failed, 42 passed, 5 skipped"
    assert "ok   gotest.tools/gotestsum/testjson/internal/good" in r.text
    ((key, payload),) = r.originals
    assert payload == text.encode("utf-8") and key == make_key(payload)
    assert marker_keys(r.text) == [key]


def test_go_json_end_to_end_retrieval_is_the_event_stream() -> None:
    text = GO_JSON.read_text("utf-8")
    store = hm.MemoryStore()
    r = hm.crush(text, store=store)
    assert r.strategy == "gotest:report"
    assert hm.retrieve(store, r.keys[0]) == text


def _events(*events: dict[str, object]) -> str:
    return "\n".join(orjson.dumps(e).decode() for e in events) + "\n"


def test_go_json_build_failures_unfinished_tests_and_stray_lines() -> None:
    pkg = "example.com/svc/api"
    filler = [
        {"Action": "output", "Package": "example.com/svc/ok", "Test": f"TestFine{i}", "Output": "=== RUN\n"}
        for i in range(400)
    ]
    text = _events(
        {"ImportPath": "example.com/svc/db [example.com/svc/db.test]", "Action": "build-output",
         "Output": "# example.com/svc/db\n./pool.go:17:2: undefined: maxConns\n"},
        {"ImportPath": "example.com/svc/db [example.com/svc/db.test]", "Action": "build-fail"},
        {"Action": "start", "Package": pkg},
        {"Action": "run", "Package": pkg, "Test": "TestSlow"},
        {"Action": "output", "Package": pkg, "Test": "TestSlow",
         "Output": "    api_test.go:88: waiting for lock\n"},
        *filler,
        {"Action": "output", "Package": pkg, "Output": "panic: test timed out after 10m0s\n"},
        {"Action": "fail", "Package": pkg, "Elapsed": 600.01},
    ) + "FAIL\texample.com/svc/db [build failed]\n"  # fmt: skip
    r = gotest.compress(text, _ctx(1500))
    assert estimate_tokens(r.text) <= 1500
    for needle in [
        "./pool.go:17:2: undefined: maxConns",
        "panic: test timed out after 10m0s",
        "TestSlow",
        "api_test.go:88: waiting for lock",
        "NO RESULT",
    ]:
        assert needle in r.text, needle


def test_go_json_that_is_not_json_falls_back_to_the_text_engine() -> None:
    text = '{"Action":"output","Package":"p"\n' + "=== RUN   TestA\n--- FAIL: TestA (0.00s)\n" * 3000
    r = gotest.compress(text, _ctx(800))
    assert r.strategy == "test:failures"
    assert estimate_tokens(r.text) <= 800


@pytest.mark.parametrize(
    ("noise", "failure", "summary"),
    [
        (  # maven surefire
            "[INFO] Running com.acme.Test{i}\n[INFO] Tests run: 4, Failures: 0, Errors: 0, Skipped: 0",
            "[ERROR] testRefund(com.acme.BillingTest)  Time elapsed: 0.02 s  <<< FAILURE!\n"
            "org.opentest4j.AssertionFailedError: expected: <200> but was: <503>\n"
            "\tat com.acme.BillingTest.testRefund(BillingTest.java:42)",
            "[ERROR] Tests run: 400, Failures: 1, Errors: 0, Skipped: 0\n[INFO] BUILD FAILURE",
        ),
        (  # gradle
            "com.acme.Test{i} > works PASSED",
            "com.acme.BillingTest > testRefund FAILED\n"
            "    org.opentest4j.AssertionFailedError: expected: <200> but was: <503>\n"
            "        at com.acme.BillingTest.testRefund(BillingTest.java:42)",
            "400 tests completed, 1 failed\nBUILD FAILED in 12s",
        ),
        (  # mocha
            "    ✓ case {i} works",
            "  1) billing\n       refunds partially:\n"
            "     AssertionError: expected: <200> but was: <503>\n"
            "      at Context.<anonymous> (test/billing.test.js:42:10)",
            "  399 passing (2s)\n  1 failing",
        ),
        (  # dotnet test
            "  Passed Acme.Tests.Case{i} [1 ms]",
            "  Failed Acme.Tests.BillingTest.Refund [12 ms]\n  Error Message:\n"
            "   Assert.Equal() Failure: expected: <200> but was: <503>\n"
            "  Stack Trace:\n     at Acme.Tests.BillingTest.Refund() in /src/BillingTest.cs:line 42",
            "Failed!  - Failed: 1, Passed: 399, Skipped: 0, Total: 400",
        ),
    ],
    ids=["maven", "gradle", "mocha", "dotnet"],
)
def test_other_runners_keep_the_failure_and_the_summary(noise: str, failure: str, summary: str) -> None:
    body = [noise.format(i=i) for i in range(600)]
    text = "\n".join([*body[:300], failure, *body[300:], summary])
    r = tests.compress(text, _ctx(900))
    assert estimate_tokens(r.text) <= 900
    assert "expected: <200> but was: <503>" in r.text
    assert summary.split("\n")[-1] in r.text


def test_timestamped_ci_console_is_read_without_its_timestamps() -> None:
    path = FIXTURES / "generated" / "test_github_actions_pytest.txt"
    text = path.read_text("utf-8")
    assert tests.looks_like(text[:4096])
    r = tests.compress(text, _ctx())
    assert "2026-11-25T09:" not in r.text  # ~15 tokens a line of noise for a test run
    assert "line timestamps not shown" in r.text
    assert "E       assert 503 == 200" in r.text  # line-start patterns still found the failure
    ((_, payload),) = r.originals
    assert payload.decode("utf-8") == text  # the stored original keeps them


def test_colored_crlf_output_is_read_without_color_codes_or_carriage_returns() -> None:
    red, bold, reset = "\x1b[31m", "\x1b[1m", "\x1b[0m"
    lines = [f"{bold}{red}PASS{reset} src/ok{i}.test.ts" for i in range(800)]
    lines[400:400] = [
        f"{bold}{red}FAIL{reset} src/cart/total.test.ts",
        f"  {bold}{red}● cart total › applies promo{reset}",
        "    Expected: 10791",
        "    Received: 10890",
        "      at Object.<anonymous> (src/cart/total.test.ts:42:25)",
    ]
    lines.append(f"{bold}Tests:{reset}       1 failed, 5311 passed, 5312 total")
    text = "\r\n".join(lines) + "\r\n"
    assert tests.looks_like(text[:4096])
    r = tests.compress(text, _ctx(800))
    assert "\x1b[" not in r.text and "\r" not in r.text
    for needle in ["● cart total › applies promo", "Received: 10890", "src/cart/total.test.ts:42:25",
                   "Tests:       1 failed, 5311 passed, 5312 total"]:  # fmt: skip
        assert needle in r.text, needle
    ((_, payload),) = r.originals
    assert payload.decode("utf-8") == text


def test_go_json_passing_test_named_in_the_query_is_shown() -> None:
    text = GO_JSON.read_text("utf-8")
    plain = gotest.compress(text, _ctx())
    asked = gotest.compress(text, _ctx(query="what did TestPassedWithLog print?"))
    assert "good_test.go:15: this is a log" not in plain.text
    assert "--- PASS: TestPassedWithLog" in asked.text
    assert "good_test.go:15: this is a log" in asked.text


# --- shapes of tests_wild: runners whose noise is per-test lines, app logs, linters ---------------------


WILD = sorted(
    [*(FIXTURES / "generated").glob("tests_wild_*.txt"), *(FIXTURES / "generated").glob("tests_wild2_*.txt")]
)


@pytest.mark.parametrize(
    "head",
    [
        "test_a (shop.tests.OrderTests) ... ok\ntest_b (shop.tests.OrderTests) ... FAIL\n",
        "Found 12 test(s).\nCreating test database for alias 'default'...\n",
        "..F..E....\n=====\nFAIL: test_a (shop.tests.Order)\n---\n=====\nERROR: test_b (shop.tests.Cart)\n",
        "  Cart API\n    ✔ adds an item\n    ✔ removes an item (45ms)\n",
        "[INFO] Scanning for projects...\n[INFO] Reactor Build Order:\n",
        "/w/src/a.ts\n  12:5   warning  Unexpected any  @typescript-eslint/no-explicit-any\n"
        "  14:1   error    'x' is assigned a value but never used  no-unused-vars\n",
        "> tsc --noEmit\nsrc/x.ts(12,5): error TS2345: Argument of type 'string' is not assignable.\n",
    ],
    ids=["unittest", "django", "unittest-dots", "mocha", "maven", "eslint", "tsc"],
)
def test_looks_like_more_runners_and_linters(head: str) -> None:
    assert tests.looks_like(head)


@pytest.mark.parametrize("path", WILD, ids=lambda p: p.name)
def test_wild_runs_are_routed_here_and_keep_their_needles(path: Path) -> None:
    text = path.read_text("utf-8")
    r = hm.crush(text, store=hm.MemoryStore())
    assert r.strategy == ("gotest:report" if "go_test" in path.name else "test:failures")
    missing = [n for n in _needles(path.name) if n not in r.text]
    assert not missing


def test_clean_per_suite_results_do_not_crowd_out_the_failure() -> None:
    # Surefire prints one result line per class: each names another class, so each is its own template.
    lines = []
    for i in range(400):
        lines += [
            f"[INFO] Running com.acme.m{i % 7}.Suite{i}Test",
            f"[INFO] Tests run: {i % 30 + 1}, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 0.{i} s "
            f"-- in com.acme.m{i % 7}.Suite{i}Test",
        ]
    lines[500:500] = [
        "[ERROR] Tests run: 9, Failures: 1, Errors: 0, Skipped: 0 <<< FAILURE! -- in com.acme.BillTest",
        "[ERROR] com.acme.BillTest.rounds -- Time elapsed: 0.02 s <<< FAILURE!",
        "org.opentest4j.AssertionFailedError: expected: <1> but was: <2>",
        "\tat com.acme.BillTest.rounds(BillTest.java:42)",
    ]
    lines += [
        "[INFO] Results:",
        "[ERROR] Failures: ",
        "[ERROR]   BillTest.rounds:42 expected: <1> but was: <2>",
        "[ERROR] Tests run: 4000, Failures: 1, Errors: 0, Skipped: 0",
        "[INFO] BUILD FAILURE",
    ]
    r = tests.compress("\n".join(lines), _ctx(1200))
    assert "[ERROR]   BillTest.rounds:42 expected: <1> but was: <2>" in r.text  # the Results section's entry
    assert "BillTest.java:42" in r.text
    assert "[ERROR] Tests run: 4000, Failures: 1" in r.text
    assert r.text.count("Failures: 0, Errors: 0") <= 4


def test_zero_failure_counts_are_not_error_lines() -> None:
    assert tests._all_clear("[INFO] Tests run: 8, Failures: 0, Errors: 0, Skipped: 0")
    assert tests._all_clear("test result: ok. 12 passed; 0 failed; 0 ignored")
    assert not tests._all_clear("[ERROR] Tests run: 8, Failures: 1, Errors: 0, Skipped: 0")
    assert not tests._all_clear("Failures: 0 but the connection was refused")
    assert not tests._all_clear("error: could not compile")


def test_passing_test_lines_are_not_shown_as_rare() -> None:
    names = [
        f"{v} the {w} {s}"
        for v in ("adds", "drops", "reads", "sorts", "keeps")
        for w in ("cart", "order", "user", "price", "token", "coupon")
        for s in ("twice", "when empty", "in bulk")
    ]
    lines = ["> mocha", "  suite"]
    for k in range(1500):
        lines.append(f"    ✔ {names[k % len(names)]} case {chr(97 + k % 26)}{chr(97 + k // 26 % 26)}")
        if k == 700:
            lines.append("    1) refunds partially")
    lines += [
        "",
        "  1500 passing (9s)",
        "  1 failing",
        "",
        "  1) suite",
        "       refunds partially:",
        "     AssertionError: expected 200 to equal 400",
        "      at Context.<anonymous> (test/a.spec.js:8:3)",
    ]
    r = tests.compress("\n".join(lines), _ctx(1500))
    assert "AssertionError: expected 200 to equal 400" in r.text
    assert "test/a.spec.js:8:3" in r.text
    assert r.text.count("✔") <= 3
    assert "(×1,500 similar)" in r.text  # one kind of line, whatever each test's name


def test_go_test_verbose_text_shows_failures_not_test_logs_or_parked_goroutines() -> None:
    lines = _go_cases(600)
    lines += [
        "FAIL",
        "FAIL\texample.com/stock\t1.2s",
        "=== RUN   TestNil",
        "--- FAIL: TestNil (0.00s)",
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "",
        "goroutine 7 [running]:",
        "example.com/hook.(*D).retry(0x0)",
        "\t/src/hook/dispatch.go:211 +0x4e",
    ]
    for g in range(8, 60):
        lines += [
            "",
            f"goroutine {g} [select]:",
            f"example.com/q.(*C).poll{g}(0xc0)",
            f"\t/src/q/consumer.go:{g} +0x1",
        ]
    lines += ["FAIL\texample.com/hook\t0.2s", "FAIL"]
    r = tests.compress("\n".join(lines), _ctx(1500))
    assert "reserve_test.go:142: reserved 97 units, want 100" in r.text
    assert "--- FAIL: TestReserve" in r.text
    assert "/src/hook/dispatch.go:211" in r.text
    assert "identical traces" not in r.text  # neither t.Log lines nor parked goroutines are traces
    assert r.text.count("goroutine ") <= 3


def test_eslint_error_keeps_its_file_header() -> None:
    lines = []
    for f in range(300):
        lines += ["", f"/w/src/mod{f}/View{f}.tsx"]
        lines += [
            f"  {k + 3}:{k + 1}  warning  Unexpected any. Specify a different type  no-explicit-any"
            for k in range(4)
        ]
        if f == 200:
            lines.append(
                "  88:11  error    'refreshToken' is assigned a value but never used  no-unused-vars"
            )
    lines += ["", "✖ 1201 problems (1 error, 1200 warnings)"]
    r = tests.compress("\n".join(lines), _ctx(800))
    text = r.text
    assert "'refreshToken' is assigned a value but never used" in text
    assert "/w/src/mod200/View200.tsx" in text
    assert text.index("/w/src/mod200/View200.tsx") < text.index("'refreshToken'")
    assert "✖ 1201 problems (1 error, 1200 warnings)" in text


def _go_cases(n_tests: int) -> list[str]:
    """``go test -v`` lines of ``n_tests`` passing tests with ``t.Log`` output, one failing at 300."""
    lines: list[str] = []
    for k in range(n_tests):
        lines += [
            f"=== RUN   TestCase{k}",
            f"    case_test.go:{k + 10}: seeded {k} rows",
            f"--- PASS: TestCase{k} (0.01s)",
        ]
        if k == 300:
            lines += [
                "=== RUN   TestReserve",
                "    reserve_test.go:142: reserved 97 units, want 100",
                "--- FAIL: TestReserve (0.35s)",
            ]
    return lines


def _go_text(n_tests: int = 600) -> str:
    lines = ["go: downloading github.com/stretchr/testify v1.9.0", *_go_cases(n_tests)]
    lines += ["FAIL", "FAIL\texample.com/stock\t1.204s", "?   \texample.com/cmd\t[no test files]"]
    lines += ["=== RUN   TestNil", "--- FAIL: TestNil (0.00s)"]
    lines += ["panic: runtime error: invalid memory address or nil pointer dereference [recovered]", ""]
    lines += [
        "goroutine 7 [running]:",
        "testing.tRunner.func1.2({0x1, 0x2})",
        "\t/usr/local/go/src/testing/testing.go:1545 +0x238",
    ]
    lines += ["example.com/hook.(*D).retry(0x0)", "\t/src/hook/dispatch.go:211 +0x4e"]
    for g in range(8, 60):
        state = "select" if g % 2 else "chan receive"
        lines += [
            "",
            f"goroutine {g} [{state}]:",
            f"example.com/q.(*C).poll{g}(0xc0)",
            f"\t/src/q/consumer.go:{g} +0x1",
        ]
    lines += ["exit status 2", "FAIL\texample.com/hook\t0.2s", "ok  \texample.com/clock\t(cached)", "FAIL"]
    return "\n".join(lines) + "\n"


def test_go_test_text_is_read_as_a_report() -> None:
    text = _go_text()
    assert detect(text) == "gotest"
    r = gotest.compress(text, _ctx(1500))
    assert r.strategy == "gotest:report"
    assert r.text.startswith("go test: 2 of 4 packages failed; tests: 2 failed, 600 passed, 0 skipped")
    assert "--- FAIL: TestReserve (0.35s)\n    reserve_test.go:142: reserved 97 units, want 100" in r.text
    assert "/src/hook/dispatch.go:211 +0x4e" in r.text
    assert "[52 other goroutines not shown: 26 chan receive, 26 select]" in r.text
    assert "consumer.go" not in r.text
    assert "seeded" not in r.text  # passing tests' t.Log lines
    assert "ok   example.com/clock: no tests" in r.text
    assert "lines omitted" in r.text
    ((_, payload),) = r.originals
    assert payload.decode("utf-8") == text


def test_go_test_text_detection_needs_go_lines_first() -> None:
    assert gotest.looks_like("=== RUN   TestA\n--- PASS: TestA (0.00s)\nok  \texample.com/a\t0.01s\n")
    not_verbose = (
        "go: downloading x v1\nok  \texample.com/a\t0.01s\nok  \texample.com/b\t(cached)\nFAIL\tc\t1s\n"
    )
    assert gotest.looks_like(not_verbose)
    # A CI console that runs go test among other steps stays with the test engine.
    assert not gotest.looks_like(
        "Started by user alice\n=== RUN   TestA\n--- PASS: TestA (0.00s)\nok  \ta\t1s\n"
    )


def test_go_test_text_mostly_other_lines_falls_back_to_the_test_engine() -> None:
    head = "=== RUN   TestA\n--- PASS: TestA (0.00s)\nok  \texample.com/a\t0.01s\n"
    text = head + "".join(f"step {i}: compiling module {i} of 900 with flags -O2\n" for i in range(900))
    r = gotest.compress(text, _ctx(800))
    assert r.strategy == "test:failures"


def test_go_test_text_without_v_and_with_a_build_failure() -> None:
    lines = [
        "# example.com/billing [example.com/billing.test]",
        "./invoice_test.go:12:2: undefined: roundHalfEven",
        "FAIL\texample.com/billing [build failed]",
        "--- FAIL: TestA (0.00s)",
        "    a_test.go:9: want 1, got 2",
        "FAIL",
        "FAIL\texample.com/a\t0.1s",
        *(f"ok  \texample.com/pkg{i}\t0.{i:03d}s" for i in range(300)),
        "FAIL",
    ]
    text = "\n".join(lines) + "\n"
    assert detect(text) == "gotest"
    r = gotest.compress(text, _ctx(400))
    assert r.text.startswith(
        "go test: 2 of 302 packages failed; tests: 1 failed (passing tests are not listed"
    )
    assert "FAIL example.com/billing [build failed]\n    # example.com/billing" in r.text
    assert "./invoice_test.go:12:2: undefined: roundHalfEven" in r.text
    assert "--- FAIL: TestA (0.00s)\n    a_test.go:9: want 1, got 2" in r.text
    assert "no tests" not in r.text  # without -v, passing tests are not printed: nothing says there are none


def test_vitest_keeps_the_location_after_its_pointer_and_the_totals() -> None:
    lines = ["", " RUN  v1.6.0 /w/web", ""]
    lines += [f" ✓ src/mod{i}/thing{i}.test.ts  ({i % 30 + 1} tests) {i % 400 + 3}ms" for i in range(600)]
    lines += [
        "",
        " FAIL  src/cart/total.test.ts > cart total > applies promo before tax",
        "AssertionError: expected 10890 to be 10791 // Object.is equality",
        "",
        "- Expected",
        "+ Received",
        "",
        " ❯ src/cart/total.test.ts:42:25",
        "     42|     expect(total.cents).toBe(10791)",
        "       |                         ^",
        "",
        *(f"noise line {i}" for i in range(40)),
        " Test Files  1 failed | 600 passed (601)",
        "      Tests  1 failed | 8000 passed (8001)",
        *(f"   trailing note {i}" for i in range(5)),
    ]
    r = tests.compress("\n".join(lines), _ctx(600))
    assert "src/cart/total.test.ts:42:25" in r.text
    assert "Test Files  1 failed | 600 passed (601)" in r.text
    assert "Tests  1 failed | 8000 passed (8001)" in r.text


def test_kinds_of_chatter_fill_only_a_share_of_the_budget() -> None:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    chatter = [f"build step {a} then {b} then {c} done" for a in words for b in words for c in words[:4]]
    lines = ["running 2 tests", *chatter, *chatter, *chatter]  # each 3 times: not rare, each its own kind
    lines[300:300] = ["---- tests::refund stdout ----", "thread 'tests::refund' panicked at src/lib.rs:41:9:",
                      "assertion failed: left == right"]  # fmt: skip
    lines += ["test result: FAILED. 1 passed; 1 failed; 0 ignored"]
    r = tests.compress("\n".join(lines), _ctx(4000))
    assert "panicked at src/lib.rs:41:9" in r.text
    assert "test result: FAILED. 1 passed; 1 failed" in r.text
    assert estimate_tokens(r.text) <= 4000 * 0.7


# --- round 2: gradle, dotnet, rspec, app log chatter -------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "com.acme.FooTest > computesTotal() PASSED",
        "FooTest > rounds(String, int) > [2] large, 40 PASSED",
        "  Passed Acme.Tests.FooTests.Creates_Order [12 ms]",
        '  Passed Acme.Tests.FooTests.Parses(input: "x", expected: 3) [< 1 ms]',
        "  Skipped Acme.Tests.FooTests.Slow [1 ms]",
        "      lists the cart in cents (PENDING: Temporarily skipped with xit)",
    ],
)
def test_passed_lines_of_gradle_dotnet_and_rspec(line: str) -> None:
    assert PASSED_RE.match(line)


@pytest.mark.parametrize(
    "line",
    [
        "FooTest > bar() FAILED",
        "  Failed Acme.Tests.FooTests.Creates_Order [12 ms]",
        "  refunds (FAILED - 1)",
    ],
)
def test_failed_lines_are_not_passed_lines(line: str) -> None:
    assert not PASSED_RE.match(line)


def test_rspec_documentation_head_is_a_test_run() -> None:
    head = "Randomized with seed 40213\n\nCheckout::Refund\n  #call\n    refunds the full amount\n"
    assert tests.looks_like(head)
    assert not tests.looks_like("Checkout::Refund\n  #call\n    refunds the full amount\n")


def _rspec_run(examples: int) -> str:
    lines = ["Randomized with seed 1", ""]
    for g in range(examples // 10):
        lines += [f"Group{chr(65 + g % 26)}{chr(65 + g // 26 % 26)}", "  #call"]
        for k in range(10):
            verb, noun = ("creates", "drops", "sorts")[k % 3], ("cart", "user", "tax", "order")[g % 4]
            lines.append(f"    {verb} the {noun} n{g}x{k}")
    lines += ["", "Pending: (Failures listed here are expected and do not affect your suite's status)", ""]
    for k in range(1, 4):
        lines += [
            f"  {k}) GroupAA #call skipped {k}",
            "     # Not yet implemented",
            "     # ./spec/a_spec.rb:9",
            "",
        ]
    lines += [
        "Failures:",
        "",
        "  1) Orders GET /orders/:id returns 404",
        "     Failure/Error: tenant_id: order.tenant_id",
        "",
        "     NoMethodError:",
        "       undefined method `tenant_id' for nil",
        "     # /usr/local/bundle/gems/rack-3.0.11/lib/rack/head.rb:15:in `call'",
        "     # ./app/controllers/orders_controller.rb:19:in `show'",
        "     # ./spec/requests/orders_spec.rb:88:in `block (3 levels) in <top (required)>'",
        "",
        f"{examples} examples, 1 failure, 3 pending",
    ]
    return "\n".join(lines)


def test_rspec_failure_keeps_its_message_and_first_project_frame_not_pending_items() -> None:
    text = _rspec_run(1500)
    r = tests.compress(text, _ctx(1200))
    assert "undefined method `tenant_id' for nil" in r.text  # under "NoMethodError:", deeper indented
    assert "./app/controllers/orders_controller.rb:19" in r.text  # the first frame outside the gems
    assert "identical failures" not in r.text  # the pending items are not failures


def test_documentation_titles_are_one_kind_not_rare_lines() -> None:
    r = tests.compress(_rspec_run(1500), _ctx(1200))
    shown = [line for line in r.text.split("\n") if line.startswith("    ") and " the " in line]
    assert len(shown) <= 3
    assert "1500 examples, 1 failure, 3 pending" in r.text


def test_log_chatter_of_the_code_under_test_is_one_kind_per_level() -> None:
    verbs = ("creates", "drops", "reads", "sorts", "keeps", "merges", "lists")
    nouns = ("cart", "order", "user", "price", "token", "coupon", "tax", "audit", "quota")
    lines = ["> Task :api:test", ""]
    for k in range(900):
        if k % 3 == 0:
            lines.append(f"FooTest > case{k}() PASSED")
        lines.append(
            f"2026-11-30T09:{k % 60:02d}:00.{k % 1000:03d}Z  INFO 41 --- [task-{k % 3}] c.a.Svc : "
            f"{verbs[k % 7]} {nouns[k // 7 % 9]} id={k} in {k % 90} ms"
        )
        if k == 450:
            lines += ["", "FooTest > refunds() FAILED", "    java.lang.AssertionError at FooTest.java:88", ""]
    lines += ["", "300 tests completed, 1 failed", "", "BUILD FAILED in 1m 2s"]
    r = tests.compress("\n".join(lines), _ctx(1500))
    assert "java.lang.AssertionError at FooTest.java:88" in r.text
    assert "BUILD FAILED in 1m 2s" in r.text
    assert sum(" INFO " in line for line in r.text.split("\n")) <= 3


def test_a_kind_of_warning_is_shown_once_not_again_as_its_last_line() -> None:
    lines = ["make -C build", "gcc -c src/a.c"]
    for k in range(400):
        lines.append(f"src/m{k % 40}.c:{k + 10}:5: warning: unused variable ‘v{k}’ [-Wunused-variable]")
        lines.append(f"gcc -O2 -c src/m{k % 40}.c -o build/m{k % 40}.o")
    lines += ["src/z.c:9:1: error: expected ‘;’ before ‘}’ token", "make: *** [Makefile:4: all] Error 2"]
    r = tests.compress("\n".join(lines), _ctx(1000))
    assert "src/z.c:9:1: error: expected ‘;’ before ‘}’ token" in r.text
    assert r.text.count("[-Wunused-variable]") == 1
