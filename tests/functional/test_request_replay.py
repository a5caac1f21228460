"""A signed request replayed within its 5 minutes is answered once (SECURITY.md, replay).

The ingress still acks the copy (it cannot tell it from a first delivery without
a write on the ack path), but the task carries an id taken from Slack's
trigger_id, inside the signed body: the copy is the same task, and the worker's
idempotency answers it once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from slash_pipeline import CHANNEL, Pipeline, command_body

from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    p = Pipeline(aws, slack, monkeypatch)
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    yield p


def test_a_replayed_command_is_searched_and_posted_once(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    url = slack.response_url(CHANNEL, "U0ONCALL1")
    body = command_body(f"{seeding.SEED_REQUEST_ID} in {seeding.SEED_FUNCTION}", response_url=url)
    stamp = int(time.time())
    first = pipeline.post(body, timestamp=stamp)
    replay = pipeline.post(body, timestamp=stamp)  # byte for byte the same request
    for answer in (first, replay):
        assert answer["statusCode"] == 200
        assert json.loads(answer["body"])["text"].startswith("Searching")
    queued = pipeline.pending()
    assert len(queued) == 2
    ids = {json.loads(json.loads(m["Body"])["Message"])["extra"]["task_id"] for m in queued}
    assert len(ids) == 1
    pipeline.deliver(queued)
    assert len(slack.messages(CHANNEL)) == 1


def test_two_commands_with_the_same_text_are_two_searches(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    for _ in range(2):
        pipeline.command(f"{seeding.SEED_REQUEST_ID} in {seeding.SEED_FUNCTION}")
    pipeline.deliver()
    assert len(slack.messages(CHANNEL)) == 2
