"""Tasks published past the ingress (SECURITY.md: the task topic, defence in depth).

Whoever could publish to the task topic could name any requester and any reply
channel. The worker checks the task's team, channel and user against
``access`` again, and drops a task that fails: nothing is searched or posted.
An alarm's "Search logs again" (a rescan body) has its channel and user checked
the same way.
"""

from __future__ import annotations

import uuid

import pytest
from slash_pipeline import CHANNEL, CONFIG, TEAM, USER, Pipeline
from test_worker_tasks import pipeline, publish  # noqa: F401  (the fixture)

from logthread.query import SearchQuery, TimeWindow
from logthread.tasks import ReplyTo, SearchTask
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin


def forged(*, team: str = TEAM, user: str = USER, url: str = "") -> SearchTask:
    return SearchTask(
        SearchQuery(seeding.SEED_REQUEST_ID, functions=(seeding.SEED_FUNCTION,)),
        ReplyTo(channel=CHANNEL, response_url=url, user_id=user, team_id=team),
        extra={"task_id": uuid.uuid4().hex},
    )


@pytest.mark.parametrize(("team", "user"), [("T0OTHER99", USER), (TEAM, "U0INTRUDER")])
def test_a_task_naming_a_requester_outside_access_is_dropped_unanswered(
    pipeline: Pipeline,  # noqa: F811
    slack: SlackStandin,
    team: str,
    user: str,
) -> None:
    url = slack.response_url(CHANNEL, user)
    publish(pipeline, forged(team=team, user=user, url=url))
    assert pipeline.deliver() == {"batchItemFailures": []}
    assert slack.messages(CHANNEL) == []
    assert slack.responses(url) == []
    assert slack.calls_to("chat.postEphemeral") == []


def test_an_allowed_requester_is_still_answered(
    pipeline: Pipeline,  # noqa: F811
    slack: SlackStandin,
) -> None:
    publish(pipeline, forged())
    pipeline.deliver()
    assert len(slack.messages(CHANNEL)) == 1


# -- the alarm's "Search logs again" (a rescan body on the same topic) -----------------------


def rescan(slack: SlackStandin, *, channel: str = CHANNEL, user: str = USER) -> str:
    """A rescan body as the ingress publishes it, answering in a thread of ``channel``.

    The episode is one the store doesn't hold, so an answered rescan posts one
    "no longer remembered" reply in that thread.
    """
    from logthread.alarms.rescan import button, rescan_body
    from logthread.slack.chat import SlackChat
    from logthread.slack.webclient import make_web_client

    thread_ts = SlackChat(make_web_client(slack.token, slack.url)).post(channel, text="alarm")
    key = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:Forgotten-Errors"
    value = button(key, TimeWindow(1_714_564_000_000, 1_714_564_300_000))
    assert value is not None
    return rescan_body(
        str(value.value),
        channel=channel,
        thread_ts=thread_ts,
        user_id=user,
        now_ms=1_714_565_000_000,
    )


def replies(slack: SlackStandin, channel: str) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == channel and c.params.get("thread_ts")
    ]


def test_a_rescan_naming_a_user_outside_access_is_dropped_unanswered(
    pipeline: Pipeline,  # noqa: F811
    slack: SlackStandin,
) -> None:
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=rescan(slack, user="U0INTRUDER"))
    assert pipeline.deliver() == {"batchItemFailures": []}
    assert replies(slack, CHANNEL) == []


def test_a_rescan_naming_a_channel_outside_access_is_dropped_unanswered(
    aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {**CONFIG, "access": {**CONFIG["access"], "channels": [CHANNEL]}}
    channels_only = Pipeline(aws, slack, monkeypatch, config=config)
    for channel in ("C0ELSEWHERE", CHANNEL):
        channels_only.sns.publish(
            TopicArn=channels_only.topic, Message=rescan(slack, channel=channel)
        )
    assert channels_only.deliver() == {"batchItemFailures": []}
    assert replies(slack, "C0ELSEWHERE") == []
    [answer] = replies(slack, CHANNEL)
    assert answer.startswith("This alarm is no longer remembered")


def test_an_allowed_rescan_is_still_answered(
    pipeline: Pipeline,  # noqa: F811
    slack: SlackStandin,
) -> None:
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=rescan(slack))
    assert pipeline.deliver() == {"batchItemFailures": []}
    [answer] = replies(slack, CHANNEL)
    assert answer.startswith("This alarm is no longer remembered")
