"""Shared fixtures for the LiteLLM integration tests: fake providers on 127.0.0.1 and a fresh callback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))  # for _litellm_fake_provider (importlib import mode)

import litellm
import pytest
from _litellm_fake_provider import FakeProvider
from headroom_litellm import HeadroomCallback

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def provider_server() -> Iterator[FakeProvider]:
    server = FakeProvider().start()
    yield server
    server.stop()


@pytest.fixture
def provider(provider_server: FakeProvider) -> FakeProvider:
    provider_server.reset()
    return provider_server


@pytest.fixture
def headroom() -> Iterator[HeadroomCallback]:
    """A fresh callback registered with LiteLLM for one test (removed afterwards)."""
    cb = HeadroomCallback()
    saved = list(litellm.callbacks)
    litellm.callbacks = [cb]
    yield cb
    litellm.callbacks = saved
    cb.pipeline.close()


@pytest.fixture(scope="session")
def ec2_json() -> str:
    return (REPO / "fixtures/corpus/aws_ec2_describe_instances.json").read_text()


@pytest.fixture(scope="session")
def build_log() -> str:
    return (REPO / "fixtures/corpus/jenkins_console_build_benchmark.txt").read_text()
