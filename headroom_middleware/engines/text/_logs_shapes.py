"""Layouts a log can have that the log engine reads before grouping lines by template.

A per-stream prefix (``docker compose``, ``kubectl logs --prefix``) is taken off for analysis; a W3C
extended log (IIS) names its columns in a ``#Fields:`` header, which says where its status is; a table the
log prints (an OOM kill's task list) is one rare thing, not one per row.
"""

from __future__ import annotations

import re

from ._textlines import LineIndex

_STREAM_PREFIX_RE = re.compile(
    r"^(?:[\w.-]*[A-Za-z][\w.-]*[-_]\d+ *\| ?|\[(?:pod|deployment|job|statefulset|daemonset)/[^\]\s]+\] )",
    re.MULTILINE,
)
"""A per-stream prefix: ``docker compose``'s ``web-1  | `` (v1: ``web_1``), ``kubectl logs --prefix``'s
``[pod/name/container] ``. A compose service name always ends in its replica number."""
_W3C_FIELDS_RE = re.compile(r"#Fields:[ \t]")
_WORD_RE = re.compile(r"[A-Za-z_][\w-]*")

TABLE_MIN = 6
"""Consecutive rare lines shaped alike from this many on are a table printed in the log (see
``without_table_rows``)."""
STREAM_SHARE = 0.6
"""Share of the first lines that must carry a stream prefix for it to be stripped before analysis."""


def without_stream_prefix(text: str) -> str:
    """``text`` without the stream prefix of its lines when most have one, else ``text`` itself.

    ``docker compose`` prefixes every line with its service (``web-1  | ``), ``kubectl logs --prefix``
    with its pod (``[pod/api-7d9f/api] ``). The line count is unchanged (a prefix holds no newline).
    """
    head = [line for line in text[:8192].split("\n")[:60] if line.strip()]
    hits = sum(1 for line in head if _STREAM_PREFIX_RE.match(line))
    if len(head) < 3 or hits < STREAM_SHARE * len(head):
        return text
    return _STREAM_PREFIX_RE.sub("", text)


def w3c_server_errors(index: LineIndex) -> dict[int, str]:
    """Line -> its 5xx status, in a W3C extended log (IIS, CloudFront, Azure): ``#Fields:`` names the
    space-separated columns of the lines below it, and a server error is an ``sc-status`` of 5xx.

    Such a line prints its status as one bare number among others (``… 500 0 64 5120 403 26``): no level
    word, not the ``HTTP/1.1" 502`` of an nginx line, and the same template as the 200s around it.
    """
    if b"#fields:" not in index.lowered:
        return {}
    heads = index.starting_with(_W3C_FIELDS_RE)
    out: dict[int, str] = {}
    for h, end in zip(heads, [*heads[1:], len(index.scan_lines)], strict=True):
        names = index.scan_lines[h].split()[1:]
        if "sc-status" not in names:
            continue
        col = names.index("sc-status")
        for i in range(h + 1, end):
            fields = index.scan_lines[i].split(None, col + 1)
            if (
                len(fields) > col
                and len(status := fields[col]) == 3
                and status[0] == "5"
                and status.isdigit()
            ):
                out[i] = status
    return out


def without_table_rows(rare: list[int], templates: list[str]) -> list[int]:
    """``rare`` without the inner rows of runs of consecutive rare lines shaped alike, ascending.

    A log sometimes prints a table: the task list and memory report of a kernel OOM kill, a thread or
    connection listing. Each row differs by a name, so each is rare, and together they would fill the
    budget meant for the odd lines of the whole log. Rows are alike when their templates match once
    words are masked too; a run of ``TABLE_MIN`` or more keeps its first two rows and its last.
    """
    shape_of: dict[str, str] = {}
    out: list[int] = []
    run: list[int] = []
    run_shape = ""
    for i in [*rare, -2]:
        t = templates[i] if i >= 0 else ""
        shape = shape_of.get(t)
        if shape is None:
            shape = shape_of[t] = _WORD_RE.sub("w", t)
        if run and i == run[-1] + 1 and shape == run_shape:
            run.append(i)
            continue
        out += run if len(run) < TABLE_MIN else [*run[:2], run[-1]]
        run = [i]
        run_shape = shape
    return out
