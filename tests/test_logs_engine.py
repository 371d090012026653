"""The log engine: detection, templates with counts, errors, stack traces as units, outliers, budget.

Runs on the seeded log fixtures (``fixtures/generate_text.py``) and on small logs built here for one
behaviour each.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import headroom_middleware as hm
from headroom_middleware._markers import marker_keys
from headroom_middleware._tokens import estimate_tokens
from headroom_middleware.ccr import make_key
from headroom_middleware.engines import Context, compress, detect
from headroom_middleware.engines._detect import text_kind
from headroom_middleware.engines.text import _logs_shapes, logs
from headroom_middleware.engines.text._groups import group
from headroom_middleware.engines.text._outliers import bare_number_outliers, template_outliers
from headroom_middleware.engines.text._templates import template_of, templates_of
from headroom_middleware.engines.text._textlines import LineIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOG_FIXTURES = (
    sorted((FIXTURES / "generated").glob("log_*.txt"))
    + sorted((FIXTURES / "generated").glob("logs_wild_*.txt"))
    + sorted((FIXTURES / "generated").glob("logs_wild2_*.txt"))
)


def _needles() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in ("needles_text.json", "needles_logs_wild.json", "needles_logs_wild2.json"):
        entries = json.loads((FIXTURES / "generated" / name).read_text("utf-8"))
        out.update({e["file"]: e["needles"] for e in entries})
    return out


def _ctx(max_tokens: int = 4000, query: str | None = None) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=estimate_tokens, query=query)


def _app_log(n: int = 3000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = f"2026-11-25T10:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}Z"
        if rng.random() < 0.7:
            out.append(
                f"{ts} INFO  [http] GET /api/items/{rng.randint(1, 9999)} 200 in {rng.randint(5, 60)}ms"
            )
        else:
            out.append(f"{ts} DEBUG [cache] hit key=item:{rng.randint(1, 9999)} size={rng.randint(1, 9)}KB")
    return out


def test_log_fixtures_exist() -> None:
    assert len(LOG_FIXTURES) >= 3


@pytest.mark.parametrize("path", LOG_FIXTURES, ids=lambda p: p.name)
def test_fixtures_detected_as_logs_and_needles_visible(path: Path) -> None:
    text = path.read_text("utf-8")
    # A log whose lines start with "[" (Celery) looks like JSON at first; when it does not parse, the
    # text kinds decide.
    assert detect(text) == "log" or (detect(text) == "json" and text_kind(text) == "log")
    r = logs.compress(text, _ctx())
    assert r.strategy == "log:templates"
    assert estimate_tokens(r.text) <= 4000
    missing = [n for n in _needles()[path.name] if n not in r.text]
    assert missing == []


@pytest.mark.parametrize("path", LOG_FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("budget", [300, 1000])
def test_small_budgets_are_hard_caps(path: Path, budget: int) -> None:
    r = logs.compress(path.read_text("utf-8"), _ctx(budget))
    assert estimate_tokens(r.text) <= budget
    assert len(marker_keys(r.text)) == 1


@pytest.mark.parametrize(
    "head",
    [
        "Mar  3 10:00:01 web-1 sshd[811]: Accepted publickey for deploy\n" * 5,
        "I1125 10:00:00.123456       1 controller.go:118] synced\n" * 5,
        '{"time":"2026-11-25T10:00:00Z","level":"info","msg":"ok"}\n' * 5,
        '10.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512\n' * 5,
        "time=2026-11-25T10:00:00Z level=info msg=started\n" * 5,
        "[2026-11-25 10:00:00,123] WARN  kafka.server: lag high\n" * 5,
        "11-25 10:23:45.123  1234  5678 E ActivityManager: ANR in com.acme\n" * 5,
        "Nov 25, 2026 10:00:00 AM org.apache.catalina.startup.Catalina start\n" * 5,
        "web_1    | 172.18.0.1 - GET / 200\n" * 5,
        "081109 203518 143 INFO dfs.DataNode$DataXceiver: Receiving block blk_-160899\n" * 5,
        "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered\n" * 5,
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties\n" * 5,
        "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 RAS KERNEL INFO ok\n" * 5,
    ],
)
def test_looks_like_common_log_formats(head: str) -> None:
    assert logs.looks_like(head)


@pytest.mark.parametrize(
    "head",
    [
        "Lorem ipsum dolor sit amet.\nConsectetur adipiscing elit.\nSed do eiusmod tempor.\n",
        "def f(x):\n    return x\n\nprint(f(2))\n",
        "NAME   READY   STATUS\npod-1  1/1     Running\npod-2  1/1     Running\n",
    ],
)
def test_looks_like_rejects_other_text(head: str) -> None:
    assert not logs.looks_like(head)


def test_passthrough_under_budget() -> None:
    text = "\n".join(_app_log(20))
    r = logs.compress(text, _ctx())
    assert (r.text, r.strategy, r.originals) == (text, "passthrough", ())


def test_templates_shown_once_with_counts_and_rare_lines_kept() -> None:
    lines = _app_log()
    lines[1500] = "2026-11-25T10:25:00.000Z INFO  [config] reloaded feature flags from s3://flags/prod.json"
    text = "\n".join(lines)
    r = logs.compress(text, _ctx(1500))
    assert "reloaded feature flags from s3://flags/prod.json" in r.text
    n_info = sum("[http]" in ln for ln in lines)
    last_info = max(i for i, ln in enumerate(lines) if "[http]" in ln) + 1
    assert f"(×{n_info:,} similar, last at line {last_info:,})" in r.text
    assert r.text.count("[http]") < 60


def test_error_lines_deduped_by_template_with_count() -> None:
    lines = _app_log()
    for k, i in enumerate(range(100, 2900, 100)):
        lines[i] = f"2026-11-25T10:00:00.000Z ERROR [db] query {k} failed: deadlock detected on orders"
    lines[2950] = "2026-11-25T10:59:00.000Z FATAL [main] out of file descriptors, shutting down"
    r = logs.compress("\n".join(lines), _ctx(1200))
    assert (
        "ERROR [db] query 0 failed: deadlock detected on orders (×28 similar, last at line 2,801)" in r.text
    )
    assert "out of file descriptors" in r.text


def test_stack_traces_are_units_and_identical_ones_collapse() -> None:
    lines = _app_log(2000)
    trace = [
        "2026-11-25T10:10:00.000Z ERROR [worker] job crashed",
        "Traceback (most recent call last):",
        '  File "/srv/app/worker.py", line 10, in run',
        "    step()",
        *[f'  File "/srv/app/mid{k}.py", line {k}, in f{k}\n    g{k}()' for k in range(12)],
        '  File "/srv/app/db.py", line 99, in connect',
        "    raise ConnectionError(host)",
        "ConnectionError: db-primary:5432 unreachable",
    ]
    trace_lines = "\n".join(trace).split("\n")
    for at in (1800, 1200, 400):
        lines[at:at] = trace_lines
    r = logs.compress("\n".join(lines), _ctx(2000))
    assert r.text.count("ConnectionError: db-primary:5432 unreachable") == 1
    assert "(×3 identical traces)" in r.text
    assert '  File "/srv/app/worker.py", line 10, in run' in r.text  # first frame
    assert '  File "/srv/app/db.py", line 99, in connect' in r.text  # last (innermost) frame
    assert "mid5.py" not in r.text  # middle frames left out


def test_java_and_go_traces_keep_exception_and_frames() -> None:
    lines = _app_log(1500)
    lines[700:700] = [
        "2026-11-25T10:11:00.000Z ERROR [billing] charge failed",
        "java.lang.IllegalStateException: card vault sealed",
        *[f"\tat com.acme.Layer{k}.call(Layer{k}.java:{k + 10})" for k in range(30)],
        "Caused by: java.io.IOException: vault-2 refused",
        "\tat com.acme.Vault.open(Vault.java:77)",
        "\t... 30 more",
    ]
    lines += [
        "panic: assignment to entry in nil map",
        "",
        "goroutine 7 [running]:",
        "main.(*Cache).Put(...)",
        "\t/app/cache.go:41 +0x1d",
        "main.main()",
        "\t/app/main.go:12 +0x85",
    ]
    r = logs.compress("\n".join(lines), _ctx(2000))
    for needle in [
        "java.lang.IllegalStateException: card vault sealed",
        "at com.acme.Layer0.call(Layer0.java:10)",
        "Caused by: java.io.IOException: vault-2 refused",
        "panic: assignment to entry in nil map",
        "/app/cache.go:41",
    ]:
        assert needle in r.text
    assert "Layer15" not in r.text


def test_numeric_outlier_is_kept_and_annotated() -> None:
    lines = _app_log()
    lines[2222] = "2026-11-25T10:37:00.000Z INFO  [http] GET /api/items/77 200 in 93117ms"
    r = logs.compress("\n".join(lines), _ctx(1500))
    assert "GET /api/items/77 200 in 93117ms (outlier: 93117ms, typical" in r.text


def test_query_lines_kept() -> None:
    lines = _app_log()
    lines[1999] = (
        "2026-11-25T10:33:00.000Z INFO  [http] GET /api/items/123456 200 in 7ms"  # a common template
    )
    text = "\n".join(lines)
    assert "/api/items/123456" not in logs.compress(text, _ctx(800)).text
    assert "/api/items/123456" in logs.compress(text, _ctx(800, query="what about item 123456?")).text


def test_original_stored_byte_exact() -> None:
    text = "\n".join(_app_log()) + "\n"
    r = logs.compress(text, _ctx(800))
    ((key, payload),) = r.originals
    assert payload == text.encode("utf-8", "surrogatepass") and key == make_key(payload)
    store = hm.MemoryStore()
    crushed = hm.crush(text, store=store, max_tokens=800)
    assert crushed.strategy == "log:templates"
    assert hm.retrieve(store, crushed.keys[0]) == text


def test_same_output_in_another_process_with_another_hash_seed() -> None:
    path = LOG_FIXTURES[0]
    here = logs.compress(path.read_text("utf-8"), _ctx()).text
    code = (
        "import sys; from pathlib import Path; from headroom_middleware.engines import Context;"
        "from headroom_middleware._tokens import estimate_tokens;"
        "from headroom_middleware.engines.text import logs;"
        "text = Path(sys.argv[1]).read_text('utf-8');"
        "sys.stdout.write(logs.compress(text, Context(4000, estimate_tokens)).text)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, check=True
    ).stdout.decode("utf-8")
    assert out == here


def test_json_ish_lines_group_by_message_not_by_quoting() -> None:
    rng = random.Random(4)
    lines = []
    for i in range(3000):
        ts = f"2026-11-25T10:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        body = (
            f'{{"level":"info","msg":"request served","path":"/api/items/{rng.randint(1, 9999)}",'
            f'"duration_ms":{rng.randint(3, 90)},"request_id":"r-{rng.getrandbits(40):010x}"}}'
        )
        lines.append(f"{ts} stdout F {body}")
    lines[1111] = (
        '2026-11-25T10:18:31.111Z stdout F {"level":"warn","msg":"cache cluster failover started",'
        '"node":"cache-2"}'
    )
    lines[2222] = (
        '2026-11-25T10:37:02.222Z stdout F {"level":"error","msg":"payment gateway unreachable",'
        '"request_id":"r-00000000ff"}'
    )
    text = "\n".join(lines)
    assert logs.looks_like(text[:4096])
    r = logs.compress(text, _ctx(1000))
    assert "cache cluster failover started" in r.text
    assert "payment gateway unreachable" in r.text
    assert "(×2,998 similar" in r.text  # the routine requests: one template whatever their ids and paths


def _access_log(n: int = 800) -> list[str]:
    rng = random.Random(11)
    return [
        f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - "
        f"[25/Nov/2026:10:{k // 60 % 60:02d}:{k % 60:02d} +0000] "
        f'"GET /api/items/{rng.randint(1, 999)} HTTP/1.1" 200 {rng.randint(100, 9000)} "-" "curl/8.5.0" '
        f"rt={rng.randint(5, 90) / 1000:.3f}"
        for k in range(n)
    ]


def test_access_log_server_errors_are_kept_per_status_code() -> None:
    """No level word in an access log: a 5xx status is the error, one shown per code with its count."""
    lines = _access_log()
    for k in (300, 301, 302):
        lines[k] = lines[k].replace('" 200 ', '" 502 ')
    lines[650] = lines[650].replace('" 200 ', '" 504 ')
    r = logs.compress("\n".join(lines) + "\n", _ctx(600))
    assert lines[300] in r.text and "(×3 like this" in r.text
    assert lines[650] in r.text


def test_unitless_keyed_duration_outlier_is_kept() -> None:
    """``rt=412.877`` among ``rt=0.0xx``: a duration named by its key, with no unit, is still an outlier."""
    lines = _access_log()
    lines[512] = lines[512].rsplit(" rt=", 1)[0] + " rt=412.877"
    r = logs.compress("\n".join(lines) + "\n", _ctx(400))
    assert lines[512] in r.text
    assert "outlier: 412.877" in r.text


def test_log_starting_with_a_bracket_is_not_left_to_the_generic_engine() -> None:
    """``[2026-… INFO/MainProcess]`` lines look like a JSON array; when parsing fails the log engine runs."""
    rng = random.Random(5)
    text = "".join(
        f"[2026-11-25 08:00:{k % 60:02d},{rng.randint(0, 999):03d}: INFO/MainProcess] Task t[{k}] received\n"
        for k in range(3000)
    )
    assert compress(text, _ctx(300)).strategy == "log:templates"


def _pg(i: int, rest: str) -> str:
    stamp = f"2026-11-25 10:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d} UTC"
    return f"{stamp} [{4400 + i % 50}] app@shop {rest}"


def _pg_log(n: int = 1500, seed: int = 5) -> list[str]:
    """A PostgreSQL log: duration lines, connections, and autovacuum reports on tab-indented lines."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        r = rng.random()
        if r < 0.6:
            out.append(_pg(i, f"LOG:  duration: {rng.uniform(0.1, 3):.3f} ms  execute <unnamed>: SELECT 1"))
        elif r < 0.9:
            out.append(
                _pg(
                    i,
                    f"LOG:  connection received: host=10.0.0.{rng.randint(2, 250)} port={rng.randint(1, 9)}",
                )
            )
        else:
            out.append(_pg(i, 'LOG:  automatic vacuum of table "shop.public.events": index scans: 1'))
            out.append(f"\tpages: 0 removed, {rng.randint(1, 9999)} remain, {rng.randint(1, 99)} scanned")
            out.append(f"\tbuffer usage: {rng.randint(1, 9999)} hits, {rng.randint(1, 99)} misses")
    return out


