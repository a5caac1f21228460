"""Which error signatures an alarm has shown before: "new" or "known, last seen …".

One item per alarm in the episode table, ``signatures#<alarm key>``, beside its
episode (``episode#<alarm key>``, :mod:`logthread.alarms.episodes`), with the same
TTL attribute (``expiration``, refreshed on every write, so an alarm quiet for
longer than ``limits.signature_ttl_days`` starts afresh). Its ``seen`` attribute
is compact JSON: per signature key, the start of the last two episodes that saw
it and when it was last seen in each. Two episodes are enough to tell "seen in an
episode before this one" even after this one has been recorded.

Writes are conditional on the ``version`` read, and retried on a race: two
deliveries recording at once both land. The episode state machine is not touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from logthread.signatures import Tally

PREFIX = "signatures#"
# Signatures remembered per alarm (the most recently seen win): keeps the item far
# below DynamoDB's 400 KB.
MAX_REMEMBERED = 400
ATTEMPTS = 4

# signature key -> [[episode start ms, last seen ms in it], ...] newest episode first
History = dict[str, list[list[int]]]


def earlier_sightings(history: History, episode_ms: int) -> dict[str, int]:
    """Signature key -> when it was last seen in an episode that began before ``episode_ms``."""
    out: dict[str, int] = {}
    for key, episodes in history.items():
        before = [last for start, last in episodes if start < episode_ms]
        if before:
            out[key] = max(before)
    return out


def with_tally(history: History, episode_ms: int, tally: Tally) -> History:
    """``history`` with ``tally`` recorded as seen in the episode that began at ``episode_ms``."""
    out: History = {k: [list(e) for e in v] for k, v in history.items()}
    for entry in tally:
        episodes = out.setdefault(entry.signature.key, [])
        same = next((e for e in episodes if e[0] == episode_ms), None)
        if same is not None:
            same[1] = max(same[1], entry.last_ms)
        else:
            episodes.append([episode_ms, entry.last_ms])
        episodes.sort(key=lambda e: -e[0])
        del episodes[2:]
    newest = sorted(out, key=lambda k: -max(last for _, last in out[k]))
    return {k: out[k] for k in newest[:MAX_REMEMBERED]}


class SignatureHistory:
    """Per-alarm signature history in the episode table.

    Parameters
    ----------
    client:
        boto3 DynamoDB client.
    table_name:
        The episode table (pk ``id``, TTL attribute ``expiration``).
    ttl_seconds:
        How long an alarm's history outlives its last write.
    now:
        Clock in epoch seconds.
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        ttl_seconds: int = 30 * 86400,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.now = now

    def read(self, alarm_key: str) -> tuple[History, int]:
        """The alarm's history and its version (0 when there is none)."""
        item = self.client.get_item(
            TableName=self.table_name, Key={"id": {"S": PREFIX + alarm_key}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return {}, 0
        version = int(item.get("version", {}).get("N", "0"))
        expired = int(item.get("expiration", {}).get("N", "0")) < self.now()
        if expired:
            return {}, version
        return _decode(item.get("seen", {}).get("S", "")), version

    def note(self, alarm_key: str, episode_ms: int, tally: Tally) -> dict[str, int]:
        """Record ``tally`` for the episode begun at ``episode_ms``; say what was known before.

        Returns
        -------
        dict
            Signature key -> last seen (epoch ms) in an earlier episode, for each
            signature of ``tally`` this alarm showed before; a key absent is new.
        """
        for _ in range(ATTEMPTS):
            history, version = self.read(alarm_key)
            known = earlier_sightings(history, episode_ms)
            if not len(tally):
                return {}
            try:
                self._write(alarm_key, with_tally(history, episode_ms, tally), version)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue  # another delivery wrote meanwhile: merge with what it wrote
            return {
                e.signature.key: known[e.signature.key] for e in tally if e.signature.key in known
            }
        return {}

    def _write(self, alarm_key: str, history: History, version: int) -> None:
        condition = "attribute_not_exists(id)" if version == 0 else "version = :v"
        values = {} if version == 0 else {":v": {"N": str(version)}}
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "id": {"S": PREFIX + alarm_key},
                "seen": {"S": json.dumps(history, separators=(",", ":"))},
                "version": {"N": str(version + 1)},
                "expiration": {"N": str(int(self.now() + self.ttl_seconds))},
            },
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )


def _decode(text: str) -> History:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: History = {}
    for key, episodes in data.items():
        if isinstance(key, str) and isinstance(episodes, list):
            pairs = [
                [int(e[0]), int(e[1])]
                for e in episodes
                if isinstance(e, list) and len(e) == 2 and all(isinstance(x, int) for x in e)
            ]
            if pairs:
                out[key] = pairs
    return out
