"""Per-channel pacing of Slack posts: in one process, or shared by every worker instance.

Slack takes about one ``chat.postMessage`` per second per channel and answers 429
with ``Retry-After`` beyond that. :class:`ChannelPacer` paces the posts of one
process; :class:`SharedChannelPacer` paces every worker instance at once through
a reservation in the DynamoDB table they already share (Lambda instances share
nothing else). Both also hear the 429s slack_sdk's retry handler sees inside a
paced post (:func:`rate_limited`), so a ``Retry-After`` rests the channel.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

T = TypeVar("T")
log = logging.getLogger(__name__)

# Pacer reservations are short-lived; DynamoDB's TTL removes a channel's item a day
# after its last post.
PACE_TTL_SECONDS = 86_400
# Left in a Lambda invocation after a paced wait: the post itself, one Retry-After,
# the rest of the answer.
DEADLINE_RESERVE_SECONDS = 10.0
# Added to each interval: posts leave at their slots but reach Slack tens of ms early
# or late (connection setup, scheduling), and one arriving early draws a 429.
HEADROOM_SECONDS = 0.05


class Pacer(Protocol):
    """What :class:`logthread.slack.chat.SlackChat` asks of a pacer."""

    def run(self, channel: str, fn: Callable[[], T]) -> T:
        """Call ``fn`` (a post to ``channel``) at the channel's pace."""
        ...

    def on_rate_limited(self, channel: str, retry_after: float) -> None:
        """Slack answered 429 inside ``fn``: rest the channel, then wait for the retry's turn."""
        ...


_active: ContextVar[tuple[Pacer, str] | None] = ContextVar("logthread_pacing", default=None)


@contextmanager
def _pacing(pacer: Pacer, channel: str) -> Iterator[None]:
    token = _active.set((pacer, channel))
    try:
        yield
    finally:
        _active.reset(token)


def rate_limited(retry_after: float) -> bool:
    """Tell the pacer running the current post that Slack answered 429.

    Called by the 429 retry handler (on the thread making the post). Returns
    False when no pacer runs here: the caller then sleeps ``retry_after`` itself.
    """
    active = _active.get()
    if active is None:
        return False
    pacer, channel = active
    pacer.on_rate_limited(channel, retry_after)
    return True


def _retry_after(exc: BaseException) -> float:
    # A ChatError for a 429 that outlasted the retries carries its Retry-After.
    return float(getattr(exc, "retry_after", None) or 0)


