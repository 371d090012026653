"""The ``headroom-middleware`` command (also ``python -m headroom_middleware``).

    headroom-middleware crush FILE|- [--query Q] [--max-tokens N] [--format text|json] [--stats]
                              [--store URL]
    headroom-middleware retrieve KEY --store URL [--query Q] [--offset N] [--limit N]
    headroom-middleware demo [--fixtures DIR]
    headroom-middleware bench [NAME ...] [--list]

Exit codes: 0 success, 1 runtime error (unreadable file, failure while running), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import orjson

from . import _crush
from ._result import CrushResult
from ._version import __version__
from .ccr import STORE_ENV, MemoryStore, Store, configured_store, is_key, open_store, retrieve

PROG = "headroom-middleware"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
_SKIP_FIXTURES = {"needles.json"}  # and every *.md (sources, licenses)


class CliError(Exception):
    """A runtime error with a message for the user (exit code 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors: exit 2 with the usage line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Compress large tool outputs for LLM agents; keep the originals retrievable (CCR).",
        epilog=f"examples:\n  {PROG} crush tool_output.json --stats\n  {PROG} demo\n"
        f"  python -m headroom_middleware bench --list\n\n"
        "Exit codes: 0 success, 1 runtime error, 2 usage error.\n"
        f"Run '{PROG} COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    crush = sub.add_parser(
        "crush",
        help="compress one tool output (a file or stdin) and print what the model would see",
        description="Compress one tool output and print what the model would see. The originals of "
        "what was left out go to --store (default: the store $HEADROOM_STORE names, else memory for this "
        "run only); 'retrieve' reads them back from a shared store.",
        epilog=f"examples:\n  {PROG} crush api_response.json --stats > compressed.txt\n"
        f"  {PROG} crush build.log --store sqlite:///tmp/headroom.db --format json\n"
        f"  kubectl get pods -A -o json | {PROG} crush - --query CrashLoopBackOff --format json\n"
        f"  {PROG} crush build.log --max-tokens 1500",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    crush.add_argument("file", metavar="FILE", help="the tool output to compress, or - for stdin")
    crush.add_argument("--query", "-q", help="what the user asked: matching items and lines are kept")
    crush.add_argument(
        "--max-tokens",
        "-m",
        type=_positive_int,
        default=None,
        help=f"token budget of the output (default {_crush.DEFAULT_MAX_TOKENS})",
    )
    crush.add_argument(
        "--format",
        "-f",
        choices=("text", "json"),
        default="text",
        help="text: the compressed text; json: text, keys, token figures and strategy (default text)",
    )
    crush.add_argument("--stats", "-s", action="store_true", help="print token figures to stderr")
    crush.add_argument("--store", metavar="URL", help=_STORE_HELP)

    fetch = sub.add_parser(
        "retrieve",
        help="print an original a crush stored (what headroom_retrieve answers the model)",
        description="Print the original stored under KEY, or with --query only its matching items or "
        "lines. Reads a shared store: the one a crush --store wrote to.",
        epilog=f"examples:\n  {PROG} retrieve 0123456789abcdef01234567 --store sqlite:///tmp/headroom.db\n"
        f"  {PROG} retrieve 0123456789abcdef01234567 --store redis://localhost:6379/0 --query timeout",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fetch.add_argument("key", metavar="KEY", help="the 24-character key of a [headroom: ...] marker")
    fetch.add_argument("--store", metavar="URL", help=_STORE_HELP)
    fetch.add_argument("--query", "-q", help="only the items or lines matching these terms")
    fetch.add_argument("--offset", type=_non_negative_int, default=0, help="skip this many matches (paging)")
    fetch.add_argument("--limit", type=_positive_int, default=None, help="at most this many matches")

    demo = sub.add_parser(
        "demo",
        help="crush the bundled fixtures, print a before/after table, round-trip one retrieval (offline)",
        description="Crush every fixture (real tool outputs), print tokens before/after and needles "
        "kept, then retrieve one original and check it byte for byte. Runs offline.",
    )
    demo.add_argument(
        "--fixtures", metavar="DIR", help="folder of tool outputs (default: the repository's fixtures/corpus)"
    )

    bench = sub.add_parser(
        "bench",
        help="run the quick variants of the benchmarks in benchmarks/",
        description="Run benchmarks/*.py with --quick (short runs; figures vary with machine load). "
        "Full runs: python benchmarks/NAME.py.",
    )
    bench.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    bench.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="%(levelname)s %(name)s: %(message)s",
        )
    try:
        if args.command == "crush":
            return _cmd_crush(args)
        if args.command == "retrieve":
            return _cmd_retrieve(args)
        if args.command == "demo":
            return _cmd_demo(args)
        return _cmd_bench(args)
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. piped into head
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug of ours: say what happened without a traceback wall
        print(f"{PROG}: error: {type(exc).__name__}: {exc} (run with -v for logs)", file=sys.stderr)
        return EXIT_ERROR


# -- crush ----------------------------------------------------------------------------------------------


def _cmd_crush(args: argparse.Namespace) -> int:
    data = _read_input(args.file)
    text = data.decode("utf-8", "surrogateescape")
    store = _store(args.store)
    t0 = time.perf_counter()
    r = _crush.crush(text, store=store, query=args.query, max_tokens=args.max_tokens)
    ms = (time.perf_counter() - t0) * 1000
    if args.format == "json":
        doc = {
            "text": r.text,
            "keys": list(r.keys),
            "tokens_before": r.tokens_before,
            "tokens_after": r.tokens_after,
            "tokens_saved": r.tokens_saved,
            "strategy": r.strategy,
            "is_json": r.is_json,
            "lossless": r.lossless,
            "milliseconds": round(ms, 3),
        }
        # The stdlib escapes lone surrogates (undecodable input bytes) where orjson refuses them.
        _write(json.dumps(doc, indent=2).encode("ascii") + b"\n")
    else:
        _write(r.text.encode("utf-8", "surrogateescape"))
        if not r.text.endswith("\n"):
            _write(b"\n")
    if args.stats:
        print(_stats_line(r, ms), file=sys.stderr)
    return EXIT_OK


_STORE_HELP = (
    f"where originals go or come from: memory:, sqlite:///path.db, redis://host:6379/0 "
    f"(default: ${STORE_ENV}, else memory)"
)


def _store(url: str | None) -> Store:
    try:
        return open_store(url) if url is not None else configured_store()
    except (ValueError, ImportError) as exc:
        raise CliError(str(exc)) from None


# -- retrieve -------------------------------------------------------------------------------------------


def _cmd_retrieve(args: argparse.Namespace) -> int:
    if not is_key(args.key):
        raise CliError(f"{args.key!r} is not a key: a key is the 24 lowercase hex characters of a marker")
    store = _store(args.store)
    if isinstance(store, MemoryStore):
        raise CliError(
            f"retrieve needs the shared store the crush wrote to: pass --store URL or set ${STORE_ENV} "
            "(a memory store lives only as long as one command)"
        )
    answer = retrieve(store, args.key, args.query, offset=args.offset, limit=args.limit)
    if answer is None:
        where = args.store or os.environ.get(STORE_ENV)
        raise CliError(f"nothing is stored under {args.key} in {where} (unknown or expired)")
    _write(answer.encode("utf-8", "surrogateescape"))
    if not answer.endswith("\n"):
        _write(b"\n")
    return EXIT_OK


def _stats_line(r: CrushResult, ms: float) -> str:
    pct = 100.0 * r.tokens_after / r.tokens_before if r.tokens_before else 100.0
    keys = ", ".join(r.keys) if r.keys else "none (lossless)"
    return (
        f"{r.tokens_before:,} -> {r.tokens_after:,} tokens ({pct:.1f}% of the original), "
        f"strategy {r.strategy}, {ms:.1f} ms, keys: {keys}"
    )


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"no such file: {name}") from None
    except IsADirectoryError:
        raise CliError(f"{name} is a directory; give a file, or - for stdin") from None
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None


