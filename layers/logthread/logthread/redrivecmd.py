"""``logthread redrive``: hand what the worker gave up on back to the worker.

Reads the worker's dead-letter queue (``--queue-url`` or
``WORKER_DEAD_LETTER_QUEUE_URL``; the stack's ``DeadLetterQueueUrl`` output) and
sends each message back the way it came:

- a Lambda on-failure destination record (what the deployed stack's
  ``WorkerDeadLetterQueue`` holds: ``requestContext``, ``requestPayload``,
  ``responsePayload``) is re-driven by invoking the function it names
  asynchronously (``InvocationType=Event``) with the original event, the SNS
  event the worker failed on. Lambda queues it, retries it twice and, if it
  fails again, puts a new record in the same queue;
- an SNS envelope dead-lettered by an SQS queue (what the local stack's delivery
  queues move to their dead-letter queue) is published again to its topic.

A message is deleted only once its re-drive was accepted; one that fails is made
visible again and reported. A message that is neither (not JSON, another
function's record with ``--function``, a record of a success, an event that is
not SNS) is listed and left alone. ``--list`` shows what is waiting, ``--dry-run``
what would be done; neither changes anything.

Exit codes: 0 everything re-driven (or nothing waiting), 1 some messages are
still waiting, 2 error (no queue, AWS refused to hand out the messages).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

QUEUE_ENV = "WORKER_DEAD_LETTER_QUEUE_URL"
EXIT_DONE = 0
EXIT_WAITING = 1
EXIT_ERROR = 2
DEFAULT_LIMIT = 1000
# How long a taken message stays hidden from other readers while a run works on it.
VISIBILITY_SECONDS = 300
# The conditions Lambda records for an async invocation it gave up on.
FAILED = ("RetriesExhausted", "EventAgeExceeded")


# -- what a queue message holds ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """One SNS message as the worker takes it."""

    message: str
    subject: str
    topic_arn: str
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class Failure:
    """A Lambda on-failure destination record of an SNS event.

    ``payload`` is the event exactly as the function got it (``requestPayload``);
    ``notices`` are its SNS records.
    """

    function_arn: str
    payload: dict[str, Any]
    notices: tuple[Notice, ...]
    condition: str = ""
    attempts: int | None = None
    failed_at: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Envelope:
    """An SNS envelope (raw delivery off) that an SQS queue dead-lettered."""

    notice: Notice
    published_at: str = ""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Anything else: listed and left in the queue."""

    reason: str


Content = Failure | Envelope | Unreadable


