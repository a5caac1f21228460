"""The task bus: how the ingress hands a search to the worker.

:class:`TaskBus` is the seam; :class:`SnsTaskBus` publishes to the task SNS
topic that the worker subscribes to (the same worker takes alarms, and tells
the two apart by the message itself). :class:`MemoryTaskBus` keeps tasks in a
list for tests of the ingress logic that need no AWS at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from logthread.tasks import SearchTask

# SNS subjects are ASCII, at most 100 characters; CloudWatch alarms set their own.
TASK_SUBJECT = "logthread task"


class TaskBus(ABC):
    """Where tasks go."""

    @abstractmethod
    def publish(self, task: SearchTask) -> str:
        """Send ``task``; return the message id."""

    def publish_body(self, body: str, *, kind: str, origin: str = "button") -> str:
        """Send a message the worker routes by its own marker; return the message id.

        For messages that are not search tasks, e.g. an alarm's "Search logs
        again" (:func:`logthread.alarms.rescan.rescan_body`), which the worker's
        notification path recognises.

        Parameters
        ----------
        body:
            The message, exactly as the worker will read it.
        kind:
            What it is (an SNS message attribute, for filtering and the record).
        origin:
            What caused it (``button``, ``command``).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot publish {kind} messages")


class SnsTaskBus(TaskBus):
    """Publishes each task as the message body on an SNS topic.

    Parameters
    ----------
    sns_client:
        A boto3 SNS client (built once per process by the caller).
    topic_arn:
        The task topic.
    """

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        if not topic_arn:
            raise ValueError("SnsTaskBus needs a topic ARN (TASK_TOPIC_ARN)")
        self._sns = sns_client
        self.topic_arn = topic_arn

    def publish(self, task: SearchTask) -> str:
        return self.publish_body(task.to_json(), kind="task", origin=task.origin or "command")

    def publish_body(self, body: str, *, kind: str, origin: str = "button") -> str:
        response = self._sns.publish(
            TopicArn=self.topic_arn,
            Message=body,
            Subject=TASK_SUBJECT,
            MessageAttributes={
                "logthread_kind": {"DataType": "String", "StringValue": kind},
                "origin": {"DataType": "String", "StringValue": origin},
            },
        )
        return str(response["MessageId"])


class MemoryTaskBus(TaskBus):
    """Keeps published tasks in :attr:`tasks` and other bodies in :attr:`bodies`.

    For tests and the bench's in-process baseline.
    """

    def __init__(self) -> None:
        self.tasks: list[SearchTask] = []
        self.bodies: list[tuple[str, str]] = []  # (kind, body)

    def publish(self, task: SearchTask) -> str:
        self.tasks.append(task)
        return f"memory-{len(self.tasks)}"

    def publish_body(self, body: str, *, kind: str, origin: str = "button") -> str:
        self.bodies.append((kind, body))
        return f"memory-body-{len(self.bodies)}"
