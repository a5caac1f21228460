"""The Slack stand-in over real HTTP, driven by the real slack_sdk clients."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections import Counter

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from logthread_local.slack_standin import SlackStandin


def raw_client(slack: SlackStandin, token: str | None = None) -> WebClient:
    """A WebClient without retry handlers: it shows exactly what the stand-in answered."""
    return WebClient(token=token or slack.token, base_url=slack.url, retry_handlers=[])


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_url_is_a_webclient_base_url(slack: SlackStandin) -> None:
    assert slack.url.startswith("http://127.0.0.1:")
    assert slack.url.endswith("/api/")
    auth = raw_client(slack).auth_test()
    assert auth["user_id"] == slack.bot_user_id
    assert auth["team_id"] == slack.team_id


def test_thread_holds_parent_and_replies_in_order(slack: SlackStandin) -> None:
    client = raw_client(slack)
    parent = client.chat_postMessage(channel="C1", text="parent", blocks=[section("hi")])["ts"]
    r1 = client.chat_postMessage(channel="C1", text="one", thread_ts=parent)["ts"]
    # A reply addressed to a reply joins the parent's thread, as in Slack.
    r2 = client.chat_postMessage(channel="C1", text="two", thread_ts=r1)["ts"]
    other = client.chat_postMessage(channel="C1", text="other")["ts"]

    assert float(parent) < float(r1) < float(r2) < float(other)
    assert [m["ts"] for m in slack.messages("C1")] == [parent, other]
    thread = slack.thread("C1", parent)
    assert [m["text"] for m in thread] == ["parent", "one", "two"]
    assert thread[0]["reply_count"] == 2
    assert thread[0]["blocks"] == [section("hi")]
    assert all(m["thread_ts"] == parent for m in thread[1:])
    conv = slack.conversation()
    assert [m["text"] for m in conv["C1"][0]["replies"]] == ["one", "two"]
    assert conv["C1"][1]["replies"] == []


def test_form_and_json_bodies_are_both_accepted(slack: SlackStandin) -> None:
    client = raw_client(slack)
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "form"})
    client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "text": "form blocks", "blocks": json.dumps([section("b")])},
    )
    client.api_call("chat.postMessage", json={"channel": "C1", "text": "json"})
    msgs = slack.messages("C1")
    assert [m["text"] for m in msgs] == ["form", "form blocks", "json"]
    assert msgs[1]["blocks"] == [section("b")]
    assert slack.calls_to("chat.postMessage")[1].params["blocks"] == [section("b")]


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth"), ("", "not_authed")])
def test_token_is_checked(slack: SlackStandin, token: str, error: str) -> None:
    client = WebClient(token=token or None, base_url=slack.url, retry_handlers=[])
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response["error"] == error
    assert slack.messages("C1") == []


@pytest.mark.parametrize("state", ["not_in_channel", "channel_not_found"])
def test_channel_states(slack: SlackStandin, state: str) -> None:
    slack.set_channel("C9", state)
    with pytest.raises(SlackApiError) as exc:
        raw_client(slack).chat_postMessage(channel="C9", text="x")
    assert exc.value.response["error"] == state
    assert slack.calls[-1].error == state


def test_slack_limits_are_enforced(slack: SlackStandin) -> None:
    client = raw_client(slack)
    for blocks in ([section("x")] * 51, [section("x" * 3001)]):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x", blocks=blocks)
        assert exc.value.response["error"] == "invalid_blocks"
        assert exc.value.response["response_metadata"]["messages"]
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert exc.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x", thread_ts="1.000001")
    assert exc.value.response["error"] == "thread_not_found"
    assert slack.messages("C1") == []


def test_update_and_ephemeral(slack: SlackStandin) -> None:
    client = raw_client(slack)
    ts = client.chat_postMessage(channel="C1", text="firing")["ts"]
    client.chat_update(channel="C1", ts=ts, text="resolved", blocks=[section("ok")])
    (msg,) = slack.messages("C1")
    assert (msg["text"], msg["blocks"], "edited" in msg) == ("resolved", [section("ok")], True)
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert exc.value.response["error"] == "message_not_found"

    client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert [(e["user"], e["text"]) for e in slack.ephemerals("C1")] == [("U1", "only you")]
    assert len(slack.messages("C1")) == 1


def test_files_upload_v2_lands_in_the_thread(slack: SlackStandin) -> None:
    client = raw_client(slack)
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    resp = client.files_upload_v2(
        channel="C1", thread_ts=parent, filename="req.log", content="a\nb\n", title="Full log"
    )
    file_id = resp["file"]["id"]
    assert [c.method for c in slack.calls[1:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (share,) = slack.replies("C1", parent)
    assert share["files"][0]["id"] == file_id
    assert share["files"][0]["title"] == "Full log"
    stored = slack.file(file_id)
    assert (stored["content"], stored["channel"], stored["thread_ts"]) == (b"a\nb\n", "C1", parent)


def test_response_url_takes_five_posts(slack: SlackStandin) -> None:
    url = slack.response_url(channel="C1", user="U1")
    hook = WebhookClient(url, retry_handlers=[])
    statuses = [
        hook.send(text=f"r{i}", response_type="in_channel" if i == 0 else "ephemeral").status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [404]
    assert hook.send(text="again").body == "used_url"
    assert [p["text"] for p in slack.responses(url)] == ["r0", "r1", "r2", "r3", "r4"]
    # in_channel answers show up in the channel, ephemeral ones only to the user.
    assert [m["text"] for m in slack.messages("C1")] == ["r0"]
    assert [e["text"] for e in slack.ephemerals("C1")] == ["r1", "r2", "r3", "r4"]
    assert WebhookClient(slack.response_url(), retry_handlers=[]).send(text="").status_code == 400


def test_response_url_expires_after_30_minutes() -> None:
    now = [1_000.0]
    with SlackStandin(clock=lambda: now[0]) as standin:
        url = standin.response_url()
        assert WebhookClient(url, retry_handlers=[]).send(text="in time").status_code == 200
        now[0] += 30 * 60 + 1
        late = WebhookClient(url, retry_handlers=[]).send(text="late")
        assert (late.status_code, late.body) == (404, "expired_url")


def test_scripted_faults(slack: SlackStandin) -> None:
    client = raw_client(slack)
    slack.fail_next("chat.postMessage", 429, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    slack.fail_next("*", 503)
    with pytest.raises(SlackApiError) as exc:
        client.auth_test()
    assert exc.value.response.status_code == 503
    slack.fail_next("chat.postMessage", 200, error="fatal_error")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response["error"] == "fatal_error"
    slack.fail_next("chat.postMessage", "reset")
    with pytest.raises((ConnectionError, OSError)):
        client.chat_postMessage(channel="C1", text="x")
    client.chat_postMessage(channel="C1", text="fine")
    assert [(c.status, c.fault) for c in slack.calls] == [
        (429, "429"),
        (503, "503"),
        (200, "fatal_error"),
        (0, "reset"),
        (200, ""),
    ]
    assert [m["text"] for m in slack.messages("C1")] == ["fine"]


def test_slow_answers_still_answer(slack: SlackStandin) -> None:
    slack.fail_next("auth.test", 200, delay=0.2)
    assert raw_client(slack).auth_test()["ok"]
    assert slack.calls[-1].fault == "slow"


def _statuses_under_chaos(seed: int) -> list[int]:
    with SlackStandin(seed=seed) as standin:
        standin.fault_rate(0.5, kinds=(429, 500, 503))
        client = raw_client(standin)
        for i in range(40):
            with contextlib.suppress(SlackApiError):
                client.chat_postMessage(channel="C1", text=str(i))
        return [c.status for c in standin.calls]


def test_fault_rate_is_seeded() -> None:
    first = _statuses_under_chaos(7)
    assert first == _statuses_under_chaos(7)
    counts = Counter(first)
    assert counts[200] and counts[429] and counts[500] and counts[503]


def test_per_channel_rate_limit_follows_the_clock() -> None:
    now = [1_000.0]
    with SlackStandin(clock=lambda: now[0]) as standin:
        standin.rate_limit(per_second=1.0)
        client = raw_client(standin)
        client.chat_postMessage(channel="C1", text="a")
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="b")
        assert exc.value.response.status_code == 429
        assert exc.value.response.headers["Retry-After"] == "1"
        client.chat_postMessage(channel="C2", text="other channel")  # limits are per channel
        now[0] += 1.0
        client.chat_postMessage(channel="C1", text="c")
        assert [m["text"] for m in standin.messages("C1")] == ["a", "c"]
        assert [c.fault for c in standin.calls] == ["", "ratelimit", "", ""]


def test_hundreds_of_concurrent_posts(slack: SlackStandin) -> None:
    def post(n: int) -> None:
        client = raw_client(slack)
        for i in range(25):
            client.chat_postMessage(channel=f"C{n % 2}", text=f"{n}-{i}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = slack.messages("C0") + slack.messages("C1")
    assert len(messages) == 200
    assert len({m["ts"] for m in messages}) == 200
    assert len(slack.calls) == 200


def test_conversation_is_served_as_json(slack: SlackStandin) -> None:
    raw_client(slack).chat_postMessage(channel="C1", text="hello")
    with urllib.request.urlopen(f"{slack.base}/_standin/conversation", timeout=5) as resp:
        data = json.load(resp)
    assert data["C1"][0]["text"] == "hello"
