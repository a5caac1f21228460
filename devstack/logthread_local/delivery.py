"""SNS to the worker, locally: SQS queues subscribed to the topics, drained into a handler.

moto can't deliver SNS to Lambda without Docker, so each topic has an SQS queue
subscribed with raw delivery off; a :class:`Pump` thread per queue receives from
it and calls the worker's Lambda handler with the SQS event Lambda's event source
would build (the SNS envelope as each record's body). A handled message is
deleted; a failed one is made visible again at once, and the queue's redrive
policy moves it to the dead-letter queue after its last receive, as Lambda's
retries and on-failure destination would.

The pumps long-poll, as Lambda's event source does: moto answers a receive the
moment a message arrives, and an idle stack costs nothing (short polls every 50 ms
kept a third of a core busy per stack, and a four-worker storm a whole one).
:meth:`Pump.stop` wakes the threads waiting in a receive with one :data:`WAKE`
message each, so stopping doesn't wait for the polls to run out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from logthread_local.lambdas import Handler, LambdaContext, sqs_record

log = logging.getLogger("logthread_local.delivery")

# A receive waits this long for a message (SQS's WaitTimeSeconds).
WAIT_SECONDS = 2
# The body of the message stop() sends to wake a waiting receive; never handed to the worker.
WAKE = "logthread-local: wake up, the pump is stopping"


@dataclass
class Delivery:
    """One message the pump handed to the worker."""

    topic: str  # "task" | "alarm"
    envelope: dict[str, Any]  # the SNS envelope, as the SQS body carried it
    error: str = ""  # what the handler raised (or the items it reported failed)
    done: bool = False  # the handler has returned
    seconds: float = 0.0  # how long the handler ran

    @property
    def problem(self) -> str:
        """The error in one line: a batch failure's last line names the real cause."""
        lines = [line.strip() for line in self.error.splitlines() if line.strip()]
        return lines[-1] if lines else ""


class Pump:
    """One thread per queue, handing each message to ``handler``; use start() / stop().

    Parameters
    ----------
    client:
        Builds a boto3 client for a service name (each thread gets its own).
    queues:
        Topic label ("task", "alarm") -> the URL of the queue subscribed to it.
    retry_delay:
        Seconds a failed message stays hidden before its next receive.
    wait_seconds:
        How long a receive waits for a message (long polling); 0: short polls,
        ``poll`` seconds apart.
    handler:
        The worker's Lambda handler, or several: each is one concurrent "instance"
        (a thread per handler and queue), as Lambda runs the worker concurrently up
        to its reserved concurrency.
    """

    def __init__(
        self,
        client: Callable[[str], Any],
        queues: Mapping[str, str],
        handler: Handler | Sequence[Handler],
        *,
        function_name: str = "logthread-worker",
        timeout_seconds: float = 120.0,
        poll: float = 0.05,
        retry_delay: int = 0,
        wait_seconds: int = WAIT_SECONDS,
    ) -> None:
        self._client = client
        self.queues = dict(queues)
        self._handlers = list(handler) if isinstance(handler, Sequence) else [handler]
        self._function_name = function_name
        self._timeout = timeout_seconds
        self._poll = poll
        self._retry_delay = retry_delay
        self._wait_seconds = wait_seconds
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._receiving = dict.fromkeys(self.queues, 0)  # threads in a receive, per queue
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Pump:
        for topic in self.queues:
            for n, handler in enumerate(self._handlers):
                thread = threading.Thread(
                    target=self._run,
                    args=(topic, handler),
                    name=f"pump-{topic}" + (f"-{n}" if n else ""),
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self._lock:  # no thread starts a receive after this, and none is left uncounted
            self._stop.set()
            receiving = dict(self._receiving)
        if self._wait_seconds and any(receiving.values()):
            self._wake(receiving)
        for thread in self._threads:
            thread.join(timeout=self._timeout)
        self._threads.clear()

    def _wake(self, receiving: Mapping[str, int]) -> None:
        """One :data:`WAKE` message per thread waiting in a receive (each takes one message)."""
        try:
            sqs = self._client("sqs")
            for topic, count in receiving.items():
                for _ in range(count):
                    sqs.send_message(QueueUrl=self.queues[topic], MessageBody=WAKE)
        except Exception:  # the polls then run out by themselves
            log.warning("could not wake the pumps; they stop within %s s", self._wait_seconds)

    def _run(self, topic: str, handler: Handler) -> None:
        sqs = self._client("sqs")
        url = self.queues[topic]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        while True:
            with self._lock:
                if self._stop.is_set():
                    return
                self._receiving[topic] += 1
            try:
                got = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=self._wait_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("receiving from the %s queue failed", topic)
                self._stop.wait(0.5)
                continue
            finally:
                with self._lock:
                    self._receiving[topic] -= 1
            messages = got.get("Messages", [])
            for message in messages:
                if message.get("Body") == WAKE:  # sent by stop(), or left by an earlier pump
                    with contextlib.suppress(Exception):
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    continue
                self._deliver(handler, sqs, topic, url, arn, message)
            if not messages and not self._wait_seconds:
                self._stop.wait(self._poll)

    def _deliver(
        self,
        handler: Handler,
        sqs: Any,
        topic: str,
        url: str,
        arn: str,
        message: dict[str, Any],
    ) -> None:
        delivery = Delivery(topic, json.loads(message["Body"]))
        with self._lock:
            self._in_flight += 1
            self.deliveries.append(delivery)
        started = time.monotonic()
        try:
            event = {"Records": [sqs_record(message, arn)]}
            ctx = LambdaContext(self._function_name, timeout_seconds=self._timeout)
            result = handler(event, ctx)
            failures = result.get("batchItemFailures") if isinstance(result, dict) else None
            if failures:
                delivery.error = f"batchItemFailures: {failures}"
        except Exception as exc:  # Lambda would retry, then dead-letter; so does the redrive
            delivery.error = f"{type(exc).__name__}: {exc}"
            log.exception("the worker failed on a %s message", topic)
        try:
            if delivery.error:
                # Visible again after retry_delay (default at once) rather than after the
                # visibility timeout; Lambda waits a minute or two between async retries.
                sqs.change_message_visibility(
                    QueueUrl=url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._retry_delay,
                )
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        except Exception:
            log.warning("could not settle a %s message", topic, exc_info=True)
        finally:
            delivery.seconds = time.monotonic() - started
            delivery.done = True
            with self._lock:
                self._in_flight -= 1

    def wait_idle(self, timeout: float = 30.0, *, settle: float = 0.3) -> bool:
        """Wait until both queues are empty and the worker is idle; False on timeout.

        ``settle`` is how long things must stay quiet, since a handler may publish
        a follow-up message just as it finishes.
        """
        sqs = self._client("sqs")
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = self._in_flight > 0
            for url in self.queues.values():
                if busy:
                    break
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                    ],
                )["Attributes"]
                busy = any(int(v) for v in attrs.values())
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return True
            time.sleep(0.05)
        return False
