"""Line templates: a line with its variable parts masked, so that lines saying the same thing group.

``2024-05-01T10:00:03Z INFO served /api/users/42 in 12ms`` and
``2024-05-01T10:00:04Z INFO served /api/users/7 in 9ms`` share the template
``<*> INFO served <*> in <ms>``. Masked: durations and sizes (as ``<unit>``, or ``<num>`` for a unit-less
value named by its key such as ``rt=``, so the engines know where a template holds one), any other token
holding a digit (numbers, ids, UUIDs, IPs, hex, timestamps, versions), paths, short single-quoted (``'x'``,
``‘x’``, backticks) strings, and double-quoted strings holding a digit or a slash (so that in a JSON-ish line
``"level":"error"`` and ``"msg":"db down"`` stay while ``"ts":"2024-…"`` is masked); runs of blanks become one
space (aligned columns pad differently). Words without digits stay, so ``INFO`` and ``ERROR`` lines, or a
table row marked ``**`` and one that is not, fall into different templates.

Speed: Python's regex engine scans about 10 MB/s with these patterns, too slow for every line of a big
log. So lines are first grouped by a cheap key computed in C (their UTF-8 bytes with digits and hex
letters deleted by ``bytes.translate``: lines differing only in numbers and hex ids share it), and only
the first line of each group goes through the regexes. A log of 100,000 lines typically has a few
hundred keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MASK = "<*>"
TEMPLATE_CHARS = 400
"""Only the start of a long line decides its template (a long unique tail would make every line rare)."""

UNIT_VALUE_RE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?) ?(ns|us|µs|ms|s|sec|secs|seconds|min|mins|minutes|h|hours"
    r"|B|bytes|kB|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\b"
)
"""A duration or a size: value and unit (``12ms``, ``1.5 s``, ``512 KiB``)."""

KEYED_VALUE_RE = re.compile(
    r"(?<![\w.-])((?:rt|urt|request_time|upstream_response_time|response_time|duration|latency|elapsed"
    r"|took|time_taken|body_bytes_sent|bytes_sent|resp_size|response_size)(?:_ms|_us|_ns|_s|_sec)?"
    r'(?:=|": ?))(\d+(?:\.\d+)?)(?![\w.])'
)
"""A duration or size without a unit, named by its key (nginx ``rt=0.146``, logfmt ``duration=1532``, a
JSON log line's ``"duration_ms": 84.5``): masked as ``<num>`` so that, like ``<ms>``, the engines know
the template holds one."""

_VARIABLE_RE = re.compile(
    r"""
      "[^"\n\d/]{0,120}[\d/][^"\n]{0,120}"            # a double-quoted value with a digit or a slash
    | '[^'\n]{0,120}'
    | ‘[^’\n]{0,120}’
    | `[^`\n]{0,120}`
    | (?<![\w.:+/~@-])[\w.:+~@-]*/[\w.:+/~@-]*      # paths and URLs: a token with a slash,
      (?:\?[\w.:+/~@%&=-]*)?                         # with its query string (?format=csv&page=2)
    | (?<![\w.:+~@-])[\w.:+~@-]*?\d[\w.:+~@-]*      # a token with a digit (the lookbehind keeps it linear)
    """,
    re.VERBOSE,
)
_BLANKS_RE = re.compile(r"[ \t]{2,}|\t")
_KEY_DROP = b"0123456789abcdefABCDEF"  # digits and hex letters: ids, hashes, numbers


def template_of(line: str) -> str:
    """The template of one line."""
    unit_masked = KEYED_VALUE_RE.sub(r"\1<num>", UNIT_VALUE_RE.sub(r"<\2>", line[:TEMPLATE_CHARS]))
    return _BLANKS_RE.sub(" ", _VARIABLE_RE.sub(MASK, unit_masked))


def templates_of(lines: Sequence[str], lowered: bytes | None = None) -> list[str]:
    """The template of every line, in order (regexes run once per group of lines alike, see above).

    ``lowered``: the lines joined by ``\\n`` as ASCII-lowercased UTF-8, when the caller has it already
    (``LineIndex`` does); grouping keys are then cut from it instead of encoding the text again.
    """
    if not lines:
        return []
    if lowered is None:
        lowered = "\n".join(lines).encode("utf-8", "surrogatepass")
    keys = lowered.translate(None, _KEY_DROP).split(b"\n")
    if len(keys) < len(lines):  # a line held a separator that split differently: stay correct
        return [template_of(line) for line in lines]
    del keys[len(lines) :]
    # key -> index of its first line (built from the end, so the earliest index is written last).
    first_of = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    reps = [lines[i][:TEMPLATE_CHARS] for i in first_of.values()]
    unit_masked = UNIT_VALUE_RE.sub(r"<\2>", "\n".join(reps))
    if "=" in unit_masked or '":' in unit_masked:  # every keyed value has one: skip a pass when none does
        unit_masked = KEYED_VALUE_RE.sub(r"\1<num>", unit_masked)
    masked_text = _VARIABLE_RE.sub(MASK, unit_masked)
    if "  " in masked_text or "\t" in masked_text:  # the regex's only matches: skip a pass (C-speed test)
        masked_text = _BLANKS_RE.sub(" ", masked_text)
    masked = masked_text.split("\n")
    if len(masked) != len(reps):
        masked = [template_of(line) for line in reps]
    of_key = dict(zip(first_of, masked, strict=True))
    return [of_key[k] for k in keys]