def test_keyed_duration_in_a_json_line_is_masked_and_its_outlier_kept() -> None:
    rng = random.Random(3)
    lines = [
        f'{{"ts": "2026-11-25T10:00:{i % 60:02d}Z", "level": "INFO", "message": "request done", '
        f'"duration_ms": {rng.uniform(5, 90):.1f}}}'
        for i in range(3000)
    ]
    lines[1700] = (
        '{"ts": "2026-11-25T10:00:00Z", "level": "INFO", "message": "request done", "duration_ms": 15234.8}'
    )
    r = logs.compress("\n".join(lines), _ctx(1000))
    assert '"duration_ms": 15234.8} (outlier: 15234.8' in r.text


def test_outlier_found_when_the_template_pads_blanks_differently() -> None:
    # PostgreSQL writes "LOG:  duration:" with two spaces; a template holds one.
    lines = _pg_log()
    lines[900] = _pg(900, "LOG:  duration: 48213.512 ms  execute <unnamed>: SELECT 1")
    r = logs.compress("\n".join(lines), _ctx(1200))
    assert "duration: 48213.512 ms  execute <unnamed>: SELECT 1 (outlier: 48213.512ms" in r.text


def test_outlier_found_by_rank_when_only_masked_tokens_precede_it() -> None:
    rng = random.Random(9)
    lines = [
        f"2026-11-25T10:00:{i % 60:02d}Z INFO GET /api/items/{rng.randint(1, 999)} 200 {rng.randint(5, 90)}ms"
        for i in range(3000)
    ]
    lines[2100] = "2026-11-25T10:00:00Z INFO GET /api/items/77 200 48217ms"
    r = logs.compress("\n".join(lines), _ctx(800))
    assert "GET /api/items/77 200 48217ms (outlier: 48217ms" in r.text


