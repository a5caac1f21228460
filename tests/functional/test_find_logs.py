""" "Find logs" on any message (issue 13, part 4), through the real ingress and worker.

A message another tool posted (a support ticket quoting a request id, a pasted
log line) gets the shortcut: the ingress reads the ids, authorizes the user as a
typed command would, publishes one search per id (at most a few), and the
worker answers in that message's thread.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slash_pipeline import CHANNEL, TEAM, USER, Pipeline, message_text

from logthread.shortcut import CALLBACK_ID, MAX_IDS
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin

RID = seeding.SEED_REQUEST_ID


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    p = Pipeline(aws, slack, monkeypatch)
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    yield p


def shortcut_body(message: dict[str, Any], *, response_url: str, user_id: str = USER) -> str:
    payload = {
        "type": "message_action",
        "callback_id": CALLBACK_ID,
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{TEAM}.{uuid.uuid4().hex}",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": user_id, "username": "oncall", "team_id": TEAM},
        "channel": {"id": CHANNEL, "name": "ops"},
        "message": message,
        "message_ts": message["ts"],
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)})


def _ticket(slack: SlackStandin, text: str, **more: Any) -> dict[str, Any]:
    # A message to take ids from, posted through the stand-in's Web API like any message.
    ts = WebClient(token=slack.token, base_url=slack.url)
    ts = ts.chat_postMessage(channel=CHANNEL, text=text, **more)["ts"]
    (message,) = [m for m in slack.messages(CHANNEL) if m["ts"] == ts]
    return message


def test_the_ids_of_any_message_are_searched_in_its_thread(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    other = "9f0e8d7c-1111-2222-3333-444455556666"
    ticket = _ticket(
        slack,
        "Support #4411: checkout failed",
        attachments=[{"fallback": "details", "text": f"request id {RID}, earlier {other}"}],
    )
    url = slack.response_url(CHANNEL, USER)
    assert pipeline.post(shortcut_body(ticket, response_url=url))["statusCode"] == 200
    (told,) = slack.responses(url)
    assert RID in told["text"] and "thread" in told["text"]
    pipeline.deliver()
    replies = slack.replies(CHANNEL, ticket["ts"])
    assert any(RID in message_text(r) and "DB fetch failed" in message_text(r) for r in replies)
    assert any(other in message_text(r) for r in replies)  # searched too: nothing found


def test_no_id_gets_an_explanation_and_nothing_is_searched(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    ticket = _ticket(slack, "The site feels slow today")
    url = slack.response_url(CHANNEL, USER)
    pipeline.post(shortcut_body(ticket, response_url=url))
    (told,) = slack.responses(url)
    assert "no request id or trace id" in told["text"]
    assert pipeline.pending() == []


def test_at_most_a_few_ids_the_rest_listed(pipeline: Pipeline, slack: SlackStandin) -> None:
    ids = [f"{i:08x}-aaaa-bbbb-cccc-1234567890ab" for i in range(MAX_IDS + 2)]
    ticket = _ticket(slack, "\n".join(ids))
    url = slack.response_url(CHANNEL, USER)
    pipeline.post(shortcut_body(ticket, response_url=url))
    assert len(pipeline.pending()) == MAX_IDS
    (told,) = slack.responses(url)
    assert "Not searched" in told["text"] and ids[-1] in told["text"]


def test_someone_outside_access_is_refused(pipeline: Pipeline, slack: SlackStandin) -> None:
    ticket = _ticket(slack, f"request {RID}")
    url = slack.response_url(CHANNEL, "U0INTRUDER")
    pipeline.post(shortcut_body(ticket, response_url=url, user_id="U0INTRUDER"))
    assert pipeline.pending() == []
    (told,) = slack.responses(url)
    assert RID not in told["text"]
