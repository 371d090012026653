"""The lossless table form: arrays of records written once per field name, one line per record.

Format (documented for the model in the README)::

    {"status":"ok","data":{"items":@T1}}          <- skeleton: compact JSON, tables as @T<n>
    @T1 3 rows: id|name|kind="user"|tags           <- header: columns in key order
    1|alice|["a"]                                   <- one line per record, cells split by |
    ×2 2|bob|                                       <- "×N " = this row N times; empty cell = key absent

- The skeleton line is left out when the whole value is one table (the text starts with ``@T1``).
- ``name=JSON`` in the header is a constant column: every record has that key with that value.
- A cell is empty (key absent), a JSON literal (number, ``true``, ``false``, ``null``, ``"quoted"``,
  ``{…}``, ``[…]``) or else a bare string. A ``|`` inside JSON is written ``\\u007c``.

Every decision here is about a model reading the table without help and ``decode`` giving back the
exact value: same keys, same key order, same types. An array whose records disagree on key order is
left as compact JSON.
"""

from __future__ import annotations

import re

import orjson

_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Bare text: no separator, no control character, no edge spaces, nothing a JSON cell could start with.
_BARE_RE = re.compile(r"[^\x00-\x20\"{\[|×\x7f][^\x00-\x1f|\x7f]*")
_BARE_NAME_RE = re.compile(r"[^\x00-\x20\"|=×\x7f][^\x00-\x1f|=\x7f]*")
_LITERALS = frozenset({"true", "false", "null"})
_HEADER_RE = re.compile(r"@T([0-9]+) ([0-9]+) rows:(?: (.*))?\Z", re.S)
_SKELETON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|@T([0-9]+)')
_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_RUN_RE = re.compile(r"×([0-9]+) ")

MAX_COLUMNS = 256
"""More distinct keys than this means maps keyed by ids, not records: no table."""


class _Missing:
    """A record without this column's key (an empty cell)."""


MISSING = _Missing()


def _json(value: object) -> str:
    return orjson.dumps(value).decode().replace("|", "\\u007c")


def cell(value: object) -> str:
    """One cell: bare text when that reads back unambiguously, JSON otherwise."""
    if isinstance(value, str):
        if (
            _BARE_RE.fullmatch(value) is not None
            and value[-1] != " "
            and value not in _LITERALS
            and _NUMBER_RE.fullmatch(value) is None
        ):
            return value
        return _json(value)
    return _json(value)


def _name(name: str) -> str:
    if _BARE_NAME_RE.fullmatch(name) is not None and name[-1] != " ":
        return name
    return _json(name)


def columns(records: list[dict[str, object]]) -> list[str] | None:
    """Column order consistent with every record's key order, or None when there is none."""
    cols: list[str] = []
    pos: dict[str, int] = {}
    for rec in records:
        last = -1
        for key in rec:
            p = pos.get(key)
            if p is None:
                cols.insert(last + 1, key)
                if len(cols) > MAX_COLUMNS:
                    return None
                pos = {k: i for i, k in enumerate(cols)}
                p = last + 1
            elif p <= last:
                return None
            last = p
    return cols


def render_table(label: str, records: list[dict[str, object]]) -> str | None:
    """The table block for ``records`` (header + rows), or None when they do not form a table."""
    cols = columns(records)
    if cols is None:
        return None
    n = len(records)
    constant: dict[str, str] = {}
    for col in cols:
        first = records[0].get(col, MISSING)
        if first is MISSING:
            continue
        # == first (cheap, but True == 1 == 1.0), then the exact JSON text to tell those apart.
        if all(col in r and r[col] == first for r in records[1:]):
            enc = _json(first)
            if all(r[col] is first or _json(r[col]) == enc for r in records[1:]):
                constant[col] = enc
    head = [f"{_name(c)}={constant[c]}" if c in constant else _name(c) for c in cols]
    variable = [c for c in cols if c not in constant]
    lines = [f"@T{label} {n} rows:" + (" " + "|".join(head) if head else "")]
    prev: str | None = None
    run = 0
    for rec in records:
        row = "|".join("" if c not in rec else cell(rec[c]) for c in variable)
        if row == prev:
            run += 1
            continue
        if prev is not None:
            lines.append(f"×{run} {prev}" if run > 1 else prev)
        prev, run = row, 1
    if prev is not None:
        lines.append(f"×{run} {prev}" if run > 1 else prev)
    return "\n".join(lines)