def test_query_string_is_part_of_the_masked_path() -> None:
    plain = template_of("GET /api/orders 200 12ms")
    assert template_of("GET /api/orders/export?format=csv&range=90d 200 48217ms") == plain
    assert template_of("is it? yes") == "is it? yes"


def test_compose_prefixed_traceback_is_one_unit_and_prefixes_stay_visible() -> None:
    rng = random.Random(4)
    lines: list[str] = []
    for k in range(40):
        for _ in range(60):
            lines.append(
                f"web-1       | [2026-11-25 09:15:{k % 60:02d}] [7] [INFO] GET /{rng.randint(1, 99)} 200"
            )
        lines += [
            "scheduler-1 | Traceback (most recent call last):",
            '  File "/app/scheduler/main.py", line 31, in main'.join(["scheduler-1 | ", ""]),
            "scheduler-1 |     settings = load_settings()",
            'scheduler-1 |   File "/app/scheduler/settings.py", line 58, in load_settings',
            'scheduler-1 |     tz = os.environ["TZ_NAME"]',
            "scheduler-1 | KeyError: 'TZ_NAME'",
            "scheduler-1 exited with code 1",
        ]
    r = logs.compress("\n".join(lines), _ctx(1500))
    assert "scheduler-1 | KeyError: 'TZ_NAME' (×40 identical traces)" in r.text
    assert "scheduler-1 | Traceback (most recent call last):" in r.text
    assert "stack trace" in r.text.rsplit("[headroom:", 1)[1]


