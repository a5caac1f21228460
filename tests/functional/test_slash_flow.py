"""/logsearch end to end: signed request → ingress → SNS → SQS → worker → the Slack thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from slash_pipeline import (
    CHANNEL,
    USER,
    Context,
    Pipeline,
    assert_lines_in_order,
    command_body,
    gateway_event,
    message_text,
    slack_signature,
    timeline_entry,
)

from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin

RID = seeding.SEED_REQUEST_ID


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch)


@pytest.fixture
def seeded(pipeline: Pipeline) -> dict[str, Any]:
    return seeding.seed(pipeline.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])


def request_lines(seeded: dict[str, Any]) -> list[dict[str, Any]]:
    """The seeded request's lines: its stream from START to REPORT, as CloudWatch holds them."""
    events = [e for e in seeded["events"] if e["logGroupName"] == seeding.SEED_LOG_GROUP]
    start = next(e for e in events if e["message"].startswith(f"START RequestId: {RID}"))
    stream = [e for e in events if e["logStreamName"] == start["logStreamName"]]
    stream.sort(key=lambda e: e["timestamp"])
    first = stream.index(start)
    last = next(
        i for i, e in enumerate(stream) if e["message"].startswith(f"REPORT RequestId: {RID}")
    )
    return stream[first : last + 1]


def ack(result: dict[str, Any]) -> str:
    assert result["statusCode"] == 200
    body = json.loads(result["body"])
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


def test_slash_command_lands_the_request_log_in_a_thread(
    pipeline: Pipeline, seeded: dict[str, Any], slack: SlackStandin
) -> None:
    answer = ack(pipeline.command(f"{RID} in {seeding.SEED_FUNCTION}"))
    assert answer.startswith(f"Searching for `{RID}` in `{seeding.SEED_FUNCTION}`")
    assert slack.messages(CHANNEL) == []  # the ingress never searches nor posts

    result = pipeline.deliver()
    assert result == {"batchItemFailures": []}
    # The worker got the real SNS envelope (raw delivery off), carrying our task.
    [envelope] = pipeline.envelopes
    assert envelope["Type"] == "Notification" and envelope["Subject"] == "logthread task"
    assert json.loads(envelope["Message"])["query"]["request_id"] == RID

    [parent] = slack.messages(CHANNEL)
    assert RID in message_text(parent)
    assert f"<@{USER}>" in message_text(parent)
    replies = slack.replies(CHANNEL, parent["ts"])
    assert replies, "the timeline goes in the thread"
    thread = "\n".join(message_text(m) for m in replies)
    expected = request_lines(seeded)
    assert len(expected) == 10
    assert_lines_in_order(thread, [timeline_entry(e) for e in expected])
    assert "DB fetch failed" in thread
    # Nothing of the requests interleaved around it.
    other_ids = {
        e["message"].split("RequestId: ")[1].split()[0]
        for e in seeded["events"]
        if e["message"].startswith("START RequestId: ")
    } - {RID}
    assert other_ids and not any(i in thread for i in other_ids)


def test_prefix_without_target_searches_the_allowed_groups(
    pipeline: Pipeline, seeded: dict[str, Any], slack: SlackStandin
) -> None:
    assert "`/aws/lambda/`" in ack(pipeline.command(RID[:8]))
    pipeline.deliver()
    [parent] = slack.messages(CHANNEL)
    thread = "\n".join(message_text(m) for m in slack.replies(CHANNEL, parent["ts"]))
    assert_lines_in_order(thread, [timeline_entry(e) for e in request_lines(seeded)])


def test_nothing_found_still_answers(pipeline: Pipeline, slack: SlackStandin) -> None:
    missing = "0badc0de-0000-4000-8000-000000000000"
    pipeline.logs.create_log_group(logGroupName="/aws/lambda/Quiet")
    ack(pipeline.command(f"{missing} in Quiet last 1h"))
    pipeline.deliver()
    [parent] = slack.messages(CHANNEL)
    text = message_text(parent)
    assert missing in text and "/aws/lambda/Quiet" in text
    assert slack.replies(CHANNEL, parent["ts"]) == []


def test_help_and_bad_input_publish_nothing(pipeline: Pipeline) -> None:
    assert ack(pipeline.command("help")).startswith("*Usage:*")
    assert "`last` needs a duration" in ack(pipeline.command(f"{RID} last soon"))
    assert pipeline.pending() == []


# ---- refusals ------------------------------------------------------------------------------


def refused_with_401(result: dict[str, Any]) -> None:
    assert result["statusCode"] == 401
    assert result["body"] == ""


