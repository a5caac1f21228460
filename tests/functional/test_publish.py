"""post_search over the real WebClient to the Slack stand-in."""

from __future__ import annotations

import json

import pytest

from logthread.query import SearchQuery, SearchResult, TimeWindow
from logthread.records import LogRecord
from logthread.redact import Redactor
from logthread.slack.chat import ChatError, SlackChat
from logthread.slack.publish import post_search
from logthread.tasks import ReplyTo
from logthread_local.slack_standin import SlackStandin

RID = "12345678-aaaa-bbbb-cccc-1234567890ab"
T0 = 1714557601123


def result(n: int, *, width: int = 20) -> SearchResult:
    records = [
        LogRecord(
            timestamp=T0 + i,
            message=f"step {i} " + "x" * width,
            level="ERROR" if i == n - 1 else "INFO",
            request_id=RID,
            log_group="/aws/lambda/orders",
            log_stream="2024/05/01/[$LATEST]abc",
        )
        for i in range(n)
    ]
    return SearchResult(
        query=SearchQuery(RID, functions=("orders",)),
        records=records,
        log_groups_searched=["/aws/lambda/orders"],
        window=TimeWindow(T0 - 60_000, T0 + 60_000),
        request_ids=[RID] if n else [],
    )


def body(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def test_parent_then_timeline_in_its_thread(chat: SlackChat, slack: SlackStandin) -> None:
    ts = post_search(chat, result(5), ReplyTo(channel="C1", user_id="U1"), asked_by="U1")
    (parent,) = slack.messages("C1")
    assert parent["ts"] == ts
    assert "<@U1>" in body(parent) and RID in body(parent)
    (reply,) = slack.replies("C1", ts)
    assert all(f"step {i} " in body(reply) for i in range(5))
    assert "*1 error*" in body(reply)
    assert slack.calls_to("files.completeUploadExternal") == []


def test_long_timeline_uploads_the_full_log_in_the_thread(
    chat: SlackChat, slack: SlackStandin
) -> None:
    ts = post_search(chat, result(600, width=120), ReplyTo(channel="C1"))
    reply, share = slack.replies("C1", ts)
    assert "full log attached" in body(reply)
    (file,) = share["files"]
    content = slack.file(file["id"])["content"].decode()
    assert all(f"step {i} " in content for i in range(600))
    assert file["name"] == f"logthread-{RID}.log"


def test_button_rerun_answers_in_the_same_thread(chat: SlackChat, slack: SlackStandin) -> None:
    first = post_search(chat, result(3), ReplyTo(channel="C1"))
    again = post_search(chat, result(4), ReplyTo(channel="C1", thread_ts=first))
    assert again == first
    assert len(slack.messages("C1")) == 1
    assert len(slack.replies("C1", first)) == 2


def test_nothing_found_is_one_message(chat: SlackChat, slack: SlackStandin) -> None:
    ts = post_search(chat, result(0), ReplyTo(channel="C1"))
    (parent,) = slack.messages("C1")
    assert parent["ts"] == ts and "no log lines found" in body(parent)
    assert slack.replies("C1", ts) == []
    # From a button, nothing found is still answered in the thread.
    post_search(chat, result(0), ReplyTo(channel="C1", thread_ts=ts))
    assert "no log lines found" in body(slack.replies("C1", ts)[0])


@pytest.mark.parametrize("state", ["not_in_channel", "channel_not_found"])
def test_falls_back_to_response_url(chat: SlackChat, slack: SlackStandin, state: str) -> None:
    slack.set_channel("C9", state)
    url = slack.response_url(channel="C9", user="U1")
    ts = post_search(chat, result(600, width=120), ReplyTo(channel="C9", response_url=url))
    assert ts == ""
    (answer,) = slack.responses(url)
    assert answer["response_type"] == "in_channel"
    assert len(answer["blocks"]) <= 50
    assert "step 0 " in json.dumps(answer["blocks"])
    assert "invite the app" in json.dumps(answer["blocks"])


def test_without_response_url_the_error_surfaces(chat: SlackChat, slack: SlackStandin) -> None:
    slack.set_channel("C9", "not_in_channel")
    with pytest.raises(ChatError) as exc:
        post_search(chat, result(2), ReplyTo(channel="C9"))
    assert exc.value.code == "not_in_channel"
    assert exc.value.operation == "post"


def test_failed_upload_keeps_the_timeline(chat: SlackChat, slack: SlackStandin) -> None:
    slack.fail_next("files.getUploadURLExternal", 200, error="missing_scope")
    ts = post_search(chat, result(600, width=120), ReplyTo(channel="C1"))
    reply, note = slack.replies("C1", ts)
    assert "step 0 " in body(reply)
    assert note["text"] == "The full log could not be attached (missing_scope)."


def test_secrets_never_reach_slack(chat: SlackChat, slack: SlackStandin) -> None:
    res = result(600, width=120)
    res.records[3] = LogRecord(timestamp=T0 + 3, message="db password=hunter2", level="ERROR")
    ts = post_search(chat, res, ReplyTo(channel="C1"), redactor=Redactor())
    posted = json.dumps(slack.conversation())
    assert "hunter2" not in posted
    share = slack.replies("C1", ts)[-1]
    assert "hunter2" not in slack.file(share["files"][0]["id"])["content"].decode()
    assert "value hidden" in body(slack.replies("C1", ts)[0])
