"""Follow-ups: while the alarm stays in ALARM, the thread learns of new kinds of error.

The worker sends itself a follow-up through a real SQS queue on moto (DelaySeconds,
as deployed); each test receives it as the event source would and hands it to the
worker with the queue's ARN. Follow-ups here are 3 s apart (the shortest allowed).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from logthread.alarms.episodes import EpisodeStore
from logthread.alarms.flow import handle_notification
from logthread.alarms.follow_up import ingestion_lag_ms
from logthread.config import from_mapping
from logthread.delay import SqsDelayQueue
from logthread.slack.chat import SlackChat
from logthread.worker import handle_message
from logthread.worker.deps import WorkerDeps
from logthread_local.aws import create_table
from logthread_local.slack_standin import SlackStandin
from tests.functional.test_alarm_flow import notification, put_lines, python_request, texts
from tests.functional.test_alarm_signatures import (
    GROUP,
    OK_AFTER_MS,
    db_reset,
    declined,
    seed_window,
)

CHANNEL = "C0ALARMS"
TABLE = "logthread-follow-ups-test"
LIMITS = {"follow_up_minutes": 0.05, "follow_up_for_minutes": 10}
LIMITS_CONFIG = from_mapping({"default_channel": CHANNEL, "limits": LIMITS}, env={})


@pytest.fixture
def logs(aws: str) -> Any:
    return boto3.client("logs", endpoint_url=aws)


@pytest.fixture
def queue(aws: str) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", endpoint_url=aws)
    url = sqs.create_queue(QueueName="logthread-follow-ups")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return sqs, url, arn["QueueArn"]


@pytest.fixture
def deps(aws: str, chat: SlackChat, queue: tuple[Any, str, str]) -> Iterator[WorkerDeps]:
    sqs, url, arn = queue
    ddb = boto3.client("dynamodb", endpoint_url=aws)
    create_table(ddb, TABLE)
    yield WorkerDeps(
        logs=boto3.client("logs", endpoint_url=aws),
        chat=chat,
        config=LIMITS_CONFIG,
        store=EpisodeStore(ddb, TABLE),
        cloudwatch=boto3.client("cloudwatch", endpoint_url=aws),
        follow_ups=SqsDelayQueue(sqs, url),
        follow_up_queue_arn=arn,
        # As deployed: tasks only from the task topic, which a follow-up never comes from.
        task_topic_arn="arn:aws:sns:us-east-1:123456789012:logthread-tasks",
    )


def next_follow_up(queue: tuple[Any, str, str], timeout: float = 15.0) -> str:
    """The next follow-up body, once SQS makes it visible (then deleted, as Lambda would)."""
    sqs, url, _ = queue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        for message in got.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return str(message["Body"])
    raise AssertionError("no follow-up arrived")


def queued(queue: tuple[Any, str, str]) -> int:
    sqs, url, _ = queue
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def put_failures(logs: Any, kind: str, count: int, after_ms: int) -> list[str]:
    """``count`` failing requests of ``kind`` ("key": a KeyError, "db": a DB reset) logged
    between ``after_ms`` (where the last look stopped) and where the next look will read to.
    """
    until = int(time.time() * 1000) - ingestion_lag_ms(LIMITS_CONFIG) - 100
    assert until > after_ms + 100, "no room between the looks"
    ids, lines = [], []
    for i in range(count):
        t = after_ms + 50 + i * ((until - after_ms - 50) // count)
        rid = str(uuid.uuid4())
        bodies = {
            "key": [(2, "ERROR", f"KeyError: 'user{i}'")],
            "value": [(2, "ERROR", f"ValueError: quantity {i} is out of range")],
            "pay": declined(i)[1],
        }
        body = bodies[kind] if kind in bodies else db_reset(100 + i)[1]
        lines += python_request(rid, t, [(o % 50, level, m) for o, level, m in body])
        ids.append(rid)
    put_lines(logs, GROUP, lines)
    return ids


def alarm_fires(deps: WorkerDeps, logs: Any) -> int:
    """20 DB resets in the window, then the ALARM that opens an episode; its change time."""
    change = int(time.time() * 1000) - 5_000
    seed_window(logs, change, kinds=("db",))
    handle_notification(*notification("lambda_errors_hoge.json", change), deps)
    return change


def read_to(deps: WorkerDeps, body: str) -> int:
    """Where the look ``body`` stops reading the logs, once it has run."""
    from logthread.alarms.follow_up_store import FollowUpStore

    assert deps.store is not None
    _, state = FollowUpStore(deps.store.client, TABLE).read(json.loads(body)["episode"])
    assert state is not None
    return state.last_ms


def test_a_new_kind_reaches_the_thread_through_a_follow_up_and_the_tally_is_edited(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, queue: tuple[Any, str, str]
) -> None:
    alarm_fires(deps, logs)
    (parent,) = slack.messages(CHANNEL)
    opened = len(slack.replies(CHANNEL, parent["ts"]))
    assert queued(queue) == 1  # follow-up 1, waiting in SQS

    # Ten minutes into the incident (here: seconds), a second kind of error starts.
    first = next_follow_up(queue)
    key_ids = put_failures(logs, "key", 7, after_ms=read_to(deps, first))
    handle_message(first, "", deps, topic_arn=queue[2])

    replies = slack.replies(CHANNEL, parent["ts"])[opened:]
    shown = [texts(r) for r in replies]
    assert shown[0].startswith(":new: *A new kind of error since the alarm opened*")
    assert "KeyError: '&lt;val&gt;'" in shown[0] and "7 requests" in shown[0]
    assert shown[1].splitlines()[0] == f"Request {key_ids[-1]}"  # its example's timeline
    tally = replies[-1]
    assert "Live tally: 27 failing requests, 2 kinds of error" in texts(tally)
    assert queued(queue) == 1  # follow-up 2

    # More of a known kind: no new reply; the tally is edited in place.
    second = next_follow_up(queue)
    put_failures(logs, "db", 20, after_ms=read_to(deps, second))
    handle_message(second, "", deps, topic_arn=queue[2])
    after = slack.replies(CHANNEL, parent["ts"])[opened:]
    assert len(after) == len(replies)
    edited = next(r for r in after if r["ts"] == tally["ts"])
    assert "Live tally: 47 failing requests, 2 kinds of error" in texts(edited)
    assert "after 2 follow-up looks" in texts(edited)

    # The same follow-up delivered again changes nothing, and sends nothing more.
    waiting = queued(queue)
    handle_message(second, "", deps, topic_arn=queue[2])
    assert slack.replies(CHANNEL, parent["ts"])[opened:] == after
    assert queued(queue) == waiting


def test_the_ok_stops_the_follow_ups(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, queue: tuple[Any, str, str]
) -> None:
    change = alarm_fires(deps, logs)
    handle_notification(*notification("lambda_errors_hoge_ok.json", change - OK_AFTER_MS), deps)
    (parent,) = slack.messages(CHANNEL)
    before = slack.replies(CHANNEL, parent["ts"])
    body = next_follow_up(queue)
    put_failures(logs, "key", 3, after_ms=read_to(deps, body))

    result = handle_message(body, "", deps, topic_arn=queue[2])

    assert result == {"action": "follow-up-stopped", "why": "the episode has ended"}
    assert slack.replies(CHANNEL, parent["ts"]) == before
    assert queued(queue) == 0


def test_a_follow_up_from_anywhere_but_its_queue_is_dropped(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, queue: tuple[Any, str, str]
) -> None:
    alarm_fires(deps, logs)
    (parent,) = slack.messages(CHANNEL)
    before = slack.replies(CHANNEL, parent["ts"])
    body = next_follow_up(queue)
    put_failures(logs, "key", 3, after_ms=read_to(deps, body))

    topic = "arn:aws:sns:us-east-1:123456789012:logthread-alarms"
    assert handle_message(body, "", deps, topic_arn=topic) is None
    assert slack.replies(CHANNEL, parent["ts"]) == before


def test_without_a_follow_up_queue_nothing_is_scheduled(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, queue: tuple[Any, str, str]
) -> None:
    deps.follow_ups = None
    alarm_fires(deps, logs)
    assert queued(queue) == 0


def test_the_recap_on_ok_counts_every_kind_the_episode_showed(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, queue: tuple[Any, str, str]
) -> None:
    change = alarm_fires(deps, logs)
    body = next_follow_up(queue)
    put_failures(logs, "key", 7, after_ms=read_to(deps, body))
    handle_message(body, "", deps, topic_arn=queue[2])
    # Three more after the last look, before the OK: counted by the recap itself.
    time.sleep(2.1)
    put_failures(logs, "key", 3, after_ms=read_to(deps, body))

    ok, subject = notification("lambda_errors_hoge_ok.json", change - OK_AFTER_MS)
    ok = ok.replace(
        json.loads(ok)["StateChangeTime"],
        time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
    )
    handle_notification(ok, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    shown = texts(parent)
    assert shown.startswith(":white_check_mark: RESOLVED: HogeService-Errors")
    assert ":checkered_flag: *Recap:* 30 failing requests, 2 kinds of error, over " in shown
    assert "• *20 requests:* `DB fetch failed" in shown
    assert "• *10 requests:* `KeyError: '&lt;val&gt;'`" in shown
    assert "*Reason:* Threshold Crossed" in shown  # the firing values stay visible
    recap = slack.replies(CHANNEL, parent["ts"])[-1]
    assert texts(recap).startswith(":checkered_flag: *Recap:* 30 failing requests, 2 kinds")
    assert "First failure " in texts(recap) and " · last failure " in texts(recap)


def test_a_flood_of_new_kinds_gets_one_reply_for_those_past_the_cap(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, queue: tuple[Any, str, str]
) -> None:
    deps.config = from_mapping(
        {"default_channel": CHANNEL, "limits": {**LIMITS, "error_kinds_listed": 1}}, env={}
    )
    alarm_fires(deps, logs)
    (parent,) = slack.messages(CHANNEL)
    opened = len(slack.replies(CHANNEL, parent["ts"]))
    body = next_follow_up(queue)
    after = read_to(deps, body)
    put_failures(logs, "key", 4, after_ms=after)
    put_failures(logs, "value", 2, after_ms=after)
    put_failures(logs, "pay", 1, after_ms=after)

    handle_message(body, "", deps, topic_arn=queue[2])

    shown = [texts(r) for r in slack.replies(CHANNEL, parent["ts"])[opened:]]
    assert shown[0].startswith(":new: *…and 2 more new kinds of error* (3 requests)")
    assert shown[1].startswith(":new: *A new kind of error since the alarm opened*")
    assert "KeyError" in shown[1]  # the most frequent gets its own reply
    assert sum(t.startswith(":new:") for t in shown) == 2
    assert "Live tally: 27 failing requests, 4 kinds of error" in shown[-1]