def test_kubectl_prefix_is_stripped_for_analysis_only() -> None:
    assert _logs_shapes.without_stream_prefix(
        "[pod/api-7d9f/api] a\n[pod/api-7d9f/api]   b\n[pod/api-x/api] c\n"
    ) == ("a\n  b\nc\n")
    # A level word before a pipe is no stream prefix.
    text = "INFO | started\nINFO | ready\nWARN | slow\n"
    assert _logs_shapes.without_stream_prefix(text) is text


def test_continuation_lines_stay_with_their_head_and_repeat_once() -> None:
    lines = _pg_log()
    r = logs.compress("\n".join(lines), _ctx(1500))
    out = r.text.split("\n")
    heads = [k for k, ln in enumerate(out) if "automatic vacuum" in ln]
    assert heads
    # The first report shown keeps its indented lines right below it ...
    assert out[heads[0] + 1].startswith("\tpages:") and out[heads[0] + 2].startswith("\tbuffer usage:")
    # ... and no indented line shows up on its own or with a count of its own.
    assert sum(ln.startswith("\tpages:") for ln in out) == 1
    assert not any(ln.startswith("\t") and "similar" in ln for ln in out)


def test_rare_continuation_line_shows_its_whole_record() -> None:
    lines = _pg_log()
    lines[700:700] = [
        _pg(
            700, "DETAIL:  Process 4521 waits for ShareLock on transaction 9183321; blocked by process 4533."
        ),
        "\tProcess 4533 waits for ShareLock on transaction 9183318; blocked by process 4521.",
        "\tProcess 4521: UPDATE accounts SET balance = balance - $1 WHERE id = $2",
    ]
    r = logs.compress("\n".join(lines), _ctx(1500))
    assert (
        "blocked by process 4533.\n\tProcess 4533 waits for ShareLock on transaction 9183318; "
        "blocked by process 4521.\n\tProcess 4521: UPDATE" in r.text
    )


