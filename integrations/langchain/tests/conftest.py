"""Shared fixtures for the LangChain integration tests: a large real payload and marker helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "corpus"


@pytest.fixture(scope="session")
def payload() -> str:
    """A real tool output far above the compression threshold (AWS EC2 DescribeInstances, ~70 KB)."""
    return (CORPUS / "aws_ec2_describe_instances.json").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def log_payload() -> str:
    """A real build log (plain text), for the text path and content blocks."""
    return (CORPUS / "jenkins_console_build_benchmark.txt").read_text(encoding="utf-8")
