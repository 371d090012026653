"""``Pipeline``: compress the tool results of a conversation, copy-on-write, memoized, fail-open.

One call goes through four steps:

1. ``scan``: find every tool-result text (format module), cheap, on the caller's thread.
2. ``_large``: keep only texts long enough that they *might* exceed ``min_tokens`` (a length bound, no
   token counting). Nothing left: the fast path returns the caller's list itself, with no thread hop.
3. ``_check``: for those, skip our own retrieval results and already-compressed content, count tokens,
   look the result up in the memo (and make sure the store still holds its originals).
4. Run the engine on what is left (``_crush.plan``; in a thread, a process, or inline), store the
   originals in the parent, remember the answer in the memo, and rebuild only the changed messages.

The query for a result is the latest user text *before* that result, so a result compressed in turn 3
gets the same query, and thus the same bytes, in turn 30, in any process, memo or no memo. A ``query=``
given to ``compress`` overrides it for every result of that call.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from .. import _crush
from .._interpreter import switch_interval
from .._markers import RETRIEVE_TOOL_NAME, carries_marker
from .._tokens import estimate_tokens
from ..ccr import MemoryStore, Store, is_key, retrieval_tool, retrieve
from ..engines import Compressed
from . import _anthropic, _openai
from ._config import Config
from ._conversation import Scan, Slot, detect_format, text_of_parts, tool_names
from ._executor import LazyPool, is_picklable, plan_in_worker
from ._memo import Entry, Memo, memo_key
from ._report import MessageReport, Report

log = logging.getLogger("headroom_middleware")

T = TypeVar("T")
Messages = Sequence[Any]
Tools = Sequence[Any] | None

# The estimator gives at most ~2.13 tokens per character (a lone newline); a text of at most
# min_tokens / 2.2 characters can therefore not exceed min_tokens (tests/test_pipeline_fastpath.py
# checks the bound). A custom tokenizer is assumed byte-level: at most one token per UTF-8 byte.
ESTIMATOR_TOKENS_PER_CHAR = 2.2
TOKENIZER_TOKENS_PER_CHAR = 4.0
# Up to this many characters of candidate text are checked (counted, hashed) on the event loop:
# well under a millisecond with the estimator. Beyond it, even the checks run off the loop. A custom
# tokenizer (e.g. tiktoken, ~1 ms per 10 KB) gets a far smaller allowance.
INLINE_CHECK_CHARS = 256_000
INLINE_CHECK_CHARS_TOKENIZER = 8_000

_FORMATS = {"openai": _openai, "anthropic": _anthropic}


@dataclass(frozen=True, slots=True)
class _Todo:
    """A result that needs the engine."""

    slot: Slot
    tool_name: str | None
    query: str | None
    tokens_before: int
    memo_key: bytes


@dataclass(frozen=True, slots=True)
class _Done:
    """A result whose compressed form is known (the engine just ran, or the memo knew it)."""

    slot: Slot
    tool_name: str | None
    entry: Entry
    cached: bool
    memo_key: bytes | None = None


@dataclass(slots=True)
class _Work:
    """One call's results: known ones, ones that need the engine, and repeats of those."""

    done: list[_Done]
    todo: list[_Todo]
    errors: int = 0
    twins: list[_Todo] = field(default_factory=list)
    """Results identical to a to-do one of the same call: they take its answer, not a second run."""

    def resolve_twins(self) -> None:
        answers = {d.memo_key: d.entry for d in self.done if d.memo_key is not None}
        for t in self.twins:
            entry = answers.get(t.memo_key)
            if entry is not None:
                self.done.append(_Done(t.slot, t.tool_name, entry, True, t.memo_key))
        self.twins = []