def test_error_keeps_the_lines_stamped_like_it() -> None:
    lines = _pg_log()
    for k, i in enumerate(range(50, 1450, 50)):  # a routine error with a frequent DETAIL and STATEMENT
        lines[i] = _pg(i, 'ERROR:  duplicate key value violates unique constraint "cart_items_key"')
        lines.insert(i + 1, _pg(i, f"DETAIL:  Key (sku)=(SKU-{10000 + k}) already exists."))
        lines.insert(i + 2, _pg(i, "STATEMENT:  INSERT INTO cart_items (sku) VALUES ($1)"))
    # The first DETAIL and STATEMENT of their templates are elsewhere: only the error brings these.
    lines[10:10] = [_pg(10, "DETAIL:  Key (sku)=(SKU-1) already exists."), _pg(10, "STATEMENT:  SELECT 2")]
    r = logs.compress("\n".join(lines), _ctx(700))
    first = r.text.index('violates unique constraint "cart_items_key"')
    block = r.text[first:].split("\n")[:3]
    assert "DETAIL:  Key (sku)=(SKU-10000) already exists." in block[1]
    assert "STATEMENT:  INSERT INTO cart_items" in block[2]
    # Another error line stamped alike is no follower: the group ends before it.
    pid_line = [
        "2026-11-25 10:00:01.001 UTC [7] app@shop ERROR:  a",
        "2026-11-25 10:00:01.001 UTC [7] app@shop ERROR:  b",
    ]
    assert logs._followers(pid_line, 0, {0, 1}, {}) == []


