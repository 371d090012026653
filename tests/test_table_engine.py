"""The table engine: header, unhealthy rows, numeric outliers, query matches, counts of the rest."""

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
from headroom_middleware.engines.text import _table_parse, _table_rows, table

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "fixtures" / "generated"
FIXTURES = ("kubectl_get_pods_all.txt", "ps_aux.txt", "docker_ps_a.txt", "orders_export.csv")


def _read(name: str) -> str:
    return (GENERATED / name).read_bytes().decode("utf-8", "surrogateescape")


def _needles(name: str) -> list[str]:
    entries = json.loads((GENERATED / "needles_search_diff_table.json").read_text("utf-8"))
    return next(e["needles"] for e in entries if e["file"] == name)


def _ctx(max_tokens: int = 4000, query: str | None = None, counter: Any = estimate_tokens) -> Context:
    return Context(max_tokens=max_tokens, count_tokens=counter, query=query)


def _rows(out: str) -> list[str]:
    return [line for line in out.split("\n") if not line.startswith(("[… ", _markers.MARKER_PREFIX))]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_is_detected_and_needles_visible(name: str) -> None:
    text = _read(name)
    assert detect(text) == "table"
    out = table.compress(text, _ctx())
    assert out.strategy == "table:rows"
    missing = [n for n in _needles(name) if n not in out.text]
    assert not missing
    assert estimate_tokens(out.text) <= 4000 < estimate_tokens(text)


def test_kubectl_keeps_unhealthy_pods_and_the_restart_outlier_only() -> None:
    text = _read("kubectl_get_pods_all.txt")
    lines = text.split("\n")
    out = table.compress(text, _ctx()).text
    kept = _rows(out)
    assert kept[0] == lines[0]  # the header
    for status in ("CrashLoopBackOff", "Pending", "ImagePullBackOff", "OOMKilled", "Error", "Evicted"):
        assert sum(status in row for row in kept) == 1, status
    assert any("fraud-scorer-84c6d7f9b-t8w3z" in row and "57 (41m ago)" in row for row in kept)
    ordinary_restarts = [row for row in kept[4:] if " Running " in row and "fraud-scorer" not in row]
    assert not ordinary_restarts  # 1-3 restarts among zeros are not outliers
    assert "Running rows omitted …]" in out


def test_ps_aux_keeps_zombie_cpu_hog_and_memory_hog() -> None:
    out = table.compress(_read("ps_aux.txt"), _ctx()).text
    assert "<defunct>" in out
    assert "rebuild_index.py --full" in out
    assert "postgres: analytics analytics" in out
    assert len(_rows(out)) <= 1 + table.SAMPLE_ROWS + 4


def test_docker_exit_zero_is_not_trouble_but_137_is() -> None:
    def line(cid: str, image: str, status: str, name: str) -> str:
        return f"{cid:<15}{image:<10}{status:<28}{name}"

    rows = [line(f"{i:012x}", "redis:7", f"Up {i % 9 + 1} days", f"cache_{i}") for i in range(80)]
    rows[10] = line("00000000aaaa", "job:1", "Exited (0) 3 hours ago", "nightly_ok")
    rows[50] = line("00000000bbbb", "job:1", "Exited (137) 3 hours ago", "nightly_killed")
    text = "\n".join([line("CONTAINER ID", "IMAGE", "STATUS", "NAMES"), *rows]) + "\n"
    assert detect(text) == "table"
    out = table.compress(text, _ctx(300)).text
    assert "nightly_killed" in out
    assert "nightly_ok" not in out
    assert estimate_tokens(out) <= 300


def test_csv_keeps_failed_orders_and_the_amount_outlier() -> None:
    text = _read("orders_export.csv")
    out = table.compress(text, _ctx()).text
    assert out.split("\n")[0] == text.split("\n")[0]
    assert ",failed," in out and ",payment_declined," in out and ",48250.00," in out
    assert "delivered, " in out  # gaps count the statuses they stand for


