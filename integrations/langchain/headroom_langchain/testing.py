"""A tool-calling fake chat model for offline tests and examples.

None of langchain-core's fake chat models support ``bind_tools``, so agents built with
``create_agent`` cannot run on them. ``ScriptedChatModel`` plays a script: each model call returns the
next entry, an ``AIMessage`` (with ``tool_calls`` or a final answer) or a function of the messages the
model was sent (so a step can read a key out of a compressed result and ask for it). Every call's
input is recorded in ``calls`` and the names of the tools bound in ``bound_tools``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

ScriptStep = AIMessage | Callable[[list[BaseMessage]], AIMessage]


class ScriptedChatModel(BaseChatModel):
    """Returns the scripted replies in order; after the script ends, a plain ``"done"`` answer."""

    script: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "headroom-scripted"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # Record what the agent bound (to check headroom_retrieve is offered), then answer as scripted.
        self.bound_tools = [convert_to_openai_tool(t)["function"]["name"] for t in tools]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            self.calls.append(list(messages))
            step = self.script[len(self.calls) - 1] if len(self.calls) <= len(self.script) else None
        if step is None:
            reply = AIMessage(content="done")
        elif isinstance(step, AIMessage):
            reply = step
        else:
            reply = step(list(messages))
        return ChatResult(generations=[ChatGeneration(message=reply)])


def call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    """An ``AIMessage`` asking for one tool call."""
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]
    )
