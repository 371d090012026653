"""The log engine: lines grouped by template, errors and stack traces first, rare lines and outliers kept.

Recognised by timestamp/level/source prefixes (ISO 8601, syslog, glog/klog, Apache/nginx, logfmt,
JSON-ish lines, logcat, HDFS/Spark, level-first formats, a level word near the line start). Over the
budget it shows, most important first: the first and last lines; every FATAL/ERROR line and stack trace,
one per template with its count (a trace is one unit: header, first and last frames, first and last
frames in the application's own code, exception line and causes; an access log's 5xx, from its
``"GET /x HTTP/1.1" 502`` or a W3C log's ``sc-status`` column, a burst of one as one line with its count);
lines matching the query; numeric outliers (a duration or size far above the rest of its template,
median/MAD, also a unit-less number column such as Envoy's duration); rows that break a block of
alike rows; warnings and other error-signal lines, one per template; every line whose template is rare;
then each remaining template once with its count and the line where it was last seen; then last
occurrences and context near both ends. Gap markers show where lines were left out and the closing
marker names the key of the original.

Multi-line records stay whole: indented lines under a log line (PostgreSQL's tab-continued DETAIL and
statements, autovacuum reports) are shown with it, once per shape unless the record matters (an error, a
rare detail, a query match); an error line brings the lines stamped like it (``DETAIL:``, ``HINT:``,
``STATEMENT:``). Lines are analysed without a per-stream prefix (``web-1  | ``, ``[pod/x/c] ``), so that
traces printed through ``docker compose`` or ``kubectl logs --prefix`` are still traces. A table the log
prints (an OOM kill's task list) counts as one rare thing, not one per row.
"""

from __future__ import annotations

import re

from .._base import Compressed, Context
from ._fit import Selection, plural, spread, stored_original, within_budget
from ._groups import FREQUENT, deviant_lines, distinct_lines, edge_lines, group
from ._logs_shapes import w3c_server_errors, without_stream_prefix, without_table_rows
from ._outliers import bare_number_outliers, template_outliers
from ._templates import templates_of
from ._textlines import LineIndex, split_lines, strip_colors
from ._traces import Trace, find_traces

