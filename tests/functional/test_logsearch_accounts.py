"""/logsearch across accounts, end to end: ingress → SNS → SQS → worker → Slack, with the
worker's Logs client going through the local cross-account observability proxy.

The proxy records which account every Logs call reached, so "never read" is checked on
the calls themselves, not on what was posted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slash_pipeline import (
    CHANNEL,
    TEAM,
    USER,
    Pipeline,
    message_text,
)

from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask, button_value, parse_task
from logthread_local.linkedlogs import LinkedLogsProxy
from logthread_local.slack_standin import SlackStandin
from tests.conftest import MONITORING_ACCOUNT, SOURCE_ACCOUNT, UNLINKED_ACCOUNT, account_logs

RID = "5f0c2a7e-1b2c-4d3e-8f90-0a1b2c3d4e5f"
OTHER = "444444444444"  # linked to the monitoring account, but not allowed in the config
READS = {"FilterLogEvents", "GetLogEvents", "StartQuery", "GetQueryResults"}
CONFIG: dict[str, Any] = {
    "accounts": {SOURCE_ACCOUNT: "payments", UNLINKED_ACCOUNT: "legacy"},
    "access": {
        "teams": [TEAM],
        "users": [USER],
        "log_group_prefixes": ["/aws/lambda/"],
        # UNLINKED_ACCOUNT is allowed but has no link: it must not be read either.
        "accounts": ["payments", UNLINKED_ACCOUNT],
    },
    "limits": {"search_deadline_seconds": 15},
}


def seed(aws: str, account: str, function: str, now_ms: int) -> None:
    logs = account_logs(aws, account)
    group = f"/aws/lambda/{function}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/02/[$LATEST]a1")
    lines = [
        f"START RequestId: {RID} Version: $LATEST",
        f"[ERROR]\t2026-12-02T10:00:00.000Z\t{RID}\tcharge failed in {account}",
        f"END RequestId: {RID}",
        f"REPORT RequestId: {RID}\tDuration: 12.00 ms\tBilled Duration: 13 ms",
    ]
    events = [{"timestamp": now_ms - 60_000 + i, "message": m} for i, m in enumerate(lines)]
    logs.put_log_events(
        logGroupName=group, logStreamName="2026/12/02/[$LATEST]a1", logEvents=events
    )


@pytest.fixture
def linked(linked_logs: LinkedLogsProxy, aws: str) -> LinkedLogsProxy:
    linked_logs.link(OTHER)
    now = int(time.time() * 1000)
    seed(aws, MONITORING_ACCOUNT, "checkout", now)
    seed(aws, SOURCE_ACCOUNT, "charge", now)
    seed(aws, UNLINKED_ACCOUNT, "charge", now)
    seed(aws, OTHER, "charge", now)
    linked_logs.clear()
    return linked_logs


@pytest.fixture
def pipeline(
    linked: LinkedLogsProxy, aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch, CONFIG)


def ack(result: dict[str, Any]) -> str:
    assert result["statusCode"] == 200
    return str(json.loads(result["body"])["text"])


def thread(slack: SlackStandin) -> tuple[dict[str, Any], str]:
    [parent] = slack.messages(CHANNEL)
    replies = slack.replies(CHANNEL, parent["ts"])
    return parent, "\n".join(message_text(m) for m in replies)


def touched(proxy: LinkedLogsProxy, account: str) -> list[Any]:
    """Every Logs call that carried ``account``, reads or listings, refused or not."""
    return [c for c in proxy.calls if c.account == account]


def test_a_request_in_a_source_account_named_by_its_name(
    pipeline: Pipeline, linked: LinkedLogsProxy, slack: SlackStandin
) -> None:
    answer = ack(pipeline.command(f"{RID} in payments:charge last 1h"))
    assert "in `payments:charge`" in answer  # the ack names the account as typed
    pipeline.deliver()

    parent, replies = thread(slack)
    assert f"charge failed in {SOURCE_ACCOUNT}" in replies
    assert f"payments {SOURCE_ACCOUNT} /aws/lambda/charge" in replies  # the line's account
    assert f"payments {SOURCE_ACCOUNT} /aws/lambda/charge" in message_text(parent)
    assert set(linked.reached("FilterLogEvents")) | set(linked.reached("GetLogEvents")) == {
        SOURCE_ACCOUNT
    }
    assert not touched(linked, UNLINKED_ACCOUNT) and not touched(linked, OTHER)


def test_no_target_searches_every_allowed_and_linked_account(
    pipeline: Pipeline, linked: LinkedLogsProxy, slack: SlackStandin
) -> None:
    ack(pipeline.command(f"{RID} last 1h"))
    pipeline.deliver()

    _, replies = thread(slack)
    assert f"charge failed in {MONITORING_ACCOUNT}" in replies
    assert f"charge failed in {SOURCE_ACCOUNT}" in replies
    assert f"payments {SOURCE_ACCOUNT} /aws/lambda/charge" in replies
    assert "this account /aws/lambda/checkout" in replies  # no alias, no name: said so
    assert f"charge failed in {UNLINKED_ACCOUNT}" not in replies
    assert f"charge failed in {OTHER}" not in replies
    # The allowed but unlinked account was only ever listed (nothing came back), never read.
    unlinked = touched(linked, UNLINKED_ACCOUNT)
    assert [(c.operation, c.outcome) for c in unlinked] == [("DescribeLogGroups", "not linked")]
    # The linked but disallowed account is never named in any call at all.
    assert touched(linked, OTHER) == []


def test_an_unlinked_account_named_outright_is_not_read(
    pipeline: Pipeline, linked: LinkedLogsProxy, slack: SlackStandin
) -> None:
    ack(pipeline.command(f"{RID} in legacy:charge last 1h"))
    pipeline.deliver()

    parent, _ = thread(slack)
    assert "no log lines found" in message_text(parent)
    assert f"*Not found:* `legacy {UNLINKED_ACCOUNT} /aws/lambda/charge`" in message_text(parent)
    assert "linked to this one" in message_text(parent)
    unlinked = touched(linked, UNLINKED_ACCOUNT)
    assert [(c.operation, c.outcome) for c in unlinked] == [("DescribeLogGroups", "not linked")]
    assert not any(c.operation in READS for c in linked.calls)


def test_a_disallowed_account_is_refused_by_command_button_and_task(
    pipeline: Pipeline, linked: LinkedLogsProxy, slack: SlackStandin
) -> None:
    told = ack(pipeline.command(f"{RID} in {OTHER}:charge last 1h"))
    assert told.startswith(f"Sorry, you may not search the account `{OTHER}`")
    assert "I don't know the account `nobody`" in ack(pipeline.command(f"{RID} in nobody:charge"))
    assert pipeline.pending() == []

    # A first search, then its button edited to name the other account.
    ack(pipeline.command(f"{RID} in payments:charge last 1h"))
    pipeline.deliver()
    parent, _ = thread(slack)
    forged = button_value(SearchQuery(RID, functions=(f"{OTHER}:charge",)))
    assert pipeline.click(parent, "logthread.search_again", value=forged)["statusCode"] == 200
    assert pipeline.pending() == []

    # A task published past the ingress (whoever may publish to the topic).
    task = SearchTask(
        SearchQuery(RID, functions=(f"{OTHER}:charge",)),
        ReplyTo(channel=CHANNEL, user_id=USER, team_id=TEAM),
        origin="command",
        extra={"task_id": "forged-1"},
    )
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=task.to_json())
    pipeline.deliver()
    assert touched(linked, OTHER) == []


def test_search_again_carries_the_account_and_finds_the_request_again(
    pipeline: Pipeline, linked: LinkedLogsProxy, slack: SlackStandin
) -> None:
    ack(pipeline.command(f"{RID} in payments:charge last 1h"))
    pipeline.deliver()
    parent, _ = thread(slack)

    assert pipeline.click(parent, "logthread.search_again")["statusCode"] == 200
    [queued] = pipeline.pending()
    task = parse_task(json.loads(queued["Body"])["Message"])
    assert task.query.functions == (f"{SOURCE_ACCOUNT}:charge",)
    pipeline.deliver([queued])
    replies = slack.replies(CHANNEL, parent["ts"])
    assert f"charge failed in {SOURCE_ACCOUNT}" in message_text(replies[-1])


def test_single_account_deployment_sends_what_it_sent_before(
    linked: LinkedLogsProxy, aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"access": {"teams": [TEAM], "users": [USER]}}
    pipeline = Pipeline(aws, slack, monkeypatch, config)
    ack(pipeline.command(f"{RID} last 1h"))
    pipeline.deliver()

    _, replies = thread(slack)
    assert f"charge failed in {MONITORING_ACCOUNT}" in replies
    assert "this account" not in replies and MONITORING_ACCOUNT + " /aws" not in replies
    assert {c.account for c in linked.calls} == {MONITORING_ACCOUNT}


def test_the_own_account_named_outright_is_searched_by_plain_name(
    pipeline: Pipeline, linked: LinkedLogsProxy, slack: SlackStandin
) -> None:
    # The ingress knows its account from the task topic's ARN: no call, no configuration.
    ack(pipeline.command(f"{RID} in {MONITORING_ACCOUNT}:checkout last 1h"))
    [queued] = pipeline.pending()
    assert parse_task(json.loads(queued["Body"])["Message"]).query.functions == ("checkout",)
    pipeline.deliver([queued])
    _, replies = thread(slack)
    assert f"charge failed in {MONITORING_ACCOUNT}" in replies
    assert {c.account for c in linked.calls} == {MONITORING_ACCOUNT}


def test_search_again_on_a_search_of_many_accounts_is_not_refused_for_its_size(
    linked: LinkedLogsProxy, aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No target: the task carries every allowed prefix of every allowed account, more than
    # the 10 targets a command may type; its button must still work.
    many = [SOURCE_ACCOUNT, *(f"5000000000{i:02d}" for i in range(11))]
    config = {"access": {"teams": [TEAM], "users": [USER], "accounts": many}}
    pipeline = Pipeline(aws, slack, monkeypatch, config)
    ack(pipeline.command(f"{RID} last 1h"))
    pipeline.deliver()
    parent, replies = thread(slack)
    assert f"charge failed in {SOURCE_ACCOUNT}" in replies

    assert pipeline.click(parent, "logthread.search_again")["statusCode"] == 200
    [queued] = pipeline.pending()
    assert len(parse_task(json.loads(queued["Body"])["Message"]).query.log_groups) == 13