class Pipeline:
    """Compress the large tool results of OpenAI or Anthropic conversations before they reach the model.

    ``store`` receives the originals of everything dropped (a fresh ``MemoryStore`` when omitted);
    ``handle_tool_call`` answers the model's ``headroom_retrieve`` calls from it. Thread-safe; one
    pipeline serves any number of concurrent calls. ``close()`` (or ``with``) shuts its pools down.
    """

    def __init__(self, store: Store | None = None, config: Config | None = None) -> None:
        self.config = config if config is not None else Config()
        self.store: Store = store if store is not None else MemoryStore()
        self._count = self.config.count_tokens or estimate_tokens
        per_char = (
            ESTIMATOR_TOKENS_PER_CHAR if self.config.count_tokens is None else TOKENIZER_TOKENS_PER_CHAR
        )
        self._max_quiet_chars = int(self.config.min_tokens / per_char)
        # Checks may run on the event loop only when they cannot block it: the estimator (not a slow
        # tokenizer) and an in-process store (a Redis or SQLite lookup is I/O).
        self._inline_check_chars = (
            INLINE_CHECK_CHARS if self.config.count_tokens is None else INLINE_CHECK_CHARS_TOKENIZER
        )
        if not isinstance(self.store, MemoryStore):
            self._inline_check_chars = 0
        self._memo = Memo(self.config.memo_size)
        self._threads = LazyPool("thread", self.config.workers if self.config.executor == "thread" else 1)
        self._processes: LazyPool | None = None
        if self.config.executor == "process":
            if is_picklable(self.config.count_tokens):
                self._processes = LazyPool("process", self.config.workers)
            else:
                log.warning(
                    "headroom: count_tokens cannot be pickled for worker processes; "
                    "using the thread executor (pass a module-level function to use processes)"
                )

    # -- public API -----------------------------------------------------------------------------------

    def compress(
        self, messages: Messages, tools: Tools = None, *, query: str | None = None
    ) -> tuple[list[Any], Report]:
        """Compress the conversation's large tool results; returns ``(messages, report)``.

        The caller's messages are never mutated. Only changed messages are new dicts; when nothing
        changes, the caller's list itself comes back (no copy). ``report.tools`` is the tool list to
        send (the caller's plus ``headroom_retrieve``) or None when the caller's needs no change.
        """
        t0 = time.perf_counter()
        scan = self._scan(messages, tools)
        large = self._large(scan)
        if not large:
            return self._assemble(messages, tools, scan, _Work([], []), t0)
        work = self._check(messages, scan, large, query)
        if work.todo:
            self._run_sync(work)
        return self._assemble(messages, tools, scan, work, t0)

    async def acompress(
        self, messages: Messages, tools: Tools = None, *, query: str | None = None
    ) -> tuple[list[Any], Report]:
        """``compress`` with the CPU work off the event loop (no thread hop when nothing is large)."""
        t0 = time.perf_counter()
        scan = self._scan(messages, tools)
        large = self._large(scan)
        if not large:
            return self._assemble(messages, tools, scan, _Work([], []), t0)
        if self.config.executor == "inline":
            return self.compress(messages, tools, query=query)
        if sum(len(s.text) for s in large) <= self._inline_check_chars:
            work = self._check(messages, scan, large, query)
            if work.todo:
                await self._run_async(work)
        elif self._processes is None:
            # One hop for everything: checks, engine and store writes.
            work = await self._hop(self._check_and_run, messages, scan, large, query)
        else:
            work = await self._hop(self._check, messages, scan, large, query)
            if work.todo:
                await self._run_async(work)
        return self._assemble(messages, tools, scan, work, t0)

    def handle_tool_call(self, name: str, arguments: str | bytes | Mapping[str, Any] | None) -> str | None:
        """Answer a ``headroom_retrieve`` call (None for any other tool). Never raises (unless ``strict``).

        ``arguments``: a JSON object (string or dict) with ``key`` and optionally ``query``. An unknown or
        expired key, or malformed arguments, get a message the model can act on.
        """
        if name != RETRIEVE_TOOL_NAME:
            return None
        args = _parse_arguments(arguments)
        if isinstance(args, str):
            return args
        key = args.get("key")
        if not isinstance(key, str) or not is_key(key):
            return (
                f"{RETRIEVE_TOOL_NAME} error: 'key' must be the 24-character key shown in a "
                f"[headroom: ...] marker, e.g. {RETRIEVE_TOOL_NAME}(key='0123456789abcdef01234567'); "
                f"got {str(key)[:60]!r}."
            )
        query = args.get("query")
        if query is not None and not isinstance(query, str):
            query = str(query)
        paging = _paging(args)
        if isinstance(paging, str):
            return paging
        try:
            text = retrieve(self.store, key, query=query or None, offset=paging[0], limit=paging[1])
        except Exception as exc:
            if self.config.strict:
                raise
            log.warning("headroom: retrieval of %s failed (%s)", key, type(exc).__name__)
            return (
                f"{RETRIEVE_TOOL_NAME} error: the store could not be read just now ({type(exc).__name__}). "
                "Try the call again, or continue with the compressed content you have."
            )
        if text is None:
            return (
                f"{RETRIEVE_TOOL_NAME}: nothing is stored under key '{key}' (unknown or expired). "
                "Continue with the compressed content you have, or run the original tool again "
                "to get fresh output."
            )
        return text

    async def ahandle_tool_call(
        self, name: str, arguments: str | bytes | Mapping[str, Any] | None
    ) -> str | None:
        """``handle_tool_call`` for async code: the store read runs off the event loop."""
        if name != RETRIEVE_TOOL_NAME:
            return None
        return await self._hop(self.handle_tool_call, name, arguments)

    def close(self) -> None:
        """Shut the pipeline's thread and process pools down (idempotent; also done at exit)."""
        self._threads.close()
        if self._processes is not None:
            self._processes.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps ----------------------------------------------------------------------------------------

    def _scan(self, messages: Messages, tools: Tools) -> Scan:
        fmt = detect_format(messages, tools)
        scan: Scan = _FORMATS[fmt].scan(messages)
        return scan

    def _large(self, scan: Scan) -> list[Slot]:
        """Results that might exceed ``min_tokens`` (a length bound; no token counting yet)."""
        limit = self._max_quiet_chars
        return [s for s in scan.slots if len(s.text) > limit]

    def _check(self, messages: Messages, scan: Scan, large: list[Slot], query: str | None) -> _Work:
        """Sort large results into skipped, known (memo) and to-do; fail-open per result."""
        work = _Work([], [])
        queries: dict[int, str | None] = {}
        pending: set[bytes] = set()
        for slot in large:
            try:
                tool_name = scan.tool_name(slot)
                if tool_name == RETRIEVE_TOOL_NAME or carries_marker(slot.text):
                    continue  # the model asked for this content, or we compressed it already
                tokens = self._count(slot.text)
                if tokens <= self.config.min_tokens:
                    continue
                q = query if query is not None else _query_at(messages, slot.query_index, queries)
                key = memo_key(slot.text, tool_name, q)
                entry = self._memo.get(key)
                if entry is not None and self._store_holds(entry.keys):
                    work.done.append(_Done(slot, tool_name, entry, True))
                elif key in pending:
                    work.twins.append(_Todo(slot, tool_name, q, tokens, key))
                else:
                    pending.add(key)
                    work.todo.append(_Todo(slot, tool_name, q, tokens, key))
            except Exception as exc:
                self._failed(slot, exc, work)
        return work

    def _check_and_run(self, messages: Messages, scan: Scan, large: list[Slot], query: str | None) -> _Work:
        work = self._check(messages, scan, large, query)
        if work.todo:
            self._run_sync(work)
        return work

    def _run_sync(self, work: _Work) -> None:
        """Run the engine for every to-do result, here or in the process pool, and finish them here."""
        todo, work.todo = work.todo, []
        if self._processes is not None:
            futures = [self._submit(t) for t in todo]
            for t, fut in zip(todo, futures, strict=True):
                try:
                    compressed, after = fut.result()
                    work.done.append(self._finish(t, compressed, after))
                except Exception as exc:
                    self._pool_error(exc)
                    self._failed(t.slot, exc, work)
            return
        for t in todo:
            try:
                compressed, after = plan_in_worker(
                    t.slot.text, t.query, self.config.max_tokens, self.config.count_tokens
                )
                work.done.append(self._finish(t, compressed, after))
            except Exception as exc:
                self._failed(t.slot, exc, work)

    async def _run_async(self, work: _Work) -> None:
        if self._processes is None:
            await self._hop(self._run_sync, work)
            return
        todo, work.todo = work.todo, []
        outcomes = await asyncio.gather(
            *(asyncio.wrap_future(self._submit(t)) for t in todo), return_exceptions=True
        )
        # Store writes can be network calls (SQLite, Redis): off the loop too.
        await self._hop(self._finish_all, work, todo, outcomes)

    def _finish_all(self, work: _Work, todo: list[_Todo], outcomes: list[Any]) -> None:
        for t, outcome in zip(todo, outcomes, strict=True):
            try:
                if isinstance(outcome, BaseException):
                    self._pool_error(outcome)
                    raise outcome
                compressed, after = outcome
                work.done.append(self._finish(t, compressed, after))
            except Exception as exc:
                self._failed(t.slot, exc, work)

    def _submit(self, t: _Todo) -> Future[tuple[Compressed, int]]:
        assert self._processes is not None
        return self._processes.get().submit(
            plan_in_worker, t.slot.text, t.query, self.config.max_tokens, self.config.count_tokens
        )

    def _finish(self, t: _Todo, compressed: Compressed, after: int) -> _Done:
        """Store the originals (falling back to a lossless form if refused), remember, report."""
        if compressed.originals and not self._store_all(compressed):
            compressed = _crush.plan(
                t.slot.text,
                query=t.query,
                max_tokens=self.config.max_tokens,
                count_tokens=self.config.count_tokens,
                lossy=False,
            )
            after = self._count(compressed.text)
        if after >= t.tokens_before and not compressed.originals:
            entry = Entry(None, (), "passthrough", t.tokens_before, t.tokens_before)
        else:
            entry = Entry(compressed.text, compressed.keys, compressed.strategy, t.tokens_before, after)
        self._memo.put(t.memo_key, entry)
        return _Done(t.slot, t.tool_name, entry, False, t.memo_key)

    def _store_all(self, compressed: Compressed) -> bool:
        try:
            for key, data in compressed.originals:
                if self.store.put(key, data) is False:
                    raise _crush.StoreRefused(key)
        except Exception as exc:
            if self.config.strict:
                raise
            log.warning(
                "headroom: store refused an original (%s); keeping a lossless form", type(exc).__name__
            )
            return False
        return True

    def _store_holds(self, keys: tuple[str, ...]) -> bool:
        """True when the store still holds every original; also when it cannot be asked right now.

        A store that is down (a Redis restart) most likely still has the originals when it comes back,
        and the memo's bytes keep the conversation stable meanwhile; recompressing could only produce
        a different (lossless) form, changing bytes the provider has cached.
        """
        try:
            if hasattr(type(self.store), "__contains__"):  # cheaper than fetching the bytes
                return all(k in self.store for k in keys)  # type: ignore[operator]
            return all(self.store.get(k) is not None for k in keys)
        except Exception as exc:
            log.debug("headroom: store check failed (%s); trusting the memo", type(exc).__name__)
            return True

    def _failed(self, slot: Slot, exc: Exception, work: _Work) -> None:
        if self.config.strict:
            raise exc
        work.errors += 1
        log.warning(
            "headroom: compressing message %d failed (%s: %s); passing it through",
            slot.index,
            type(exc).__name__,
            str(exc)[:200],
        )

    def _pool_error(self, exc: BaseException) -> None:
        if isinstance(exc, BrokenExecutor) and self._processes is not None:
            self._processes.reset()

    async def _hop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the pipeline's thread pool, with the caller's context variables."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, _with_switch_interval, self.config.switch_interval, fn, *args)
        return await loop.run_in_executor(self._threads.get(), call)

    def _assemble(
        self, messages: Messages, tools: Tools, scan: Scan, work: _Work, t0: float
    ) -> tuple[list[Any], Report]:
        """New messages (copy-on-write) and the report."""
        work.resolve_twins()
        changed = sorted(
            (d for d in work.done if d.entry.text is not None), key=lambda d: (d.slot.index, d.slot.path)
        )
        replace = _FORMATS[scan.format].replace
        if changed:
            out = list(messages)
            for d in changed:
                out[d.slot.index] = replace(out[d.slot.index], d.slot.path, d.entry.text or "")
        else:
            out = messages if isinstance(messages, list) else list(messages)
        new_tools = self._tools(scan, tools, changed)
        reports = tuple(
            MessageReport(
                d.slot.index,
                d.tool_name,
                d.entry.tokens_before,
                d.entry.tokens_after,
                d.entry.keys,
                d.entry.strategy,
                d.slot.path,
                d.cached,
            )
            for d in changed
        )
        keys: dict[str, None] = {}
        for r in reports:
            keys.update(dict.fromkeys(r.keys))
        report = Report(
            reports,
            sum(r.tokens_before for r in reports),
            sum(r.tokens_after for r in reports),
            tuple(keys),
            time.perf_counter() - t0,
            new_tools,
            scan.format,
            work.errors,
        )
        if reports:
            _log_call(report)
        return out, report

    def _tools(self, scan: Scan, tools: Tools, changed: list[_Done]) -> list[dict[str, Any]] | None:
        """The caller's tools plus headroom_retrieve when anything in the conversation carries a marker."""
        needed = scan.retrieve_called or any(d.entry.keys for d in changed)
        if not needed:
            needed = any(RETRIEVE_TOOL_NAME in s.text and carries_marker(s.text) for s in scan.slots)
        if not needed or RETRIEVE_TOOL_NAME in tool_names(tools):
            return None
        return [*(tools or ()), retrieval_tool(scan.format)]


