"""The message pipeline: compress the tool results of an OpenAI or Anthropic conversation.

    pipe = hm.Pipeline(store=hm.MemoryStore(), config=hm.Config())
    new_messages, report = pipe.compress(messages, tools=tools)
    new_messages, report = await pipe.acompress(messages, tools=tools)
    report.tools            # the tools to send: the caller's plus headroom_retrieve when needed
    pipe.handle_tool_call("headroom_retrieve", '{"key": "..."}')   # -> str | None

CONTRACT (stable; integrations build on it):
- ``Config``: frozen dataclass: min_tokens=500, max_tokens=4000, executor="thread"|"process"|"inline",
  workers=None, strict=False, memo_size=4096, count_tokens=None.
- ``Pipeline(store=None, config=None)``: ``store`` defaults to a fresh ``MemoryStore``; ``close()`` or
  ``with`` shuts its pools down.
- ``Report``: frozen dataclass: messages (per compressed result: index, tool_name, tokens_before,
  tokens_after, keys, strategy), tokens_before, tokens_after, tokens_saved, keys, seconds,
  tools (list | None: the tool list to send, None when the caller's list needs no change),
  format ("openai" | "anthropic"), errors (results left as they were after a failure), changed.
- ``Pipeline.compress(messages, tools=None, *, query=None)`` and ``acompress(...)`` return
  ``(new_messages, report)``; the caller's lists and dicts are never mutated.
- ``Pipeline.handle_tool_call(name, arguments)``: ``arguments`` is a JSON string or a dict; returns the
  answer text for ``headroom_retrieve`` calls, None for any other tool name. ``await
  pipe.ahandle_tool_call(...)`` does the same with the store read off the event loop.
"""

from ._config import Config
from ._pipeline import Pipeline
from ._report import MessageReport, Report

__all__ = ["Config", "MessageReport", "Pipeline", "Report"]
