"""The worker's task path: SNS and SQS deliveries, duplicates, refusals, failures, fallbacks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import load_fixture
from slash_pipeline import CHANNEL, USER, Context, Pipeline, message_text

from logthread import config as config_module
from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread.worker.deps import WorkerDeps
from logthread.worker.search_task import bounded_query
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin

RID = seeding.SEED_REQUEST_ID


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    p = Pipeline(aws, slack, monkeypatch)
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    yield p


def task(
    request_id: str = RID,
    *,
    functions: tuple[str, ...] = (seeding.SEED_FUNCTION,),
    log_groups: tuple[str, ...] = (),
    channel: str = CHANNEL,
    response_url: str = "",
    task_id: str = "",
) -> SearchTask:
    return SearchTask(
        SearchQuery(request_id, functions=functions, log_groups=log_groups),
        ReplyTo(channel=channel, response_url=response_url, user_id=USER, team_id="T0LOCAL01"),
        extra={"task_id": task_id or uuid.uuid4().hex},
    )


def publish(pipeline: Pipeline, t: SearchTask) -> None:
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=t.to_json(), Subject="logthread task")


def sns_event(pipeline: Pipeline, message: str, subject: str = "logthread task") -> dict[str, Any]:
    """The event Lambda builds for an SNS subscription (one record)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{pipeline.topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": pipeline.topic,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2024-05-01T12:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def test_sns_event_runs_the_search_and_posts(pipeline: Pipeline, slack: SlackStandin) -> None:
    assert pipeline.worker.handler(sns_event(pipeline, task().to_json()), Context("w")) is None
    [parent] = slack.messages(CHANNEL)
    assert RID in message_text(parent)
    assert "DB fetch failed" in message_text(slack.replies(CHANNEL, parent["ts"])[0])


def test_a_redelivered_task_is_answered_once(pipeline: Pipeline, slack: SlackStandin) -> None:
    same = task(task_id="t-duplicate")
    publish(pipeline, same)
    publish(pipeline, same)  # SNS delivers at least once
    messages = pipeline.pending()
    assert len(messages) == 2
    pipeline.deliver(messages[:1])
    pipeline.deliver(messages[1:])
    assert len(slack.messages(CHANNEL)) == 1


def test_malformed_task_is_dropped_not_retried_nor_posted_as_an_alarm(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    body = json.loads(task().to_json())
    body["version"] = 99
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=json.dumps(body))
    assert pipeline.deliver() == {"batchItemFailures": []}
    assert slack.calls_to("chat.postMessage") == []


def test_not_in_channel_answers_through_response_url(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    slack.set_channel("C0PRIVATE", "not_in_channel")
    url = slack.response_url("C0PRIVATE", USER)
    publish(pipeline, task(channel="C0PRIVATE", response_url=url))
    assert pipeline.deliver() == {"batchItemFailures": []}
    [answer] = slack.responses(url)
    assert "DB fetch failed" in message_text(answer)


def test_worker_rechecks_the_log_groups_it_is_asked_to_read(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    url = slack.response_url(CHANNEL, USER)
    # Published straight to the topic, past the ingress and its checks.
    publish(pipeline, task(functions=(), log_groups=("/aws/rds/secret",), response_url=url))
    pipeline.deliver()
    [told] = slack.responses(url)
    assert told["text"].startswith("Sorry, you may not search `/aws/rds/secret`")
    assert slack.calls_to("chat.postMessage") == []


def test_a_search_that_fails_is_reported_to_the_requester(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    url = slack.response_url(CHANNEL, USER)
    publish(pipeline, task(request_id='bad" | id', response_url=url))
    assert pipeline.deliver() == {"batchItemFailures": []}
    [told] = slack.responses(url)
    assert told["text"].startswith('Sorry, the search for `bad" | id` failed')


def test_only_the_failed_message_of_a_batch_comes_back(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    slack.set_channel("C0GONE", "channel_not_found")
    publish(pipeline, task())
    publish(pipeline, task(channel="C0GONE"))  # and no response_url to fall back on
    messages = pipeline.pending()
    result = pipeline.deliver(messages)
    gone = next(m for m in messages if "C0GONE" in m["Body"])
    assert result == {"batchItemFailures": [{"itemIdentifier": gone["MessageId"]}]}
    assert len(slack.messages(CHANNEL)) == 1
    assert len(pipeline.pending()) == 0  # the failed one is invisible until its timeout


def test_query_bounded_by_config_and_remaining_time() -> None:
    config = config_module.from_mapping(
        {"limits": {"max_lines": 100, "search_deadline_seconds": 30, "lookback_days": 5}},
        env={},
    )
    deps = WorkerDeps(logs=None, chat=None, config=config, remaining_ms=lambda: 20_000)  # type: ignore[arg-type]
    query = bounded_query(SearchQuery(RID, max_lines=10_000, context_lines=999), deps)
    assert (query.max_lines, query.context_lines, query.lookback_days) == (100, 50, 5)
    assert query.deadline_seconds == 12.0  # 20 s left, 8 s kept to post
    deps.remaining_ms = None
    assert bounded_query(SearchQuery(RID), deps).deadline_seconds == 20.0


def test_an_alarm_notification_goes_down_the_alarm_path(
    aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"default_channel": CHANNEL, "access": {"log_group_prefixes": ["/aws/lambda/"]}}
    pipeline = Pipeline(aws, slack, monkeypatch, config=config)
    envelope = load_fixture("alarms/lambda_errors_hoge.json")
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "r",
        "body": json.dumps(envelope),  # SNS → SQS with raw delivery off: the whole envelope
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": pipeline.queue_arn,
        "awsRegion": "us-east-1",
    }
    result = pipeline.worker.handler({"Records": [record]}, Context("w"))
    assert result == {"batchItemFailures": []}
    [parent] = slack.messages(CHANNEL)
    assert "HogeService-Errors" in message_text(parent)
