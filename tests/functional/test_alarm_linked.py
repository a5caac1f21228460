"""Alarms from a linked account thread that account's lines (issue 15, item 1), end to end.

The embedded stack with a second account: the bot runs in the monitoring account, the
payments account (a source account) is linked to it through the local emulation of
cross-account observability (:class:`~logthread_local.linkedlogs.LinkedLogsProxy`), and
PaymentService fails there. Both ways an alarm of that account reaches the bot are run: the
monitoring account's alarm on the source account's metric, and the source account's own
alarm forwarded by EventBridge. ``logs_proxy.calls`` says which account every Logs call read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from logthread_local import story
from logthread_local.demo import strings
from logthread_local.stack import LocalStack

CHANNEL = "C0ALERTS"
SOURCE = story.SOURCE_ACCOUNT
OTHER = "333333333333"


def _stack(aws: str, config: dict[str, Any], linked: list[str]) -> LocalStack:
    return LocalStack(
        aws_endpoint=aws,
        default_channel=CHANNEL,
        config={"default_channel": CHANNEL, **config},
        linked_accounts=linked,
    )


@pytest.fixture
def stack(aws: str) -> Iterator[LocalStack]:
    with _stack(aws, story.linked_config(), [SOURCE]) as running:
        now = int(time.time() * 1000)
        story.seed_logs(running.client("logs"), now)
        story.seed_source_account(running.client("logs", account=SOURCE), now)
        running.logs_proxy.clear()  # type: ignore[union-attr]
        yield running


def _thread_text(stack: LocalStack, alarm_name: str, timeout: float = 60.0) -> str:
    assert stack.wait_idle(timeout)
    for message in stack.slack.messages(CHANNEL):
        if alarm_name in "\n".join(strings(message)):
            thread = stack.slack.thread(CHANNEL, message["ts"])
            texts = [*strings(thread)]
            for reply in thread:
                for f in reply.get("files") or []:
                    content = stack.slack.file(f["id"]).get("content")
                    if isinstance(content, bytes) and not content.startswith(b"\x89PNG"):
                        texts.append(content.decode("utf-8", "replace"))
            return "\n".join(texts)
    raise AssertionError(f"no message for {alarm_name}")


def _reads(stack: LocalStack) -> set[str]:
    proxy = stack.logs_proxy
    assert proxy is not None
    return {c.account for c in proxy.calls if c.outcome == "ok" and c.log_groups}


def test_an_alarm_on_a_source_accounts_metric_threads_that_accounts_lines(
    stack: LocalStack,
) -> None:
    message, subject = story.cross_account_alarm()
    stack.publish_alarm(message, subject)

    text = _thread_text(stack, story.SOURCE_ALARM_NAME)

    assert story.SOURCE_REQUEST_ID in text
    assert story.shows_source_failure(text)
    assert story.SOURCE_ACCOUNT_NAME in text  # the account is named, not only numbered
    # ... also on the group line of the failing request's lines.
    assert f"{story.SOURCE_ACCOUNT_NAME} {SOURCE} {story.SOURCE_LOG_GROUP}" in text
    assert not story.shows_failing_request(text)  # nothing of the own account's HogeService
    proxy = stack.logs_proxy
    assert proxy is not None
    assert SOURCE in proxy.reached("FilterLogEvents")
    assert all(c.account == SOURCE for c in proxy.calls if story.SOURCE_LOG_GROUP in c.log_groups)
    assert proxy.refused() == []


def test_an_alarm_forwarded_by_eventbridge_from_a_source_account_threads_its_lines(
    stack: LocalStack,
) -> None:
    stack.publish_alarm(json.dumps(story.forwarded_alarm_event()))

    text = _thread_text(stack, f"{story.SOURCE_FUNCTION}-Errors")

    assert story.shows_source_failure(text)
    assert SOURCE in _reads(stack)


def test_a_disallowed_accounts_alarm_is_posted_and_nothing_of_it_is_read(aws: str) -> None:
    # Linked, but not among the accounts the configuration allows.
    config = {**story.linked_config(), "access": {"accounts": [OTHER]}}
    with _stack(aws, config, [SOURCE, OTHER]) as running:
        story.seed_source_account(running.client("logs", account=SOURCE))
        running.logs_proxy.clear()  # type: ignore[union-attr]
        message, subject = story.cross_account_alarm()
        running.publish_alarm(message, subject)

        text = _thread_text(running, story.SOURCE_ALARM_NAME)

        assert f"logs of account {SOURCE} not read" in text
        assert story.SOURCE_REQUEST_ID not in text
        assert SOURCE not in _reads(running)
        assert SOURCE not in running.logs_proxy.reached()  # type: ignore[union-attr]


def test_search_again_on_a_source_accounts_request_reads_that_account(stack: LocalStack) -> None:
    from logthread_local.slackreq import buttons

    message, subject = story.cross_account_alarm()
    stack.publish_alarm(message, subject)
    _thread_text(stack, story.SOURCE_ALARM_NAME)
    parent = next(m for m in stack.slack.messages(CHANNEL) if story.SOURCE_ALARM_NAME in str(m))
    assert f"in account `{SOURCE}`" in "\n".join(strings(parent))  # the metric's account
    thread = stack.slack.thread(CHANNEL, parent["ts"])
    reply, button = next(
        (m, b)
        for m in thread
        for b in buttons(m)
        if b.get("action_id") == "logthread.search_again" and story.SOURCE_REQUEST_ID in str(m)
    )
    stack.logs_proxy.clear()  # type: ignore[union-attr]
    known = {m["ts"] for m in thread}

    assert stack.click(reply, button, channel_id=CHANNEL)["statusCode"] == 200
    assert stack.wait_idle(60)

    new = [m for m in stack.slack.thread(CHANNEL, parent["ts"]) if m["ts"] not in known]
    assert story.shows_source_failure("\n".join(strings(new)))
    assert _reads(stack) == {SOURCE}


def test_an_allowed_account_that_is_not_linked_is_never_read(aws: str) -> None:
    """Allowed by the configuration, but no link: the guard's probe lists nothing of it."""
    with _stack(aws, story.linked_config(), []) as running:
        story.seed_source_account(running.client("logs", account=SOURCE))
        message, subject = story.cross_account_alarm()
        running.publish_alarm(message, subject)

        text = _thread_text(running, story.SOURCE_ALARM_NAME)

        assert story.SOURCE_REQUEST_ID not in text
        assert "not linked" in text
        proxy = running.logs_proxy
        assert proxy is not None
        assert SOURCE not in proxy.reached("FilterLogEvents")
        assert SOURCE not in proxy.reached("GetLogEvents")
        assert {c.outcome for c in proxy.calls if c.account == SOURCE} <= {"not linked"}


def test_a_follow_up_counts_a_new_kind_of_error_in_the_source_account(aws: str) -> None:
    config = {**story.linked_config(), "limits": story.FOLLOW_UPS}
    with _stack(aws, config, [SOURCE]) as running:
        story.seed_source_account(running.client("logs", account=SOURCE))
        message, subject = story.cross_account_alarm()
        running.publish_alarm(message, subject)
        _thread_text(running, story.SOURCE_ALARM_NAME)
        # The new kind starts after the episode opened (second_kind_failures stamps now).
        lines = story.second_kind_failures()
        running.put_log_lines(story.SOURCE_LOG_GROUP, lines, account=SOURCE)

        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline and not ("KeyError" in text and "Live tally" in text):
            time.sleep(0.5)
            parent = next(
                m for m in running.slack.messages(CHANNEL) if story.SOURCE_ALARM_NAME in str(m)
            )
            text = "\n".join(strings(running.slack.thread(CHANNEL, parent["ts"])))
        assert ":new:" in text and "KeyError" in text and "Live tally" in text
        assert SOURCE in _reads(running) and running.logs_proxy.refused() == []  # type: ignore[union-attr]
