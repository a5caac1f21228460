"""SlackChat over the real WebClient and its retry handlers, against the stand-in."""

from __future__ import annotations

import json

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.models.blocks import SectionBlock

from logthread.slack.chat import ChatError, SlackChat
from logthread.slack.webclient import make_web_client
from logthread_local.slack_standin import SlackStandin


def quick_chat(slack: SlackStandin, **kwargs: object) -> SlackChat:
    """Production retry policy, but 5xx/reset retries paced at 50 ms to keep the suite quick."""
    return SlackChat(
        make_web_client(
            slack.token, slack.url, interval=FixedValueRetryIntervalCalculator(0.05), **kwargs
        )
    )


def test_base_url_comes_from_the_environment(slack: SlackStandin) -> None:
    # The `slack` fixture exported SLACK_API_URL; no base_url given here.
    client = make_web_client(slack.token)
    assert client.base_url == slack.url
    assert client.auth_test()["user_id"] == slack.bot_user_id


def test_post_thread_update_ephemeral(chat: SlackChat, slack: SlackStandin) -> None:
    ts = chat.post("C1", text="parent", blocks=[SectionBlock(text="*hi*")])
    reply = chat.post("C1", text="reply", thread_ts=ts)
    chat.update("C1", ts, text="edited", blocks=[{"type": "section", "text": "plain"}])
    chat.post_ephemeral("C1", "U1", text="just you")
    (parent,) = slack.messages("C1")
    assert parent["text"] == "edited"
    assert [m["ts"] for m in slack.replies("C1", ts)] == [reply]
    assert slack.ephemerals("C1")[0]["user"] == "U1"
    first = slack.calls_to("chat.postMessage")[0].params
    assert first["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    assert first["unfurl_links"] is False


def test_delete_takes_a_reply_out_and_a_second_delete_is_no_error(
    chat: SlackChat, slack: SlackStandin
) -> None:
    ts = chat.post("C1", text="parent")
    keep = chat.post("C1", text="stays", thread_ts=ts)
    gone = chat.post("C1", text="misplaced", thread_ts=ts)
    chat.delete("C1", gone)
    chat.delete("C1", gone)  # a retried delete: message_not_found counts as deleted
    assert [m["ts"] for m in slack.replies("C1", ts)] == [keep]
    assert [c.method for c in slack.calls].count("chat.delete") == 2


def test_upload_lands_in_the_thread(chat: SlackChat, slack: SlackStandin) -> None:
    ts = chat.post("C1", text="parent")
    file_id = chat.upload("C1", ts, filename="r.log", content="x" * 50_000, title="Full log")
    (share,) = slack.replies("C1", ts)
    assert share["files"][0]["id"] == file_id
    assert slack.file(file_id)["content"] == b"x" * 50_000


def test_respond_posts_to_the_response_url(chat: SlackChat, slack: SlackStandin) -> None:
    url = slack.response_url(channel="C1")
    chat.respond(url, text="found", blocks=[SectionBlock(text="ok")], response_type="in_channel")
    (post,) = slack.responses(url)
    assert post["response_type"] == "in_channel"
    assert post["blocks"][0]["text"]["text"] == "ok"
    assert [m["text"] for m in slack.messages("C1")] == ["found"]


def test_429_retry_after_is_honoured(chat: SlackChat, slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    chat.post("C1", text="after the wait")
    first, second = slack.calls_to("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    # slack_sdk sleeps Retry-After (plus jitter) before the next attempt.
    assert second.time - first.time >= 1.0
    assert [m["text"] for m in slack.messages("C1")] == ["after the wait"]


@pytest.mark.parametrize("fault", [500, 503, "reset"])
def test_server_errors_and_resets_are_retried(slack: SlackStandin, fault: int | str) -> None:
    slack.fail_next("chat.postMessage", fault, count=2)
    quick_chat(slack).post("C1", text="made it")
    assert [c.status for c in slack.calls] == [0 if fault == "reset" else fault] * 2 + [200]
    assert [m["text"] for m in slack.messages("C1")] == ["made it"]


def test_upload_steps_are_retried(slack: SlackStandin) -> None:
    chat = quick_chat(slack)
    ts = chat.post("C1", text="parent")
    slack.fail_next("files.getUploadURLExternal", 503)
    slack.fail_next("files.completeUploadExternal", 500)
    chat.upload("C1", ts, filename="r.log", content="abc", title="log")
    assert len(slack.replies("C1", ts)) == 1


def test_persistent_failure_raises_a_replayable_chat_error(slack: SlackStandin) -> None:
    chat = quick_chat(slack, max_retries=2)
    slack.fail_next("chat.postMessage", 503, count=3)
    with pytest.raises(ChatError) as exc:
        chat.post("C1", text="lost?", blocks=[SectionBlock(text="body")], thread_ts=None)
    err = exc.value
    assert (err.code, err.status, err.operation, err.transient) == ("http_503", 503, "post", True)
    assert len(slack.calls) == 3
    # The error is JSON-ready (a dead-letter record) and replays the exact call.
    record = json.loads(json.dumps(err.to_dict()))
    assert record["arguments"]["blocks"][0]["text"]["text"] == "body"
    ts = err.replay(chat)
    assert slack.messages("C1")[0]["ts"] == ts
    assert slack.messages("C1")[0]["blocks"][0]["text"]["text"] == "body"


def test_long_retry_after_is_not_slept_in_the_worker(slack: SlackStandin) -> None:
    chat = quick_chat(slack, max_rate_limit_wait=5)
    slack.fail_next("chat.postMessage", 429, retry_after=60)
    with pytest.raises(ChatError) as exc:
        chat.post("C1", text="x")
    assert (exc.value.code, exc.value.retry_after, exc.value.transient) == ("ratelimited", 60, True)
    assert len(slack.calls) == 1


@pytest.mark.parametrize("state", ["not_in_channel", "channel_not_found"])
def test_channel_errors_are_not_retried(chat: SlackChat, slack: SlackStandin, state: str) -> None:
    slack.set_channel("C9", state)
    with pytest.raises(ChatError) as exc:
        chat.post("C9", text="x")
    assert (exc.value.code, exc.value.transient) == (state, False)
    with pytest.raises(ChatError) as exc:
        chat.upload("C9", "", filename="a.log", content="a", title="a")
    assert exc.value.code == state
    assert [c.method for c in slack.calls if c.error] == [
        "chat.postMessage",
        "files.completeUploadExternal",
    ]


def test_bad_token_and_used_response_url(slack: SlackStandin) -> None:
    with pytest.raises(ChatError) as exc:
        SlackChat(make_web_client("xoxb-nope", slack.url)).post("C1", text="x")
    assert exc.value.code == "invalid_auth"

    chat = quick_chat(slack)
    url = slack.response_url()
    for i in range(5):
        chat.respond(url, text=str(i))
    with pytest.raises(ChatError) as exc:
        chat.respond(url, text="sixth")
    assert (exc.value.code, exc.value.status, exc.value.operation) == ("used_url", 404, "respond")


def test_timeout_is_a_chat_error(slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", 200, delay=1.5)
    with pytest.raises(ChatError) as exc:
        quick_chat(slack, timeout=1).post("C1", text="slow")
    assert exc.value.code == "timeout"
    assert exc.value.transient