# -- demo -----------------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    folder = Path(args.fixtures) if args.fixtures else find_repo_dir("fixtures/corpus")
    if folder is None:
        raise CliError(
            "fixtures/corpus not found (looked upwards from the current directory and from the "
            "installed package). Run from a checkout of headroom-middleware, or pass --fixtures DIR."
        )
    if not folder.is_dir():
        raise CliError(f"fixtures folder not found: {folder}")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.lower() not in _SKIP_FIXTURES and p.suffix.lower() != ".md"
    )
    if not files:
        raise CliError(f"no fixtures in {folder}")
    needles = _load_needles(folder / "needles.json")
    store = MemoryStore()
    rows: list[tuple[str, CrushResult, float, str]] = []
    originals: dict[str, str] = {}
    for path in files:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        originals[path.name] = text
        t0 = time.perf_counter()
        r = _crush.crush(text, store=store)
        ms = (time.perf_counter() - t0) * 1000
        rows.append((path.name, r, ms, _needle_cell(needles.get(path.name, []), r, store)))
    out = sys.stdout
    print(f"headroom-middleware {__version__} demo: {len(files)} tool outputs from {folder}", file=out)
    print(
        "(tokens: the built-in estimator of o200k_base; needles: strings an agent needs, visible without "
        "retrieval / recoverable through it)\n",
        file=out,
    )
    width = max(len(n) for n, *_ in rows)
    header = (
        f"{'file':<{width}}  {'strategy':<16} {'before':>9} {'after':>8} {'after %':>8} {'ms':>8}  needles"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, r, ms, cell in rows:
        pct = 100.0 * r.tokens_after / r.tokens_before if r.tokens_before else 100.0
        print(
            f"{name:<{width}}  {r.strategy:<16} {r.tokens_before:>9,} {r.tokens_after:>8,} {pct:>7.1f}% "
            f"{ms:>8.1f}  {cell}",
            file=out,
        )
    before = sum(r.tokens_before for _, r, _, _ in rows)
    after = sum(r.tokens_after for _, r, _, _ in rows)
    total_ms = sum(ms for _, _, ms, _ in rows)
    print("-" * len(header), file=out)
    pct = 100.0 * after / before if before else 100.0
    print(f"{'total':<{width}}  {'':<16} {before:>9,} {after:>8,} {pct:>7.1f}% {total_ms:>8.1f}", file=out)
    print(file=out)
    _pipeline_demo(originals)
    return _round_trip(rows, originals, store)


def _pipeline_demo(originals: dict[str, str]) -> None:
    """The same outputs as the tool results of one conversation, through ``Pipeline``, sent twice."""
    from .pipeline import Config, Pipeline

    messages: list[dict[str, Any]] = [{"role": "user", "content": "What went wrong? Check everything."}]
    for i, (name, text) in enumerate(originals.items()):
        call = {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": f"read_{name}", "arguments": "{}"},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": text})
    with Pipeline(config=Config(executor="inline")) as pipe:
        first, report = pipe.compress(messages)
        again, report2 = pipe.compress([*messages, {"role": "user", "content": "And now?"}])
    same = all(first[m.index] == again[m.index] for m in report.messages)
    tools = [t["function"]["name"] for t in report.tools or ()]
    print(
        f"pipeline: the same {len(originals)} outputs as the tool results of one conversation: "
        f"{report.tokens_before:,} -> {report.tokens_after:,} tokens in {report.seconds * 1000:.0f} ms, "
        f"tools to send: {tools}.\n"
        f"          Re-sent with the next user turn: {report2.seconds * 1000:.1f} ms "
        f"({sum(m.cached for m in report2.messages)} of {len(report2.messages)} results from the memo), "
        f"earlier results byte-identical: {'yes' if same else 'NO'}.\n"
    )


