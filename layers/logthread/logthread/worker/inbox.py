"""What reaches the worker, read once: a search task, an alarm rescan, a notification.

The worker serves the task topic (the ingress's own messages) and the alarm
topics (CloudWatch, EventBridge, any app). :func:`decode` turns one SNS message
into exactly one of six types, parsing it once, so the worker dispatches on
the type and applies the topic rule in one place:

- :class:`~logthread.tasks.SearchTask`, :class:`~logthread.tasks.AlarmRescan` and
  :class:`~logthread.tasks.AlarmClaim` are ours and are taken only from the task topic; a
  :class:`~logthread.tasks.FollowUp` is the worker's own, taken only from its
  follow-up queue;
- :class:`Unreadable` says it is ours but is broken (unknown version, bad
  shape): dropped and logged, since no retry can fix it and it must not be
  posted as an alarm;
- :class:`Notification` is anything else, posted by the alarm path whatever it
  holds (hostile or unreadable text included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from logthread.tasks import (
    CLAIM_MARKER,
    FOLLOW_UP_MARKER,
    MARKER,
    RESCAN_MARKER,
    AlarmClaim,
    AlarmRescan,
    FollowUp,
    SearchTask,
    claim_from_dict,
    follow_up_from_dict,
    rescan_from_dict,
    task_from_dict,
)


@dataclass(frozen=True, slots=True)
class Notification:
    """A message for the alarm path: the SNS ``Message`` and ``Subject`` as delivered."""

    body: str
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A message that names one of our types but can't be read as it."""

    kind: str
    reason: str


Delivery = SearchTask | AlarmRescan | AlarmClaim | FollowUp | Notification | Unreadable


def decode(body: str, subject: str | None = None) -> Delivery:
    """Read one SNS message (its ``Message`` and ``Subject``) as exactly one delivery.

    Never raises: a body that isn't JSON, or is JSON too deep to read, is a
    notification like any other text.
    """
    data = _json_object(body)
    kind = data.get("type") if data is not None else None
    if kind == MARKER:
        try:
            return task_from_dict(data or {})
        except ValueError as exc:
            return Unreadable("task", str(exc))
    if kind == RESCAN_MARKER:
        try:
            return rescan_from_dict(data or {})
        except ValueError as exc:
            return Unreadable("alarm rescan", str(exc))
    if kind == CLAIM_MARKER:
        try:
            return claim_from_dict(data or {})
        except ValueError as exc:
            return Unreadable("alarm claim", str(exc))
    if kind == FOLLOW_UP_MARKER:
        try:
            return follow_up_from_dict(data or {})
        except ValueError as exc:
            return Unreadable("follow-up", str(exc))
    return Notification(body, subject or "")


def _json_object(body: str) -> dict[str, Any] | None:
    # Our messages are JSON objects; only those are decoded here.
    if not isinstance(body, str) or not body.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