_PREFIX_RE = re.compile(
    r"""\s{0,4}(?:
        \[?\d{4}[-/.]\d{2}[-/.]\d{2}[T\ _]\d{1,2}:\d{2}          # ISO 8601 and its cousins
      | \[?\d{1,2}/\w{3}/\d{4}[:\ ]\d{2}:\d{2}                  # 10/Oct/2000:13:55:36
      | \[?\w{3},?\ \d{1,2}\ \w{3}\ \d{4}\ \d{2}:\d{2}          # RFC 2822
      | \[?[A-Z][a-z]{2}\ +\d{1,2}\ \d{2}:\d{2}:\d{2}           # syslog: Mar  3 10:00:00
      | \[?\d{2}:\d{2}:\d{2}                                    # time only
      | [IWEF]\d{4}\ +\d{2}:\d{2}:\d{2}                         # glog
      | \[?\d{10}(?:\.\d+)?[\]\s]                               # epoch seconds
      | \[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)\]?[\s:]
      | (?:time|ts|timestamp|level|lvl)=                        # logfmt
      | \{.*"(?:level|severity|msg|message|time|timestamp|ts|@timestamp)"\s*:   # JSON lines
      | \d{1,3}(?:\.\d{1,3}){3}\ \S+\ \S+\ \[                   # access logs
      | \d{2}-\d{2}\ \d{2}:\d{2}:\d{2}                          # logcat: 01-15 10:23:45.123
      | [A-Z][a-z]{2}\ \d{1,2},\ \d{4}\ \d{1,2}:\d{2}:\d{2}     # java.util.logging: Jan 15, 2024 10:00:00 AM
      | [IWEFD],\ \[\d{4}-                                      # Ruby Logger: I, [2024-01-15T10:00:00.1 #1]
      | [\w.-]+\s+\|\ \S                                        # docker compose: web_1  | …
      | \[(?:pod|deployment|job)/                               # kubectl logs --prefix
      | \d{6}\ \d{6}\                                           # HDFS: 081109 203518
      | \d{2}/\d{2}/\d{2}\ \d{2}:\d{2}:\d{2}                    # Spark: 17/06/09 20:10:40
      | \d{8}-\d{1,2}:\d{2}:\d{2}                               # 20171223-22:15:29
      | \[\w{3}\ \w{3}\ [\ \d]\d\ \d{2}:\d{2}:\d{2}             # Apache error: [Sun Dec 04 04:47:44 2005]
      | \[[\d./-]+\ \d{2}:\d{2}:\d{2}                           # [10.30 16:49:06]
      | -\ \d{9,10}\                                            # BGL, Thunderbird: - 1117838570 …
      | .{0,120}?\b(?:DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL)\b  # a level word near the start
    )""",
    re.VERBOSE,
)
_SEVERE_ROOTS = (
    "err",
    "fatal",
    "crit",
    "panic",
    "emerg",
    "alert",
    "severe",
    "segfault",
    "out of memory",
    "killed process",
    "code=killed",
    "code=dumped",
    "failed with result",
)  # one is in every match (a substring, lowercased)
_SEVERE_RE = re.compile(
    r"""\b(?:FATAL|CRITICAL|CRIT|ERROR|ERR|SEVERE|EMERG|EMERGENCY|ALERT|PANIC)\b
      | (?i:level|lvl|severity|levelname)["']?\s*[=:]\s*["']?
        (?i:fatal|critical|crit|error|err|severe|emerg\w*|alert|panic)\b
      | ^[EF]\d{4}[ ] | \[(?:\w+:)?(?:error|crit|alert|emerg|fatal)\]  # nginx [error], Apache [proxy:error]
      # syslog and the kernel print no level word: the event itself says it (a crash, an OOM kill, a
      # systemd unit that failed or was killed)
      | \bsegfault\ at\b | \bOut\ of\ memory:\ Kill | \bKilled\ process\ \d | \bKernel\ panic\b
      | \bcode=(?:killed|dumped)\b | \bFailed\ with\ result\b
    """,
    re.VERBOSE,
)
_HTTP_5XX_RE = re.compile(rb'http/[\d.]+"[ \t]+(5\d\d)[ \t]')
"""A server error in an access log (``"GET /x HTTP/1.1" 502 157``), over the lowered bytes of the text."""
_GLOG_RE = {"E": re.compile(r"[EF]\d{4} +\d"), "W": re.compile(r"W\d{4} +\d")}
"""glog/klog severity letters (``E1125 10:00:00.1 …``): no level word for the word search to find."""
_WARN_RE = re.compile(
    r"\b(?:WARN|WARNING)\b|(?i:level|lvl|severity|levelname)[\"']?\s*[=:]\s*[\"']?(?i:warn\w*)\b|^W\d{4} "
    r"|\[(?:\w+:)?warn\]"
)
_INDENTED_RE = re.compile(r"[ \t]+\S")
_LEVEL_WORD_RE = re.compile(r"\b(?:FATAL|CRITICAL|CRIT|ERROR|ERR|SEVERE|EMERG|ALERT|PANIC)\b")

ALWAYS_HEAD = 2
ALWAYS_TAIL = 2
RARE_SHARE = 0.6
"""Rare lines may first fill the budget up to this share, so that templates with counts still show."""
CONTEXT_SHARE = 0.5
CONTEXT_LINES = 30
"""Context lines near the head and the tail, at most, per side."""
RECORD_SHOWN = 12
"""Continuation lines shown with their head line, at most (a long multi-line message is cut)."""
FOLLOWERS_MAX = 6
"""Lines stamped like an error line (DETAIL, HINT, STATEMENT…) kept with it, at most."""


def looks_like(head: str) -> bool:
    """True when most lines of ``head`` start with a timestamp, a level or another log prefix."""
    if "\x1b[" in head:
        head = strip_colors(head)
    lines = [line for line in head.split("\n", 60)[:60] if line.strip()]
    if len(lines) < 3:
        return False
    hits = sum(1 for line in lines if _PREFIX_RE.match(line))
    return hits >= max(3, 0.4 * len(lines))