def test_syslog_crash_and_oom_events_count_as_errors() -> None:
    rng = random.Random(8)
    lines = [
        f"Nov 25 10:{i // 60 % 60:02d}:{i % 60:02d} web-03 sshd[{20000 + i}]: Invalid user x{i % 7} from "
        f"45.1.{rng.randint(1, 250)}.{rng.randint(1, 250)} port {rng.randint(1000, 65000)}"
        for i in range(3000)
    ]
    lines[1000] = (
        "Nov 25 10:16:40 web-03 kernel: [8812.1] node[2448]: segfault at 0 ip 00007f3a sp 00007ffd error 4"
    )
    lines[2000] = (
        "Nov 25 10:33:20 web-03 kernel: [8814.6] Out of memory: Killed process 28811 (java) total-vm:1983kB"
    )
    lines[2001] = "Nov 25 10:33:20 web-03 systemd[1]: app.service: Failed with result 'oom-kill'."
    r = logs.compress("\n".join(lines), _ctx(800))
    assert "segfault at 0" in r.text and "Killed process 28811" in r.text and "'oom-kill'" in r.text
    assert "3 error lines" in r.text.rsplit("[headroom:", 1)[1]


def test_a_table_printed_in_the_log_keeps_its_first_and_last_rows_only() -> None:
    names = ["systemd", "cron", "sshd", "dockerd", "kubelet", "agetty", "coredns", "nginx", "java"]
    rows = [
        f"kernel: [  {1000 + 37 * k}]  0  {1000 + 37 * k}  {5000 + k} {name}" for k, name in enumerate(names)
    ]
    templates = [template_of(r) for r in rows]
    assert _logs_shapes.without_table_rows(list(range(len(rows))), templates) == [0, 1, len(rows) - 1]
    # Fewer rows than a table, or rows not next to each other, stay rare lines.
    assert _logs_shapes.without_table_rows([0, 1, 2, 3], templates) == [0, 1, 2, 3]
    assert _logs_shapes.without_table_rows([0, 2, 4, 6, 8], templates) == [0, 2, 4, 6, 8]


def test_apache_module_levels_are_errors_and_warnings() -> None:
    line = "[Wed Nov 25 10:00:00.123456 2026] [proxy:error] [pid 12:tid 9] AH01114: HTTP: failed to connect"
    assert logs._SEVERE_RE.search(line)
    assert logs._WARN_RE.search("[Wed Nov 25 10:00:00.123456 2026] [ssl:warn] [pid 12] AH01909: no cert")


def _envoy(rng: random.Random, dur: int, size: int | None = None) -> str:
    """An Envoy access line (Istio's text format): duration and sizes are bare numbers, no unit, no key."""
    rx = size if size is not None else rng.randint(90, 400)
    return (
        f"[2026-11-25T09:00:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z] "
        f'"GET /v1/items/{rng.randint(1, 9999)} '
        f'HTTP/1.1" 200 - via_upstream - "-" 0 {rx} {dur} {max(dur - 1, 1)} "-" "Go-http-client/1.1" '
        f'"{rng.getrandbits(64):016x}" "catalog:8080" "10.42.1.{rng.randint(2, 90)}:8080" '
        "outbound|8080||catalog"
    )


def _bare(lines: list[str]) -> list[tuple[int, str]]:
    index = LineIndex("\n".join(lines))
    return bare_number_outliers(index, group(templates_of(index.scan_lines, index.lowered)), set())


def test_unit_less_duration_column_outlier_is_found_and_kept() -> None:
    rng = random.Random(4)
    lines = [_envoy(rng, rng.randint(4, 30)) for _ in range(1500)]
    lines[900] = _envoy(rng, 30012)
    assert [i for i, _ in _bare(lines)] == [900]
    r = logs.compress("\n".join(lines), _ctx(800))
    assert " 30012 30011 " in r.text and "(outlier: 30012, typical" in r.text


def test_unit_less_column_of_two_populations_or_zeros_has_no_outlier() -> None:
    rng = random.Random(5)
    # Sizes of two endpoints in one template: a tenth are ten times the rest, a second mode, not outliers.
    mixed = [
        _envoy(rng, rng.randint(4, 30), rng.choice([200] * 9 + [40000]) + rng.randint(0, 50))
        for _ in range(800)
    ]
    assert _bare(mixed) == []
    zeros = [_envoy(rng, 10 + i % 3, 0) for i in range(800)]
    zeros[400] = _envoy(rng, 11, 5)  # a median of 0 gives no scale to judge by
    assert _bare(zeros) == []