def looks_like_table(text: str) -> bool:
    """True when ``text`` is in the table form (a header line, with or without a skeleton)."""
    first, _, rest = text.partition("\n")
    if _HEADER_RE.match(first):
        return True
    return rest.startswith("@T") and _HEADER_RE.match(rest.partition("\n")[0]) is not None


def _decode_cell(text: str) -> object:
    if text == "":
        return MISSING
    if text[0] in '"{[' or text in _LITERALS or _NUMBER_RE.fullmatch(text) is not None:
        return orjson.loads(text)
    return text


def _decode_header(spec: str) -> list[tuple[str, object]]:
    """(name, constant value or MISSING) for each column."""
    out: list[tuple[str, object]] = []
    i = 0
    n = len(spec)
    while i <= n:
        if spec.startswith('"', i):
            m = _JSON_STRING_RE.match(spec, i)
            if m is None:
                raise ValueError("bad column name")
            name = orjson.loads(m.group())
            i = m.end()
        else:
            j = i
            while j < n and spec[j] not in "=|":
                j += 1
            name, i = spec[i:j], j
        value: object = MISSING
        if i < n and spec[i] == "=":
            # A constant's JSON never holds a raw "|" (escaped), so the column ends at the next one.
            j = spec.find("|", i)
            j = n if j < 0 else j
            value = orjson.loads(spec[i + 1 : j])
            i = j
        out.append((name, value))
        if i >= n:
            break
        if spec[i] != "|":
            raise ValueError("bad header")
        i += 1
    return out


def _decode_table(lines: list[str], start: int) -> tuple[list[object], int]:
    m = _HEADER_RE.match(lines[start])
    if m is None:
        raise ValueError(f"expected a table header at line {start + 1}")
    rows = int(m.group(2))
    cols = _decode_header(m.group(3)) if m.group(3) is not None else []
    variable = [name for name, const in cols if const is MISSING]
    out: list[object] = []
    i = start + 1
    while len(out) < rows:
        line = lines[i]
        i += 1
        repeat = 1
        r = _RUN_RE.match(line)
        if r is not None:
            repeat = int(r.group(1))
            line = line[r.end() :]
        cells = line.split("|") if variable else []
        if (variable and len(cells) != len(variable)) or (not variable and line):
            raise ValueError(f"row {i} has the wrong number of cells")
        values = dict(zip(variable, (_decode_cell(c) for c in cells), strict=True))
        rec: dict[str, object] = {}
        for name, const in cols:
            v = const if const is not MISSING else values[name]
            if v is not MISSING:
                rec[name] = v
        # Each repeat is its own dict (equal values), as a parser would give.
        out.append(rec)
        for _ in range(repeat - 1):
            out.append(orjson.loads(orjson.dumps(rec)))
    if len(out) != rows:
        raise ValueError("row count does not match the header")
    return out, i


def decode(text: str) -> object:
    """The exact value a table-form text stands for."""
    lines = text.split("\n")
    skeleton: str | None = None
    i = 0
    if not _HEADER_RE.match(lines[0]):
        skeleton, i = lines[0], 1
    tables: dict[str, list[object]] = {}
    while i < len(lines):
        m = _HEADER_RE.match(lines[i])
        if m is None:
            raise ValueError(f"expected a table header at line {i + 1}")
        tables[m.group(1)], i = _decode_table(lines, i)
    if skeleton is None:
        if list(tables) != ["1"]:
            raise ValueError("a text without skeleton holds exactly one table")
        return tables["1"]

    def sub(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group()
        return orjson.dumps(tables[m.group(1)]).decode()

    return orjson.loads(_SKELETON_TOKEN_RE.sub(sub, skeleton))
