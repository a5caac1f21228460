"""A message to the worker itself, delivered later: SQS delay messages.

An alarm's follow-ups (:mod:`logthread.alarms.follow_up`) are the worker asking
itself to look again in a few minutes. :class:`SqsDelayQueue` sends the message
to the follow-up queue with ``DelaySeconds``; the worker reads that queue (an
SQS event source), so the message comes back when it is due. SQS delays at most
15 minutes, so ``limits.follow_up_minutes`` is at most 15.
"""

from __future__ import annotations

from typing import Any, Protocol

MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds


class DelayQueue(Protocol):
    """Where a message waits until it is due."""

    def send(self, body: str, delay_seconds: float) -> None:
        """Deliver ``body`` to the worker in ``delay_seconds`` (at most :data:`MAX_DELAY_SECONDS`)."""


class SqsDelayQueue:
    """:class:`DelayQueue` over one SQS queue (``FOLLOW_UP_QUEUE_URL``)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def send(self, body: str, delay_seconds: float) -> None:
        delay = max(0, min(MAX_DELAY_SECONDS, round(delay_seconds)))
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=delay)