def compress(text: str, ctx: Context) -> Compressed:
    """Within budget (or when nothing may be dropped), pass through; over it, keep what matters."""
    if within_budget(text, ctx):
        return Compressed(text, "passthrough")
    key, payload = stored_original(text)
    if "\x1b[" in text:
        text = strip_colors(text)
    # Lines are shown as printed; they are analysed without a per-stream prefix (``web-1  | ``), which
    # would hide the indentation of a stack frame or a continuation line.
    analysed = without_stream_prefix(text)
    index = LineIndex(analysed)
    lines = index.lines if analysed is text else split_lines(text)
    n = len(lines)
    groups = group(templates_of(index.scan_lines, index.lowered))
    traces = find_traces(index, groups.templates)
    in_trace: set[int] = set()
    for tr in traces:
        in_trace.update(range(tr.start, tr.end + 1))
    conts = _continuations(index, in_trace)
    owner = {j: i for i, js in conts.items() for j in js}
    inner = in_trace | owner.keys()  # lines shown only inside their unit (a trace, a record)
    severe_found = index.verified(index.with_words(_SEVERE_ROOTS), _SEVERE_RE)
    # Access logs carry no level word: a 5xx status is their error (keyed by its code below).
    status_of = {i: m.group(1).decode() for i, m in index.lines_matching(_HTTP_5XX_RE).items()}
    status_of.update(w3c_server_errors(index))
    severe = sorted(
        {owner.get(i, i) for i in {*severe_found, *index.starting_with(_GLOG_RE["E"]), *status_of}} - in_trace
    )
    severe_set = set(severe)
    # One error line per kind: its template, plus its status code (a 502 and a 504 share a template).
    severe_first: dict[str, int] = {}
    severe_last: dict[str, int] = {}
    severe_count: dict[str, int] = {}
    kind_of: dict[int, str] = {}
    for i in severe:
        k = kind_of[i] = groups.templates[i] + status_of.get(i, "")
        severe_first.setdefault(k, i)
        severe_last[k] = i
        severe_count[k] = severe_count.get(k, 0) + 1
    warns = sorted(
        {*index.verified(index.with_words(("warn",)), _WARN_RE), *index.starting_with(_GLOG_RE["W"])}
    )
    signals = index.error_lines()
    matches = index.query_lines(ctx.query)
    sel = Selection(lines, ctx)
    shown_records: set[tuple[str, ...]] = set()

    def unit(i: int, full: bool) -> list[int]:
        """Line ``i`` with its continuation lines: all of them when ``full`` (an error, a match, a rare
        record), else only when no record shaped like it is shown yet (one vacuum report, not 40)."""
        cont = conts.get(i)
        if not cont:
            return [i]
        shape = tuple(groups.templates[j] for j in cont[:RECORD_SHOWN])
        if full or shape not in shown_records:
            shown_records.add(shape)
            return [i, *cont[:RECORD_SHOWN]]
        return [i]

    def add(i: int, note: str | None, limit: int | None = None, full: bool = False) -> bool:
        i = owner.get(i, i)
        notes = {i: note} if note else None
        idx = unit(i, full)
        if i in severe_set:  # the lines a database or a logger prints under an error (DETAIL, HINT…)
            for j in _followers(index.scan_lines, i, severe_set, conts):
                idx += unit(j, True)
        return sel.add(idx, notes=notes, limit=limit) or (
            len(idx) > 1 and sel.add([i], notes=notes, limit=limit)
        )

    def take(i: int, limit: int | None = None, full: bool = False) -> bool:
        i = owner.get(i, i)
        note = groups.similar_note(i)
        if note:  # where the template was last seen tells how long it went on (lines are 1-based)
            note = f"{note[:-1]}, last at line {groups.last[groups.templates[i]] + 1:,})"
        return add(i, note, limit, full)

    for i in [*range(min(ALWAYS_HEAD, n)), *range(max(n - ALWAYS_TAIL, 0), n)]:
        take(i)
    # Errors and traces, one per template (trace: one per signature), in order of appearance.
    trace_counts: dict[str, int] = {}
    for tr in traces:
        trace_counts[tr.signature] = trace_counts.get(tr.signature, 0) + 1
    firsts: list[tuple[int, Trace | None]] = [(tr.start, tr) for tr in _first_per_signature(traces)]
    firsts += [(i, None) for i in severe_first.values()]
    severe_notes = {
        i: f"(×{severe_count[k]:,} like this, last at line {severe_last[k] + 1:,})"
        for k, i in severe_first.items()
        if severe_count[k] != groups.counts[groups.templates[i]]  # errors among other lines of a template
    }
    for pos, item in spread(sorted(firsts, key=lambda p: p[0])):
        if item is None:
            if pos in severe_notes:
                add(pos, severe_notes[pos], full=True)
            else:
                take(pos, full=True)
            continue
        c = trace_counts[item.signature]
        sel.add(item.keep, notes={item.head: f"(×{c:,} identical traces)"} if c > 1 else None)
    for i in matches:
        take(i, full=True)
    outliers = template_outliers(index, groups)
    outliers += bare_number_outliers(index, groups, in_trace | {i for i, _ in outliers})
    for i, note in outliers:
        # A burst of one error (502s that all waited 30 s) is shown by its first line and its count;
        # its slowest lines, outliers of the template, would repeat it.
        kind = kind_of.get(i)
        if kind is None or severe_first[kind] == i or severe_count[kind] < FREQUENT:
            add(i, note)
    for i in deviant_lines(groups, inner):
        take(i)
    for i in [*warns, *signals]:
        if i not in in_trace and groups.first[groups.templates[i]] == i:
            take(i, full=i in owner)
    # A rare continuation line (the detail of a deadlock) shows its whole record.
    rare_lines = [i for i in groups.rare_lines() if i not in in_trace]
    rare_records = {owner[i] for i in rare_lines if i in owner}
    rare = distinct_lines(sorted({owner.get(i, i) for i in rare_lines}), index.scan_lines)
    rare = without_table_rows(rare, groups.templates)
    cap = max(sel.used, int(ctx.max_tokens * RARE_SHARE))
    for i in spread(rare):
        take(i, limit=cap, full=i in rare_records)
    for t, i in sorted(groups.first.items(), key=lambda p: (-groups.counts[p[0]], p[1])):
        if groups.counts[t] > 1 and t.strip() and i not in inner:
            take(i)
    for i in spread(rare):
        take(i, full=i in rare_records)
    for k, i in severe_last.items():
        if severe_count[k] < FREQUENT:  # a frequent error's note already says where it was last seen
            take(i)
    for i in severe:
        take(groups.last[groups.templates[i]])
    # Last occurrences and the lines near both ends are context: they fill at most a share of the
    # budget (the notes already say where each template was last seen).
    cap = max(sel.used, int(ctx.max_tokens * CONTEXT_SHARE))
    for t, i in groups.last.items():
        if groups.counts[t] >= FREQUENT and t.strip() and i not in inner:
            sel.add([i], limit=cap)
    for i in edge_lines(groups, inner, CONTEXT_LINES):
        if not take(i, limit=cap):
            break

    trace_heads = {tr.head for tr in traces}
    outlier_set = {i for i, _ in outliers}

    def kept_note(idx: list[int]) -> str:
        parts = []
        for count, word in (
            (sum(1 for i in idx if i in severe_set), "error line"),
            (sum(1 for i in idx if i in trace_heads), "stack trace"),
            (sum(1 for i in idx if i in outlier_set), "outlier"),
            (sum(1 for i in idx if groups.is_rare(i)), "rare line"),
        ):
            if count:
                parts.append(plural(count, word))
        shown = len({groups.templates[i] for i in idx})
        parts.append(f"{shown:,} of {len(groups.counts):,} templates")
        return ", ".join(parts)

    out = sel.render_lines(key, kept_note)
    return Compressed(out, "log:templates", ((key, payload),))