def test_ls_l_keeps_the_huge_file_and_query_matches() -> None:
    rows = ["total 4096"]
    for i in range(300):
        size = 1000 + (i * 37) % 900
        rows.append(f"-rw-r--r--  1 app app {size:>10} Nov 25 09:{i % 60:02d} report_{i:03d}.csv")
    rows[120] = "-rw-r--r--  1 app app 9876543210 Nov 25 09:00 core.dump"
    text = "\n".join(rows) + "\n"
    assert table.looks_like(text[:4096])
    out = table.compress(text, _ctx(400, query="where is report_217?")).text
    assert "core.dump" in out
    assert "report_217.csv" in out
    assert estimate_tokens(out) <= 400


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("budget", [80, 250, 1000])
def test_budget_is_a_hard_cap_with_the_real_tokenizer(name: str, budget: int, o200k: Any) -> None:
    def count(s: str) -> int:
        return len(o200k.encode(s, disallowed_special=()))

    out = table.compress(_read(name), _ctx(budget, counter=count))
    assert count(out.text) <= budget
    assert _markers.carries_marker(out.text)


@pytest.mark.parametrize("name", FIXTURES)
def test_original_is_stored_byte_exact_and_rows_are_whole(name: str) -> None:
    text = _read(name)
    out = table.compress(text, _ctx())
    ((key, payload),) = out.originals
    assert payload == (GENERATED / name).read_bytes()
    assert key == make_key(payload)
    assert _markers.marker_keys(out.text) == [key]
    originals = set(text.split("\n"))
    assert all(row in originals for row in _rows(out.text))


def test_non_utf8_bytes_round_trip() -> None:
    raw = (
        b"NAME      STATUS    NOTE\n"
        + b"".join(b"pod-%03d   Running   caf\xe9 ok\n" % i for i in range(400))
        + b"pod-999   Failed    caf\xe9 broke\n"
    )
    text = raw.decode("utf-8", "surrogateescape")
    out = table.compress(text, _ctx(200))
    ((_, payload),) = out.originals
    assert payload.decode("utf-8", "surrogatepass").encode("utf-8", "surrogateescape") == raw
    assert "pod-999" in out.text


def test_passthrough_under_budget_and_when_not_lossy() -> None:
    small = "NAME   READY   STATUS\napi-1  1/1     Running\napi-2  1/1     Running\n"
    out = table.compress(small, _ctx())
    assert (out.text, out.strategy, out.originals) == (small, "passthrough", ())
    big = _read("kubectl_get_pods_all.txt")
    out = table.compress(big, Context(max_tokens=100, count_tokens=estimate_tokens, lossy=False))
    assert (out.text, out.originals) == (big, ())


