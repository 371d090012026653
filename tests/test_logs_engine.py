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
from headroom_middleware.engines.text import logs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOG_FIXTURES = sorted((FIXTURES / "generated").glob("log_*.txt"))


def _needles() -> dict[str, list[str]]:
    entries = json.loads((FIXTURES / "generated" / "needles_text.json").read_text("utf-8"))
    return {e["file"]: e["needles"] for e in entries}


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
