"""An alarm storm through the local stack: many notifications, one channel, Slack's rate limit.

:func:`run_storm` publishes ``per_alarm`` ALARM notifications for each of
``alarms`` CloudWatch alarms to the alarm topic (SNS on moto → SQS → a pool of
``workers`` concurrent worker instances, each its own Lambda module with its own
clients), with the stand-in limiting ``chat.postMessage`` per channel and
answering 429 + ``Retry-After`` beyond it; then waits for the queues to drain
and reads back what a person would see. Used by tests/functional/test_storm.py
(compressed) and bench/bench_storm.py (full size, beside naive posting).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from logthread_local import story
from logthread_local.aws import moto_server, reset_moto
from logthread_local.stack import LocalStack

CHANNEL = "C0STORM"
_STILL = re.compile(r"Still in ALARM\* at ([^.]+)\.")


@dataclass
class Thread:
    """One alarm's conversation: its top-level messages and the repeats in its thread."""

    parents: int = 0
    replies: int = 0
    repeats: list[str] = field(default_factory=list)  # "Still in ALARM at <when>"


@dataclass
class StormReport:
    """What the storm did to Slack and what it left there."""

    notifications: int
    alarms: int
    workers: int
    drained: bool
    seconds: float  # from the first publish until the queues were empty and workers idle
    posts: int  # chat.postMessage calls (attempts)
    posted: int  # ... answered 200
    rate_limited: int  # ... answered 429
    uploaded: int  # files shared in threads (each alarm's metric graph): replies too
    failed_deliveries: int  # deliveries the worker raised on (retried, or worker DLQ)
    worker_dead_letters: int  # events in the worker's DLQ (lost to Slack)
    slack_dead_letters: int  # letters waiting in the Slack dead-letter queue
    threads: dict[str, Thread]
    stray: int  # top-level messages that belong to no alarm

    @property
    def delivered(self) -> int:
        """Notifications that reached their thread (opening it or as a repeat)."""
        return sum(t.parents + len(t.repeats) for t in self.threads.values())


def alarm_name(n: int) -> str:
    return f"StormFn{n:02d}-Errors"