def _round_trip(
    rows: list[tuple[str, CrushResult, float, str]], originals: dict[str, str], store: MemoryStore
) -> int:
    """Retrieve one stored original and check it against the file, byte for byte."""
    for name, r, _, _ in rows:
        for key in r.keys:
            got = retrieve(store, key)
            if got is None or got != originals[name]:
                continue  # a key for part of a document (e.g. one array): try a whole-file one
            same = got.encode("utf-8", "surrogateescape") == originals[name].encode(
                "utf-8", "surrogateescape"
            )
            print(
                f"round trip: {name} was compressed to {r.tokens_after:,} tokens; "
                f"headroom_retrieve(key='{key}') gave back {len(got.encode('utf-8', 'surrogateescape')):,} "
                f"bytes, {'identical to the file byte for byte' if same else 'DIFFERENT from the file'}."
            )
            return EXIT_OK if same else EXIT_ERROR
    if not any(r.keys for _, r, _, _ in rows):
        print("round trip: nothing was dropped from these fixtures, so there is nothing to retrieve.")
        return EXIT_OK
    # Only partial originals (e.g. one array of a JSON document) were stored: show one of them.
    name, r = next((n, r) for n, r, _, _ in rows if r.keys)
    got = retrieve(store, r.keys[0])
    found = (got is not None and got in originals[name]) or _json_part_of(got, originals[name])
    print(
        f"round trip: {name}: headroom_retrieve(key='{r.keys[0]}') gave back "
        f"{0 if got is None else len(got):,} characters of the original ({'found' if found else 'NOT found'} "
        "in the file)."
    )
    return EXIT_OK if found else EXIT_ERROR


