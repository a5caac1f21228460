"""Two deliveries of the same task at the same time post once (Powertools Idempotency).

SNS and SQS deliver at least once, and the copies can run concurrently in two
invocations. Both copies here go through the real worker handler, on moto's
DynamoDB and the Slack stand-in.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from slash_pipeline import CHANNEL, USER, Context, Pipeline, message_text

from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin

RID = seeding.SEED_REQUEST_ID


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    p = Pipeline(aws, slack, monkeypatch)
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    p.worker.deps()  # built once, before the threads share it
    yield p


class Held:
    """The worker's real chat, whose first post waits until released (a run held mid-way)."""

    def __init__(self, chat: Any) -> None:
        self.chat = chat
        self.entered = threading.Event()
        self.release = threading.Event()
        self._first = True
        self._lock = threading.Lock()

    def post(self, *args: Any, **kwargs: Any) -> str:
        with self._lock:
            first, self._first = self._first, False
        if first:
            self.entered.set()
            assert self.release.wait(60)
        return str(self.chat.post(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chat, name)


def one_task() -> SearchTask:
    return SearchTask(
        SearchQuery(RID, functions=(seeding.SEED_FUNCTION,)),
        ReplyTo(channel=CHANNEL, user_id=USER, team_id="T0LOCAL01"),
        extra={"task_id": uuid.uuid4().hex},
    )


def sqs_event(pipeline: Pipeline, message: dict[str, Any]) -> dict[str, Any]:
    """Lambda's SQS event for one received message (the SNS envelope as its body)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": pipeline.queue_arn,
                "awsRegion": "us-east-1",
            }
        ]
    }


def deliver_in_thread(
    pipeline: Pipeline, event: dict[str, Any], out: list[Any]
) -> threading.Thread:
    def run() -> None:
        try:
            out.append(pipeline.worker.handler(event, Context("logthread-worker")))
        except Exception as exc:  # the SNS path raises so Lambda retries
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def published(pipeline: Pipeline) -> dict[str, Any]:
    pipeline.sns.publish(
        TopicArn=pipeline.topic, Message=one_task().to_json(), Subject="logthread task"
    )
    [message] = pipeline.pending()
    return message


def test_a_copy_arriving_while_the_first_runs_is_retried_then_answers_without_posting(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    d = pipeline.worker.deps()
    held = Held(d.chat)
    d.chat = held
    message = published(pipeline)
    event = sqs_event(pipeline, message)

    first: list[Any] = []
    a = deliver_in_thread(pipeline, event, first)
    assert held.entered.wait(60)  # the first copy is inside, about to post
    second: list[Any] = []
    deliver_in_thread(pipeline, event, second).join(60)
    # In progress elsewhere: the copy fails (a batch of one fails whole), so SQS retries it.
    [failed] = second
    assert isinstance(failed, BatchProcessingError)
    assert any(
        isinstance(info[1], IdempotencyAlreadyInProgressError) for info in failed.child_exceptions
    )
    assert slack.calls_to("chat.postMessage") == []

    held.release.set()
    a.join(60)
    assert first == [{"batchItemFailures": []}]
    [parent] = slack.messages(CHANNEL)
    replies = slack.replies(CHANNEL, parent["ts"])
    assert "DB fetch failed" in message_text(replies[0])
    posts = len(slack.calls_to("chat.postMessage"))

    # SQS redelivers the copy: it gets the first run's answer and posts nothing.
    assert pipeline.worker.handler(event, Context("w")) == {"batchItemFailures": []}
    assert len(slack.calls_to("chat.postMessage")) == posts
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [parent["ts"]]


def test_two_copies_started_together_post_once(pipeline: Pipeline, slack: SlackStandin) -> None:
    message = published(pipeline)
    event = sqs_event(pipeline, message)
    outcomes: list[Any] = []
    threads = [deliver_in_thread(pipeline, event, outcomes) for _ in range(2)]
    for t in threads:
        t.join(120)
    # Whatever the interleaving: one copy ran; the other was refused while it ran
    # (and is retried) or got its stored answer.
    assert {"batchItemFailures": []} in outcomes
    for failed in [o for o in outcomes if o != {"batchItemFailures": []}]:
        assert isinstance(failed, BatchProcessingError)
        assert pipeline.worker.handler(event, Context("w")) == {"batchItemFailures": []}
    [parent] = slack.messages(CHANNEL)
    assert len(slack.replies(CHANNEL, parent["ts"])) == 1


def test_the_sns_path_raises_for_a_copy_in_progress(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    d = pipeline.worker.deps()
    held = Held(d.chat)
    d.chat = held
    body = one_task().to_json()
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{pipeline.topic}:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": pipeline.topic,
                    "Subject": "logthread task",
                    "Message": body,
                    "Timestamp": "2024-05-01T12:00:00.000Z",
                    "MessageAttributes": {},
                },
            }
        ]
    }
    first: list[Any] = []
    a = deliver_in_thread(pipeline, event, first)
    assert held.entered.wait(60)
    second: list[Any] = []
    deliver_in_thread(pipeline, event, second).join(60)
    # Lambda retries a failed async invocation; by then the answer is stored.
    [raised] = second
    assert isinstance(raised, IdempotencyAlreadyInProgressError)
    held.release.set()
    a.join(60)
    assert first == [None]
    assert pipeline.worker.handler(event, Context("w")) is None
    assert len(slack.messages(CHANNEL)) == 1
