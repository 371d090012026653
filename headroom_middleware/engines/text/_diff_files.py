"""What a changed file is: generated (by name or by the banner its first lines carry), bulk data, and
which changed lines define something (a function, class or type signature) and so tell the most."""

from __future__ import annotations

import re
from collections.abc import Sequence

BULK_CHANGES = 100
"""A JSON/YAML/CSV/XML file with more changed lines than this is bulk data wherever it lives."""
SIGNATURE_CHARS = 300
_GENERATED_NAMES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "deno.lock",
        "cargo.lock",
        "poetry.lock",
        "pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "gemfile.lock",
        "composer.lock",
        "podfile.lock",
        "mix.lock",
        "flake.lock",
        "pubspec.lock",
        "packages.lock.json",
        "gradle.lockfile",
        "go.sum",
        "schema.json",
        "schema.graphql",
        "schema.gql",
        "graphql.schema.json",
        "structure.sql",
        "aclocal.m4",
        "ltmain.sh",
        "config.guess",
        "config.sub",
    }
)
_GENERATED_RE = re.compile(
    r"(?:\.lock|\.lockfile|\.min\.(?:js|css|mjs)|\.bundle\.js|\.chunk\.js|\.map|\.snap|\.ambr|_pb2(?:_grpc)?\.py"
    r"|\.pb\.(?:go|cc|h)|\.g\.dart|\.freezed\.dart|\.designer\.cs|\.generated\.\w+|_generated\.\w+|\.pot)$"
    r"|(?:^|/)(?:__snapshots__|node_modules|vendor|dist)/"
    r"|(?:^|/)db/schema\.rb$"
)
# What generators write in a file's first lines (Go's "Code generated … DO NOT EDIT.", protoc, automake,
# autoconf, sqlc, "@generated" of Meta's tools): a file whose first lines say so is generated, any name.
_BANNER_RE = re.compile(
    r"(?i)\b(?:code generated|do not edit|auto-?generated|generated (?:automatically )?by)\b|@generated\b"
)
BANNER_LINES = 8
MINIFIED_LINE_CHARS = 1000
"""A changed line this long is minified code: the file counts as generated."""
_DATA_RE = re.compile(r"\.(?:json|jsonl|ndjson|har|csv|tsv|svg|xml|ya?ml|txt|golden|out|po|html?)$")
_DATA_DIR_RE = re.compile(
    r"(?:^|/)(?:testdata|test_data|fixtures?|__fixtures__|goldens?|snapshots?|cassettes|recordings?|recorded"
    r"|mocks?|locales?|i18n|l10n|translations)/"
)
# Changed definitions: a keyword (after modifiers), or a C-family signature at column 0.
_DEF_WORDS = """
def class func fn fun function interface struct enum trait impl type module namespace union record object
protocol extension macro sub proc defp defmodule
"""
_MODIFIER_WORDS = """
export default public private protected internal static async pub pub(crate) pub(super) abstract final
sealed override virtual inline extern unsafe open data suspend declare readonly synchronized
"""
_STATEMENT_WORDS = """
return raise assert print await yield throw new delete else if elif while for switch case do goto sizeof
not and or in is import from echo with del pass lambda global local exec eval
"""
_DEF_KEYWORDS = frozenset(_DEF_WORDS.split())
_MODIFIERS = frozenset(_MODIFIER_WORDS.split())
_BINDINGS = frozenset(("const", "let", "var", "val"))
_NOT_SIGNATURE = frozenset(_STATEMENT_WORDS.split())
# Changed lines that may be definitions, found in one pass over the text: code at column 0, or a line
# whose first word is a keyword or modifier. Only these get the (slower) ``is_signature`` check.
SIGNATURE_HINT_RE = re.compile(
    r"(?m)^[+-](?:[A-Za-z_]|[ \t]+(?:"
    + "|".join(
        re.escape(w) for w in sorted(_DEF_KEYWORDS | _MODIFIERS | _BINDINGS, key=lambda w: (-len(w), w))
    )
    + r")[ \t(])"
)


def is_generated_path(path: str) -> bool:
    """True for files whose diff nobody reads line by line: lock files, schema dumps, bundles, snapshots."""
    lowered = path.lower()
    return lowered.rsplit("/", 1)[-1] in _GENERATED_NAMES or _GENERATED_RE.search(lowered) is not None


def is_data_path(path: str, changed: int) -> bool:
    """True for bulk data beside code: recorded fixtures, locales, drawings, or any big JSON/YAML/CSV.

    A small change to a manifest (``package.json``, a workflow, ``pom.xml``) is read like code.
    """
    lowered = path.lower()
    if _DATA_RE.search(lowered) is None:
        return False
    return changed > BULK_CHANGES or lowered.endswith(".svg") or _DATA_DIR_RE.search(lowered) is not None


def is_signature(code: str) -> bool:
    """True when a line of code (without its ``+``/``-``) defines a function, method, class or type."""
    stripped = code[:SIGNATURE_CHARS].lstrip()
    words = stripped.split(None, 8)
    k = 0
    while k < len(words) and words[k] in _MODIFIERS:
        k += 1
    if k < len(words) - 1 and words[k] in _DEF_KEYWORDS:
        return True
    paren = stripped.find("(")
    if paren <= 0 or "=" in stripped[:paren]:
        return k < len(words) and words[k] in _BINDINGS and "=>" in stripped
    if k > 0:  # ``public Foo bar(…)``, ``async refresh(…)``: modifiers, a name and its parameters (no call)
        return "." not in stripped[:paren]
    # C, C++, Java at column 0: ``int parse(struct p *p)``, ``static void *alloc(size_t n)``.
    head = stripped[:paren].replace("*", " ").split()
    return (
        code[:1] == stripped[:1]
        and 2 <= len(head) <= 5
        and head[0] not in _NOT_SIGNATURE
        and all(w.replace("::", "").replace("_", "a").isalnum() for w in head)
        and stripped.rstrip()[-1:] in ("{", ")", ";", ",")
    )


def has_banner(top: Sequence[str]) -> bool:
    """True when a file's first lines (``top``) say the file is generated."""
    return any(_BANNER_RE.search(line[:200]) is not None for line in top[:BANNER_LINES])