def _continuations(index: LineIndex, skip: set[int]) -> dict[int, list[int]]:
    """Head line -> the indented lines right below it that continue its message, for heads with some.

    PostgreSQL continues a ``DETAIL`` or a statement on tab-indented lines, autovacuum reports are a
    head and eight indented lines, a logger prints a multi-line message the same way. Lines in ``skip``
    (stack traces, which are units of their own) neither continue nor head a record. When most lines
    are indented, indentation is the text's layout, not a continuation: no records.
    """
    indented = [i for i in index.starting_with(_INDENTED_RE) if i not in skip]
    if not indented or 2 * len(indented) > len(index):
        return {}
    out: dict[int, list[int]] = {}
    head = prev = -1
    for i in indented:
        if i == prev + 1 and head >= 0:
            out[head].append(i)
        elif i > 0 and i - 1 not in skip and index.scan_lines[i - 1].strip():
            head = i - 1
            out[head] = [i]
        else:
            head = -1
        prev = i
    return out


def _followers(lines: list[str], i: int, severe: set[int], conts: dict[int, list[int]]) -> list[int]:
    """Lines after the error line ``i`` that carry its exact prefix up to the level word.

    A PostgreSQL error is a group of lines stamped alike (``… [4521] ERROR:``, ``… [4521] DETAIL:``,
    ``HINT:``, ``STATEMENT:``): the detail says which rows, locks or query. The prefix must hold a digit
    (a timestamp, a pid), so that only lines of the same instant and process follow; another error
    line ends the group.
    """
    m = _LEVEL_WORD_RE.search(lines[i], 0, 200)
    if m is None or m.start() < 8:
        return []
    prefix = lines[i][: m.start()]
    if not any(map(str.isdigit, prefix)):
        return []
    out: list[int] = []
    j = i + len(conts.get(i, ())) + 1
    while j < len(lines) and len(out) < FOLLOWERS_MAX:
        if j in severe or not lines[j].startswith(prefix):
            break
        out.append(j)
        j += len(conts.get(j, ())) + 1
    return out


def _first_per_signature(traces: list[Trace]) -> list[Trace]:
    seen: dict[str, Trace] = {}
    for tr in traces:
        seen.setdefault(tr.signature, tr)
    return list(seen.values())