def test_deterministic_across_processes() -> None:
    here = table.compress(_read("ps_aux.txt"), _ctx(500)).text
    code = (
        "import sys\n"
        "from headroom_middleware import estimate_tokens\n"
        "from headroom_middleware.engines import Context\n"
        "from headroom_middleware.engines.text import table\n"
        f"text = open({str(GENERATED / 'ps_aux.txt')!r}, encoding='utf-8').read()\n"
        "sys.stdout.write(table.compress(text, Context(max_tokens=500, count_tokens=estimate_tokens)).text)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert there.stdout == here


@pytest.mark.parametrize(
    "head",
    [
        "NAMESPACE     NAME          READY   STATUS    RESTARTS   AGE\n"
        "kube-system   coredns-1     1/1     Running   0          3d\n"
        "default       api-7         0/1     Pending   0          2m\n",
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
        "root           1  0.0  0.1 168940 13120 ?        Ss   Nov20   0:12 /sbin/init splash\n"
        "root           2  0.0  0.0      0     0 ?        S    Nov20   0:00 [kthreadd]\n",
        "total 12\ndrwxr-xr-x 2 a a 4096 Nov 25 09:00 bin\n-rw-r--r-- 1 a a  220 Nov 25 09:00 .bashrc\n",
        'id,name,amount\n1,alpha,3.5\n2,beta,4.0\n3,"gamma, delta",7.25\n',
        "id\tname\tamount\n1\talpha\t3.5\n2\tbeta\t4.0\n",
    ],
)
def test_looks_like_tables(head: str) -> None:
    assert table.looks_like(head)


@pytest.mark.parametrize(
    "head",
    [
        '[{"name": "a", "status": "Running"}, {"name": "b", "status": "Failed"}]',
        '{"items": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}',
        "2026-03-04 10:00:00,123 INFO server started\n2026-03-04 10:00:01,456 WARN slow query\n"
        "2026-03-04 10:00:02,789 ERROR upstream timeout\n",
        "INFO Starting Server Now\nconnecting to db at 10.0.0.1:5432\nlistening on :8080 with 8 workers\n",
        "src/app.py:12:import os\nsrc/app.py:40:    os.getenv('X')\nlib/util.py:3:from os import path\n",
        "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        "FAILED tests/test_a.py::test_one - AssertionError: 1 != 2\n"
        "FAILED tests/test_b.py::test_two - KeyError: 'x'\n== 2 failed, 10 passed in 0.52s ==\n",
    ],
)
def test_looks_like_rejects_other_kinds(head: str) -> None:
    assert not table.looks_like(head)


def test_corpus_payloads_are_not_tables() -> None:
    for path in sorted((ROOT / "fixtures" / "corpus").glob("*")):
        if path.suffix == ".md" or path.name.startswith("needles"):
            continue
        head = path.read_bytes().decode("utf-8", "surrogateescape")[:4096]
        assert not table.looks_like(head), path.name


def test_df_keeps_the_nearly_full_filesystem() -> None:
    rows = ["Filesystem      Size  Used Avail Use% Mounted on"]
    for i in range(200):
        size, use = f"{55 + i % 9}M", f"{(i * 7) % 60 + 5}%"
        rows.append(f"{f'/dev/loop{i}':<14}{size:>6}{size:>6}{'0':>6}{use:>5} /snap/x/{i}")
    rows[77] = "/dev/nvme0n1p2  915G  899G   16G  99% /"
    text = "\n".join(rows) + "\n"
    assert detect(text) == "table"
    out = table.compress(text, _ctx(300)).text
    assert "/dev/nvme0n1p2  915G  899G   16G  99% /" in out
    assert estimate_tokens(out) <= 300


def test_lines_the_engine_cannot_place_never_break_the_budget() -> None:
    head = "NAME      STATUS    AGE"
    rows = [f"pod-{i:04d}  Running   {i % 50}d" for i in range(300)]
    tail = [f"warning: something odd happened on line {i} of the report" for i in range(300)]
    text = "\n".join([head, *rows, "", *tail]) + "\n"
    out = table.compress(text, _ctx(250))
    assert estimate_tokens(out.text) <= 250
    assert out.text.startswith(head)


_TABLE_LINES = st.one_of(
    st.builds(
        lambda n, s, r: f"pod-{n:<6}  1/1     {s:<18}{r}",
        st.integers(0, 99999),
        st.sampled_from(["Running", "CrashLoopBackOff", "Pending", "Completed", "Exited (1) 2m ago"]),
        st.integers(0, 10**6),
    ),
    st.builds(lambda a, b: f"{a},{b},ok", st.integers(), st.floats(allow_nan=True)),
    st.just(""),
    st.text(max_size=60),
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["NAME        READY   STATUS            RESTARTS", "id,value,status"]),
    st.lists(_TABLE_LINES, min_size=1, max_size=150),
    st.integers(120, 1500),
    st.none() | st.text(max_size=20),
)
def test_any_input_keeps_the_contract(header: str, lines: list[str], budget: int, query: str | None) -> None:
    text = "\n".join([header, *lines])
    out = table.compress(text, _ctx(budget, query=query))
    assert estimate_tokens(out.text) <= budget or out.strategy == "passthrough"
    assert out == table.compress(text, _ctx(budget, query=query))
    if out.strategy == "passthrough":
        assert out.text == text
    else:
        ((key, payload),) = out.originals
        assert payload == text.encode("utf-8", "surrogatepass") and key == make_key(payload)
    if out.strategy == "table:rows":  # (input that is not table output goes to the generic engine)
        originals = set(text.split("\n"))
        assert all(line in originals for line in _rows(out.text))


