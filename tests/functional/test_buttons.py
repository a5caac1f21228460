"""Result buttons end to end: click → ingress → SNS → SQS → worker → a reply in the same thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slash_pipeline import (
    CHANNEL,
    Pipeline,
    assert_lines_in_order,
    buttons,
    message_text,
    timeline_entry,
)

from logthread.query import SearchQuery, TimeWindow
from logthread.tasks import button_value, parse_task
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin

RID = seeding.SEED_REQUEST_ID


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch)


@pytest.fixture
def searched(pipeline: Pipeline, slack: SlackStandin) -> dict[str, Any]:
    """A first /logsearch answered in the channel: its parent message and the seed."""
    seeded = seeding.seed(pipeline.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    pipeline.command(f"{RID} in {seeding.SEED_FUNCTION} last 2h")
    pipeline.deliver()
    [parent] = slack.messages(CHANNEL)
    return {"parent": parent, "seeded": seeded}


def acked(result: dict[str, Any]) -> None:
    # Slack shows nothing of a button's HTTP answer: an empty 200 is the whole ack.
    assert (result["statusCode"], result["body"]) == (200, "")


def expected_lines(seeded: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        timeline_entry(e)
        for e in seeded["events"]
        if e["logGroupName"] == seeding.SEED_LOG_GROUP and RID in e["message"]
    ]


def test_search_again_replies_in_the_same_thread_with_a_wider_window(
    pipeline: Pipeline, searched: dict[str, Any], slack: SlackStandin
) -> None:
    parent = searched["parent"]
    before = len(slack.replies(CHANNEL, parent["ts"]))
    acked(pipeline.click(parent, "logthread.search_again"))

    [queued] = pipeline.pending()
    task = parse_task(json.loads(queued["Body"])["Message"])
    assert task.origin == "button" and task.reply.thread_ts == parent["ts"]
    first = parse_task(pipeline.envelopes[0]["Message"])
    assert first.query.window is not None and task.query.window is not None
    assert task.query.window.duration_ms == 4 * first.query.window.duration_ms

    assert pipeline.deliver([queued]) == {"batchItemFailures": []}
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [parent["ts"]]  # no new parent
    replies = slack.replies(CHANNEL, parent["ts"])
    assert len(replies) > before
    assert_lines_in_order(message_text(replies[-1]), expected_lines(searched["seeded"]))


def test_more_context_from_a_reply_in_the_thread(
    pipeline: Pipeline, searched: dict[str, Any], slack: SlackStandin
) -> None:
    parent = searched["parent"]
    # The buttons on a reply: the click says it sits in the parent's thread.
    with_buttons = [m for m in slack.replies(CHANNEL, parent["ts"]) if buttons(m)]
    clicked = with_buttons[-1] if with_buttons else parent
    acked(pipeline.click(clicked, "logthread.more_context"))
    [queued] = pipeline.pending()
    task = parse_task(json.loads(queued["Body"])["Message"])
    assert task.query.context_lines == 10
    assert task.reply.thread_ts == parent["ts"]
    pipeline.deliver([queued])
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [parent["ts"]]
    assert_lines_in_order(
        message_text(slack.replies(CHANNEL, parent["ts"])[-1]),
        expected_lines(searched["seeded"]),
    )


def test_tampered_value_naming_a_forbidden_group_is_refused(
    pipeline: Pipeline, searched: dict[str, Any], slack: SlackStandin
) -> None:
    parent = searched["parent"]
    replies_before = slack.replies(CHANNEL, parent["ts"])
    forged = button_value(
        SearchQuery(RID, log_groups=("/aws/rds/instance/prod/postgresql",), window=None)
    )
    acked(pipeline.click(parent, "logthread.search_again", value=forged))
    assert pipeline.pending() == []
    [told] = slack.responses(pipeline.response_url)
    assert told["text"].startswith("Sorry, you may not search `/aws/rds/instance/prod/postgresql`")
    assert told.get("response_type", "ephemeral") == "ephemeral"
    assert slack.replies(CHANNEL, parent["ts"]) == replies_before


@pytest.mark.parametrize(
    "value",
    [
        button_value(SearchQuery('12345678" OR "', functions=("HogeService",))),
        button_value(SearchQuery(RID, functions=("HogeService | stats count(*)",))),
        button_value(SearchQuery(RID, functions=("HogeService",), window=TimeWindow(5, 1))),
        "{}",
    ],
)
def test_tampered_values_that_could_inject_are_refused(
    pipeline: Pipeline, searched: dict[str, Any], slack: SlackStandin, value: str
) -> None:
    acked(pipeline.click(searched["parent"], "logthread.search_again", value=value))
    assert pipeline.pending() == []
    [told] = slack.responses(pipeline.response_url)
    assert told["text"].startswith("Sorry")


def test_click_by_someone_not_allowed_is_refused(
    pipeline: Pipeline, searched: dict[str, Any], slack: SlackStandin
) -> None:
    acked(pipeline.click(searched["parent"], "logthread.more_context", user_id="U0STRANGER"))
    assert pipeline.pending() == []
    [told] = slack.responses(pipeline.response_url)
    assert told["text"].startswith("Sorry, you're not on the list")


def test_open_in_cloudwatch_click_is_just_acked(
    pipeline: Pipeline, searched: dict[str, Any]
) -> None:
    parent = searched["parent"]
    url_buttons = [b for b in buttons(parent).values() if "url" in b]
    if not url_buttons:
        pytest.skip("the parent carries no URL button")
    acked(pipeline.click(parent, url_buttons[0]["action_id"]))
    assert pipeline.pending() == []