def _query_at(messages: Messages, index: int, cache: dict[int, str | None]) -> str | None:
    if index < 0:
        return None
    if index not in cache:
        text = text_of_parts(messages[index].get("content")).strip()
        cache[index] = text or None
    return cache[index]


def _parse_arguments(arguments: str | bytes | Mapping[str, Any] | None) -> dict[str, Any] | str:
    usage = (
        f"{RETRIEVE_TOOL_NAME} error: arguments must be a JSON object like "
        '{"key": "<24-character key from the marker>", "query": "optional words to filter by"}'
    )
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if isinstance(arguments, (str, bytes)):
        try:
            value = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return f"{usage}; the arguments were not valid JSON."
        if isinstance(value, dict):
            return value
    return f"{usage}; got {type(arguments).__name__}."


def _paging(args: Mapping[str, Any]) -> tuple[int, int | None] | str:
    """``offset`` and ``limit`` from a call's arguments (ints or digit strings), or what is wrong."""
    values: list[int | None] = []
    for name, default, least in (("offset", 0, 0), ("limit", None, 1)):
        raw = args.get(name)
        if raw is None or raw == "":
            values.append(default)
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = least - 1
        if isinstance(raw, bool) or value < least:
            return (
                f"{RETRIEVE_TOOL_NAME} error: '{name}' must be an integer >= {least}; got {str(raw)[:40]!r}."
            )
        values.append(value)
    return values[0] or 0, values[1]


def _log_call(report: Report) -> None:
    if log.isEnabledFor(logging.DEBUG):
        for r in report.messages:
            log.debug(
                "headroom: message %d (%s) %d -> %d tokens, %s%s, keys=%s",
                r.index,
                r.tool_name or "?",
                r.tokens_before,
                r.tokens_after,
                r.strategy,
                " (memo)" if r.cached else "",
                ",".join(r.keys) or "-",
            )
    log.info(
        "headroom: %d tool result(s) compressed, %d -> %d tokens (%d saved) in %.1f ms",
        len(report.messages),
        report.tokens_before,
        report.tokens_after,
        report.tokens_saved,
        report.seconds * 1000,
    )


def _with_switch_interval(seconds: float | None, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a background thread, handing the GIL to waiting threads every ``seconds``."""
    with switch_interval(seconds):
        return fn(*args)
