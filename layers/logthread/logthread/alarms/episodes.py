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
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

OPEN = "open"
CLOSED = "closed"
# A claim that never got its Slack ts (the worker died between claiming and posting)
# may be taken over only once its owner's delivery can't be retried any more: Lambda
# retries an event for up to an hour (template.yaml, MaximumEventAgeInSeconds) and
# a run lasts up to 120 s. Taken over sooner, the owner's retry (which may already
# have posted) and the taker would both post an alarm message.
STALE_CLAIM_SECONDS = 3600 + 120
# Alarm bodies are re-read on OK to render the resolved message; cap what is kept.
MAX_BODY_CHARS = 60_000


@dataclass(frozen=True, slots=True)
class Episode:
    """One alarm episode: the thread an alarm lives in from ALARM to OK.

    Attributes
    ----------
    key:
        The alarm's identity (its ARN when known).
    owner:
        The notification key that opened the episode.
    channel, ts:
        Where the alarm message is; ``ts`` is ``""`` until it has been posted.
    started_ms:
        When the alarm went into ALARM (epoch ms).
    state:
        ``open`` or ``closed``.
    ended_ms, closed_by:
        When and by which notification it was resolved (closed episodes).
    body, subject:
        The notification that opened it, to re-render the message on OK.
    request_ids:
        Requests already threaded, so repeats don't post them twice.
    claimed_at:
        Epoch seconds of the claim (for stale-claim takeover).
    latest_ms:
        The newest ALARM the thread shows (a repeat's change time), so an OK
        older than it does not resolve the message.

    An *orphan* is the record of an OK that came with no episode to close (its
    ALARM late, lost, or from before the bot): closed, ``started_ms`` 0, ``ts``
    its own message, ``body`` the OK; a late ALARM adopts it.

    ``previous`` is the episode this one replaced (kept in the same item), so a
    late notification of it still lands in its thread, and its OK, when that
    arrives after the next ALARM, still resolves its message. ``opened_from`` is
    the state the opening ALARM came from (its ``OldStateValue``).
    """

    key: str
    owner: str
    channel: str
    ts: str
    started_ms: int
    state: str
    ended_ms: int | None = None
    closed_by: str = ""
    body: str = ""
    subject: str = ""
    request_ids: tuple[str, ...] = ()
    claimed_at: float = 0.0
    latest_ms: int = 0
    resolved_body: str = ""
    resolved_subject: str = ""
    previous: Episode | None = None
    opened_from: str = ""

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def orphan(self) -> bool:
        return self.state == CLOSED and not self.started_ms


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(int(value))}


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class EpisodeStore:
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
        item = self.client.get_item(
            TableName=self.table_name, Key={"id": _s(f"episode#{key}")}, ConsistentRead=True
        ).get("Item")
        return _episode(item) if item and "expiration" in item and not self._expired(item) else None

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
    ) -> tuple[Episode, bool]:
        """Open a new episode unless one is open already.

        ``replacing`` is the episode read before (closed, or open but ended by an OK
        not received yet): it is kept as the new one's ``previous``, and the write
        happens only if the item still holds it.

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
        values = {":closed": _s(CLOSED), ":now": _n(now), ":started": _n(started_ms)}
        # A closed episode gives way only to an ALARM newer than its end: a late ALARM
        # must not reopen what a newer OK resolved.
        condition = "attribute_not_exists(id) OR #exp < :now"
        if replacing is None:
            condition += " OR (#state = :closed AND ended_ms < :started)"
        else:
            item.update(_as_previous(replacing))
            values[":prev_owner"] = _s(replacing.owner)
            values[":open"] = _s(OPEN)
            condition += (
                " OR (#owner = :prev_owner AND started_ms < :started"
                " AND (#state = :open OR ended_ms < :started))"
            )
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state", "#exp": "expiration"}
                | ({"#owner": "owner"} if replacing is not None else {}),
                ExpressionAttributeValues=values,
            )
            return _episode(item), True
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
        return _episode(out["Attributes"])

    def set_ts(self, key: str, *, owner: str, ts: str) -> Episode:
        """Record the alarm message's ts; only the owner of the claim may."""
        now = self.now()
        out = self.client.update_item(
            TableName=self.table_name,
            Key={"id": _s(f"episode#{key}")},
            UpdateExpression="SET ts = :ts, #exp = :exp",
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner", "#exp": "expiration"},
            ExpressionAttributeValues={
                ":ts": _s(ts),
                ":owner": _s(owner),
                ":exp": _n(now + self.ttl_seconds),
            },
            ReturnValues="ALL_NEW",
        )
        return _episode(out["Attributes"])

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

    def close(self, key: str, *, by: str, ended_ms: int) -> Episode | None:
        """Mark the episode resolved; None if another notification closed it first.

        Closing again with the same ``by`` succeeds (a retried delivery).
        """
        now = self.now()
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET #state = :closed, ended_ms = :ended, closed_by = :by, #exp = :exp",
                # Only an OK newer than every ALARM the thread shows resolves it.
                ConditionExpression="(#state = :open AND started_ms <= :ended"
                " AND (attribute_not_exists(latest_ms) OR latest_ms <= :ended)) OR closed_by = :by",
                ExpressionAttributeNames={"#state": "state", "#exp": "expiration"},
                ExpressionAttributeValues={
                    ":closed": _s(CLOSED),
                    ":open": _s(OPEN),
                    ":ended": _n(ended_ms),
                    ":by": _s(by),
                    ":exp": _n(now + self.ttl_seconds),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return _episode(out["Attributes"])

    def claim_previous(
        self, key: str, *, owner: str, channel: str, started_ms: int, body: str, subject: str
    ) -> Episode | None:
        """Record an episode older than the current one, delivered after it, as ``previous``.

        Returns it (also to a retry of ``owner``), or None when the item has another
        ``previous`` already or no current episode newer than ``started_ms``.
        """
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET prev_owner = :owner, prev_channel = :channel,"
                " prev_ts = :empty, prev_started_ms = :started, prev_state = :open,"
                " prev_closed_by = :empty, prev_body = :body, prev_subject = :subject",
                ConditionExpression="(attribute_not_exists(prev_owner) AND started_ms > :started)"
                " OR (prev_owner = :owner AND prev_started_ms = :started)",
                ExpressionAttributeValues={
                    ":owner": _s(owner),
                    ":channel": _s(channel),
                    ":empty": _s(""),
                    ":started": _n(started_ms),
                    ":open": _s(OPEN),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return _episode(out["Attributes"]).previous

    def claim_previous_orphan(
        self, key: str, *, owner: str, channel: str, ended_ms: int, body: str, subject: str
    ) -> Episode | None:
        """Record an OK older than the current episode, with none before it, as ``previous``."""
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET prev_owner = :owner, prev_channel = :channel,"
                " prev_ts = :empty, prev_started_ms = :zero, prev_state = :closed,"
                " prev_ended_ms = :ended, prev_closed_by = :owner, prev_body = :body,"
                " prev_subject = :subject",
                ConditionExpression="(attribute_not_exists(prev_owner) AND started_ms > :ended)"
                " OR (prev_owner = :owner AND prev_ended_ms = :ended)",
                ExpressionAttributeValues={
                    ":owner": _s(owner),
                    ":channel": _s(channel),
                    ":empty": _s(""),
                    ":zero": _n(0),
                    ":closed": _s(CLOSED),
                    ":ended": _n(ended_ms),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return _episode(out["Attributes"]).previous

    def adopt_previous(
        self, key: str, *, started_ms: int, body: str, subject: str
    ) -> Episode | None:
        """:meth:`adopt` for the ``previous`` episode (an orphan OK older than the current)."""
        current = self.get(key)
        before = current.previous if current is not None else None
        if before is not None and before.started_ms == started_ms and before.resolved_body:
            return before  # adopted by this ALARM already (a retried delivery)
        if before is None or not before.orphan or started_ms > (before.ended_ms or 0):
            return None
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET prev_started_ms = :started, prev_body = :body,"
                " prev_subject = :subject, prev_resolved_body = :ok_body,"
                " prev_resolved_subject = :ok_subject",
                ConditionExpression="prev_started_ms = :zero AND prev_ended_ms >= :started",
                ExpressionAttributeValues={
                    ":started": _n(started_ms),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                    ":ok_body": _s(before.body),
                    ":ok_subject": _s(before.subject),
                    ":zero": _n(0),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return _episode(out["Attributes"]).previous

    def set_previous_ts(self, key: str, *, owner: str, ts: str) -> None:
        """Record the message ts of the ``previous`` episode ``owner`` claimed."""
        self.client.update_item(
            TableName=self.table_name,
            Key={"id": _s(f"episode#{key}")},
            UpdateExpression="SET prev_ts = :ts",
            ConditionExpression="prev_owner = :owner",
            ExpressionAttributeValues={":ts": _s(ts), ":owner": _s(owner)},
        )

    def close_previous(self, key: str, *, by: str, ended_ms: int) -> Episode | None:
        """Resolve the episode the current one replaced; None if it can't (or is done).

        Closing again with the same ``by`` succeeds (a retried delivery).
        """
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET prev_state = :closed, prev_ended_ms = :ended,"
                " prev_closed_by = :by",
                ConditionExpression="(prev_state = :open AND prev_started_ms <= :ended)"
                " OR prev_closed_by = :by",
                ExpressionAttributeValues={
                    ":closed": _s(CLOSED),
                    ":open": _s(OPEN),
                    ":ended": _n(ended_ms),
                    ":by": _s(by),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return _episode(out["Attributes"]).previous

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

    def claim_orphan(
        self, key: str, *, owner: str, channel: str, ended_ms: int, body: str, subject: str
    ) -> tuple[Episode, bool]:
        """Record an OK that found no episode (see :attr:`Episode.orphan`).

        Returns ``(record, True)`` when this call (or an earlier attempt of ``owner``)
        wrote it, otherwise ``(whatever is there now, False)``.
        """
        now = self.now()
        item = {
            "id": _s(f"episode#{key}"),
            "key": _s(key),
            "owner": _s(owner),
            "channel": _s(channel),
            "started_ms": _n(0),
            "state": _s(CLOSED),
            "ended_ms": _n(ended_ms),
            "closed_by": _s(owner),
            "body": _s(body[:MAX_BODY_CHARS]),
            "subject": _s(subject),
            "claimed_at": _n(now),
            "expiration": _n(now + self.ttl_seconds),
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(id) OR #exp < :now",
                ExpressionAttributeNames={"#exp": "expiration"},
                ExpressionAttributeValues={":now": _n(now)},
            )
            return _episode(item), True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        current = self.get(key)
        if current is None:
            return self.claim_orphan(
                key, owner=owner, channel=channel, ended_ms=ended_ms, body=body, subject=subject
            )
        return current, current.owner == owner

    def adopt(self, key: str, *, started_ms: int, body: str, subject: str) -> Episode | None:
        """Make an orphan OK the episode of a late ALARM changed at ``started_ms``.

        The record keeps its message (``ts``) and its end; ``body`` becomes the
        ALARM's and ``resolved_body`` the OK's. None if it is no orphan any more
        (another delivery adopted it first, with an earlier ALARM).
        """
        current = self.get(key)
        if current is not None and current.started_ms == started_ms and current.resolved_body:
            return current  # adopted by this ALARM already (a retried delivery)
        if current is None or not current.orphan or started_ms > (current.ended_ms or 0):
            return None
        now = self.now()
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET started_ms = :started, body = :body, subject = :subject,"
                " resolved_body = :ok_body, resolved_subject = :ok_subject, #exp = :exp",
                ConditionExpression="started_ms = :zero AND ended_ms >= :started",
                ExpressionAttributeNames={"#exp": "expiration"},
                ExpressionAttributeValues={
                    ":started": _n(started_ms),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                    ":ok_body": _s(current.body),
                    ":ok_subject": _s(current.subject),
                    ":zero": _n(0),
                    ":exp": _n(now + self.ttl_seconds),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return _episode(out["Attributes"])

    # -- posted steps ------------------------------------------------------------------------

    def step(self, notification: str, name: str) -> str | None:
        """The ts recorded for step ``name`` of ``notification``, or None if not done."""
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"id": _s(f"step#{notification}#{name}")},
            ConsistentRead=True,
        ).get("Item")
        if not item or self._expired(item):
            return None
        return item.get("ts", {}).get("S", "")

    def record_step(self, notification: str, name: str, ts: str) -> None:
        """Remember that step ``name`` of ``notification`` has been posted (as ``ts``)."""
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "id": _s(f"step#{notification}#{name}"),
                "ts": _s(ts),
                "expiration": _n(self.now() + self.ttl_seconds),
            },
        )

    def _expired(self, item: dict[str, Any]) -> bool:
        # DynamoDB deletes expired items lazily (up to days later): treat them as gone.
        exp = item.get("expiration", {}).get("N")
        return exp is not None and int(exp) < self.now()


def _as_previous(episode: Episode) -> dict[str, dict[str, Any]]:
    """``episode`` as the ``prev_*`` attributes of the item that replaces it."""
    out: dict[str, dict[str, Any]] = {
        "prev_owner": _s(episode.owner),
        "prev_channel": _s(episode.channel),
        "prev_ts": _s(episode.ts),
        "prev_started_ms": _n(episode.started_ms),
        "prev_state": _s(episode.state),
        "prev_closed_by": _s(episode.closed_by),
        "prev_body": _s(episode.body),
        "prev_subject": _s(episode.subject),
    }
    if episode.ended_ms is not None:
        out["prev_ended_ms"] = _n(episode.ended_ms)
    if episode.request_ids:
        out["prev_request_ids"] = {"SS": list(episode.request_ids)}
    return out


def _episode(item: dict[str, Any], prefix: str = "") -> Episode:
    """The episode in ``item`` (``prefix`` "prev_" reads the one it replaced)."""

    def s(name: str) -> str:
        return str(item.get(prefix + name, {}).get("S", "")).strip()

    def n(name: str) -> int | None:
        value = item.get(prefix + name, {}).get("N")
        return int(value) if value is not None else None

    previous = _episode(item, "prev_") if not prefix and "prev_owner" in item else None
    return Episode(
        key=str(item.get("key", {}).get("S", "")).strip(),
        owner=s("owner"),
        channel=s("channel"),
        ts=s("ts"),
        started_ms=n("started_ms") or 0,
        state=s("state") or OPEN,
        ended_ms=n("ended_ms"),
        closed_by=s("closed_by"),
        body=str(item.get(prefix + "body", {}).get("S", "")),
        subject=s("subject"),
        request_ids=tuple(sorted(item.get(prefix + "request_ids", {}).get("SS", []))),
        claimed_at=float(n("claimed_at") or 0),
        latest_ms=n("latest_ms") or 0,
        resolved_body=str(item.get(prefix + "resolved_body", {}).get("S", "")),
        resolved_subject=s("resolved_subject"),
        previous=previous,
        opened_from=s("opened_from"),
    )
