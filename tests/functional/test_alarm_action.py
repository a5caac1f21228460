"""An alarm whose action invokes the worker directly (issue 13, part 5).

CloudWatch calls the function with its own event (``alarmData``, no SNS); the
worker reads it like the EventBridge form, so the episode is keyed the same
whichever way the alarm reached it: an OK that came through SNS closes an
episode that an alarm action opened. A task smuggled into such an event is
dropped, as one off the alarm topic is.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slash_pipeline import CHANNEL, TEAM, USER, Context, Pipeline
from test_alarm_flow import retimed
from test_worker_tasks import sns_event

from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread_local.slack_standin import SlackStandin
from tests.conftest import load_fixture

FIXTURE_CHANGE = datetime(2024, 5, 14, 3, 21, 7, 123000, tzinfo=UTC)
CONFIG: dict[str, Any] = {"access": {"teams": [TEAM]}, "default_channel": CHANNEL}


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch, config=CONFIG)


def _now_delta() -> timedelta:
    delta = datetime.now(UTC) - timedelta(minutes=2) - FIXTURE_CHANGE
    return timedelta(seconds=round(delta.total_seconds()))


def action_event(state: str = "ALARM") -> dict[str, Any]:
    text = json.dumps(load_fixture("alarms/alarm_action_fuga.json"))
    event: dict[str, Any] = json.loads(retimed(text, _now_delta()))
    event["alarmData"]["state"]["value"] = state
    return event


def test_an_alarm_action_is_posted_like_an_sns_notification(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    event = action_event()
    assert pipeline.worker.handler(event, Context("w")) is None
    (parent,) = slack.messages(CHANNEL)
    assert "FugaService-Errors" in json.dumps(parent)
    # The same invocation again (Lambda's async retry) posts nothing more.
    pipeline.worker.handler(event, Context("w"))
    assert len(slack.messages(CHANNEL)) == 1


def test_an_ok_through_sns_closes_the_episode_an_alarm_action_opened(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    pipeline.worker.handler(action_event(), Context("w"))
    (parent,) = slack.messages(CHANNEL)
    env = load_fixture("alarms/eventbridge_alarm_state_change.json")
    ok = json.loads(retimed(env["Message"], _now_delta() + timedelta(minutes=1)))
    ok["detail"]["state"]["value"] = "OK"
    ok["detail"]["previousState"]["value"] = "ALARM"
    pipeline.worker.handler(sns_event(pipeline, json.dumps(ok), ""), Context("w"))
    # No new parent: the OK edited the one the alarm action posted.
    parents = [m for m in slack.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]
    assert [p["ts"] for p in parents] == [parent["ts"]]
    assert slack.calls_to("chat.update")


def test_a_task_inside_an_alarm_action_event_is_dropped(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    task = SearchTask(
        SearchQuery("12345678-aaaa-bbbb-cccc-1234567890ab"),
        ReplyTo(channel=CHANNEL, user_id=USER, team_id=TEAM),
        extra={"task_id": uuid.uuid4().hex},
    )
    forged = {**json.loads(task.to_json()), **action_event(), "alarmArn": pipeline.topic}
    pipeline.worker.handler(forged, Context("w"))
    assert slack.messages(CHANNEL) == []