def read(body: str) -> Content:
    """Read one queue message body; never raises."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return Unreadable("not JSON")
    if not isinstance(data, dict):
        return Unreadable("not a JSON object")
    if isinstance(data.get("requestContext"), dict) and "requestPayload" in data:
        return _failure(data)
    if data.get("Type") == "Notification" and "Message" in data:
        notice = _notice(data)
        if notice is None:
            return Unreadable("an SNS envelope without a Message or TopicArn")
        return Envelope(notice, _text(data.get("Timestamp")))
    return Unreadable("neither a Lambda destination record nor an SNS message")


def _failure(data: dict[str, Any]) -> Content:
    context = data["requestContext"]
    function_arn = _text(context.get("functionArn"))
    condition = _text(context.get("condition"))
    if not function_arn.startswith("arn:") or ":function:" not in function_arn:
        return Unreadable("a destination record that names no function")
    if condition and condition not in FAILED:
        return Unreadable(f"a destination record of {condition!r}, not of a failure")
    payload = data["requestPayload"]
    records = payload.get("Records") if isinstance(payload, dict) else None
    if isinstance(payload, dict) and isinstance(payload.get("alarmData"), dict):
        # An alarm that invoked the worker itself (a Lambda alarm action): the event is the
        # notification, re-driven as it came, like an SNS event.
        records = []
        notices = [Notice(json.dumps(payload), "", ALARM_ACTION)]
    elif not isinstance(payload, dict) or not isinstance(records, list) or not records:
        return Unreadable("a destination record whose event is not an SNS event")
    else:
        notices = []
    for record in records:
        notice = _notice(record.get("Sns")) if isinstance(record, dict) else None
        if notice is None:
            return Unreadable("a destination record whose event is not an SNS event")
        notices.append(notice)
    attempts = context.get("approximateInvokeCount")
    return Failure(
        function_arn=function_arn,
        payload=payload,
        notices=tuple(notices),
        condition=condition,
        attempts=attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None,
        failed_at=_text(data.get("timestamp")),
        error=_error(data.get("responsePayload")),
    )


def _notice(sns: Any) -> Notice | None:
    if not isinstance(sns, dict):
        return None
    message, topic = sns.get("Message"), sns.get("TopicArn")
    if not isinstance(message, str) or not isinstance(topic, str) or not topic:
        return None
    return Notice(message, _text(sns.get("Subject")), topic, _text(sns.get("MessageId")))


def _error(response: Any) -> str:
    # Python's runtime answers {"errorMessage", "errorType", "requestId", "stackTrace"}.
    if isinstance(response, dict):
        kind, message = _text(response.get("errorType")), _text(response.get("errorMessage"))
        return f"{kind}: {message}" if kind and message else kind or message
    return _text(response)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


# -- describing it -------------------------------------------------------------------------


def clean(text: str, limit: int = 120) -> str:
    """One line of untrusted text, safe for a terminal (no control characters), cut."""
    line = "".join(c if c.isprintable() else " " for c in text.replace("\n", " "))
    line = " ".join(line.split())
    return line[:limit] + ("…" if len(line) > limit else "")


def when(timestamp: str) -> str:
    """``2024-05-14 03:21:07 UTC`` from an ISO 8601 time ("?" when unreadable)."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return clean(timestamp, 40) or "?"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def what(notice: Notice) -> str:
    """What the message asked of the worker: an alarm's name, a search's request id."""
    # Imported here: the alarm parser is needed only to describe a message.
    from logthread.alarms.parse import parse
    from logthread.tasks import AlarmClaim, AlarmRescan, FollowUp, SearchTask
    from logthread.worker.inbox import Notification, decode

    delivery = decode(notice.message, notice.subject)
    if isinstance(delivery, SearchTask):
        where = (
            f" for channel {clean(delivery.reply.channel, 20)}" if delivery.reply.channel else ""
        )
        return f"search task, request id {clean(delivery.query.request_id, 80)}{where}"
    if isinstance(delivery, AlarmRescan):
        return f"alarm rescan of {clean(delivery.episode_key)}"
    if isinstance(delivery, FollowUp):
        return f"follow-up {delivery.seq} of {clean(delivery.episode_key)}"
    if isinstance(delivery, AlarmClaim):
        return f"alarm claim of {clean(delivery.episode_key)}"
    if isinstance(delivery, Notification):
        name = parse(notice.message, notice.subject).name
        if name:
            return f"alarm {clean(name)!r}"
        return f"notification {clean(notice.message, 60)!r}"
    return f"unreadable {delivery.kind} ({clean(delivery.reason, 80)})"


# What a Lambda alarm action's event is "from" in the report (it came through no topic).
ALARM_ACTION = "alarm-action"


def topic_name(arn: str) -> str:
    return clean(arn.rsplit(":", 1)[-1], 80)


def function_name(name_or_arn: str) -> str:
    """``name`` from a function name or ARN (``arn:…:function:name[:qualifier]``)."""
    parts = name_or_arn.split(":")
    return parts[6] if name_or_arn.startswith("arn:") and len(parts) > 6 else name_or_arn


def unqualified(function_arn: str) -> str:
    """The function's ARN without a version or alias: its current code, ``$LATEST``."""
    return ":".join(function_arn.split(":")[:7])


def headline(content: Content) -> str:
    """The message in one line, then its detail (the error), for the report."""
    if isinstance(content, Failure):
        count = content.attempts
        attempts = "" if count is None else f" after {count} attempt{'' if count == 1 else 's'}"
        reason = f" ({clean(content.condition, 40)})" if content.condition else ""
        subjects = "; ".join(
            f"{what(n)} from topic {topic_name(n.topic_arn)}" for n in content.notices
        )
        return f"failed {when(content.failed_at)}{attempts}{reason}: {subjects}"
    if isinstance(content, Envelope):
        n = content.notice
        return (
            f"published {when(content.published_at)}: {what(n)} from topic "
            f"{topic_name(n.topic_arn)} (an SNS message an SQS queue gave up on)"
        )
    return f"unreadable, left in the queue: {content.reason}"


# -- the queue -----------------------------------------------------------------------------


@dataclass(slots=True)
class Taken:
    """A message taken from the queue, hidden until it is deleted or released."""

    message_id: str
    handle: str
    body: str
    content: Content