def run_storm(
    *,
    alarms: int = 20,
    per_alarm: int = 10,
    workers: int = 4,
    per_second: float = 1.0,
    burst: float = 1.0,
    naive: bool = False,
    shared_pacing: bool = True,
    retry_delay: int = 2,
    timeout: float = 900.0,
    aws_endpoint: str = "",
) -> StormReport:
    """Run one storm on a fresh local stack; see the module docstring.

    Parameters
    ----------
    per_second:
        The stand-in's per-channel rate (Slack: about 1); a test raises it to
        compress time (``Retry-After`` stays whole seconds).
    burst:
        Posts the stand-in lets through at once after a pause (its token bucket's
        size; Slack allows short bursts too).
    naive:
        Post with a bare slack_sdk ``WebClient`` (its default retry handlers: none
        for 429) instead of logthread's, as a baseline.
    shared_pacing:
        The workers pace posts together through the table at ``per_second`` (what
        they do when deployed); False: each instance paces only itself (the
        in-process :class:`~logthread.slack.pacing.ChannelPacer`), as a baseline.
    retry_delay:
        Seconds before a failed delivery is retried (Lambda waits a minute or more).
    """
    if not aws_endpoint:
        with moto_server() as endpoint:
            # moto keeps its state per process, across servers: start from nothing, so a
            # second storm doesn't find the first one's episodes.
            reset_moto(endpoint)
            return run_storm(
                alarms=alarms,
                per_alarm=per_alarm,
                workers=workers,
                per_second=per_second,
                burst=burst,
                naive=naive,
                shared_pacing=shared_pacing,
                retry_delay=retry_delay,
                timeout=timeout,
                aws_endpoint=endpoint,
            )
    config = {
        "default_channel": CHANNEL,
        "limits": {"slack_posts_per_second_per_channel": per_second},
    }
    with LocalStack(
        config=config, workers=workers, retry_delay=retry_delay, aws_endpoint=aws_endpoint
    ) as stack:
        slack = stack.slack
        slack.rate_limit(per_second=per_second, burst=burst)
        if naive:
            _naive_posting(stack)
        elif not shared_pacing:
            _process_pacing(stack)
        # StateChangeTimes spread over the minute before now, one per alarm and round.
        now_ms = int(time.time() * 1000)
        step_ms = 60_000 // per_alarm
        sns = stack.client("sns")  # one client: building one per publish costs ~0.2 s
        started = time.monotonic()
        for i in range(per_alarm):
            for a in range(alarms):
                when = now_ms - 60_000 + i * step_ms + a * 10
                # The first round opens each alarm's episode; the rest repeat it (ALARM -> ALARM).
                message, subject = story.lambda_errors_alarm(
                    when, function=f"StormFn{a:02d}", previous="ALARM" if i else "OK"
                )
                sns.publish(
                    TopicArn=stack.alarm_topic_arn, Message=json.dumps(message), Subject=subject
                )
        drained = stack.wait_idle(timeout, settle=1.0)
        seconds = time.monotonic() - started - (1.0 if drained else 0.0)
        posts = slack.calls_to("chat.postMessage")
        threads, stray = _threads(slack, alarms)
        return StormReport(
            notifications=alarms * per_alarm,
            alarms=alarms,
            workers=workers,
            drained=drained,
            seconds=seconds,
            posts=len(posts),
            posted=sum(c.status == 200 and not c.error for c in posts),
            rate_limited=sum(c.status == 429 for c in posts),
            uploaded=sum(
                c.status == 200 and not c.error
                for c in slack.calls_to("files.completeUploadExternal")
            ),
            failed_deliveries=sum(bool(d.error) for d in stack.deliveries),
            worker_dead_letters=_depth(stack, "dlq"),
            slack_dead_letters=_depth(stack, "slack_dlq"),
            threads=threads,
            stray=stray,
        )


def _naive_posting(stack: LocalStack) -> None:
    """Give every worker instance a bare WebClient: no 429 retries, no pacing."""
    from slack_sdk.web import WebClient

    from logthread.slack.chat import SlackChat
    from logthread.worker.deps import from_env

    assert stack.pump is not None
    for handler in stack.pump._handlers:
        module = sys.modules[handler.__module__]
        bare = WebClient(token=stack.bot_token, base_url=stack.slack_api_url)
        setattr(module, "_deps", replace(from_env(), chat=SlackChat(bare)))  # noqa: B010


def _process_pacing(stack: LocalStack) -> None:
    """Give every worker instance logthread's chat paced only within its own process."""
    from logthread.slack.pacing import ChannelPacer

    assert stack.pump is not None
    for handler in stack.pump._handlers:
        module = sys.modules[handler.__module__]
        deps = module.deps()
        deps.chat.pacer = ChannelPacer()


def _threads(slack: Any, alarms: int) -> tuple[dict[str, Thread], int]:
    names = {alarm_name(a) for a in range(alarms)}
    threads = {name: Thread() for name in names}
    stray = 0
    for parent in slack.messages(CHANNEL):
        name = next((n for n in names if n in parent.get("text", "")), "")
        if not name:
            stray += 1
            continue
        thread = threads[name]
        thread.parents += 1
        for reply in slack.replies(CHANNEL, parent["ts"]):
            thread.replies += 1
            text = _text(reply)
            if reply.get("text") == f"ALARM: {name}" and (m := _STILL.search(text)):
                thread.repeats.append(m.group(1))
    return threads, stray


def _text(message: dict[str, Any]) -> str:
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
    return "\n".join(parts)


def _depth(stack: LocalStack, queue: str) -> int:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queues[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def summary(report: StormReport) -> Counter[str]:
    """Counts a test or a bench line can quote."""
    return Counter(
        parents=sum(t.parents for t in report.threads.values()),
        repeats=sum(len(t.repeats) for t in report.threads.values()),
        replies=sum(t.replies for t in report.threads.values()),
    )