def test_binary_looking_csv_does_not_raise() -> None:
    rows = ["id,name,status"] + [f'{i},"x\rz\x00",ok' for i in range(500)] + ['501,"a",failed']
    text = "\n".join(rows)
    assert table.looks_like(text[:4096]) in (True, False)
    out = table.compress(text, _ctx(300))
    assert estimate_tokens(out.text) <= 300


def test_many_rows_of_one_bad_status_do_not_hide_another() -> None:
    def line(name: str, ready: str, status: str, restarts: str = "0") -> str:
        return f"{name:<14}{ready:<8}{status:<19}{restarts}"

    rows = [line(f"web-{i:05d}", "1/1", "Running") for i in range(300)]
    rows += [line(f"batch-{i:04d}", "0/1", "Evicted") for i in range(200)]
    rows.append(line("db-0", "0/1", "CrashLoopBackOff", "12"))
    text = "\n".join([line("NAME", "READY", "STATUS", "RESTARTS"), *rows])
    assert detect(text) == "table"
    out = table.compress(text, _ctx(400)).text
    assert estimate_tokens(out) <= 400
    assert "db-0" in out
    assert "batch-0000" in out


# --- shapes of ``fixtures/generate_tables_wild.py``: headers after a title or a summary block, indented
# headers, single-space-separated column names, CSV records spanning lines, decimal commas ---

WILD = (
    "tables_wild_kubectl_wide.txt",
    "tables_wild_systemctl_units.txt",
    "tables_wild_top.txt",
    "tables_wild_netstat.txt",
    "tables_wild_tickets.csv",
)


def _wild_needles(name: str) -> list[str]:
    entries = json.loads((GENERATED / "needles_tables_wild.json").read_text("utf-8"))
    return next(e["needles"] for e in entries if e["file"] == name)


@pytest.mark.parametrize("name", WILD)
def test_wild_fixture_is_a_table_with_its_needles_visible(name: str) -> None:
    text = _read(name)
    assert detect(text) == "table"
    out = table.compress(text, _ctx())
    assert out.strategy == "table:rows"
    assert [n for n in _wild_needles(name) if n not in out.text] == []
    assert estimate_tokens(out.text) <= 4000


def _netstat(rows: list[tuple[int, int, str, str]]) -> str:
    lines = [
        "Active Internet connections (servers and established)",
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name",
    ]
    for recv, send, foreign, state in rows:
        lines.append(
            f"tcp   {recv:>6} {send:>6} {'10.0.3.17:40000':<23} {foreign:<23} {state:<11} 2300/python3"
        )
    return "\n".join(lines) + "\n"


def test_header_after_a_title_line_and_names_set_off_by_one_space() -> None:
    rows = [(0, 0, f"10.0.5.{i % 200}:5432", "ESTABLISHED") for i in range(300)]
    text = _netstat(rows)
    assert table.looks_like(text[:4096])
    kinds, (tab,) = _table_parse.parse(text.split("\n")[:-1])
    assert kinds[0] == _table_parse.OTHER and kinds[1] == _table_parse.HEADER
    # Recv-Q and Send-Q line up with the rows, so they are columns; "Address" does not, so it is part
    # of a two-word name.
    assert tab.names == [
        "Proto",
        "Recv-Q",
        "Send-Q",
        "Local Address",
        "Foreign Address",
        "State",
        "PID/Program name",
    ]
    assert tab.fields[0][1:3] == ["0", "0"]


def test_multi_word_names_that_do_not_line_up_stay_one_column() -> None:
    header = "CONTAINER ID   IMAGE     NOMINATED NODE   STATUS"
    rows = [f"{i:012x}   redis:7   <none>           Up {i % 9 + 1} days" for i in range(40)]
    rows[5] = f"{5:012x}   redis:7   ip-10-0-33-87    Up 2 days"
    assert [header[s:e] for s, e in _table_parse._header_columns(header, rows)] == [
        "CONTAINER ID",
        "IMAGE",
        "NOMINATED NODE",
        "STATUS",
    ]


