"""An open episode's follow-ups, kept on its episode item.

The follow-up state lives in the same DynamoDB item as the episode
(``episode#<alarm key>``), in ``fu_*`` attributes tied to the episode's start
(``fu_started``), so that when the episode closes or is replaced, the next
follow-up finds it is no longer pending and stops:

- ``fu_seq``: the number of the one pending follow-up; a follow-up message whose
  number is not it (a duplicate, or one superseded) changes nothing;
- ``fu_until_ms``: when looking again stops;
- ``fu_last_ms``: the end of the window the last look read (the next starts there);
- ``fu_tally``: every kind of error counted so far (:class:`logthread.signatures.Tally` JSON);
- ``fu_looks``: how many looks were made.

Every write is conditional on the episode still being open, with the same start
and the expected number, so duplicates and races never advance it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from logthread.alarms.episode_item import OPEN, Episode, from_item, read_episode_item
from logthread.alarms.episode_item import number_attr as _n
from logthread.alarms.episode_item import string_attr as _s

# DynamoDB items hold 400 KB; the tally is cut to its most frequent kinds below this.
MAX_TALLY_CHARS = 60_000


@dataclass(frozen=True, slots=True)
class FollowUpState:
    started_ms: int
    seq: int
    until_ms: int
    last_ms: int
    tally: str
    looks: int


def _int(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


class FollowUpStore:
    """The ``fu_*`` attributes of episode items (see the module docstring)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def read(self, key: str) -> tuple[Episode | None, FollowUpState | None]:
        """The episode and its follow-up state (None when it has none)."""
        item = read_episode_item(self.client, self.table_name, key)
        if not item:
            return None, None
        episode = from_item(item)
        if "fu_started" not in item:
            return episode, None
        state = FollowUpState(
            started_ms=_int(item, "fu_started"),
            seq=_int(item, "fu_seq"),
            until_ms=_int(item, "fu_until_ms"),
            last_ms=_int(item, "fu_last_ms"),
            tally=str(item.get("fu_tally", {}).get("S", "")),
            looks=_int(item, "fu_looks"),
        )
        return episode, state

    def start(self, key: str, *, started_ms: int, until_ms: int, last_ms: int, tally: str) -> bool:
        """Follow-up 1 becomes pending for the open episode that started at ``started_ms``.

        False when the episode is no longer that open one, or its follow-ups have
        already started (a duplicate delivery of the ALARM).
        """
        return self._update(
            key,
            "SET fu_started = :s, fu_seq = :one, fu_until_ms = :until, fu_last_ms = :last, "
            "fu_tally = :tally, fu_looks = :zero",
            "started_ms = :s AND #state = :open "
            "AND (attribute_not_exists(fu_started) OR fu_started <> :s)",
            {
                ":s": _n(started_ms),
                ":one": _n(1),
                ":zero": _n(0),
                ":until": _n(until_ms),
                ":last": _n(last_ms),
                ":tally": _s(tally[:MAX_TALLY_CHARS]),
                ":open": _s(OPEN),
            },
        )

    def looked(self, key: str, *, started_ms: int, seq: int, last_ms: int, tally: str) -> bool:
        """Record look ``seq`` (its window's end, the tally since the start) and make
        ``seq + 1`` the pending one; False if ``seq`` was not pending.
        """
        return self._update(
            key,
            "SET fu_seq = :next, fu_last_ms = :last, fu_tally = :tally ADD fu_looks :one",
            "started_ms = :s AND fu_started = :s AND fu_seq = :seq AND #state = :open",
            {
                ":s": _n(started_ms),
                ":seq": _n(seq),
                ":next": _n(seq + 1),
                ":one": _n(1),
                ":last": _n(last_ms),
                ":tally": _s(tally[:MAX_TALLY_CHARS]),
                ":open": _s(OPEN),
            },
        )

    def _update(self, key: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": _s(f"episode#{key}")},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
