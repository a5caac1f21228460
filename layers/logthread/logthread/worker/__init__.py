"""The worker: one function for the task topic, the alarm topic and the follow-up queue.

It tells them apart by the message itself (:func:`logthread.worker.inbox.decode`):
a search task or an alarm rescan (ours, taken only from the task topic), a
follow-up (the worker's own, taken only from its follow-up queue), or a
notification for the alarm path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from logthread.slack.deadletter import DeferringChat, LetterOutbox
from logthread.tasks import AlarmClaim, AlarmRescan, FollowUp, SearchTask
from logthread.worker.deps import WorkerDeps
from logthread.worker.inbox import Delivery, Notification, Unreadable, decode

__all__ = ["WorkerDeps", "handle_message"]

logger = Logger(service="logthread", child=True)


def handle_message(body: str, subject: str | None, deps: WorkerDeps, *, topic_arn: str = "") -> Any:
    """Handle one message from SNS (directly, or via SQS locally).

    Parameters
    ----------
    body:
        The SNS ``Message``.
    subject:
        The SNS ``Subject`` (CloudWatch alarms set one; tasks use "logthread task").
    deps:
        Logs, chat, config, store and clock; with ``dead_letters``, Slack calls that
        still fail after the answer's parent is up are dead-lettered (see
        :mod:`logthread.slack.deadletter`).
    topic_arn:
        The SNS topic the message came from ("" = unknown). A task or an alarm
        rescan from any topic but ``deps.task_topic_arn`` is dropped: the alarm
        topic takes publishes from anyone in the account.

    Returns
    -------
    Any
        What the task or alarm path returned (the thread ts for a search), or
        None for a task message that is ours but malformed: it is logged and
        dropped, since no retry can fix it and it must not be posted as an alarm.

    Raises
    ------
    Exception
        Whatever the paths raise for transient failures, so the delivery is retried.
    """
    delivery = decode(body, subject)
    if isinstance(delivery, FollowUp) and not _from_follow_up_queue(topic_arn, deps):
        logger.error(
            "dropped a follow-up that did not come from the follow-up queue",
            extra={"source": topic_arn},
        )
        return None
    if isinstance(delivery, SearchTask | AlarmRescan | AlarmClaim) and not _from_task_topic(
        topic_arn, deps
    ):
        logger.error(
            "dropped a task that did not come from the task topic", extra={"topic": topic_arn}
        )
        return None
    if isinstance(delivery, Unreadable):
        logger.error(
            f"dropped a malformed {delivery.kind} message", extra={"error": delivery.reason}
        )
        return None
    if deps.dead_letters is None:
        return _dispatch(delivery, deps)
    # Slack calls that still fail once the answer's parent is up are collected and
    # dead-lettered (logthread.slack.deadletter has the rule), not retried with the delivery.
    chat = DeferringChat(deps.chat, context={"subject": subject or "", "message": body[:500]})
    outbox = LetterOutbox(chat, deps.dead_letters)
    try:
        return _dispatch(delivery, replace(deps, chat=chat, outbox=outbox))
    finally:
        # What a run left without an exactly-once record (no table, or it raised):
        # a recorded run's letter went with its record (logthread.once.Outbox).
        outbox.flush()


def _from_follow_up_queue(source: str, deps: WorkerDeps) -> bool:
    # Unlike tasks, never from a topic: only the worker sends follow-ups (both "": tests).
    return source == deps.follow_up_queue_arn


def _from_task_topic(topic_arn: str, deps: WorkerDeps) -> bool:
    # "" on either side: the topic is unknown (local runs, tests without topics).
    return not (topic_arn and deps.task_topic_arn) or topic_arn == deps.task_topic_arn


def _dispatch(delivery: Delivery, deps: WorkerDeps) -> Any:
    # Imported here: each path is loaded only for the messages that need it.
    if isinstance(delivery, SearchTask):
        from logthread.worker.search_task import run_search_task

        return run_search_task(delivery, deps)
    if isinstance(delivery, FollowUp):
        from logthread.alarms.follow_up import handle_follow_up

        return handle_follow_up(delivery, deps)
    if isinstance(delivery, AlarmRescan):
        from logthread.alarms.flow import handle_rescan

        return handle_rescan(delivery, deps)
    if isinstance(delivery, AlarmClaim):
        from logthread.alarms.claiming import handle_claim

        return handle_claim(delivery, deps)
    assert isinstance(delivery, Notification)
    from logthread.alarms.flow import handle_notification

    return handle_notification(delivery.body, delivery.subject, deps)
