"""Posted steps: the Slack posts one notification (or one episode's follow-ups) made.

``step#<key>#<step>`` items in the episode table: begun (ts "") before a post,
recorded with its ts after it, so a retried delivery skips what it posted and
looks in Slack for a post whose answer was lost (:meth:`Run.once
<logthread.alarms.investigate.Run.once>`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from logthread.alarms.episode_item import number_attr as _n
from logthread.alarms.episode_item import string_attr as _s


class PostedSteps:
    """The step items of the table (a base of :class:`~logthread.alarms.episodes.EpisodeStore`,
    which sets ``client``, ``table_name``, ``ttl_seconds`` and ``now``).
    """

    client: Any
    table_name: str
    ttl_seconds: int
    now: Callable[[], float]

    def step(self, notification: str, name: str) -> str | None:
        """The ts recorded for step ``name`` of ``notification``, or None if not done."""
        record = self.step_record(notification, name)
        return record[0] if record is not None and record[0] else None

    def step_record(self, notification: str, name: str) -> tuple[str, float] | None:
        """``(ts, since)`` of step ``name``: ts "" while it is being posted (see
        :meth:`begin_step`), ``since`` when it was begun; None if never begun.
        """
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"id": _s(f"step#{notification}#{name}")},
            ConsistentRead=True,
        ).get("Item")
        if not item or self._expired(item):
            return None
        since = float(item.get("since", {}).get("N", "0"))
        return item.get("ts", {}).get("S", ""), since

    def begin_step(self, notification: str, name: str) -> None:
        """Remember that step ``name`` is being posted: a retry that finds it so looks
        in Slack for the post before making it again (the answer may have been lost).
        """
        self._put_step(notification, name, "")

    def record_step(self, notification: str, name: str, ts: str) -> None:
        """Remember that step ``name`` of ``notification`` has been posted (as ``ts``)."""
        self._put_step(notification, name, ts)

    def _put_step(self, notification: str, name: str, ts: str) -> None:
        now = self.now()
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "id": _s(f"step#{notification}#{name}"),
                "ts": _s(ts),
                "since": _n(now),
                "expiration": _n(now + self.ttl_seconds),
            },
        )

    def _expired(self, item: dict[str, Any]) -> bool:
        # DynamoDB deletes expired items lazily (up to days later): treat them as gone.
        exp = item.get("expiration", {}).get("N")
        return exp is not None and int(exp) < self.now()
