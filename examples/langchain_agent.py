"""A LangChain agent whose big tool results are compressed by HeadroomMiddleware.

Offline by default: a scripted tool-calling model asks for the EC2 inventory (a real ~70 KB
DescribeInstances payload), reads the compressed result, then fetches the terminated instances back
through ``headroom_retrieve`` with a query. With a real model:

    python examples/langchain_agent.py --model openai:gpt-4o-mini   # langchain-openai + OPENAI_API_KEY
    python examples/langchain_agent.py --model anthropic:claude-sonnet-4-5   # langchain-anthropic + key

Any ``provider:model`` that ``langchain.chat_models.init_chat_model`` understands works, once that
provider's package is installed and its API key is set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from headroom_langchain import HeadroomMiddleware
from headroom_langchain.testing import ScriptedChatModel, call
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from headroom_middleware import RETRIEVE_TOOL_NAME, estimate_tokens
from headroom_middleware._markers import marker_keys

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
QUESTION = "Which EC2 instances were terminated, and why? Give their instance ids."


@tool
def describe_instances(region: str) -> str:
    """Describe every EC2 instance in an AWS region (raw DescribeInstances JSON)."""
    return (CORPUS / "aws_ec2_describe_instances.json").read_text(encoding="utf-8")


def _offline_model() -> ScriptedChatModel:
    def fetch_terminated(messages: list[BaseMessage]) -> AIMessage:
        # Read the key from the marker in the compressed result, as a real model does.
        for m in messages:
            if isinstance(m, ToolMessage) and isinstance(m.content, str) and marker_keys(m.content):
                key = marker_keys(m.content)[0]
                return call(RETRIEVE_TOOL_NAME, {"key": key, "query": "terminated"}, "call_2")
        return AIMessage("The inventory came back whole; nothing to fetch.")

    return ScriptedChatModel(
        script=[
            call("describe_instances", {"region": "eu-west-1"}, "call_1"),
            fetch_terminated,
            AIMessage("(offline scripted model) The terminated instances are in the retrieved records."),
        ]
    )


def _real_model(spec: str) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(spec)
    except ImportError as exc:
        sys.exit(
            f"cannot use {spec!r}: its provider package is not installed ({exc}).\n"
            "Install it (e.g. pip install langchain-openai) and set the provider's API key, "
            "or run without --model for the offline demo."
        )


def _show(messages: list[Any]) -> None:
    for m in messages:
        if isinstance(m, ToolMessage):
            meta = m.response_metadata.get("headroom")
            size = estimate_tokens(m.content) if isinstance(m.content, str) else 0
            note = (
                f"compressed {meta['tokens_before']:,} -> {meta['tokens_after']:,} tokens, "
                f"keys {meta['keys']}"
                if meta
                else "as returned by the tool"
            )
            print(f"  tool {m.name:<20} ~{size:>6,} tokens  ({note})")
            if m.name == RETRIEVE_TOOL_NAME and isinstance(m.content, str):
                more = " …" if len(m.content) > 400 else ""
                print("    " + m.content[:400].replace("\n", "\n    ") + more)
        elif isinstance(m, AIMessage) and m.tool_calls:
            for tc in m.tool_calls:
                print(f"  model calls {tc['name']}({tc['args']})")
        elif isinstance(m, AIMessage):
            print(f"  model says: {str(m.content)[:300]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", help="provider:model for init_chat_model (default: offline scripted model)"
    )
    parser.add_argument("--max-tokens", type=int, default=None, help="token budget per tool result")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    model = _real_model(args.model) if args.model else _offline_model()
    headroom = HeadroomMiddleware(max_tokens=args.max_tokens)
    agent = create_agent(
        model,
        tools=[describe_instances],
        middleware=[headroom],
        system_prompt="Answer from tool results. When a result says content was omitted, fetch what "
        f"you need with {RETRIEVE_TOOL_NAME} (a query narrows the answer).",
    )
    print(f"question: {QUESTION}\nmodel: {args.model or 'offline scripted model'}")
    result = agent.invoke({"messages": [HumanMessage(QUESTION)]})
    _show(result["messages"])
    run = result["headroom"]
    print(
        f"this run: {run['results']} result(s) compressed, {run['tokens_before']:,} -> "
        f"{run['tokens_after']:,} tokens ({run['tokens_saved']:,} saved)\n"
        f"counter (all runs): {headroom.counter.snapshot()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