def test_mostly_zero_column_keeps_only_the_value_far_above_its_non_zero_values() -> None:
    rows = [(0, 0, f"10.0.5.{i % 200}:5432", "ESTABLISHED") for i in range(600)]
    for i in range(0, 600, 9):
        rows[i] = (32, 0, "10.0.8.12:9091", "CLOSE_WAIT")  # a population of its own, not 67 outliers
    for i in range(3, 600, 11):
        rows[i] = (0, 1000 + i * 5, f"10.0.6.{i % 200}:443", "ESTABLISHED")  # Send-Q: a spread, no outlier
    rows[301] = (4194304, 0, "10.0.7.201:9092", "ESTABLISHED")
    text = _netstat(rows)
    lines = text.split("\n")[:-1]
    _, (tab,) = _table_parse.parse(lines)
    assert [lines[i] for i in _table_rows.outlier_rows(tab)] == [lines[2 + 301]]


def test_zeros_do_not_widen_the_spread_enough_to_hide_an_outlier() -> None:
    header = "id;customer;amount"
    rows = [
        f"{i};c{i % 7};{'0,00' if i % 3 == 0 else f'{20 + (i * 37) % 500},{i % 100:02d}'}" for i in range(600)
    ]
    rows[444] = "444;c3;48.750,00"
    text = "\n".join([header, *rows]) + "\n"
    lines = text.split("\n")[:-1]
    _, (tab,) = _table_parse.parse(lines)
    assert [lines[i] for i in _table_rows.outlier_rows(tab)] == ["444;c3;48.750,00"]


@pytest.mark.parametrize(
    ("cell", "value"),
    [("1.234,56", 1234.56), ("19,99", 19.99), ("12,345.67", 12345.67), ("1,234", 1234.0), ("-0,5", -0.5)],
)
def test_numbers_with_separators(cell: str, value: float) -> None:
    assert _table_rows._number(cell) == pytest.approx(value)


def test_numbers_with_separators_reject_other_text() -> None:
    assert [_table_rows._number(c) for c in ("1,2,3", "12.34.56,7", "a,1", "10.0.3.17:443")] == [None] * 4


def test_csv_record_with_line_breaks_in_quotes_is_one_row_kept_whole() -> None:
    header = '"Ticket";"Description";"Status";"Amount"'
    rows = [
        f'"T-{i}";"Customer called; see notes, twice.\nSecond line {i}";"Closed";"{i % 90},00"'
        for i in range(400)
    ]
    rows[250] = '"T-250";"Outage since 02:00;\nerror ERR-7731 from the tax API";"Escalated";"49,00"'
    text = "\r\n".join([header, *rows]) + "\r\n"
    assert table.looks_like(text[:4096])
    out = table.compress(text, _ctx(300)).text
    assert (
        '"T-250";"Outage since 02:00;\nerror ERR-7731 from the tax API";"Escalated";"49,00"'
        in out.replace("\r", "")
    )
    assert "[… " in out and "Closed rows omitted" in out
    assert estimate_tokens(out) <= 300


def test_delimited_status_is_the_whole_cell() -> None:
    header = "id,status"
    rows = [f"{i},{'Waiting on customer' if i % 2 else 'In progress'}" for i in range(300)]
    rows[7] = "7,Waiting on bank"  # rare, and not healthy: worth showing
    text = "\n".join([header, *rows]) + "\n"
    out = table.compress(text, _ctx(120)).text
    assert "7,Waiting on bank" in out
    assert "Waiting on customer" in out.split("\n", 1)[1]  # gaps name the statuses they stand for


def _top(states: list[str]) -> str:
    head = [
        "top - 05:20:19 up 41 days,  3:12,  2 users,  load average: 6.41, 5.98, 5.73",
        "Tasks: 400 total,   1 running, 398 sleeping,   0 stopped,   1 zombie",
        "MiB Mem :  64215.3 total,   3121.8 free,  41234.5 used,  19859.0 buff/cache",
        "",
        "    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND",
    ]
    body = [
        f"{100 + i:>7} app       20   0 {900000 + i:>7} {40000 + i * 7:>6} {9000:>6} {s} "
        f"{0.3:>5.1f} {0.1:>5.1f} {'1:02.33':>9} worker --id {i}"
        for i, s in enumerate(states)
    ]
    return "\n".join(head + body) + "\n"


