"""The alarm first (issue 12, part 0): the alarm message is up before the logs are searched.

The message is posted as soon as the notification is read (saying it is looking),
then edited once with what the search found, as a recorded step: a retry after a
crash between the post and the edit edits it without posting again, a retry after
the edit does nothing again, and an OK that resolved the message meanwhile keeps its
resolved form. CloudWatch Logs is moto behind the fault proxy (a slow AWS); Slack is
the stand-in behind the real slack_sdk client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from logthread.alarms.episodes import EpisodeStore
from logthread.alarms.flow import EpisodeBusy, handle_notification
from logthread.aws import RETRY_CONFIG
from logthread.config import Config, from_mapping
from logthread.slack.chat import ChatError, SlackChat
from logthread.worker.deps import WorkerDeps
from logthread_local.aws import create_table
from logthread_local.faultproxy import FaultProxy
from logthread_local.slack_standin import SlackStandin
from tests.functional.test_alarm_flow import CONFIG, HOGE, hoge_failure, notification, texts

CHANNEL = CONFIG["default_channel"]
TABLE = "logthread-alarm-first-test"
LOOKING = "Looking for the failing requests"
FOUND = ":thread: 1 failing request — logs in the thread"
SLOW_CALL = 1.0  # seconds each CloudWatch Logs call waits in the proxy


@pytest.fixture
def proxy(aws: str) -> Iterator[FaultProxy]:
    with FaultProxy(aws, seed=1) as p:
        yield p


@pytest.fixture
def config() -> Config:
    return from_mapping(CONFIG, env={})


@pytest.fixture
def deps(aws: str, proxy: FaultProxy, chat: SlackChat, config: Config) -> WorkerDeps:
    ddb = boto3.client("dynamodb", endpoint_url=aws)
    create_table(ddb, TABLE)
    return WorkerDeps(
        logs=boto3.client("logs", endpoint_url=proxy.url, config=RETRY_CONFIG),
        chat=chat,
        config=config,
        store=EpisodeStore(ddb, TABLE),
        cloudwatch=boto3.client("cloudwatch", endpoint_url=aws),
    )


@pytest.fixture
def change(aws: str) -> int:
    """An alarm ten seconds ago, with HogeService's failing request in its window."""
    at = int(time.time() * 1000) - 10_000
    hoge_failure(boto3.client("logs", endpoint_url=aws), at)
    return at


