"""A post whose outcome was lost is found in Slack, not posted again.

Slack's ``chat.postMessage`` has no idempotency key. A post made with a *marker*
carries it in the message's metadata; after a timeout or a dropped connection the
chat looks the marker up (``conversations.history`` / ``conversations.replies``)
before it would post again.
"""

from __future__ import annotations

import time

from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from logthread.slack.chat import SlackChat
from logthread.slack.deadletter import DeferringChat, replay
from logthread.slack.webclient import make_web_client
from logthread_local.slack_standin import RESET, SlackStandin


def quick_chat(slack: SlackStandin, **kwargs: object) -> SlackChat:
    return SlackChat(
        make_web_client(
            slack.token, slack.url, interval=FixedValueRetryIntervalCalculator(0.05), **kwargs
        )
    )


def test_a_marked_post_is_found_by_its_marker(chat: SlackChat, slack: SlackStandin) -> None:
    chat.post("C1", text="other")
    ts = chat.post("C1", text="parent", marker="n1:alarm")
    reply = chat.post("C1", text="reply", thread_ts=ts, marker="n1:reply-1")
    assert chat.find("C1", "n1:alarm") == ts
    assert chat.find("C1", "n1:reply-1", thread_ts=ts) == reply
    assert chat.find("C1", "n1:nothing") == ""
    assert chat.find("C1", "n1:reply-1") == ""  # replies are not top-level


def test_find_pages_through_a_busy_channel(chat: SlackChat, slack: SlackStandin) -> None:
    ts = chat.post("C1", text="parent", marker="n1:alarm")
    for i in range(250):
        chat.post("C1", text=f"noise {i}")
    assert chat.find("C1", "n1:alarm", oldest=float(ts) - 1) == ts


def test_a_post_that_timed_out_but_landed_is_not_posted_twice(slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", 200, delay=1.2)
    ts = quick_chat(slack, timeout=1).post("C1", text="slow", marker="n1:alarm")
    (only,) = slack.messages("C1")
    assert only["ts"] == ts


def test_a_reset_after_the_post_landed_does_not_post_it_twice(slack: SlackStandin) -> None:
    """slack_sdk's connection retry would re-send the post; the marker is looked up first."""
    chat = quick_chat(slack)
    first = chat.post("C1", text="parent", marker="n1:alarm")
    slack.fail_next("chat.postMessage", RESET)
    assert chat.post("C1", text="parent", marker="n1:alarm") == first
    assert len(slack.messages("C1")) == 1


def test_a_reset_before_the_post_landed_posts_it(slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", RESET, count=2)
    ts = quick_chat(slack).post("C1", text="parent", marker="n1:alarm")
    assert [m["ts"] for m in slack.messages("C1")] == [ts]


def test_without_history_scope_the_lookup_finds_nothing_and_never_raises(
    chat: SlackChat, slack: SlackStandin
) -> None:
    chat.post("C1", text="parent", marker="n1:alarm")
    slack.fail_next("conversations.history", 200, error="missing_scope")
    assert chat.find("C1", "n1:alarm") == ""


def test_the_metadata_carries_only_the_marker(chat: SlackChat, slack: SlackStandin) -> None:
    chat.post("C1", text="parent", marker="n1:alarm")
    (call,) = slack.calls_to("chat.postMessage")
    assert call.params["metadata"] == {
        "event_type": "logthread_post",
        "event_payload": {"marker": "n1:alarm"},
    }


def test_replay_of_an_uncertain_post_finds_it_instead_of_posting(slack: SlackStandin) -> None:
    parent = quick_chat(slack).post("C1", text="parent")
    deferring = DeferringChat(quick_chat(slack, timeout=1))
    slack.fail_next("chat.postMessage", 200, delay=3)  # lands after every look for it
    deferring.post("C1", text="reply", thread_ts=parent, marker="n1:reply")
    letter = deferring.take_letter()
    assert letter is not None and letter.uncertain
    deadline = time.monotonic() + 10
    while not slack.replies("C1", parent) and time.monotonic() < deadline:
        time.sleep(0.05)
    done = replay(letter, quick_chat(slack))
    assert done.left is None and not done.skipped
    assert [m["text"] for m in slack.replies("C1", parent)] == ["reply"]


def test_replay_of_an_uncertain_post_that_never_landed_posts_it(slack: SlackStandin) -> None:
    parent = quick_chat(slack).post("C1", text="parent")
    deferring = DeferringChat(quick_chat(slack, timeout=1))
    slack.fail_next("chat.postMessage", 504)  # a gateway timeout: nothing landed
    deferring.post("C1", text="reply", thread_ts=parent, marker="n1:reply")
    letter = deferring.take_letter()
    assert letter is not None
    done = replay(letter, quick_chat(slack))
    assert done.left is None
    assert [m["text"] for m in slack.replies("C1", parent)] == ["reply"]


def test_a_letter_replayed_twice_posts_its_marked_posts_once(slack: SlackStandin) -> None:
    """``logthread replay`` deletes a letter after replaying it; if that delete fails, the
    next replay must not post again."""
    parent = quick_chat(slack).post("C1", text="parent")
    deferring = DeferringChat(quick_chat(slack))
    slack.fail_next("chat.postMessage", 503, count=4)  # outlasts the 3 retries: a letter
    deferring.post("C1", text="reply", thread_ts=parent, marker="n1:reply")
    letter = deferring.take_letter()
    assert letter is not None and not letter.uncertain
    for _ in range(2):
        assert replay(letter, quick_chat(slack)).left is None
    assert [m["text"] for m in slack.replies("C1", parent)] == ["reply"]
