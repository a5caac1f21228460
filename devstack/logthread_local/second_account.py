"""A second AWS account on the local stack: ``make demo``'s last step and the dev page's alarm.

The demo's stack runs the bot in the monitoring account of CloudWatch cross-account
observability, with the payments account linked to it as a source account (moto keeps
both; :class:`~logthread_local.linkedlogs.LinkedLogsProxy` emulates the link). PaymentService
fails there; the monitoring account's alarm on that account's ``Errors`` fires, and its
thread shows the failing request's lines, read by ARN through the link. The step prints
which account each Logs call of the bot reached. :func:`fire` is the dev page's way to
fire that alarm (or the source account's own, forwarded by EventBridge) again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from logthread_local import story
from logthread_local.stack import LocalStack
from logthread_local.terminal import Style

CHANNEL = "C0ALERTS"


@dataclass(frozen=True, slots=True)
class Fired:
    message_id: str
    subject: str
    request_id: str = ""  # the failing request logged first, if one was
    log_group: str = ""  # where, as ``<account>:<name>``


def fire(stack: LocalStack, *, via: str, state: str, with_failure: bool) -> Fired:
    """PaymentService's alarm in the payments account: the monitoring account's alarm on
    its metric (``via`` "metric") or its own alarm as EventBridge forwards it ("eventbridge");
    ``with_failure`` first logs a new failing request there (for an ALARM)."""
    request_id = group = ""
    if with_failure and state == "ALARM":
        request_id, lines = story.source_failure()
        stack.put_log_lines(story.SOURCE_LOG_GROUP, lines, account=story.SOURCE_ACCOUNT)
        group = f"{story.SOURCE_ACCOUNT}:{story.SOURCE_LOG_GROUP}"
    if via == "eventbridge":
        event = story.forwarded_alarm_event(state=state)
        name = event["detail"]["alarmName"]
        subject = f"{state}: {name} (EventBridge, account {story.SOURCE_ACCOUNT})"
        return Fired(stack.publish_alarm(event), subject, request_id, group)
    message, subject = story.cross_account_alarm(state=state)
    return Fired(stack.publish_alarm(message, subject), subject, request_id, group)


class Teller(Protocol):
    """What the step needs of :class:`logthread_local.demo.Demo`."""

    stack: LocalStack
    style: Style
    timeout: float

    def say(self, *lines: str) -> None: ...

    def wait_for(self, what: str, check: Callable[[], Any]) -> Any: ...

    def text_of(self, message: Mapping[str, Any]) -> str: ...

    def thread(self, ts: str) -> list[dict[str, Any]]: ...

    def show_thread(self, parent: Mapping[str, Any], replies: list[dict[str, Any]]) -> None: ...


def alarm_from_linked_account(demo: Teller) -> None:
    """Seed the payments account, fire the alarm on its metric, show its thread."""
    stack, style = demo.stack, demo.style
    proxy = stack.logs_proxy
    assert proxy is not None
    now_ms = int(time.time() * 1000)
    seeded = story.seed_source_account(stack.client("logs", account=story.SOURCE_ACCOUNT), now_ms)
    count = sum(g["events"] for g in seeded["log_groups"].values())
    account = f"{story.SOURCE_ACCOUNT_NAME} account ({story.SOURCE_ACCOUNT})"
    demo.say(
        style.dim(f"  CloudWatch Logs, {account}: {count} events in {story.SOURCE_LOG_GROUP}"),
        style.dim(
            f"  linked to the monitoring account {story.MONITORING_ACCOUNT}, where logthread runs"
        ),
    )
    for e in seeded["events"]:
        if story.SOURCE_REQUEST_ID in e["message"] and "\t" in e["message"]:
            demo.say(style.dim(f"  │ {e['message'].rstrip().replace(chr(9), '  ')[:160]}"))
    calls_before = len(proxy.calls)
    message, subject = story.cross_account_alarm(now_ms)
    message_id = stack.publish_alarm(message, subject)
    demo.say(
        style.dim(f"  SNS → alarm topic: {subject}  (MessageId {message_id})"),
        style.dim(f"  its metric: AWS/Lambda Errors of {story.SOURCE_FUNCTION} in {account}"),
        "",
    )

    def threaded() -> dict[str, Any] | None:
        for m in stack.slack.messages(CHANNEL):
            if story.SOURCE_ALARM_NAME not in demo.text_of(m):
                continue
            text = "\n".join(demo.text_of(r) for r in demo.thread(m["ts"]))
            if story.shows_source_failure(text) and story.SOURCE_ACCOUNT_NAME in text:
                return m
        return None

    parent = demo.wait_for(
        f"alarm message with the {story.SOURCE_ACCOUNT_NAME} account's failing request "
        f"({story.SOURCE_REQUEST_ID}) in its thread",
        threaded,
    )
    stack.wait_idle(demo.timeout)
    thread = demo.thread(parent["ts"])
    demo.show_thread(thread[0], thread[1:])
    reached: Counter[tuple[str, str]] = Counter(
        (c.account, c.operation) for c in proxy.calls[calls_before:] if c.outcome == "ok"
    )
    demo.say(
        style.dim("  The bot's CloudWatch Logs calls for this alarm, by the account they read:")
    )
    for (account_id, operation), n in sorted(reached.items()):
        name = story.SOURCE_ACCOUNT_NAME if account_id == story.SOURCE_ACCOUNT else "monitoring"
        demo.say(
            style.dim(f"  · {name} ({account_id}): {operation}, {n} call{'s' if n > 1 else ''}")
        )
    demo.say("")
