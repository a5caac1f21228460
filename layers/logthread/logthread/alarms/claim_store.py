"""Who said "I'm on it" for an episode, kept on its episode item.

``oi_user`` (a Slack user id) and ``oi_since_ms`` (when they took it) are tied to
the episode's start by ``oi_started``, as the follow-ups' ``fu_*`` attributes are:
a claim never outlives its episode, and the next episode of the same alarm
starts unclaimed. A claim by whoever already holds it changes nothing (a click
delivered twice, or clicked twice), so the "since" stays the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from logthread.alarms.episode_item import Episode, from_item, read_episode_item
from logthread.alarms.episode_item import number_attr as _n
from logthread.alarms.episode_item import string_attr as _s


@dataclass(frozen=True, slots=True)
class Claim:
    """Someone is on it: ``user_id`` since ``since_ms`` (epoch ms)."""

    user_id: str
    since_ms: int


def _claim_of(item: dict[str, Any], episode: Episode) -> Claim | None:
    started = int(item.get("oi_started", {}).get("N", "-1"))
    user = str(item.get("oi_user", {}).get("S", ""))
    if started != episode.started_ms or not user:
        return None
    return Claim(user, int(item.get("oi_since_ms", {}).get("N", "0")))


class ClaimStore:
    """The ``oi_*`` attributes of episode items (see the module docstring)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def read(self, key: str) -> tuple[Episode | None, Claim | None]:
        """The episode and its claim (None when nobody took it)."""
        item = read_episode_item(self.client, self.table_name, key)
        if not item:
            return None, None
        episode = from_item(item)
        return episode, _claim_of(item, episode)

    def take(self, key: str, *, started_ms: int, user_id: str, now_ms: int) -> Claim | None:
        """``user_id`` takes the episode that started at ``started_ms``; the claim it now has.

        Someone else's claim is taken over; the holder's own is kept as it was.
        None when the episode is gone or is no longer that one.
        """
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression="SET oi_started = :s, oi_user = :u, oi_since_ms = :now",
                ConditionExpression="started_ms = :s AND NOT (oi_started = :s AND oi_user = :u)",
                ExpressionAttributeValues={
                    ":s": _n(started_ms),
                    ":u": _s(user_id),
                    ":now": _n(now_ms),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        episode, claim = self.read(key)
        if episode is None or episode.started_ms != started_ms:
            return None
        return claim
