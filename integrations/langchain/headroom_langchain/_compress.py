"""Compress what a LangChain tool returned: a ``ToolMessage``, a ``Command`` carrying ToolMessages, or text.

Shared by the agent middleware and the tool wrapper. String content is crushed as a whole; list
content (content blocks, which ToolNode makes of a list of typed dicts) has its text blocks crushed one
by one and every other block (images, files, json blocks) left as it is. The retrieval tool's own
results and content that already carries our marker are never touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import ToolMessage

import headroom_middleware as hm

from ._savings import METADATA_KEY, ResultSavings, result_savings

log = logging.getLogger("headroom_langchain")

# Counting the tokens of a shorter text takes microseconds (a few C-level passes), so the async path
# counts it on the loop to decide whether a thread hop is worth it; anything longer goes to a thread.
_COUNT_ON_LOOP_CHARS = 32_768


@dataclass(frozen=True, slots=True)
class Settings:
    """How tool results are compressed."""

    min_tokens: int = 500
    """Results below this many (estimated) tokens pass through untouched."""
    max_tokens: int | None = None
    """Token budget per result (``None``: the core's default)."""
    strict: bool = False
    """Raise on internal errors instead of passing the original through (for tests and debugging)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A compressed tool output and the metadata of each ToolMessage that changed."""

    value: Any
    changed: tuple[ResultSavings, ...] = ()


def compress_output(
    value: Any, store: hm.Store | None, query: str | None, settings: Settings, *, tool_name: str | None = None
) -> Outcome:
    """Compress ``value`` (ToolMessage, Command, list of those, or a str); fail-open on any error."""
    try:
        return _compress_any(value, store, query, settings, tool_name)
    except Exception as exc:
        if settings.strict:
            raise
        # The exception's type only: its message could quote the payload, which never goes to logs.
        log.warning(
            "headroom: compressing a result of tool %r failed (%s); passing it through",
            tool_name,
            type(exc).__name__,
        )
        return Outcome(value)


async def acompress_output(
    value: Any, store: hm.Store | None, query: str | None, settings: Settings, *, tool_name: str | None = None
) -> Outcome:
    """``compress_output`` with the CPU work in a worker thread; no thread hop when nothing is large."""
    if not _may_need_work(value, settings):
        return Outcome(value)
    return await asyncio.to_thread(compress_output, value, store, query, settings, tool_name=tool_name)


def _compress_any(
    value: Any, store: hm.Store | None, query: str | None, settings: Settings, tool_name: str | None
) -> Outcome:
    if isinstance(value, ToolMessage):
        msg, meta = compress_message(value, store, query, settings)
        return Outcome(msg, (meta,) if meta else ())
    if isinstance(value, str):
        if tool_name == hm.RETRIEVE_TOOL_NAME:
            return Outcome(value)
        r = _crush_text(value, store, query, settings)
        return Outcome(r.text, (result_savings([r]),)) if r else Outcome(value)
    if isinstance(value, list):
        items: list[Any] = []
        changed: list[ResultSavings] = []
        for item in value:
            out = _compress_any(item, store, query, settings, tool_name)
            items.append(out.value)
            changed.extend(out.changed)
        return Outcome(items, tuple(changed)) if changed else Outcome(value)
    if _is_command(value):
        return _compress_command(value, store, query, settings)
    return Outcome(value)


def compress_message(
    msg: ToolMessage, store: hm.Store | None, query: str | None, settings: Settings
) -> tuple[ToolMessage, ResultSavings | None]:
    """A copy of ``msg`` with its text crushed and its figures in ``response_metadata["headroom"]``."""
    if msg.name == hm.RETRIEVE_TOOL_NAME:
        return msg, None
    content, results = _compress_content(msg.content, store, query, settings)
    if not results:
        return msg, None
    meta = result_savings(results)
    # model_copy keeps tool_call_id, name, status, artifact and id.
    new = msg.model_copy(
        update={"content": content, "response_metadata": {**msg.response_metadata, METADATA_KEY: meta}}
    )
    return new, meta


def _compress_content(
    content: Any, store: hm.Store | None, query: str | None, settings: Settings
) -> tuple[Any, list[hm.CrushResult]]:
    if isinstance(content, str):
        r = _crush_text(content, store, query, settings)
        return (r.text, [r]) if r else (content, [])
    if not isinstance(content, list):
        return content, []
    blocks: list[Any] = []
    results: list[hm.CrushResult] = []
    for block in content:
        if isinstance(block, str):
            r = _crush_text(block, store, query, settings)
            blocks.append(r.text if r else block)
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            r = _crush_text(block["text"], store, query, settings)
            blocks.append({**block, "text": r.text} if r else block)
        else:  # images, files, json and other blocks are never touched
            r = None
            blocks.append(block)
        if r is not None:
            results.append(r)
    return (blocks, results) if results else (content, [])


def _crush_text(
    text: str, store: hm.Store | None, query: str | None, settings: Settings
) -> hm.CrushResult | None:
    """The crushed form of ``text``, or None when it is small, already compressed, or did not shrink."""
    if hm.estimate_tokens(text) < settings.min_tokens or hm.carries_marker(text):
        return None
    r = hm.crush(text, store=store, query=query, max_tokens=settings.max_tokens, strict=settings.strict)
    if r.tokens_after >= r.tokens_before or r.text == text:
        return None
    return r


def _is_command(value: Any) -> bool:
    # langgraph is optional for the tool wrapper: recognise its Command without importing it.
    cls = type(value)
    return (
        cls.__name__ == "Command"
        and cls.__module__.startswith("langgraph")
        and dataclasses.is_dataclass(value)
    )


def _compress_command(cmd: Any, store: hm.Store | None, query: str | None, settings: Settings) -> Outcome:
    """Compress the ToolMessages a tool put in ``Command(update={"messages": [...]})``."""
    update = cmd.update
    if not isinstance(update, dict) or "messages" not in update:
        return Outcome(cmd)
    messages = update["messages"]
    seq = messages if isinstance(messages, list) else [messages]
    new_seq: list[Any] = []
    changed: list[ResultSavings] = []
    for m in seq:
        if isinstance(m, ToolMessage):
            m, meta = compress_message(m, store, query, settings)
            if meta:
                changed.append(meta)
        new_seq.append(m)
    if not changed:
        return Outcome(cmd)
    new_messages = new_seq if isinstance(messages, list) else new_seq[0]
    return Outcome(dataclasses.replace(cmd, update={**update, "messages": new_messages}), tuple(changed))


def _may_need_work(value: Any, settings: Settings) -> bool:
    """Could anything in ``value`` reach ``min_tokens``? Counts on the loop only what is cheap to count."""
    return any(
        len(text) > _COUNT_ON_LOOP_CHARS or hm.estimate_tokens(text) >= settings.min_tokens
        for text in _texts(value)
    )


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, ToolMessage):
        return [] if value.name == hm.RETRIEVE_TOOL_NAME else _content_texts(value.content)
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if _is_command(value) and isinstance(value.update, dict):
        return _texts(value.update.get("messages"))
    return []


def _content_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        out: list[str] = []
        for b in content:
            if isinstance(b, str):
                out.append(b)
            elif isinstance(b, dict) and isinstance(b.get("text"), str):
                out.append(b["text"])
        return out
    return []


def latest_user_text(messages: Any) -> str | None:
    """The text of the last human message (the query that steers what crush keeps), if any."""
    if not isinstance(messages, list):
        return None
    for m in reversed(messages):
        if getattr(m, "type", None) == "human":
            text = _join_text(getattr(m, "content", None))
            return text or None
    return None


def _join_text(content: Any) -> str:
    return content if isinstance(content, str) else "\n".join(_content_texts(content))
