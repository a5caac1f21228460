"""Shared fixtures: a real moto server on 127.0.0.1 and boto3 clients pointed at it."""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import settings

from logthread.slack.chat import SlackChat
from logthread.slack.webclient import make_web_client
from logthread_local.aws import LOCAL_ENV, in_account, moto_server, reset_moto
from logthread_local.lambdas import ACCOUNT_ID
from logthread_local.linkedlogs import LinkedLogsProxy
from logthread_local.slack_standin import SlackStandin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Hypothesis fails an example slower than its deadline (200 ms by default) when a rerun is
# quicker. The suite runs on every core (pytest-xdist), where an example can wait for the CPU
# for a while: a 10 KB command that takes 40 ms alone was once timed at 253 ms. One second
# still catches what the deadline is for (backtracking that blows up takes far longer); tests
# that set their own deadline keep it.
settings.register_profile("logthread", deadline=timedelta(seconds=1))
settings.load_profile("logthread")


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """``-n auto`` (pyproject's addopts): one worker more than there are cores.

    Some waiting is the point of some tests (deadlines, botocore's backoff, Slack's
    Retry-After, the demo and ``logthread dev`` in their own processes): a spare worker
    uses the core another one leaves idle meanwhile (2 cores: 3 workers took 105 s where
    2 took 123 s). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` is taken as it is.
    """
    cores = yield
    return cores if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") else cores + 1


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


# The accounts of the cross-account tests: the bot's (monitoring) account, a source account
# linked to it, and an account that is not linked.
MONITORING_ACCOUNT = ACCOUNT_ID
SOURCE_ACCOUNT = "210987654321"
UNLINKED_ACCOUNT = "333333333333"


@pytest.fixture
def linked_logs(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LinkedLogsProxy]:
    """Cross-account observability in front of moto: SOURCE_ACCOUNT linked, UNLINKED_ACCOUNT not.

    ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` points the bot's Logs client at the proxy (every
    other service stays on moto); ``proxy.calls`` says which account each Logs call reached.
    Seed an account's logs with ``account_logs(aws, SOURCE_ACCOUNT)``.
    """
    with LinkedLogsProxy(aws, monitoring=MONITORING_ACCOUNT, linked=[SOURCE_ACCOUNT]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", proxy.url)
        yield proxy


def account_logs(endpoint: str, account: str) -> Any:
    """A Logs client acting as ``account`` on moto (for seeding a source account)."""
    return in_account(boto3.client("logs", endpoint_url=endpoint), account)


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
