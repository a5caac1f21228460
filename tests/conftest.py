"""Shared fixtures: a real moto server on 127.0.0.1 and boto3 clients pointed at it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from logthread.slack.chat import SlackChat, make_web_client
from logthread_local.aws import LOCAL_ENV, moto_server, reset_moto
from logthread_local.slack_standin import SlackStandin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Never let a test reach a real account, whatever the developer's shell holds.
os.environ.update(LOCAL_ENV)
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)


def load_fixture(name: str) -> Any:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean moto account for one test; AWS_ENDPOINT_URL points at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    yield moto_endpoint
    reset_moto(moto_endpoint)


@pytest.fixture
def logs_client(aws: str) -> Any:
    return boto3.client(
        "logs", endpoint_url=aws, config=Config(retries={"mode": "adaptive", "max_attempts": 5})
    )


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    """A started Slack Web API stand-in; SLACK_API_URL and SLACK_BOT_TOKEN point at it."""
    with SlackStandin() as standin:
        monkeypatch.setenv("SLACK_API_URL", standin.url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", standin.token)
        yield standin


@pytest.fixture
def chat(slack: SlackStandin) -> SlackChat:
    """A SlackChat over the real WebClient, talking to the ``slack`` stand-in."""
    return SlackChat(make_web_client(slack.token, slack.url))