def test_forged_signature_is_refused(pipeline: Pipeline, slack: SlackStandin) -> None:
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    refused_with_401(pipeline.post(body, secret="an-attackers-guess"))
    assert pipeline.pending() == []


def test_stale_request_is_refused(pipeline: Pipeline, slack: SlackStandin) -> None:
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    refused_with_401(pipeline.post(body, timestamp=int(time.time()) - 6 * 60))
    assert pipeline.pending() == []


def test_replayed_request_with_its_old_timestamp_is_refused(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    # A captured request, sent again ten minutes later with its original headers...
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    captured = gateway_event(body, timestamp=int(time.time()) - 600)
    refused_with_401(pipeline.ingress.handler(captured, Context("logthread-ingress")))
    # ...or with the timestamp bumped to now: the signature no longer matches.
    captured["headers"]["x-slack-request-timestamp"] = str(int(time.time()))
    refused_with_401(pipeline.ingress.handler(captured, Context("logthread-ingress")))
    assert pipeline.pending() == []


def test_unsigned_request_is_refused(pipeline: Pipeline, slack: SlackStandin) -> None:
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    event = gateway_event(body)
    del event["headers"]["x-slack-signature"]
    refused_with_401(pipeline.ingress.handler(event, Context("logthread-ingress")))
    assert pipeline.pending() == []


def test_unknown_user_is_refused_politely(pipeline: Pipeline) -> None:
    answer = ack(pipeline.command(RID, user_id="U0STRANGER"))
    assert answer.startswith("Sorry, you're not on the list")
    assert pipeline.pending() == []


@pytest.mark.parametrize(
    "text",
    [
        f'{RID}" OR "',
        f"{RID} | stats count(*) by @logStream",
        f"{RID} in HogeService,/aws/lambda/x | filter @message like /./",
        f"{RID} in <!channel>",
        f"{RID} in /aws/rds/instance/prod/postgresql",
        f"{RID[:8]}* in HogeService",
    ],
)
def test_injection_attempts_are_refused(pipeline: Pipeline, text: str) -> None:
    assert ack(pipeline.command(text)).startswith("Sorry")
    assert pipeline.pending() == []


def test_slack_retry_is_acked_without_a_second_task(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    result = pipeline.post(body, headers={"x-slack-retry-num": "1"})
    assert (result["statusCode"], result["body"]) == (200, "")
    assert pipeline.pending() == []


def test_signature_is_over_the_decoded_body(pipeline: Pipeline, slack: SlackStandin) -> None:
    # API Gateway base64-encodes form bodies; the signature covers the bytes Slack sent.
    body = command_body("help", response_url=slack.response_url(CHANNEL, USER))
    event = gateway_event(body)
    event["headers"]["x-slack-signature"] = slack_signature(event["body"], int(time.time()))
    refused_with_401(pipeline.ingress.handler(event, Context("logthread-ingress")))


def test_a_body_that_does_not_decode_is_a_400(pipeline: Pipeline, slack: SlackStandin) -> None:
    # The adapter reads the v2 event itself (no Powertools event class on the ack path).
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    for broken in ("not base64!", "//79"):  # bad alphabet; valid base64 of bytes not UTF-8
        event = gateway_event(body)
        event["body"] = broken
        result = pipeline.ingress.handler(event, Context("logthread-ingress"))
        assert (result["statusCode"], result["body"]) == (400, "")
    assert pipeline.pending() == []


def test_a_body_api_gateway_did_not_encode_is_read_as_is(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    body = command_body(RID, response_url=slack.response_url(CHANNEL, USER))
    event = gateway_event(body)
    event["body"], event["isBase64Encoded"] = body, False
    assert ack(pipeline.ingress.handler(event, Context("logthread-ingress"))).startswith(
        "Searching"
    )
    assert len(pipeline.pending()) == 1


def test_credentials_from_secrets_manager(
    pipeline: Pipeline,
    seeded: dict[str, Any],
    slack: SlackStandin,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aws_lambda_powertools.utilities import parameters

    secret = boto3.client("secretsmanager", endpoint_url=aws).create_secret(
        Name="logthread/slack",
        SecretString=json.dumps({"bot_token": slack.token, "signing_secret": "from-the-vault"}),
    )
    parameters.clear_caches()
    monkeypatch.setenv("SLACK_SECRET_ARN", secret["ARN"])
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    body = command_body(f"{RID} in {seeding.SEED_FUNCTION}", response_url="")
    refused_with_401(pipeline.post(body))  # signed with the old local secret
    assert ack(pipeline.post(body, secret="from-the-vault")).startswith("Searching")
    assert pipeline.deliver() == {"batchItemFailures": []}
    [parent] = slack.messages(CHANNEL)
    assert RID in message_text(parent)
    parameters.clear_caches()