def test_top_header_after_a_summary_block_and_process_states() -> None:
    states = ["S"] * 400
    states[10], states[20], states[30], states[40] = "R", "I", "D", "Z"  # R and I rare, but normal
    text = _top(states)
    assert detect(text) == "table"
    out = table.compress(text, _ctx(300)).text
    assert out.startswith("top - 05:20:19")
    assert "worker --id 30" in out and "worker --id 40" in out
    assert "worker --id 10\n" not in out and "worker --id 20\n" not in out


def test_systemctl_indented_header_and_active_column() -> None:
    header = "  UNIT                      LOAD      ACTIVE     SUB          DESCRIPTION"

    def row(unit: str, active: str, sub: str, mark: str = " ") -> str:
        return f"{mark} {unit:<25} loaded    {active:<10} {sub:<12} Some unit {unit}"

    rows = [
        row(f"svc-{i}.service", *(("active", "running") if i % 3 else ("inactive", "dead")))
        for i in range(300)
    ]
    rows[100] = row("pg-backup.service", "failed", "failed", "●")
    rows[200] = row("kafka-connect.service", "activating", "auto-restart")
    text = "\n".join([header, *rows, "", "300 loaded units listed."]) + "\n"
    assert detect(text) == "table"
    out = table.compress(text, _ctx(300)).text
    assert "pg-backup.service" in out and "kafka-connect.service" in out
    assert "inactive" in out  # in the gap counts, not as rows
    assert sum("dead" in line for line in _rows(out)) <= table.SAMPLE_ROWS
    assert "300 loaded units listed." in out


def test_ss_addresses_aligned_on_the_colon_and_glued_header() -> None:
    lines = ["Netid State  Recv-Q Send-Q      Local Address:Port       Peer Address:PortProcess"]
    for i in range(300):
        peer = f"10.0.{i % 9}.{i % 250 + 2}"
        lines.append(
            f"tcp   ESTAB  0      0      {'10.0.3.17':>18}:{40000 + i:<6} {peer:>18}:{'5432':<5}"
            f'users:(("python3",pid={2300 + i % 8},fd={i + 10}))'
        )
    lines[150] = lines[150].replace("ESTAB ", "SYN-SENT", 1)
    text = "\n".join(lines) + "\n"
    assert detect(text) == "table"
    out = table.compress(text, _ctx(200)).text
    assert lines[150] in out


def test_a_log_quoting_a_table_is_not_a_table() -> None:
    table_part = ["NAME      READY   STATUS", "api-1     1/1     Running", "api-2     1/1     Running", ""]
    log = [f"2026-03-04 10:00:{i % 60:02d},123 INFO request {i} served in {i % 40} ms" for i in range(40)]
    assert not table.looks_like("\n".join(["deploy report", "", *table_part, *log]))


def test_a_second_mode_is_not_a_crowd_of_outliers_but_a_value_far_above_it_is() -> None:
    rows = [f"obj-{i},{10 + i % 7},stored" for i in range(600)]
    for i in range(0, 600, 10):
        rows[i] = f"obj-{i},{1000 + i},stored"  # 60 big objects: a mode of their own
    rows[123] = "obj-123,90000000,stored"
    lines = ["name,bytes,status", *rows]
    _, (tab,) = _table_parse.parse(lines)
    assert [lines[i] for i in _table_rows.outlier_rows(tab)] == ["obj-123,90000000,stored"]


def test_listening_sockets_are_not_trouble_however_few() -> None:
    rows = [(0, 0, f"10.0.5.{i % 200}:5432", "ESTABLISHED") for i in range(300)]
    for i in range(0, 300, 100):  # as rare as a status that is trouble
        rows[i] = (0, 0, "0.0.0.0:*", "LISTEN")
    rows[77] = (0, 1, "10.0.9.66:6380", "SYN_SENT")
    lines = _netstat(rows).split("\n")[:-1]
    _, (tab,) = _table_parse.parse(lines)
    bad, _ = _table_rows.unhealthy_rows(tab, lines)
    assert [lines[i] for i in bad] == [lines[2 + 77]]