class DeadLetterQueue:
    """The worker's dead-letter queue (SQS)."""

    def __init__(self, sqs: Any, url: str, *, visibility_seconds: int = VISIBILITY_SECONDS) -> None:
        self.sqs = sqs
        self.url = url
        self.visibility_seconds = visibility_seconds

    def drain(self, limit: int = DEFAULT_LIMIT) -> list[Taken]:
        """Take up to ``limit`` messages, each once, hidden until settled."""
        taken: dict[str, Taken] = {}
        try:
            while len(taken) < limit:
                got = self.sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=max(1, min(10, limit - len(taken))),
                    VisibilityTimeout=self.visibility_seconds,
                    WaitTimeSeconds=0,
                )
                messages = got.get("Messages", [])
                if not messages:
                    break
                for m in messages:
                    body = str(m.get("Body", ""))
                    # A message seen again keeps its newest handle: only that one deletes it.
                    taken[m["MessageId"]] = Taken(
                        m["MessageId"], m["ReceiptHandle"], body, read(body)
                    )
        except Exception:
            for item in taken.values():
                with contextlib.suppress(Exception):
                    self.release(item)
            raise
        return list(taken.values())

    def delete(self, taken: Taken) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=taken.handle)

    def release(self, taken: Taken) -> None:
        """Make the message visible again at once."""
        self.sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=taken.handle, VisibilityTimeout=0
        )


# -- sending it back -----------------------------------------------------------------------


class Redriver:
    """Sends a message back the way it came.

    Parameters
    ----------
    lambda_client:
        boto3 Lambda client (for destination records).
    sns_client:
        Builds the boto3 SNS client, called only for an SNS envelope.
    function:
        When set (a name or an ARN), only records of this function are re-driven;
        others are left in the queue.
    """

    def __init__(
        self,
        lambda_client: Any,
        sns_client: Callable[[], Any],
        *,
        function: str = "",
    ) -> None:
        self.lambda_client = lambda_client
        self._sns_client = sns_client
        self.function = function

    def refusal(self, content: Content) -> str:
        """Why ``content`` stays in the queue ("" when it can be re-driven)."""
        if isinstance(content, Unreadable):
            return content.reason
        if (
            isinstance(content, Failure)
            and self.function
            and function_name(content.function_arn) != function_name(self.function)
        ):
            return f"a record of {function_name(content.function_arn)!r}, not of {self.function!r}"
        return ""

    def plan(self, content: Content) -> str:
        """What :meth:`send` would do, in words."""
        if isinstance(content, Failure):
            name = clean(function_name(content.function_arn), 80)
            return f"invoke {name} asynchronously with the original event"
        if isinstance(content, Envelope):
            return f"publish it again to topic {topic_name(content.notice.topic_arn)}"
        return "leave it"

    def send(self, content: Content) -> str:
        """Re-drive ``content``; return what was done. Raises when it was not accepted."""
        if isinstance(content, Failure):
            answer = self.lambda_client.invoke(
                FunctionName=unqualified(content.function_arn),
                InvocationType="Event",
                Payload=json.dumps(content.payload).encode("utf-8"),
            )
            status = answer.get("StatusCode")
            if status != 202:
                raise RuntimeError(f"Lambda answered {status}, not 202 (accepted)")
            return f"invoked {clean(function_name(content.function_arn), 80)} (accepted)"
        if isinstance(content, Envelope):
            n = content.notice
            kwargs: dict[str, Any] = {"TopicArn": n.topic_arn, "Message": n.message}
            if n.subject:
                kwargs["Subject"] = n.subject
            self._sns_client().publish(**kwargs)
            return f"published again to topic {topic_name(n.topic_arn)}"
        raise ValueError("an unreadable message cannot be re-driven")


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"AWS refused: {err.get('Code', 'error')}: {clean(str(err.get('Message', '')), 200)}"
    return f"{type(exc).__name__}: {clean(str(exc), 200)}"


