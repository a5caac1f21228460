"""The alarm path's memory in DynamoDB: episodes, posted steps and idempotency records.

One table (partition key ``id`` (S), TTL attribute ``expiration`` in epoch
seconds) holds three kinds of item, told apart by the key's prefix:

- ``episode#<alarm key>``: one alarm episode, i.e. the Slack thread of an alarm
  from ALARM until OK (channel, parent ts, start time, who opened it);
- ``step#<notification key>#<step>``: a Slack post already made while handling
  one notification, so a retried delivery does not post it again;
- Powertools Idempotency records (their own key prefixes), written by
  :func:`logthread.once.run_once`.

Every write that decides something is conditional, so two deliveries racing
each other cannot both open a thread or both close it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from logthread.alarms.episode_item import (
    CLOSED,
    MAX_BODY_CHARS,
    MAX_REASON_CHARS,
    OPEN,
    Episode,
    carried_older,
    from_item,
    previous_attributes,
    read_episode_item,
)
from logthread.alarms.episode_item import number_attr as _n
from logthread.alarms.episode_item import string_attr as _s
from logthread.alarms.late_writes import OutOfOrderWrites
from logthread.alarms.late_writes import conditional_failed as _conditional_failed
from logthread.alarms.steps import PostedSteps

__all__ = ["CLOSED", "OPEN", "STALE_CLAIM_SECONDS", "Episode", "EpisodeStore"]

# A claim that never got its Slack ts (the worker died between claiming and posting)
# may be taken over only once its owner's delivery can't be retried any more: Lambda
# retries an event for up to an hour (template.yaml, MaximumEventAgeInSeconds) and
# a run lasts up to 120 s. Taken over sooner, the owner's retry (which may already
# have posted) and the taker would both post an alarm message.
STALE_CLAIM_SECONDS = 3600 + 120


class EpisodeStore(OutOfOrderWrites, PostedSteps):
    """Episodes and posted steps in DynamoDB.

    Parameters
    ----------
    client:
        boto3 DynamoDB client.
    table_name:
        The table (``TABLE_NAME``): pk ``id`` (S), TTL attribute ``expiration``.
    ttl_seconds:
        How long an item lives after its last write (episodes refresh it).
    now:
        Clock in epoch seconds (injectable for exact tests).
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        ttl_seconds: int = 7 * 86400,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.now = now

    def with_ttl(self, ttl_seconds: int) -> EpisodeStore:
        """The same store (client, table, clock) writing a different TTL."""
        return type(self)(self.client, self.table_name, ttl_seconds=ttl_seconds, now=self.now)

    # -- episodes ---------------------------------------------------------------------------

    def get(self, key: str) -> Episode | None:
        """The episode for ``key`` (open or closed), or None."""
        item = read_episode_item(self.client, self.table_name, key)
        return (
            from_item(item) if item and "expiration" in item and not self._expired(item) else None
        )

    def claim(
        self,
        key: str,
        *,
        owner: str,
        channel: str,
        started_ms: int,
        body: str = "",
        subject: str = "",
        replacing: Episode | None = None,
        opened_from: str = "",
        expect_empty: bool = False,
    ) -> tuple[Episode, bool]:
        """Open a new episode unless one is open already.

        ``replacing`` is the episode read before (closed, or open but ended by an OK
        not received yet): it is kept as the new one's ``previous``, and the write
        happens only if the item still holds it. ``expect_empty``: the caller read no
        episode, so the write happens only if there still is none (a closed one
        written meanwhile must not be replaced unread).

        Returns ``(episode, True)`` when this call opened it (or ``owner`` opened it
        on an earlier, failed attempt, or took over a stale claim), otherwise
        ``(the open episode, False)``.
        """
        now = self.now()
        item = {
            "id": _s(f"episode#{key}"),
            "key": _s(key),
            "owner": _s(owner),
            "channel": _s(channel),
            "started_ms": _n(started_ms),
            "state": _s(OPEN),
            "body": _s(body[:MAX_BODY_CHARS]),
            "subject": _s(subject),
            "opened_from": _s(opened_from),
            "claimed_at": _n(now),
            "expiration": _n(now + self.ttl_seconds),
        }
        values = {":now": _n(now)}
        names = {"#exp": "expiration"}
        # A closed episode gives way only to an ALARM newer than its end: a late ALARM
        # must not reopen what a newer OK resolved.
        condition = "attribute_not_exists(id) OR #exp < :now"
        if replacing is not None:
            item.update(previous_attributes(replacing))
            item.update(carried_older(replacing))
            values |= {":prev_owner": _s(replacing.owner), ":open": _s(OPEN)}
            names |= {"#owner": "owner", "#state": "state"}
            condition += (
                " OR (#owner = :prev_owner AND started_ms < :started"
                " AND (#state = :open OR ended_ms < :started))"
            )
        elif not expect_empty:
            values[":closed"] = _s(CLOSED)
            names["#state"] = "state"
            condition += " OR (#state = :closed AND ended_ms < :started)"
        if ":started" in condition:
            values[":started"] = _n(started_ms)
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return from_item(item), True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        current = self.get(key)
        if current is None:  # expired between the two calls: try once more
            return self.claim(
                key, owner=owner, channel=channel, started_ms=started_ms, body=body, subject=subject
            )
        if current.owner == owner and current.started_ms == started_ms:
            return current, True
        if not current.ts and now - current.claimed_at > STALE_CLAIM_SECONDS:
            return self._take_over(current, owner, now), True
        return current, False

    def _take_over(self, current: Episode, owner: str, now: float) -> Episode:
        out = self.client.update_item(
            TableName=self.table_name,
            Key={"id": _s(f"episode#{current.key}")},
            UpdateExpression="SET #owner = :owner, claimed_at = :now",
            ConditionExpression="#owner = :previous AND attribute_not_exists(ts)",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={
                ":owner": _s(owner),
                ":previous": _s(current.owner),
                ":now": _n(now),
            },
            ReturnValues="ALL_NEW",
        )
        return from_item(out["Attributes"])

    def set_ts(self, key: str, *, owner: str, ts: str, searching: bool = False) -> Episode:
        """Record the alarm message's ts; only the owner of the claim may.

        ``searching``: the message is up before its logs are searched; repeats wait
        for :meth:`found` (see :attr:`Episode.searching_since`).
        """
        now = self.now()
        values = {":ts": _s(ts), ":owner": _s(owner), ":exp": _n(now + self.ttl_seconds)}
        update = "SET ts = :ts, #exp = :exp"
        if searching:
            update += ", searching_since = :now"
            values[":now"] = _n(now)
        update += " REMOVE detached"  # a detached orphan is complete once its message is up
        out = self.client.update_item(
            TableName=self.table_name,
            Key={"id": _s(f"episode#{key}")},
            UpdateExpression=update,
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner", "#exp": "expiration"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return from_item(out["Attributes"])

    def found(self, key: str, *, owner: str, ids: Iterable[str]) -> None:
        """The opening ALARM's search is over: its requests threaded, repeats may go on.

        Only the episode ``owner`` opened is changed (a newer one may have replaced it).
        """
        values: dict[str, Any] = {":owner": _s(owner), ":exp": _n(self.now() + self.ttl_seconds)}
        update = "REMOVE searching_since SET #exp = :exp"
        wanted = sorted(set(ids))
        if wanted:
            update += " ADD request_ids :ids"
            values[":ids"] = {"SS": wanted}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=update,
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner", "#exp": "expiration"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def add_request_ids(self, key: str, ids: Iterable[str]) -> None:
        """Remember requests threaded in this episode (a set: order is not kept)."""
        values = sorted(set(ids))
        if not values:
            return
        self.client.update_item(
            TableName=self.table_name,
            Key={"id": _s(f"episode#{key}")},
            UpdateExpression="ADD request_ids :ids SET #exp = :exp",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeNames={"#exp": "expiration"},
            ExpressionAttributeValues={
                ":ids": {"SS": values},
                ":exp": _n(self.now() + self.ttl_seconds),
            },
        )

    def close(
        self,
        key: str,
        *,
        by: str,
        ended_ms: int,
        reason: str = "",
        body: str = "",
        subject: str = "",
    ) -> Episode | None:
        """Mark the episode resolved; None if another notification closed it first.

        ``reason``, ``body`` and ``subject`` are the OK's (see :attr:`Episode.ok_reason`,
        :attr:`Episode.ok_body`). Closing again with the same ``by`` succeeds (a retried
        delivery).
        """
        now = self.now()
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET #state = :closed, ended_ms = :ended, closed_by = :by,"
                " ok_reason = :reason, ok_body = :body, ok_subject = :subject, #exp = :exp",
                # Only an OK newer than every ALARM the thread shows resolves it.
                ConditionExpression="(#state = :open AND started_ms <= :ended"
                " AND (attribute_not_exists(latest_ms) OR latest_ms <= :ended)) OR closed_by = :by",
                ExpressionAttributeNames={"#state": "state", "#exp": "expiration"},
                ExpressionAttributeValues={
                    ":closed": _s(CLOSED),
                    ":open": _s(OPEN),
                    ":ended": _n(ended_ms),
                    ":by": _s(by),
                    ":reason": _s(reason[:MAX_REASON_CHARS]),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                    ":exp": _n(now + self.ttl_seconds),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return from_item(out["Attributes"])

    def abandon(self, key: str, *, owner: str) -> None:
        """Forget the episode ``owner`` opened (its message's ts can't be known).

        The next notification then opens a thread Slack can find. Only the owner's
        claim is removed: a newer episode someone else opened is left alone.
        """
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": _s(owner)},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def note_alarm(self, key: str, change_ms: int) -> None:
        """Remember that the open episode's thread shows an ALARM changed at ``change_ms``."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET latest_ms = :t",
                ConditionExpression="attribute_exists(id)"
                " AND (attribute_not_exists(latest_ms) OR latest_ms < :t)",
                ExpressionAttributeValues={":t": _n(change_ms)},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