def test_bare_column_needs_a_plain_number_on_every_line() -> None:
    rng = random.Random(6)
    lines = [
        f"2026-11-25 10:00:{i % 60:02d} job step {rng.choice(['7', 'x7'])} done {rng.randint(4, 30)}"
        for i in range(400)
    ]
    lines[200] = "2026-11-25 10:00:00 job step 7 done 9000"
    assert [i for i, _ in _bare(lines)] == [200]
    lines = [f"2026-11-25 10:00:{i % 60:02d} job step {rng.randint(4, 30)} done" for i in range(400)]
    lines[100] = "2026-11-25 10:00:00 job step 9000a done"  # not a number: the column is no series
    lines[200] = "2026-11-25 10:00:00 job step 9000 done"
    assert _bare(lines) == []


def test_rounding_above_a_zero_median_is_no_outlier() -> None:
    rng = random.Random(8)
    lines = [
        f"[2026-11-25T08:00:{i % 60:02d}] GC({i}) User={rng.uniform(0.03, 0.09):.2f}s Sys=0.00s"
        for i in range(300)
    ]
    lines[100] = "[2026-11-25T08:00:00] GC(100) User=0.05s Sys=0.01s"
    index = LineIndex("\n".join(lines))
    groups = group(templates_of(index.scan_lines, index.lowered))
    assert template_outliers(index, groups) == []
    lines[200] = "[2026-11-25T08:00:00] GC(200) User=0.05s Sys=0.42s"
    index = LineIndex("\n".join(lines))
    groups = group(templates_of(index.scan_lines, index.lowered))
    assert [i for i, _ in template_outliers(index, groups)] == [200]


def _w3c(rng: random.Random, status: int, query: str = "-") -> str:
    return (
        f"2026-11-25 06:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} 10.20.0.15 "
        f"GET /api/orders {query} 443 - "
        f"10.20.{rng.randint(1, 40)}.{rng.randint(2, 250)} Mozilla/5.0+(Windows+NT+10.0) - {status} 0 0 "
        f"{rng.randint(200, 60000)} {rng.randint(300, 1800)} {rng.randint(5, 90)}"
    )


def test_w3c_server_error_found_by_its_status_column() -> None:
    rng = random.Random(10)
    head = ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
            "cs(User-Agent) "
            "cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken"]  # fmt: skip
    body = [_w3c(rng, 200, f"id={rng.randint(1, 9999)}") for _ in range(2000)]
    body[1234] = _w3c(rng, 500, "id=4242")  # the same template as the 200s: only the column says it failed
    lines = head + body
    r = logs.compress("\r\n".join(lines) + "\r\n", _ctx(900))
    assert "id=4242" in r.text and "1 error line" in r.text
    # Without a #Fields header the column means nothing: no error is claimed.
    r = logs.compress("\n".join(body), _ctx(900))
    assert "error line" not in r.text


def test_a_burst_of_one_error_is_one_line_with_its_count() -> None:
    rng = random.Random(12)
    lines = []
    for i in range(4000):
        status, rt = (502, 30 + rng.random()) if 2000 <= i < 2040 else (200, rng.uniform(0.01, 0.2))
        lines.append(
            f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)} - - "
            f"[25/Nov/2026:11:{i // 60 % 60:02d}:{i % 60:02d} +0000] "
            f'"GET /api/v1/checkout HTTP/1.1" {status} 157 "-" "curl/8.5" rt={rt:.3f}'
        )
    r = logs.compress("\n".join(lines), _ctx(2000))
    assert sum(1 for line in r.text.splitlines() if '" 502 ' in line) == 1
    assert "(×40 like this, last at line 2,040)" in r.text


@pytest.mark.parametrize("kv", [True, False])
def test_templates_of_equals_template_of_line_by_line(kv: bool) -> None:
    # templates_of skips its keyed-value and blank-run passes when the text holds none: same templates.
    rng = random.Random(13)
    sep = "=" if kv else " "
    tails = ["", "  aligned", "\tx"] if kv else [""]  # blank runs only with the keyed values
    lines = [
        f"10:00:{i % 60:02d} INFO w{rng.randint(1, 9)} user{sep}{rng.choice(['ann', 'bob'])} "
        f"took{sep}{rng.randint(1, 99)} {rng.choice(tails)}"
        for i in range(300)
    ]
    assert templates_of(lines) == [template_of(line) for line in lines]
