"""SharedChannelPacer against DynamoDB in moto: slots shared by every instance, 429s and deadlines.

The pacer's clock and sleep are injected (nothing sleeps for real); the table,
its conditional updates and the Slack stand-in are real.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from logthread.slack.chat import SlackChat
from logthread.slack.pacing import SharedChannelPacer
from logthread.slack.webclient import make_web_client
from logthread.worker.deps import from_env
from logthread_local.aws import create_table
from logthread_local.slack_standin import SlackStandin

TABLE = "logthread-pace"


class Clock:
    def __init__(self, t: float = 1_715_656_867.0) -> None:
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.t += seconds


@pytest.fixture
def dynamodb(aws: str) -> Any:
    client = boto3.client("dynamodb", endpoint_url=aws)
    create_table(client, TABLE)
    return client


def _pacer(client: Any, clock: Clock, **kw: Any) -> SharedChannelPacer:
    return SharedChannelPacer(
        client, TABLE, 1.0, headroom=0.0, clock=clock, sleep=clock.sleep, **kw
    )


def _next_slot(client: Any, channel: str) -> float:
    item = client.get_item(TableName=TABLE, Key={"id": {"S": f"pace#{channel}"}})["Item"]
    assert int(item["expiration"]["N"]) > int(item["next_slot"]["N"]) / 1000  # TTL'd
    return int(item["next_slot"]["N"]) / 1000


def test_instances_take_consecutive_slots_and_an_idle_channel_banks_none(
    dynamodb: Any, aws: str
) -> None:
    clock = Clock()
    t0 = clock.t
    # Two instances: their own clients, the one table.
    a = _pacer(dynamodb, clock)
    b = _pacer(boto3.client("dynamodb", endpoint_url=aws), clock)
    slots = [a.reserve("C1"), b.reserve("C1"), a.reserve("C1"), b.reserve("C1")]
    assert slots == [t0, t0 + 1, t0 + 2, t0 + 3]
    assert a.reserve("C2") == t0  # channels are paced apart
    clock.t += 60  # an hour of quiet would not buy a burst either
    assert b.reserve("C1") == clock.t
    assert a.reserve("C1") == clock.t + 1


def test_concurrent_reservations_never_share_a_slot(dynamodb: Any, aws: str) -> None:
    pacers = [
        SharedChannelPacer(boto3.client("dynamodb", endpoint_url=aws), TABLE, 0.01, headroom=0)
        for _ in range(4)
    ]
    slots: list[float] = []
    lock = threading.Lock()

    def reserve(p: SharedChannelPacer) -> None:
        for _ in range(10):
            slot = p.reserve("C1")
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=reserve, args=(p,)) for p in pacers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(slots)) == 40


def test_run_waits_for_its_slot_and_a_surfaced_retry_after_moves_everyone(
    dynamodb: Any,
) -> None:
    clock = Clock()
    t0 = clock.t
    pacer = _pacer(dynamodb, clock)
    assert pacer.run("C1", lambda: "first") == "first"
    assert pacer.run("C1", lambda: "second") == "second"
    assert clock.slept == [1.0]  # the second waited for its slot

    class Limited(Exception):
        retry_after = 30

    def limited() -> str:
        raise Limited

    with pytest.raises(Limited):
        pacer.run("C1", limited)
    assert _next_slot(dynamodb, "C1") == clock.t + 30
    pacer.push("C1", t0)  # an earlier push never pulls the channel back
    assert _next_slot(dynamodb, "C1") == clock.t + 30


def test_a_wait_stops_short_of_the_invocation_deadline(dynamodb: Any) -> None:
    clock = Clock()
    pacer = _pacer(dynamodb, clock, remaining=lambda: 12.0, reserve_seconds=10.0)
    pacer.push("C1", clock.t + 45)  # the channel is booked 45 s ahead
    assert pacer.run("C1", lambda: "posted anyway") == "posted anyway"
    assert clock.slept == [2.0]


def test_without_the_table_posts_go_unpaced(aws: str) -> None:
    clock = Clock()
    pacer = _pacer(boto3.client("dynamodb", endpoint_url=aws), clock)  # no table created
    assert pacer.run("C1", lambda: "ok") == "ok"
    assert clock.slept == []


def test_a_429_inside_the_client_retries_rests_the_channel_for_everyone(
    dynamodb: Any, slack: SlackStandin
) -> None:
    clock = Clock()
    chat = SlackChat(make_web_client(slack.token, slack.url), pacer=_pacer(dynamodb, clock))
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    chat.post("C1", text="once")
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert [m["text"] for m in slack.messages("C1")] == ["once"]
    # The retry waited for the slot after the Retry-After, not slack_sdk's own sleep.
    assert clock.slept == [7.0]
    assert _next_slot(dynamodb, "C1") == clock.t + 1


def test_the_worker_paces_through_its_table(
    dynamodb: Any, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "LOGTHREAD_CONFIG_JSON", '{"limits": {"slack_posts_per_second_per_channel": 4}}'
    )
    deps = from_env({**_env(), "TABLE_NAME": TABLE})
    pacer = deps.chat.pacer  # type: ignore[attr-defined]
    assert isinstance(pacer, SharedChannelPacer)
    assert (pacer.table_name, pacer.interval) == (TABLE, 0.25)
    deps.remaining_ms = lambda: 30_000
    assert pacer.remaining() == 30.0
    assert not isinstance(from_env(_env()).chat.pacer, SharedChannelPacer)  # type: ignore[attr-defined]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "TABLE_NAME"}