def _json_part_of(part: str | None, whole: str) -> bool:
    if part is None:
        return False
    try:
        target = orjson.loads(part)
        stack: list[Any] = [orjson.loads(whole)]
    except orjson.JSONDecodeError:
        return False
    while stack:
        value = stack.pop()
        if value == target:
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _load_needles(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        return {}
    try:
        entries = orjson.loads(path.read_bytes())
        return {e["file"]: list(e["needles"]) for e in entries}
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return {}


def _needle_cell(needles: list[str], r: CrushResult, store: MemoryStore) -> str:
    if not needles:
        return "-"
    stored = [retrieve(store, k) or "" for k in r.keys]
    visible = sum(1 for n in needles if n in r.text)
    recoverable = sum(1 for n in needles if n in r.text or any(n in s for s in stored))
    return f"{visible}/{len(needles)} visible, {recoverable}/{len(needles)} recoverable"


# -- bench ----------------------------------------------------------------------------------------------


def _cmd_bench(args: argparse.Namespace) -> int:
    folder = find_repo_dir("benchmarks")
    if folder is None:
        print(
            "The benchmarks live in the repository, not in the installed package. From a checkout run:\n"
            "  python benchmarks/passthrough.py   (and event_loop, throughput, store, memory, multiturn)\n"
            "or: headroom-middleware bench   from inside the checkout.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    scripts = {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}
    if args.list:
        for name in scripts:
            print(name)
        return EXIT_OK
    unknown = [n for n in args.names if n not in scripts]
    if unknown:
        print(
            f"{PROG} bench: error: unknown benchmark(s): {', '.join(unknown)}; "
            f"choose from: {', '.join(scripts)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    failed = 0
    for name in args.names or list(scripts):
        # Scripts that have a quick variant get --quick; others run as they are.
        quick = ["--quick"] if "--quick" in scripts[name].read_text("utf-8", "replace") else []
        command = " ".join([f"python {folder.name}/{name}.py", *quick])
        print(f"== {name} ({command})", flush=True)
        rc = subprocess.call([sys.executable, str(scripts[name]), *quick], env=_bench_env())
        if rc != 0:
            print(f"== {name} exited with {rc}", file=sys.stderr, flush=True)
            failed += 1
    return EXIT_ERROR if failed else EXIT_OK


def _bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return env


# -- helpers --------------------------------------------------------------------------------------------


def find_repo_dir(relative: str) -> Path | None:
    """``relative`` under the current directory or the package's checkout, searching upwards."""
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for base in (start, *start.parents):
            candidate = base / relative
            if candidate.is_dir():
                return candidate
    return None


def _int_at_least(low: int, what: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
        return n

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _write(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _silence_stdout() -> None:
    # Python flushes stdout at exit; after a broken pipe that would raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
