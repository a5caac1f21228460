"""The episode writes for notifications delivered out of order.

A base of :class:`~logthread.alarms.episodes.EpisodeStore`: an OK with no episode
(an *orphan*), an episode older than the current one kept as ``previous``, an
ALARM adopting an orphan, an earlier ALARM moving an episode's start back, and the
OK that closed an episode too late taken out again (:mod:`logthread.alarms.detach`).
Each write is conditional on what the delivery read, as in ``EpisodeStore``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from logthread.alarms.episode_item import (
    CLOSED,
    MAX_BODY_CHARS,
    MAX_REASON_CHARS,
    OPEN,
    PREVIOUS_NAMES,
    Episode,
    carried_older,
    from_item,
    older_attributes,
    previous_attributes,
)
from logthread.alarms.episode_item import number_attr as _n
from logthread.alarms.episode_item import string_attr as _s


def conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class OutOfOrderWrites:
    """Sets nothing itself: ``EpisodeStore`` provides ``client``, ``table_name``,
    ``ttl_seconds``, ``now`` and :meth:`get`."""

    client: Any
    table_name: str
    ttl_seconds: int
    now: Callable[[], float]

    def get(self, key: str) -> Episode | None:
        raise NotImplementedError

    def detach(self, key: str, closed: Episode) -> Episode | None:
        """Take the OK that closed ``closed`` out of it: that OK ended a later episode.

        ``closed`` (the current episode, as read) becomes ``previous``, open again (its
        own OK, older, is delivered or still to come); the current episode becomes an
        orphan of that OK, ``detached``, without a message yet. The write happens only if
        the item still holds ``closed`` as it was read. Returns the new current episode,
        or None if the item changed meanwhile.
        """
        now = self.now()
        reopened = replace(closed, state=OPEN, ended_ms=None, closed_by="", ok_reason="")
        # The closing OK: kept when it closed the episode, or the orphan an ALARM adopted.
        ok_body, ok_subject = (
            (closed.ok_body, closed.ok_subject)
            if closed.ok_body
            else (closed.resolved_body, closed.resolved_subject)
        )
        item = {
            "id": _s(f"episode#{key}"),
            "key": _s(key),
            "owner": _s(closed.closed_by),
            "channel": _s(closed.channel),
            "started_ms": _n(0),
            "state": _s(CLOSED),
            "ended_ms": _n(closed.ended_ms or 0),
            "closed_by": _s(closed.closed_by),
            "body": _s(ok_body),
            "subject": _s(ok_subject),
            "detached": _n(1),
            "claimed_at": _n(now),
            "expiration": _n(now + self.ttl_seconds),
            **previous_attributes(reopened),
            **carried_older(closed),
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="#state = :closed AND closed_by = :by AND ended_ms = :ended"
                " AND started_ms = :started",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":closed": _s(CLOSED),
                    ":by": _s(closed.closed_by),
                    ":ended": _n(closed.ended_ms or 0),
                    ":started": _n(closed.started_ms),
                },
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise
        return from_item(item)

    def adopt(
        self,
        key: str,
        *,
        started_ms: int,
        body: str,
        subject: str,
        previous: bool = False,
        opened_from: str = "",
    ) -> Episode | None:
        """Make an orphan OK the episode of a late ALARM changed at ``started_ms``.

        The record keeps its message (``ts``) and its end; ``body`` becomes the
        ALARM's and ``resolved_body`` the OK's. ``previous``: the orphan is the
        current episode's ``previous``. None if it is no orphan any more (another
        delivery adopted it first, with an earlier ALARM).
        """
        current = self.get(key)
        orphan = current.previous if previous and current is not None else current
        if orphan is not None and orphan.started_ms == started_ms and orphan.resolved_body:
            return orphan  # adopted by this ALARM already (a retried delivery)
        if orphan is None or not orphan.orphan or started_ms > (orphan.ended_ms or 0):
            return None
        p = "prev_" if previous else ""
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=f"SET {p}started_ms = :started, {p}body = :body,"
                f" {p}subject = :subject, {p}resolved_body = :ok_body,"
                f" {p}resolved_subject = :ok_subject, {p}opened_from = :from, #exp = :exp",
                ConditionExpression=f"{p}started_ms = :zero AND {p}ended_ms >= :started",
                ExpressionAttributeNames={"#exp": "expiration"},
                ExpressionAttributeValues={
                    ":started": _n(started_ms),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                    ":ok_body": _s(orphan.body),
                    ":ok_subject": _s(orphan.subject),
                    ":from": _s(opened_from),
                    ":zero": _n(0),
                    ":exp": _n(self.now() + self.ttl_seconds),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise
        adopted = from_item(out["Attributes"])
        return adopted.previous if previous else adopted

    def claim_previous(
        self,
        key: str,
        *,
        owner: str,
        channel: str,
        body: str,
        subject: str,
        started_ms: int = 0,
        ended_ms: int | None = None,
        opened_from: str = "",
        read: Episode | None = None,
    ) -> Episode | None:
        """Record an episode older than the current one, delivered after it, as ``previous``.

        An ALARM (``started_ms``) opens it; an OK (``ended_ms``, no start) records it
        as an orphan. A ``previous`` the current episode (``read``) has is moved to the
        ``older`` ones, if the item still holds it. Returns it (also to a retry of
        ``owner``), or None when the item changed or has no current episode newer than it.
        """
        at = started_ms if ended_ms is None else ended_ms
        episode = Episode(
            key=key,
            owner=owner,
            channel=channel,
            ts="",
            started_ms=started_ms,
            state=OPEN if ended_ms is None else CLOSED,
            ended_ms=ended_ms,
            closed_by=owner if ended_ms is not None else "",
            body=body[:MAX_BODY_CHARS],
            subject=subject,
            opened_from=opened_from,
        )
        displaced = read.previous if read is not None else None
        if displaced is not None and displaced.owner == owner:
            return displaced  # recorded by an earlier attempt of this notification
        attributes = previous_attributes(episode)
        condition = "attribute_not_exists(prev_owner)"
        values = {":at": _n(at), ":zero": _n(0)}
        remove: list[str] = []
        if read is not None and displaced is not None:
            attributes |= carried_older(read)
            condition = "prev_owner = :displaced"
            values[":displaced"] = _s(displaced.owner)
            remove = [n for n in PREVIOUS_NAMES if n not in attributes]
        names = {f"#{name}": name for name in attributes}
        update = "SET " + ", ".join(f"#{n} = :{n}" for n in attributes)
        if remove:
            update += " REMOVE " + ", ".join(remove)
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=update,
                ConditionExpression=condition
                + " AND (started_ms > :at OR (started_ms = :zero AND ended_ms > :at))",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{n}": v for n, v in attributes.items()} | values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            current = self.get(key)
            before = current.previous if current is not None else None
            return before if before is not None and before.owner == owner else None
        return from_item(out["Attributes"]).previous

    def recall(self, key: str, read: Episode, index: int) -> bool:
        """Make ``read.older[index]`` the ``previous`` again, the ``previous`` one of the
        ``older`` (a notification of that episode arrived); False if the item changed."""
        recalled = read.older[index]
        rest = (*read.older[:index], *read.older[index + 1 :])
        kept = (*rest, read.previous) if read.previous is not None else rest
        attributes = previous_attributes(recalled) | (
            older_attributes(kept) or {"older": {"L": []}}
        )
        remove = [n for n in PREVIOUS_NAMES if n not in attributes]
        update = "SET " + ", ".join(f"#{n} = :{n}" for n in attributes)
        if remove:
            update += " REMOVE " + ", ".join(remove)
        condition = "size(#older) = :count AND " + (
            "prev_owner = :previous"
            if read.previous is not None
            else "attribute_not_exists(prev_owner)"
        )
        values = {":count": _n(len(read.older))}
        if read.previous is not None:
            values[":previous"] = _s(read.previous.owner)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={f"#{n}": n for n in attributes},
                ExpressionAttributeValues={f":{n}": v for n, v in attributes.items()} | values,
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def set_previous_ts(self, key: str, *, owner: str, ts: str) -> None:
        """Record the message ts of the ``previous`` episode ``owner`` claimed."""
        self.client.update_item(
            TableName=self.table_name,
            Key={"id": _s(f"episode#{key}")},
            UpdateExpression="SET prev_ts = :ts REMOVE prev_detached",
            ConditionExpression="prev_owner = :owner",
            ExpressionAttributeValues={":ts": _s(ts), ":owner": _s(owner)},
        )

    def close_previous(
        self,
        key: str,
        *,
        by: str,
        ended_ms: int,
        reason: str = "",
        body: str = "",
        subject: str = "",
    ) -> Episode | None:
        """Resolve the episode the current one replaced; None if it can't (or is done).

        Closing again with the same ``by`` succeeds (a retried delivery).
        """
        try:
            out = self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET prev_state = :closed, prev_ended_ms = :ended,"
                " prev_closed_by = :by, prev_ok_reason = :reason, prev_ok_body = :body,"
                " prev_ok_subject = :subject",
                ConditionExpression="(prev_state = :open AND prev_started_ms <= :ended)"
                " OR prev_closed_by = :by",
                ExpressionAttributeValues={
                    ":closed": _s(CLOSED),
                    ":open": _s(OPEN),
                    ":ended": _n(ended_ms),
                    ":by": _s(by),
                    ":reason": _s(reason[:MAX_REASON_CHARS]),
                    ":body": _s(body[:MAX_BODY_CHARS]),
                    ":subject": _s(subject),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise
        return from_item(out["Attributes"]).previous

    def detach_previous(self, key: str, read: Episode) -> Episode | None:
        """:meth:`detach` for the episode before the current one (``read.previous``): it
        joins the ``older`` ones, open again, and the OK that closed it becomes the
        ``previous`` orphan, ``detached``. None if the item changed meanwhile."""
        closed = read.previous
        if closed is None:
            return None
        reopened = replace(closed, state=OPEN, ended_ms=None, closed_by="", ok_reason="")
        reopened = replace(reopened, ok_body="", ok_subject="", resolved_body="")
        ok_body, ok_subject = (
            (closed.ok_body, closed.ok_subject)
            if closed.ok_body
            else (closed.resolved_body, closed.resolved_subject)
        )
        orphan = Episode(
            key=key,
            owner=closed.closed_by,
            channel=closed.channel,
            ts="",
            started_ms=0,
            state=CLOSED,
            ended_ms=closed.ended_ms,
            closed_by=closed.closed_by,
            body=ok_body,
            subject=ok_subject,
            detached=True,
        )
        attributes = previous_attributes(orphan) | older_attributes((*read.older, reopened))
        remove = [n for n in PREVIOUS_NAMES if n not in attributes]
        update = "SET " + ", ".join(f"#{n} = :{n}" for n in attributes)
        if remove:
            update += " REMOVE " + ", ".join(remove)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=update,
                ConditionExpression="prev_closed_by = :by AND prev_ended_ms = :ended"
                " AND prev_started_ms = :started",
                ExpressionAttributeNames={f"#{n}": n for n in attributes},
                ExpressionAttributeValues={f":{n}": v for n, v in attributes.items()}
                | {
                    ":by": _s(closed.closed_by),
                    ":ended": _n(closed.ended_ms or 0),
                    ":started": _n(closed.started_ms),
                },
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise
        current = self.get(key)
        return current.previous if current is not None else None

    def extend(self, key: str, *, change_ms: int, opened_from: str, previous: bool) -> None:
        """An ALARM older than the episode's earliest, delivered late, is its earliest now.

        ``opened_from`` is that ALARM's ``OldStateValue``; ``previous``: the episode is
        the current one's ``previous``. A retry, or an older ALARM first, changes nothing.
        """
        p = "prev_" if previous else ""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=f"SET {p}earliest_ms = :t, {p}opened_from = :from",
                ConditionExpression=f"{p}started_ms > :t"
                f" AND (attribute_not_exists({p}earliest_ms) OR {p}earliest_ms > :t)",
                ExpressionAttributeValues={":t": _n(change_ms), ":from": _s(opened_from)},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise

    def abandon_previous(self, key: str, *, owner: str) -> None:
        """Forget the ``previous`` episode ``owner`` recorded (its message's ts can't be
        known), leaving the current one as it is."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="REMOVE " + ", ".join(PREVIOUS_NAMES),
                ConditionExpression="prev_owner = :owner",
                ExpressionAttributeValues={":owner": _s(owner)},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise

    def claim_orphan(
        self,
        key: str,
        *,
        owner: str,
        channel: str,
        ended_ms: int,
        body: str,
        subject: str,
        replacing: Episode | None = None,
    ) -> tuple[Episode, bool]:
        """Record an OK that found no episode (see :attr:`Episode.orphan`).

        ``replacing``: an orphan OK older than this one, read before; it is kept as
        ``previous``, and the write happens only if the item still holds it.

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
        condition = "attribute_not_exists(id) OR #exp < :now"
        names, values = {"#exp": "expiration"}, {":now": _n(now)}
        if replacing is not None:
            item.update(previous_attributes(replacing))
            item.update(carried_older(replacing))
            condition += " OR (#owner = :prev_owner AND started_ms = :zero AND ended_ms < :ended)"
            names["#owner"] = "owner"
            values |= {":prev_owner": _s(replacing.owner), ":zero": _n(0), ":ended": _n(ended_ms)}
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
            if not conditional_failed(exc):
                raise
        current = self.get(key)
        if current is None:
            return self.claim_orphan(
                key, owner=owner, channel=channel, ended_ms=ended_ms, body=body, subject=subject
            )
        return current, current.owner == owner
