"""Tasks are taken only from the task topic, whose policy lets only the ingress publish.

The alarm topic accepts publishes from anyone in the account (CloudWatch, EventBridge,
applications), so a task or an alarm rescan arriving there is dropped unanswered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from slash_pipeline import CHANNEL, TEAM, USER, Pipeline

from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    pipe = Pipeline(aws, slack, monkeypatch)
    seeding.seed(pipe.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    yield pipe


def alarm_topic(pipeline: Pipeline) -> str:
    topic = pipeline.sns.create_topic(Name="logthread-alarms")["TopicArn"]
    pipeline.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=pipeline.queue_arn)
    return topic


def task() -> str:
    query = SearchQuery(seeding.SEED_REQUEST_ID, functions=(seeding.SEED_FUNCTION,))
    reply = ReplyTo(channel=CHANNEL, user_id=USER, team_id=TEAM)
    return SearchTask(query, reply, extra={"task_id": uuid.uuid4().hex}).to_json()


def test_a_task_published_to_the_alarm_topic_is_dropped(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    pipeline.sns.publish(TopicArn=alarm_topic(pipeline), Message=task())
    assert pipeline.deliver() == {"batchItemFailures": []}
    assert slack.calls == []


def test_the_same_task_on_the_task_topic_is_answered(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=task())
    assert pipeline.deliver() == {"batchItemFailures": []}
    (parent,) = slack.messages(CHANNEL)
    assert slack.replies(CHANNEL, parent["ts"])
