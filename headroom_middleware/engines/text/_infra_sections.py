"""Sections of build, provisioning and deploy output: each step under its header, and the lines of none.

These tools print their work as a sequence of steps, each announced by a header line: a BuildKit step
(``#12 [base 3/7] RUN pip install …``; parallel steps interleave, each line carrying its step's ``#12``),
an Ansible banner (``TASK [common : Install packages] *****``), a Terraform resource (``# aws_db.x must be
replaced``), a GitHub Actions group (``##[group]Run npm ci``), a legacy Docker build step (``Step 3/9 :
RUN …``). A *style* is one of those header shapes; a text is cut into sections by the style whose headers
it holds most. Lines outside every section (a preamble, BuildKit's closing error box) are *loose*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STYLES: dict[str, re.Pattern[str]] = {
    # BuildKit plain progress: "#12 [stage 3/7] RUN …", "#4 [internal] load .dockerignore".
    "buildkit": re.compile(r"#\d+ \[[^\]\n]{1,80}\] \S"),
    # Ansible-like banners: an upper-case title, maybe a bracketed name, then a run of stars.
    "banner": re.compile(r"[A-Z][A-Z ]{1,30}[A-Z](?: \[[^\n]{0,200}\])? ?\*{3,}\s*$"),
    # Terraform/OpenTofu plan: "  # module.net.aws_subnet.a[0] will be updated in-place".
    "resource": re.compile(
        r"\s{0,8}# [\w.\[\]\"/:-]+ (?:will be|must be|has been|has changed|is tainted|\(deposed)"
    ),
    # CI consoles that fold steps: GitHub Actions "##[group]Run npm ci", Azure "##[section]Starting: …".
    "group": re.compile(r"##\[(?:group|section)\]"),
    # The legacy Docker builder and docker compose build: "Step 3/9 : RUN npm ci".
    "step": re.compile(r"Step \d+/\d+ : \S"),
}
MIN_HEADERS = 2
"""A style needs this many headers in a text to cut it into sections."""
_UNMISTAKABLE = frozenset({"step"})
"""Styles whose header no other tool prints: one in the first few KB is enough (a first step may print
more than that). BuildKit always opens with several short ``[internal]`` steps, and a list of issues
(``#12 [bug] …``) must not pass for one."""

_STEP_ID_RE = re.compile(r"#(\d+) ")
_PLAN_HINT_RE = re.compile(
    r"^\S+: Refreshing state\.\.\.|^Terraform (?:will perform|used the selected providers)", re.MULTILINE
)
"""A Terraform plan's head may hold only ``Refreshing state...`` lines: its resources come later."""


@dataclass
class Section:
    """One step: its header line and the lines it printed (indices into the text's lines)."""

    header: int
    members: list[int] = field(default_factory=list)


def head_style(head: str) -> str | None:
    """The style whose headers a text's first few KB hold at least ``MIN_HEADERS`` times, if any."""
    lines = head.split("\n")
    best, most = None, 0
    for style, pattern in STYLES.items():
        hits = sum(1 for line in lines if pattern.match(line))
        if hits > most:
            best, most = style, hits
    if most >= MIN_HEADERS or (most and best in _UNMISTAKABLE):
        return best
    if len(_PLAN_HINT_RE.findall(head)) >= 3:
        return "resource"
    return None


def sections_of(lines: list[str], style: str) -> tuple[list[Section], list[list[int]]]:
    """The sections of ``lines`` in ``style``, in order of their headers, and the loose blocks (runs of
    consecutive lines outside every section)."""
    if style == "buildkit":
        sections, loose = _by_step_id(lines)
    else:
        sections, loose = _contiguous(lines, STYLES[style])
    return sections, _blocks(loose)


def _contiguous(lines: list[str], pattern: re.Pattern[str]) -> tuple[list[Section], list[int]]:
    """A section runs from its header to the next one; the lines before the first are loose."""
    headers = [i for i, line in enumerate(lines) if pattern.match(line)]
    if not headers:
        return [], list(range(len(lines)))
    ends = [*headers[1:], len(lines)]
    sections = [Section(h, list(range(h + 1, _end(lines, h, e)))) for h, e in zip(headers, ends, strict=True)]
    in_section = bytearray(len(lines))
    for s in sections:
        in_section[s.header] = 1
        for i in s.members:
            in_section[i] = 1
    return sections, [i for i, inside in enumerate(in_section) if not inside]


def _end(lines: list[str], header: int, end: int) -> int:
    """Where the section under an indented header stops: at a blank line followed by a line indented no
    deeper than the header (Terraform's ``Plan: …`` after the last resource block), else at ``end``."""
    indent = _indent(lines[header])
    if not indent:
        return end  # a CI step's output holds blank lines and unindented text: it runs to the next header
    for i in range(header + 1, end - 1):
        if not lines[i].strip() and lines[i + 1].strip() and _indent(lines[i + 1]) <= indent:
            return i + 1
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _by_step_id(lines: list[str]) -> tuple[list[Section], list[int]]:
    """BuildKit: every line of a step starts with its ``#N`` (steps run in parallel and interleave); the
    first line of a step is its header. Lines without one (blank lines, the closing error box) are loose."""
    by_id: dict[str, Section] = {}
    loose: list[int] = []
    for i, line in enumerate(lines):
        m = _STEP_ID_RE.match(line) if line.startswith("#") else None
        if m is None:
            loose.append(i)
            continue
        section = by_id.get(m.group(1))
        if section is None:
            by_id[m.group(1)] = Section(i)
        else:
            section.members.append(i)
    return sorted(by_id.values(), key=lambda s: s.header), loose


def _blocks(indices: list[int]) -> list[list[int]]:
    """``indices`` (ascending) cut into runs of consecutive numbers."""
    blocks: list[list[int]] = []
    for i in indices:
        if blocks and blocks[-1][-1] == i - 1:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks
