"""EpisodeStore against DynamoDB in moto: conditional writes decide who opens and closes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from logthread.alarms.episodes import STALE_CLAIM_SECONDS, EpisodeStore
from logthread_local.aws import create_table

KEY = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors"


class Clock:
    def __init__(self, t: float = 1_715_656_867.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def dynamodb(aws: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=aws)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(dynamodb: Any, clock: Clock) -> Iterator[EpisodeStore]:
    create_table(dynamodb, "logthread-test")
    yield EpisodeStore(dynamodb, "logthread-test", ttl_seconds=3600, now=clock)


def _claim(store: EpisodeStore, owner: str, **kw: Any) -> tuple[Any, bool]:
    return store.claim(
        KEY,
        owner=owner,
        channel=kw.get("channel", "C0ALARMS"),
        started_ms=kw.get("started_ms", 1_715_656_867_123),
        body=kw.get("body", '{"AlarmName":"HogeService-Errors"}'),
        subject=kw.get("subject", 'ALARM: "HogeService-Errors"'),
    )


def test_first_claim_opens_the_episode(store: EpisodeStore, dynamodb: Any) -> None:
    episode, opened = _claim(store, "n1")
    assert opened
    assert (episode.owner, episode.channel, episode.ts, episode.state) == (
        "n1",
        "C0ALARMS",
        "",
        "open",
    )
    stored = store.get(KEY)
    assert stored is not None and stored.started_ms == 1_715_656_867_123
    assert stored.body == '{"AlarmName":"HogeService-Errors"}'
    item = dynamodb.get_item(TableName="logthread-test", Key={"id": {"S": f"episode#{KEY}"}})[
        "Item"
    ]
    assert item["expiration"] == {"N": str(1_715_656_867 + 3600)}


def test_second_notification_joins_the_open_episode(store: EpisodeStore) -> None:
    _claim(store, "n1")
    store.set_ts(KEY, owner="n1", ts="1715656868.000100")
    episode, opened = _claim(store, "n2", channel="C0OTHER")
    assert not opened
    assert (episode.owner, episode.channel, episode.ts) == ("n1", "C0ALARMS", "1715656868.000100")


def test_a_retry_of_the_opener_is_still_the_opener(store: EpisodeStore) -> None:
    _claim(store, "n1")
    episode, opened = _claim(store, "n1")
    assert opened and episode.owner == "n1"


def test_only_the_owner_sets_the_ts(store: EpisodeStore) -> None:
    from botocore.exceptions import ClientError

    _claim(store, "n1")
    with pytest.raises(ClientError):
        store.set_ts(KEY, owner="n2", ts="1.2")
    assert store.set_ts(KEY, owner="n1", ts="1.3").ts == "1.3"


def test_a_stale_claim_without_ts_is_taken_over(store: EpisodeStore, clock: Clock) -> None:
    store = store.with_ttl(86_400)  # episodes outlive a stale claim (an hour and more)
    _claim(store, "n1")
    clock.t += STALE_CLAIM_SECONDS - 1
    assert _claim(store, "n2") == (store.get(KEY), False)
    clock.t += 2
    episode, opened = _claim(store, "n2")
    assert opened and episode.owner == "n2"


def test_close_is_won_once_and_retries_of_the_winner_succeed(store: EpisodeStore) -> None:
    _claim(store, "n1")
    store.set_ts(KEY, owner="n1", ts="1.1")
    closed = store.close(KEY, by="ok1", ended_ms=1_715_657_827_789)
    assert closed is not None and closed.state == "closed" and closed.ended_ms == 1_715_657_827_789
    assert store.close(KEY, by="ok2", ended_ms=1) is None
    again = store.close(KEY, by="ok1", ended_ms=1_715_657_827_789)
    assert again is not None and again.closed_by == "ok1"


def test_a_closed_episode_lets_the_next_alarm_open_a_new_one(store: EpisodeStore) -> None:
    # The times are in order (ALARM at 1, OK at 2, ALARM at 3): an OK only closes an
    # episode that started before it.
    _claim(store, "n1", started_ms=1)
    store.set_ts(KEY, owner="n1", ts="1.1")
    store.close(KEY, by="ok1", ended_ms=2)
    episode, opened = _claim(store, "n3", started_ms=3)
    assert opened and episode.ts == "" and episode.started_ms == 3 and episode.is_open


def test_expired_episodes_count_as_gone(store: EpisodeStore, clock: Clock) -> None:
    _claim(store, "n1")
    store.set_ts(KEY, owner="n1", ts="1.1")
    clock.t += 3601
    assert store.get(KEY) is None
    episode, opened = _claim(store, "n2")
    assert opened and episode.owner == "n2"


def test_request_ids_accumulate_as_a_set(store: EpisodeStore) -> None:
    _claim(store, "n1")
    store.add_request_ids(KEY, ["b", "a"])
    store.add_request_ids(KEY, ["a", "c"])
    store.add_request_ids(KEY, [])
    episode = store.get(KEY)
    assert episode is not None and episode.request_ids == ("a", "b", "c")


def test_steps_remember_their_ts(store: EpisodeStore, clock: Clock) -> None:
    assert store.step("n1", "alarm") is None
    store.record_step("n1", "alarm", "1715656868.000100")
    assert store.step("n1", "alarm") == "1715656868.000100"
    assert store.step("n2", "alarm") is None
    clock.t += 3601
    assert store.step("n1", "alarm") is None


def test_with_ttl_shares_the_table(store: EpisodeStore, dynamodb: Any) -> None:
    longer = store.with_ttl(86400)
    longer.record_step("n1", "x", "1.0")
    item = dynamodb.get_item(TableName="logthread-test", Key={"id": {"S": "step#n1#x"}})["Item"]
    assert item["expiration"] == {"N": str(1_715_656_867 + 86400)}
    assert store.step("n1", "x") == "1.0"