class ChannelPacer:
    """Posts to one channel from this process, one at a time and no faster than Slack asks.

    Concurrent posts to a channel from one process are serialized (while one
    sleeps a ``Retry-After`` inside slack_sdk's retry, the others wait behind it
    instead of drawing 429s of their own), start at least ``interval`` seconds
    apart, and after a 429 the channel rests for its ``Retry-After``. Other
    processes (other Lambda instances) are not seen: use
    :class:`SharedChannelPacer` where there is a table.

    Parameters
    ----------
    interval:
        Minimum seconds between post starts in one channel (0: only serialize).
    clock, sleep:
        Injectable for tests.
    """

    def __init__(
        self,
        interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next: dict[str, float] = {}

    def run(self, channel: str, fn: Callable[[], T]) -> T:
        """Call ``fn`` (a post to ``channel``) when the channel is free and rested."""
        with self._guard:
            lock = self._locks.setdefault(channel, threading.Lock())
        with lock, _pacing(self, channel):
            wait = self._next.get(channel, 0.0) - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                return fn()
            except Exception as exc:
                if retry_after := _retry_after(exc):
                    self._rest(channel, retry_after)
                raise
            finally:
                self._rest(channel, self.interval)

    def on_rate_limited(self, channel: str, retry_after: float) -> None:
        """Rest the channel ``retry_after`` seconds (the caller holds its lock)."""
        self._rest(channel, retry_after)
        # Up to a second more, as slack_sdk's own handler waits: instances pacing only
        # themselves that drew 429s together would otherwise all retry at once.
        self._sleep(retry_after + random.random())

    def _rest(self, channel: str, seconds: float) -> None:
        self._next[channel] = max(self._next.get(channel, 0.0), self._clock() + seconds)


class SharedChannelPacer:
    """Paces posts to a channel across every worker instance, through DynamoDB.

    Each post reserves a slot on the item ``pace#<channel>``, whose ``next_slot``
    (epoch ms) is the first free start time, and sleeps until its slot:

    - backlog (``next_slot`` in the future): ``SET next_slot = next_slot + :interval``
      on condition ``next_slot > :now``, returning the new value; the slot is the
      old one. One atomic UpdateItem, so concurrent reservations get distinct slots.
    - idle (no item, or ``next_slot`` past): ``SET next_slot = :now + :interval`` on
      condition ``attribute_not_exists(next_slot) OR next_slot <= :now``; the slot is
      now. A lost race (someone reserved in between) goes round again.

    DynamoDB's update expressions have no ``max()``, hence the two conditional
    branches (the backlog one first, as it is the common case under load): an
    unconditional ``if_not_exists(next_slot, :now) + :interval`` would let an idle
    channel bank past slots and then burst.

    A 429 (a ``Retry-After`` that surfaced, or one slack_sdk's handler retries)
    pushes ``next_slot`` to ``now + Retry-After`` for everyone
    (``SET next_slot = :until`` on condition it is earlier), and the retry then
    reserves a slot like any post.

    The deadline rule: a wait never runs into the last ``reserve_seconds`` of the
    Lambda invocation (``remaining``). When the slot is further away than that,
    the post goes at the cap anyway: Slack may answer 429, which the retry handler
    honours (and which pushes the channel for everyone); a post still refused is
    a ``ratelimited`` :class:`~logthread.slack.chat.ChatError`, which the dead-letter
    rule handles (a parent fails the delivery for a retry, a reply is deferred).

    When the table can't be reached the post goes unpaced (logged): pacing must
    never cost a message.

    Parameters
    ----------
    client, table_name:
        boto3 DynamoDB client and the worker's table (pk ``id``, TTL ``expiration``).
    interval:
        Seconds between post starts in one channel (1 / posts per second).
    headroom:
        Seconds added to ``interval``, for the spread of request latencies.
    remaining:
        Seconds left in the invocation, or None outside Lambda.
    reserve_seconds:
        See the deadline rule.
    clock, sleep:
        Epoch seconds and sleep; injectable for tests.
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        interval: float = 1.0,
        *,
        headroom: float = HEADROOM_SECONDS,
        remaining: Callable[[], float | None] = lambda: None,
        reserve_seconds: float = DEADLINE_RESERVE_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.interval = interval
        self.headroom = headroom
        self.remaining = remaining
        self.reserve_seconds = reserve_seconds
        self._clock = clock
        self._sleep = sleep

    def run(self, channel: str, fn: Callable[[], T]) -> T:
        """Reserve ``channel``'s next slot, sleep until it, then call ``fn``."""
        with _pacing(self, channel):
            self._wait_until(self.reserve(channel))
            try:
                return fn()
            except Exception as exc:
                if retry_after := _retry_after(exc):
                    self.push(channel, self._clock() + retry_after)
                raise

    def on_rate_limited(self, channel: str, retry_after: float) -> None:
        """Push the channel ``retry_after`` on for everyone, then wait for a fresh slot."""
        self.push(channel, self._clock() + retry_after)
        self._wait_until(self.reserve(channel))

    def reserve(self, channel: str) -> float:
        """Take the channel's next free slot; its start in epoch seconds."""
        step = max(1, round((self.interval + self.headroom) * 1000))
        try:
            for _ in range(8):
                now = self._now_ms()
                taken = self._update(
                    channel,
                    "SET next_slot = next_slot + :step, expiration = :exp",
                    "next_slot > :now",
                    {":step": step, ":now": now},
                )
                if taken is not None:
                    return (taken - step) / 1000
                if (
                    self._update(
                        channel,
                        "SET next_slot = :next, expiration = :exp",
                        "attribute_not_exists(next_slot) OR next_slot <= :now",
                        {":next": now + step, ":now": now},
                    )
                    is not None
                ):
                    return now / 1000
        except (ClientError, BotoCoreError):
            log.warning("could not reserve a Slack post slot; posting unpaced", exc_info=True)
        return self._clock()

    def push(self, channel: str, until: float) -> None:
        """No slot in ``channel`` before ``until`` (epoch seconds), for every instance."""
        target = round(until * 1000)
        try:
            self._update(
                channel,
                "SET next_slot = :until, expiration = :exp",
                "attribute_not_exists(next_slot) OR next_slot < :until",
                {":until": target},
            )
        except (ClientError, BotoCoreError):
            log.warning("could not push the Slack post slots back", exc_info=True)

    def _update(
        self, channel: str, expression: str, condition: str, values: dict[str, int]
    ) -> int | None:
        """The conditional update; the new ``next_slot``, or None when the condition failed."""
        numbers = {**values, ":exp": int(self._clock()) + PACE_TTL_SECONDS}
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": {"S": f"pace#{channel}"}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues={k: {"N": str(v)} for k, v in numbers.items()},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return int(out["Attributes"]["next_slot"]["N"])

    def _wait_until(self, slot: float) -> None:
        wait = slot - self._clock()
        left = self.remaining()
        if left is not None and wait > left - self.reserve_seconds:
            log.warning(
                "the Slack post slot is %.1f s away and the invocation has %.1f s: posting early",
                wait,
                left,
            )
            wait = left - self.reserve_seconds
        if wait > 0:
            self._sleep(wait)

    def _now_ms(self) -> int:
        return round(self._clock() * 1000)