def in_background(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = fn(*args)
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, out


def wait_for_parent(slack: SlackStandin, worker: threading.Thread) -> dict[str, Any] | None:
    while worker.is_alive():
        messages = slack.messages(CHANNEL)
        if messages:
            return messages[0]
        time.sleep(0.005)
    return None


def redelivered_until_done(message: tuple[str, str], deps: WorkerDeps) -> dict[str, Any]:
    """Handle a notification, delivered again while the alarm's ts is being recorded."""
    for _ in range(100):
        try:
            return handle_notification(*message, deps)
        except EpisodeBusy:
            time.sleep(0.02)
    raise AssertionError("still busy")


def updates(slack: SlackStandin) -> int:
    return sum(1 for c in slack.calls if c.method == "chat.update" and not (c.fault or c.error))


def test_the_alarm_is_in_slack_before_a_slow_search_ends(
    deps: WorkerDeps, proxy: FaultProxy, slack: SlackStandin, change: int
) -> None:
    proxy.delay("*", SLOW_CALL)
    body, subject = notification("lambda_errors_hoge.json", change)

    started = time.monotonic()
    worker, out = in_background(handle_notification, body, subject, deps)
    first = wait_for_parent(slack, worker)
    seen_after = time.monotonic() - started
    worker.join(60)
    took = time.monotonic() - started

    assert first is not None, "the alarm message appeared only once the search had ended"
    assert seen_after < 1.0
    assert took > seen_after + SLOW_CALL  # the search went on after the message was up
    shown = texts(first)
    assert shown.startswith(":rotating_light: ALARM: HogeService-Errors")
    assert LOOKING in shown and "*Reason:* Threshold Crossed" in shown
    assert proxy.count("FilterLogEvents") > 0

    assert "error" not in out, out.get("error")
    (parent,) = slack.messages(CHANNEL)
    assert parent["ts"] == first["ts"] == out["result"]["ts"]
    assert out["result"]["requests"] == [HOGE]
    edited = texts(parent)
    assert FOUND in edited and LOOKING not in edited
    assert parent.get("edited")
    assert updates(slack) == 1
    (story,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(story).startswith(f"Request {HOGE}")


def test_a_notification_outside_any_episode_is_up_before_its_search_too(
    deps: WorkerDeps, proxy: FaultProxy, slack: SlackStandin, change: int
) -> None:
    """A custom notification naming a request: its own message, then the request's logs."""
    proxy.delay("*", SLOW_CALL)
    body, subject = notification("custom_json_id_in_string.json", change)

    worker, out = in_background(handle_notification, body, subject, deps)
    first = wait_for_parent(slack, worker)
    worker.join(60)

    assert first is not None and LOOKING in texts(first)
    assert "error" not in out, out.get("error")
    (parent,) = slack.messages(CHANNEL)
    assert out["result"] == {
        "action": "posted",
        "channel": CHANNEL,
        "ts": first["ts"],
        "requests": [HOGE],
    }
    assert texts(parent).startswith(":bell: Checkout failed for a customer")
    assert LOOKING not in texts(parent) and FOUND in texts(parent)
    (story,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(story).startswith(f"Request {HOGE}")


def test_a_retry_after_a_crash_between_the_post_and_the_edit_edits_it(
    deps: WorkerDeps, slack: SlackStandin, change: int
) -> None:
    body, subject = notification("lambda_errors_hoge.json", change)
    slack.fail_next("chat.update", status=200, error="fatal_error")

    with pytest.raises(ChatError):
        handle_notification(body, subject, deps)
    (looking,) = slack.messages(CHANNEL)
    assert LOOKING in texts(looking)
    assert slack.replies(CHANNEL, looking["ts"]) == []

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert parent["ts"] == looking["ts"] == result["ts"]
    assert FOUND in texts(parent)
    (story,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(story).startswith(f"Request {HOGE}")


def test_a_retry_after_the_edit_does_not_edit_again(
    deps: WorkerDeps, slack: SlackStandin, change: int
) -> None:
    body, subject = notification("lambda_errors_hoge.json", change)
    slack.fail_next(
        "chat.postMessage", status=200, error="fatal_error", match=lambda p: "thread_ts" in p
    )

    with pytest.raises(ChatError):
        handle_notification(body, subject, deps)
    assert updates(slack) == 1

    handle_notification(body, subject, deps)

    assert updates(slack) == 1
    (parent,) = slack.messages(CHANNEL)
    assert FOUND in texts(parent)
    assert len(slack.replies(CHANNEL, parent["ts"])) == 1


def test_an_ok_during_the_search_stays_resolved(
    deps: WorkerDeps, proxy: FaultProxy, slack: SlackStandin, change: int
) -> None:
    proxy.delay("*", SLOW_CALL)
    worker, out = in_background(
        handle_notification, *notification("lambda_errors_hoge.json", change), deps
    )
    assert wait_for_parent(slack, worker) is not None

    resolved = redelivered_until_done(notification("lambda_errors_hoge_ok.json", change), deps)
    assert worker.is_alive()  # the OK was handled while the ALARM's logs were searched
    worker.join(60)

    assert "error" not in out, out.get("error")
    assert resolved["action"] == "resolved"
    (parent,) = slack.messages(CHANNEL)
    shown = texts(parent)
    assert shown.startswith(":white_check_mark: RESOLVED: HogeService-Errors")
    assert "was not greater than or equal to the threshold" in shown  # the OK's reason
    assert FOUND in shown and LOOKING not in shown


def test_with_dead_letters_a_failed_edit_is_retried_not_replayed_late(
    deps: WorkerDeps, slack: SlackStandin, change: int
) -> None:
    """A replay after the OK's edit would show the alarm again: the delivery fails instead."""
    from dataclasses import replace

    from logthread.worker import handle_message
    from logthread_local.episodesim import MemoryDeadLetters

    letters = MemoryDeadLetters()
    deps = replace(deps, dead_letters=letters)
    body, subject = notification("lambda_errors_hoge.json", change)
    slack.fail_next("chat.update", status=200, error="internal_error")

    with pytest.raises(ChatError):
        handle_message(body, subject, deps)
    assert letters.sent == 0

    handle_message(body, subject, deps)

    assert letters.sent == 0
    (parent,) = slack.messages(CHANNEL)
    assert FOUND in texts(parent)
    assert len(slack.replies(CHANNEL, parent["ts"])) == 1


def test_an_edit_slack_refuses_for_good_leaves_the_thread_to_follow(
    deps: WorkerDeps, slack: SlackStandin, change: int
) -> None:
    slack.fail_next("chat.update", status=200, error="cant_update_message")

    result = handle_notification(*notification("lambda_errors_hoge.json", change), deps)

    (parent,) = slack.messages(CHANNEL)
    assert result["requests"] == [HOGE]
    assert LOOKING in texts(parent)
    (story,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(story).startswith(f"Request {HOGE}")


class OkLandsJustBeforeTheEdit(SlackChat):
    """The OK is handled after the ALARM read its episode (open) and before its edit lands."""

    def __init__(self, chat: SlackChat, ok: Any) -> None:
        super().__init__(chat.client)
        self.ok = ok

    def edit(self, channel: str, ts: str, **kwargs: Any) -> None:
        ok, self.ok = self.ok, None
        if ok is not None:
            ok()
        super().edit(channel, ts, **kwargs)


def test_an_ok_landing_before_the_found_edit_is_restored(
    deps: WorkerDeps, chat: SlackChat, slack: SlackStandin, change: int
) -> None:
    from dataclasses import replace

    ok = notification("lambda_errors_hoge_ok.json", change)
    deps_ok = replace(deps, chat=chat)
    deps.chat = OkLandsJustBeforeTheEdit(chat, lambda: handle_notification(*ok, deps_ok))

    handle_notification(*notification("lambda_errors_hoge.json", change), deps)

    (parent,) = slack.messages(CHANNEL)
    shown = texts(parent)
    assert shown.startswith(":white_check_mark: RESOLVED: HogeService-Errors")
    assert "was not greater than or equal to the threshold" in shown
    assert FOUND in shown
    # The ALARM's edit, the OK's, and the ALARM's again restoring the resolved form.
    assert updates(slack) == 3


def test_a_repeat_waits_for_the_search_instead_of_threading_its_requests_twice(
    deps: WorkerDeps, proxy: FaultProxy, slack: SlackStandin, change: int
) -> None:
    proxy.delay("*", SLOW_CALL)
    worker, out = in_background(
        handle_notification, *notification("lambda_errors_hoge.json", change), deps
    )
    assert wait_for_parent(slack, worker) is not None
    # The repeat (10 min after the fixture's ALARM) moved to a second after it: the same
    # failing request is in its window.
    repeat = notification("lambda_errors_hoge_repeat.json", change - 10 * 60_000 + 1_000)

    with pytest.raises(EpisodeBusy):
        handle_notification(*repeat, deps)
    worker.join(60)
    repeated = handle_notification(*repeat, deps)  # the delivery's retry

    assert "error" not in out, out.get("error")
    assert repeated["action"] == "repeated" and repeated["requests"] == []
    (parent,) = slack.messages(CHANNEL)
    story, still, nothing_new = slack.replies(CHANNEL, parent["ts"])
    assert texts(story).startswith(f"Request {HOGE}")
    assert texts(still).startswith(":rotating_light: *Still in ALARM*")
    assert texts(nothing_new).startswith(":mag: No new failing request since the last")