def _drawn(style: str) -> tuple[str, str]:
    """A 600-row query result as mysql (``+--+`` borders), psql (``(N rows)``) or markdown print it."""
    rows = [
        f"| {i:>4} | {f'user{i}@example.com':<24} | {'active':<9} | {10 + i % 90:>8.2f} |" for i in range(600)
    ]
    rows[400] = f"| {400:>4} | {'fraud@example.com':<24} | {'suspended':<9} | {88000:>8.2f} |"
    header = f"| {'id':<4} | {'email':<24} | {'status':<9} | {'amount':<8} |"
    if style == "mysql":
        border = "+------+--------------------------+-----------+----------+"
        return "\n".join([border, header, border, *rows, border, "600 rows in set (0.01 sec)"]) + "\n", border
    if style == "markdown":
        rule = "|-----:|--------------------------|-----------|---------:|"
        return "\n".join([header, rule, *rows]) + "\n", rule
    rule = "------+--------------------------+-----------+----------"
    strip = [line[2:-2] for line in [header, *rows]]
    return "\n".join([strip[0], rule, *strip[1:], "(600 rows)"]) + "\n", rule


@pytest.mark.parametrize("style", ["mysql", "psql", "markdown"])
def test_drawn_query_results_borders_and_footer_are_text_not_rows(style: str) -> None:
    text, border = _drawn(style)
    assert detect(text) == "table"
    lines = text.split("\n")[:-1]
    kinds, (tab,) = _table_parse.parse(lines)
    assert len(tab.rows) == 600
    assert [kinds[i] for i, line in enumerate(lines) if line == border or "rows" in line] == [
        _table_parse.OTHER
    ] * ({"mysql": 4, "psql": 2, "markdown": 1}[style])
    out = table.compress(text, _ctx(300)).text
    assert "fraud@example.com" in out and (style == "markdown" or lines[-1] in out)
    assert "1 unhealthy, 1 outlier" in out  # the suspended row, and nothing else counted as trouble


def test_header_with_a_lone_slash() -> None:
    header = "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   PIDS"
    rows = [
        f"{i:012x}   svc_{i:<5} {0.5 + i % 3:<9.2f} {f'{200 + i}MiB / 7.6GiB':<19} {5 + i % 7}"
        for i in range(300)
    ]
    assert table.looks_like("\n".join([header, *rows])[:4096])


@pytest.mark.parametrize(
    "preamble", ["", "\ufeff", "sep=;\r\n", "\ufeffsep=;\r\n", "Orders export, 2026-11-30\r\n"]
)
def test_csv_with_a_byte_order_mark_an_excel_hint_or_a_title(preamble: str) -> None:
    rows = [f'"{i}";"cus_{i % 97}";"delivered";"{20 + i % 50},00"' for i in range(500)]
    rows[321] = '"321";"cus_7";"payment declined";"31,00"'
    text = preamble + "\r\n".join(['"order";"customer";"status";"amount"', *rows]) + "\r\n"
    assert detect(text) == "table"
    _, (tab,) = _table_parse.parse(text.split("\n")[:-1])
    assert tab.names == ["order", "customer", "status", "amount"]
    out = table.compress(text, _ctx(200)).text
    assert '"321";"cus_7";"payment declined";"31,00"' in out
    assert preamble.strip("\ufeff\r\n") in out  # a title or hint line is text around the table


def test_a_table_ending_in_a_one_line_block_does_not_raise() -> None:
    rows = [f"svc-{i:03d}    running   {i % 7}d" for i in range(300)]
    text = "\n".join(["NAME       STATUS    AGE", *rows, "", "300 units"])
    assert "300 units" in table.compress(text, _ctx(100)).text


