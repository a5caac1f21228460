"""Accounts by name through the worker (issue 13, part 3).

The alias comes from IAM (moto's, over HTTP) for the worker's own account; the
configuration names the others. A route by account name sends the alarm to its
channel.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from slash_pipeline import CHANNEL, TEAM, Context, Pipeline, message_text
from test_alarm_action import action_event
from test_worker_tasks import sns_event, task

from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin

PROD_CHANNEL = "C0PRODALARMS"
OTHER = "210987654321"
CONFIG: dict[str, Any] = {
    "access": {"teams": [TEAM]},
    "default_channel": CHANNEL,
    "accounts": {OTHER: "staging"},
    "routes": [{"account": "shop-prod", "channel": PROD_CHANNEL}],
}


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    boto3.client("iam", endpoint_url=aws).create_account_alias(AccountAlias="shop-prod")
    yield Pipeline(aws, slack, monkeypatch, config=CONFIG)


def test_the_own_account_is_named_by_its_alias_and_routed_by_it(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    own = boto3.client("sts").get_caller_identity()["Account"]
    event = action_event()
    event["accountId"] = own
    event["alarmArn"] = event["alarmArn"].replace("123456789012", own)
    pipeline.worker.handler(event, Context("w"))
    assert slack.messages(CHANNEL) == []
    (parent,) = slack.messages(PROD_CHANNEL)
    assert f"account *shop-prod* (`{own}`)" in json.dumps(parent)


def test_another_account_is_named_by_the_configuration(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    event = action_event()
    event["accountId"] = OTHER
    event["alarmArn"] = event["alarmArn"].replace("123456789012", OTHER)
    pipeline.worker.handler(event, Context("w"))
    (parent,) = slack.messages(CHANNEL)
    assert f"account *staging* (`{OTHER}`)" in json.dumps(parent)


def test_a_search_result_names_the_account_it_searched(
    aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("iam", endpoint_url=aws).create_account_alias(AccountAlias="shop-prod")
    p = Pipeline(aws, slack, monkeypatch)  # the default config: no names configured
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    own = boto3.client("sts").get_caller_identity()["Account"]
    p.worker.handler(sns_event(p, task().to_json()), Context("w"))
    [parent] = slack.messages(CHANNEL)
    assert f"account *shop-prod* (`{own}`)" in message_text(parent)
