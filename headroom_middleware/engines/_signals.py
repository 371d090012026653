"""Error signals shared by every engine: what an agent must never lose from view."""

from __future__ import annotations

import re

# Words that mark a failure wherever they appear in a value or a line. Word-bounded so that
# "errorless" or "terrorist" do not match, but "error:", "ERROR", "Errors", "failed" do.
ERROR_WORDS_RE = re.compile(
    r"(?i)\b(?:errors?|err|fail(?:s|ed|ure|ures|ing)?|exception|fatal|panic(?:ked)?|time(?:d ?| )?out|"
    r"timeouts?|denied|critical|crash(?:ed|es|loop\w*)?|traceback|abort(?:ed)?|segfault|oom\w*|refused)\b"
)

# Severity values at warning or above, as logging libraries and alerting systems spell them.
SEVERE_LEVELS = frozenset(
    {
        "warn",
        "warning",
        "error",
        "err",
        "fatal",
        "critical",
        "crit",
        "alert",
        "emerg",
        "emergency",
        "panic",
        "severe",
        "high",
        "major",
        "page",
    }
)
LEVEL_FIELDS = frozenset({"level", "severity", "loglevel", "log_level", "levelname", "priority", "lvl"})
STATUS_FIELDS = frozenset({"status", "status_code", "statuscode", "http_status", "code", "response_code"})
EXIT_FIELDS = frozenset({"exit_code", "exitcode", "returncode", "return_code", "rc", "exit_status"})


def has_error_words(text: str) -> bool:
    return ERROR_WORDS_RE.search(text) is not None


def field_signals(name: str, value: object) -> bool:
    """True when one scalar field of a record signals trouble (by its name and value)."""
    lname = name.lower()
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        if lname in STATUS_FIELDS or lname.endswith("status_code"):
            return value >= 400
        if lname in EXIT_FIELDS:
            return value != 0
        return False
    if isinstance(value, str):
        if lname in LEVEL_FIELDS:
            return value.strip().lower() in SEVERE_LEVELS
        if lname in STATUS_FIELDS and value.isdigit():
            return int(value) >= 400
        return ERROR_WORDS_RE.search(value) is not None
    return False