def redrive_all(
    queue: DeadLetterQueue,
    redriver: Redriver,
    out: TextIO,
    *,
    mode: str = "redrive",
    limit: int = DEFAULT_LIMIT,
) -> int:
    """List, plan (``dry-run``) or re-drive what waits in ``queue``; print; return the exit code.

    ``mode`` is ``list``, ``dry-run`` or ``redrive``. Messages are taken first (hidden),
    then settled one by one, so a message released after a failure is not taken twice.
    """
    taken = queue.drain(limit)
    if not taken:
        print("nothing waiting in the worker's dead-letter queue", file=out)
        return EXIT_DONE
    sent = possible = 0
    for index, item in enumerate(taken, 1):
        content = item.content
        print(f"[{index}] {headline(content)}", file=out)
        if isinstance(content, Unreadable):
            print(f"    body: {clean(item.body, 100)!r}", file=out)
        elif isinstance(content, Failure) and content.error:
            print(f"    error: {clean(content.error, 300)}", file=out)
        refusal = redriver.refusal(content)
        if refusal and not isinstance(content, Unreadable):
            print(f"    left in the queue: {refusal}", file=out)
        if refusal:
            queue.release(item)
            continue
        possible += 1
        if mode == "list":
            queue.release(item)
            continue
        if mode == "dry-run":
            print(f"    would {redriver.plan(content)}", file=out)
            queue.release(item)
            continue
        try:
            done = redriver.send(content)
        except Exception as exc:  # one message failing must not strand the others hidden
            print(f"    failed, left in the queue: {_failure_text(exc)}", file=out)
            queue.release(item)
            continue
        try:
            queue.delete(item)
        except Exception as exc:
            # It comes back after the visibility timeout and would be re-driven twice:
            # the worker's exactly-once records answer the copy.
            print(f"    {done}, but not deleted from the queue: {_failure_text(exc)}", file=out)
            continue
        sent += 1
        print(f"    {done}; deleted from the queue", file=out)
    total = len(taken)
    left = total - sent
    if mode == "list":
        print(f"{total} waiting: {possible} can be re-driven, {total - possible} cannot", file=out)
    elif mode == "dry-run":
        print(f"would re-drive {possible} of {total}; nothing changed", file=out)
    else:
        print(f"re-drove {sent} of {total}; {left} left in the queue", file=out)
    return EXIT_WAITING if left else EXIT_DONE


# -- the command ---------------------------------------------------------------------------


def run_redrive(
    args: argparse.Namespace,
    *,
    sqs: Any = None,
    lambda_client: Any = None,
    sns: Any = None,
) -> int:
    """``logthread redrive``: build the clients, then :func:`redrive_all`."""
    url = args.queue_url or os.environ.get("WORKER_DEAD_LETTER_QUEUE_URL", "")
    if not url:
        print(f"logthread redrive: no queue (--queue-url or {QUEUE_ENV})", file=sys.stderr)
        return EXIT_ERROR
    if args.limit < 1:
        print("logthread redrive: --limit must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    mode = "list" if args.list else "dry-run" if args.dry_run else "redrive"
    try:
        from logthread.aws import client

        if sqs is None:
            sqs = client("sqs", region_name=args.region)
        if lambda_client is None:
            lambda_client = client("lambda", region_name=args.region)

        def sns_client() -> Any:
            return sns if sns is not None else client("sns", region_name=args.region)

        redriver = Redriver(lambda_client, sns_client, function=args.function)
        return redrive_all(
            DeadLetterQueue(sqs, url), redriver, sys.stdout, mode=mode, limit=args.limit
        )
    except (BotoCoreError, ClientError) as exc:
        print(f"logthread redrive: {_failure_text(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a CLI answers in one line, not a traceback
        print(f"logthread redrive: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def add_redrive_command(commands: Any) -> None:
    """Register ``redrive``: re-drive the worker's dead-letter queue."""
    p = commands.add_parser(
        "redrive",
        help="send the events the worker gave up on back to it (its dead-letter queue)",
        description="Re-drive the worker's dead-letter queue: invoke the worker again, "
        "asynchronously, with each failed event (an SNS envelope from an SQS delivery queue "
        "is published again to its topic), delete only what was accepted, and report. "
        "Exit status: 0 nothing left, 1 some messages still waiting, 2 error.",
    )
    p.add_argument("--queue-url", default="", help=f"the queue (default: ${QUEUE_ENV})")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--list", action="store_true", help="list what is waiting (when, error, topic, what)"
    )
    how.add_argument(
        "--dry-run", action="store_true", help="say what would be done for each; change nothing"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"take at most N messages (default: {DEFAULT_LIMIT})",
    )
    p.add_argument(
        "--function",
        default="",
        metavar="NAME",
        help="re-drive only records of this function (name or ARN; the stack's "
        "WorkerFunctionName output); others are left in the queue",
    )
    p.add_argument("--region", help="AWS region (default: from the environment or profile)")
    p.set_defaults(handler=run_redrive)
