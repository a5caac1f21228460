"""One alarm episode, and how it is written in the episode table.

An item ``episode#<alarm key>`` holds the alarm's current episode and, under
``prev_*`` attributes, the one before it (see :class:`Episode`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

OPEN = "open"
CLOSED = "closed"
# Alarm bodies are re-read on OK to render the resolved message; cap what is kept.
MAX_BODY_CHARS = 60_000
# CloudWatch caps a state reason at 1,023 characters; an OK's is kept to re-render it.
MAX_REASON_CHARS = 4_000


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
    ok_reason:
        The reason of the OK that closed it, so the opening ALARM can render the
        resolved message again if its own late edit may have overwritten it.
    ok_body, ok_subject:
        The OK that closed it, so that it can be taken out again (a detached
        orphan) when an older notification shows the episode had ended before.
    older:
        Episodes older than ``previous`` (oldest first, at most :data:`MAX_OLDER`),
        kept so that a notification of a third episode back still finds its thread.
    detached:
        An orphan made of the OK that had closed an episode too late: its own
        message is posted by whichever delivery finds it without one.
    searching_since:
        Epoch seconds since the opening ALARM's message has been up while its logs
        are still searched (0 once its findings are recorded): a repeat waits for
        them instead of threading the same requests again.

    An *orphan* is the record of an OK that came with no episode to close (its
    ALARM late, lost, or from before the bot): closed, ``started_ms`` 0, ``ts``
    its own message, ``body`` the OK; a late ALARM adopts it.

    ``previous`` is the episode this one replaced (kept in the same item), so a
    late notification of it still lands in its thread, and its OK, when that
    arrives after the next ALARM, still resolves its message. ``opened_from`` is
    the state its earliest known ALARM came from (its ``OldStateValue``): from OK,
    the episode began there; from ALARM, an older ALARM delivered late is still
    this episode's, and moves ``earliest_ms`` back (``started_ms``, which claims
    and follow-ups are tied to, stays).
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
    ok_reason: str = ""
    searching_since: float = 0.0
    earliest_ms: int = 0
    ok_body: str = ""
    ok_subject: str = ""
    detached: bool = False
    older: tuple[Episode, ...] = ()

    @property
    def begins_ms(self) -> int:
        """The earliest ALARM known to belong to it (``started_ms`` unless a late one came)."""
        return min(self.earliest_ms or self.started_ms, self.started_ms)

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def orphan(self) -> bool:
        return self.state == CLOSED and not self.started_ms


def string_attr(value: str) -> dict[str, str]:
    return {"S": value}


def number_attr(value: float) -> dict[str, str]:
    return {"N": str(int(value))}


# Episodes kept beyond ``previous``, and how much of each one's notification.
MAX_OLDER = 6
MAX_OLDER_BODY_CHARS = 16_000

# Every attribute the ``previous`` episode may have (to forget it).
PREVIOUS_NAMES = tuple(
    f"prev_{name}"
    for name in [
        "owner",
        "channel",
        "ts",
        "started_ms",
        "state",
        "closed_by",
        "body",
        "subject",
        "opened_from",
        "earliest_ms",
        "ended_ms",
        "request_ids",
        "ok_reason",
        "resolved_body",
        "resolved_subject",
        "ok_body",
        "ok_subject",
        "detached",
    ]
)


def previous_attributes(episode: Episode) -> dict[str, dict[str, Any]]:
    """``episode`` as the ``prev_*`` attributes of the item that replaces it."""
    out: dict[str, dict[str, Any]] = {
        "prev_owner": string_attr(episode.owner),
        "prev_channel": string_attr(episode.channel),
        "prev_ts": string_attr(episode.ts),
        "prev_started_ms": number_attr(episode.started_ms),
        "prev_state": string_attr(episode.state),
        "prev_closed_by": string_attr(episode.closed_by),
        "prev_body": string_attr(episode.body),
        "prev_subject": string_attr(episode.subject),
        "prev_opened_from": string_attr(episode.opened_from),
    }
    if episode.earliest_ms:
        out["prev_earliest_ms"] = number_attr(episode.earliest_ms)
    if episode.ended_ms is not None:
        out["prev_ended_ms"] = number_attr(episode.ended_ms)
    if episode.request_ids:
        out["prev_request_ids"] = {"SS": list(episode.request_ids)}
    if episode.ok_reason:
        out["prev_ok_reason"] = string_attr(episode.ok_reason)
    if episode.ok_body:
        out["prev_ok_body"] = string_attr(episode.ok_body)
        out["prev_ok_subject"] = string_attr(episode.ok_subject)
    if episode.resolved_body:
        out["prev_resolved_body"] = string_attr(episode.resolved_body)
        out["prev_resolved_subject"] = string_attr(episode.resolved_subject)
    if episode.detached:
        out["prev_detached"] = number_attr(1)
    return out


def older_attributes(episodes: tuple[Episode, ...]) -> dict[str, dict[str, Any]]:
    """``episodes`` (oldest first) as the ``older`` attribute; {} when there are none."""
    kept = episodes[-MAX_OLDER:]
    if not kept:
        return {}
    entries = []
    for episode in kept:
        short = replace(episode, body=episode.body[:MAX_OLDER_BODY_CHARS], previous=None)
        attributes = {k.removeprefix("prev_"): v for k, v in previous_attributes(short).items()}
        entries.append({"M": attributes})
    return {"older": {"L": entries}}


def carried_older(episode: Episode) -> dict[str, dict[str, Any]]:
    """The ``older`` attribute of an item replacing ``episode``'s (whose ``previous`` it
    keeps): its older ones, and the ``previous`` it drops."""
    dropped = (episode.previous,) if episode.previous is not None else ()
    return older_attributes((*episode.older, *dropped))


def from_item(item: dict[str, Any], prefix: str = "") -> Episode:
    """The episode in ``item`` (``prefix`` "prev_" reads the one it replaced)."""

    def s(name: str) -> str:
        return str(item.get(prefix + name, {}).get("S", "")).strip()

    def n(name: str) -> int | None:
        value = item.get(prefix + name, {}).get("N")
        return int(value) if value is not None else None

    previous = from_item(item, "prev_") if not prefix and "prev_owner" in item else None
    older: tuple[Episode, ...] = ()
    if not prefix:
        key = item.get("key", {"S": ""})
        older = tuple(
            from_item({**e.get("M", {}), "key": key}) for e in item.get("older", {}).get("L", [])
        )
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
        ok_reason=str(item.get(prefix + "ok_reason", {}).get("S", "")),
        searching_since=float(n("searching_since") or 0),
        earliest_ms=n("earliest_ms") or 0,
        ok_body=str(item.get(prefix + "ok_body", {}).get("S", "")),
        ok_subject=s("ok_subject"),
        detached=bool(n("detached")),
        older=older,
    )


def read_episode_item(client: Any, table_name: str, key: str) -> dict[str, Any] | None:
    """The raw ``episode#<key>`` item (consistent read), or None: the one read of it that
    the episode, its claim and its follow-ups share."""
    item = client.get_item(
        TableName=table_name, Key={"id": string_attr(f"episode#{key}")}, ConsistentRead=True
    ).get("Item")
    return item or None
