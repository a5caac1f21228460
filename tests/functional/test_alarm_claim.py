""" "I'm on it" (issue 13, part 2): the claim button through the ingress and the worker.

A click goes through the real ingress handler (signed, authorized like every
button), the task topic (moto SNS → SQS) and the worker, which records the claim
on the episode item and edits the alarm's message (the Slack stand-in).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slash_pipeline import CHANNEL, TEAM, USER, Context, Pipeline, buttons, message_text
from test_alarm_action import _now_delta, action_event
from test_alarm_flow import retimed
from test_worker_tasks import sns_event

from logthread.tasks import CLAIM_ACTION_ID
from logthread_local.slack_standin import SlackStandin
from tests.conftest import load_fixture

OTHER = "U0SECOND2"
CONFIG: dict[str, Any] = {
    "access": {"teams": [TEAM], "users": [USER, OTHER]},
    "default_channel": CHANNEL,
}


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch, config=CONFIG)


def _parent(slack: SlackStandin) -> dict[str, Any]:
    (parent,) = [m for m in slack.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]
    return parent


def _claim(pipeline: Pipeline, slack: SlackStandin, user: str) -> None:
    assert pipeline.click(_parent(slack), CLAIM_ACTION_ID, user_id=user)["statusCode"] == 200
    pipeline.deliver()


def test_claim_take_over_and_the_resolved_message_names_who_handled_it(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    pipeline.worker.handler(action_event(), Context("w"))
    assert buttons(_parent(slack))[CLAIM_ACTION_ID]["text"]["text"] == "I'm on it"

    _claim(pipeline, slack, USER)
    parent = _parent(slack)
    assert f"<@{USER}> is on it since" in message_text(parent)
    assert buttons(parent)[CLAIM_ACTION_ID]["text"]["text"] == "Take over"
    first = message_text(parent)

    # The same person again (or the click delivered twice): nothing changes, "since" included.
    _claim(pipeline, slack, USER)
    assert message_text(_parent(slack)) == first

    _claim(pipeline, slack, OTHER)
    text = message_text(_parent(slack))
    assert f"<@{OTHER}> is on it since" in text and f"<@{USER}>" not in text

    env = load_fixture("alarms/eventbridge_alarm_state_change.json")
    ok = json.loads(retimed(env["Message"], _now_delta() + timedelta(minutes=1)))
    ok["detail"]["state"]["value"] = "OK"
    pipeline.worker.handler(sns_event(pipeline, json.dumps(ok), ""), Context("w"))
    resolved = _parent(slack)
    assert f"Handled by <@{OTHER}>" in message_text(resolved)
    assert CLAIM_ACTION_ID not in buttons(resolved)


def test_a_claim_by_someone_outside_access_is_refused(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    pipeline.worker.handler(action_event(), Context("w"))
    before = message_text(_parent(slack))
    response = pipeline.click(_parent(slack), CLAIM_ACTION_ID, user_id="U0INTRUDER")
    assert response["statusCode"] == 200
    assert pipeline.pending() == []  # refused at the ingress: nothing published
    assert message_text(_parent(slack)) == before
    assert slack.responses(pipeline.response_url)


def test_an_ok_landing_during_the_claims_edit_is_not_overwritten(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    """The claim edit is held by Slack while the OK resolves the message: the claim must
    not bring the ALARM back."""
    import threading
    import time

    pipeline.worker.handler(action_event(), Context("w"))
    slack.fail_next(
        "chat.update", 200, delay=1.5, match=lambda p: "is on it since" in json.dumps(p)
    )
    clicking = threading.Thread(target=_claim, args=(pipeline, slack, USER))
    clicking.start()
    time.sleep(0.7)  # the claim is recorded; its edit is on its way
    env = load_fixture("alarms/eventbridge_alarm_state_change.json")
    ok = json.loads(retimed(env["Message"], _now_delta() + timedelta(minutes=1)))
    ok["detail"]["state"]["value"] = "OK"
    pipeline.worker.handler(sns_event(pipeline, json.dumps(ok), ""), Context("w"))
    clicking.join(timeout=30)

    shown = message_text(_parent(slack))
    assert "RESOLVED" in shown
    assert f"Handled by <@{USER}>" in shown
    assert CLAIM_ACTION_ID not in buttons(_parent(slack))