def _events(rows: list[tuple[str, str, str]]) -> list[str]:
    """``kubectl get events``-like lines: TYPE, REASON, OBJECT, MESSAGE left-aligned under the header."""
    header = f"{'TYPE':<9}{'REASON':<14}{'OBJECT':<14}MESSAGE"
    return [header, *(f"{t:<9}{r:<14}{o:<14}message of {o}" for t, r, o in rows)]


def test_trouble_rows_with_a_rare_category_come_first() -> None:
    rows = [("Normal", "Started", f"pod/a{i}") for i in range(400)]
    for i in range(5, 400, 7):
        rows[i] = ("Warning", "Unhealthy", f"pod/b{i}")  # a recurring warning, seen every minute
    rows[390] = ("Warning", "FailedMount", "pod/c390")  # the one that differs, late in the table
    lines = _events(rows)
    _, (tab,) = _table_parse.parse(lines)
    bad, _ = _table_rows.unhealthy_rows(tab, lines)
    assert len(bad) == 1 + len(range(5, 400, 7)) - (390 in range(5, 400, 7))
    assert "FailedMount" in lines[bad[0]]
    assert bad[1:] == sorted(bad[1:])  # the rest keep their order


def test_a_rare_trouble_row_survives_a_tight_budget() -> None:
    rows = [("Normal", "Started", f"pod/a{i}") for i in range(1500)]
    for i in range(5, 1500, 9):
        rows[i] = ("Warning", "Unhealthy", f"pod/b{i}")
    rows[1401] = ("Warning", "FailedMount", "pod/c1401")
    text = "\n".join(_events(rows)) + "\n"
    out = table.compress(text, _ctx(600))
    assert "pod/c1401" in out.text


def test_an_empty_cell_in_a_column_every_other_row_fills_is_kept() -> None:
    rows = [f"{i},user{i}@example.com,{10 + i % 90}.50,{'gift' if i % 3 == 0 else ''}" for i in range(500)]
    rows[321] = "321,user321@example.com,,"  # NULL amount; the note column is often empty: no signal
    lines = ["id,email,amount,note", *rows]
    _, (tab,) = _table_parse.parse(lines)
    assert [lines[i] for i in _table_rows.missing_rows(tab)] == ["321,user321@example.com,,"]


def test_null_spelt_out_counts_as_missing_but_a_sparse_column_does_not() -> None:
    rows = [f"{i},{'x' if i % 2 else ''},{i * 3}" for i in range(300)]
    rows[7] = "7,x,NULL"
    lines = ["id,flag,size", *rows]
    _, (tab,) = _table_parse.parse(lines)
    assert [lines[i] for i in _table_rows.missing_rows(tab)] == ["7,x,NULL"]


def _vmstat(rows: int, wide_from: int = 0) -> str:
    out = [
        "procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----",
        " r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st",
    ]
    for k in range(rows):
        free = 12619664 if k >= wide_from else 812345  # 8 digits outgrow the 6-wide column
        wa = 87 if k == rows - 20 else k % 2
        out.append(
            f"{k % 3:2d} {0:2d} {0:6d} {free:6d} {412344:6d} {872664:6d} {0:4d} {0:4d} {k % 50:5d} "
            f"{300 + k % 9:5d} {900:4d} {1500:4d} {5:2d} {1:2d} {94 - wa:2d} {wa:2d} {0:2d}"
        )
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("wide_from", [0, 10**9])
def test_lowercase_names_over_rows_of_numbers_are_a_table(wide_from: int) -> None:
    text = _vmstat(300, wide_from)
    assert table.looks_like(text[:4096])
    _, (tab,) = _table_parse.parse(text.split("\n")[:-1])
    assert tab.names[-5:] == ["us", "sy", "id", "wa", "st"]
    assert len(tab.rows) == 300
    lines = text.split("\n")
    assert [lines[i] for i in _table_rows.outlier_rows(tab)] == [lines[2 + 280]]


def test_lowercase_names_over_prose_are_not_a_table() -> None:
    text = "name  value  note\n" + "".join(f"alpha{i}  beta gamma  delta epsilon\n" for i in range(40))
    assert not table.looks_like(text)
