"""An alarm's "Search logs again" end to end, through the deployed path.

The alarm reaches the worker from SNS (moto) through SQS; the stand-in then holds
the alarm message with nothing found. The button in that message is clicked as
Slack sends it (signed block_actions) → ingress handler → SNS → SQS → worker
handler, and the failures found over the wider window land in the alarm's thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slash_pipeline import CHANNEL, CONFIG, USER, Pipeline, buttons, message_text

from logthread.alarms.rescan import decode_button
from logthread.tasks import RESCAN_MARKER as MARKER
from logthread_local.slack_standin import SlackStandin
from tests.functional.test_alarm_flow import (
    HEALTHY,
    HOGE_GROUP,
    notification,
    put_lines,
    python_request,
)

EARLY = "ffffffff-4444-4555-8666-777777777777"  # failed before the evaluation window
ALARM_CONFIG: dict[str, Any] = {
    **CONFIG,
    "default_channel": CHANNEL,
    "log_groups": [{"alarm": "HogeService-Errors", "log_groups": [HOGE_GROUP]}],
}


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch, config=ALARM_CONFIG)


@pytest.fixture
def quiet_alarm(pipeline: Pipeline, slack: SlackStandin) -> dict[str, Any]:
    """HogeService-Errors delivered while only an older request failed: nothing found."""
    change = int(time.time() * 1000) - 10_000
    put_lines(
        pipeline.logs,
        HOGE_GROUP,
        python_request(EARLY, change - 15 * 60_000, [(3, "ERROR", "DB fetch failed: early")])
        + python_request(HEALTHY, change - 20_000, [(3, "INFO", "all good")]),
    )
    body, subject = notification("lambda_errors_hoge.json", change)
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=body, Subject=subject)
    assert pipeline.deliver() == {"batchItemFailures": []}
    [parent] = slack.messages(CHANNEL)
    [nothing] = slack.replies(CHANNEL, parent["ts"])
    assert "No failing request found" in message_text(nothing)
    return {"parent": parent, "nothing": nothing}


def acked(result: dict[str, Any]) -> None:
    assert (result["statusCode"], result["body"]) == (200, "")


def test_search_logs_again_lands_the_wider_search_in_the_alarms_thread(
    pipeline: Pipeline, quiet_alarm: dict[str, Any], slack: SlackStandin
) -> None:
    parent, nothing = quiet_alarm["parent"], quiet_alarm["nothing"]
    button = buttons(nothing)["logthread.alarm_search_again"]
    _, clicked_window = decode_button(button["value"])

    acked(pipeline.click(nothing, "logthread.alarm_search_again"))

    [queued] = pipeline.pending()
    published = json.loads(json.loads(queued["Body"])["Message"])
    assert published["type"] == MARKER
    assert published["reply"] == {"channel": CHANNEL, "thread_ts": parent["ts"], "user_id": USER}
    start, end = published["window"]
    assert end - start > clicked_window.duration_ms  # widened by the ingress

    assert pipeline.deliver([queued]) == {"batchItemFailures": []}
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [parent["ts"]]  # no new parent
    replies = slack.replies(CHANNEL, parent["ts"])
    assert len(replies) == 2
    assert message_text(replies[-1]).startswith(f"Request {EARLY}")
    assert "DB fetch failed: early" in message_text(replies[-1])
    assert slack.responses(pipeline.response_url) == []  # nobody was told off


def test_the_button_on_the_alarm_message_itself_answers_in_its_thread(
    pipeline: Pipeline, quiet_alarm: dict[str, Any], slack: SlackStandin
) -> None:
    parent = quiet_alarm["parent"]
    acked(pipeline.click(parent, "logthread.alarm_search_again"))
    assert pipeline.deliver() == {"batchItemFailures": []}
    replies = slack.replies(CHANNEL, parent["ts"])
    assert message_text(replies[-1]).startswith(f"Request {EARLY}")


def test_a_stranger_clicking_search_logs_again_is_refused(
    pipeline: Pipeline, quiet_alarm: dict[str, Any], slack: SlackStandin
) -> None:
    acked(pipeline.click(quiet_alarm["nothing"], "logthread.alarm_search_again", user_id="U0NOPE"))
    assert pipeline.pending() == []
    [told] = slack.responses(pipeline.response_url)
    assert told["text"].startswith("Sorry, you're not on the list")


@pytest.mark.parametrize(
    "value",
    ['{"v":1,"k":"x","w":[5,1]}', '{"v":2,"k":"x","w":[1,5]}', "not json", '{"v":1}'],
)
def test_a_tampered_rescan_value_is_refused(
    pipeline: Pipeline, quiet_alarm: dict[str, Any], slack: SlackStandin, value: str
) -> None:
    acked(pipeline.click(quiet_alarm["nothing"], "logthread.alarm_search_again", value=value))
    assert pipeline.pending() == []
    [told] = slack.responses(pipeline.response_url)
    assert told["text"] == "Sorry, that button no longer works."


def test_open_in_cloudwatch_on_an_alarm_is_acked_with_nothing_else(
    pipeline: Pipeline, quiet_alarm: dict[str, Any], slack: SlackStandin
) -> None:
    parent = quiet_alarm["parent"]
    assert "url" in buttons(parent)["logthread.open_cloudwatch"]
    calls = len(slack.calls)
    acked(pipeline.click(parent, "logthread.open_cloudwatch"))
    assert pipeline.pending() == []
    assert len(slack.calls) == calls  # no Slack call, no response_url post


def test_a_rescan_naming_another_channel_than_its_episode_is_dropped(
    pipeline: Pipeline, quiet_alarm: dict[str, Any], slack: SlackStandin
) -> None:
    """A rescan body edited to answer elsewhere must not carry the alarm's findings there."""
    from logthread.alarms.rescan import rescan_body

    nothing = quiet_alarm["nothing"]
    value = buttons(nothing)["logthread.alarm_search_again"]["value"]
    elsewhere = "C0ELSEWHERE"
    forged = rescan_body(
        value, channel=elsewhere, thread_ts="1.000001", user_id=USER, now_ms=int(time.time() * 1000)
    )
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=forged)
    assert pipeline.deliver() == {"batchItemFailures": []}
    assert slack.messages(elsewhere) == []
    assert len(slack.replies(CHANNEL, quiet_alarm["parent"]["ts"])) == 1
