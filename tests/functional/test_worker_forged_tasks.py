"""Tasks published past the ingress (SECURITY.md: the task topic, defence in depth).

Whoever could publish to the task topic could name any requester and any reply
channel. The worker checks the task's team, channel and user against
``access`` again, and drops a task that fails: nothing is searched or posted.
"""

from __future__ import annotations

import uuid

import pytest
from slash_pipeline import CHANNEL, TEAM, USER, Pipeline
from test_worker_tasks import pipeline, publish  # noqa: F401  (the fixture)

from logthread.search.model import SearchQuery
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
