"""Slack posts that still failed after the retries, kept durably for a replay.

The rule (one answer = the messages one task or one notification posts):

- A **parent message** (a post with no ``thread_ts``) that surely did not land
  fails the delivery: nothing of the answer is in Slack yet, so SNS/Lambda's
  retry (locally, the queue's redrive) runs the whole answer again without
  posting anything twice, and after the last retry the event is in the worker's
  dead-letter queue.
- Once the parent is up, the **first reply, file or update that fails**, and
  every call the answer makes after it, are deferred into one :class:`Letter`
  (so the thread keeps its order) and the delivery completes. The letter goes
  to the dead-letter store; ``logthread replay`` posts it later.
- A post that **timed out** may have landed (Slack has no idempotency key and
  slack_sdk never retries a read timeout). It is deferred too, even a parent,
  marked ``uncertain``: a replay skips it, and the calls that need its ts, unless
  told ``include_uncertain``, rather than risk posting twice. An alarm whose
  message was deferred this way closes its episode, so the next ALARM opens a
  thread Slack can find.
- Ephemeral messages and ``response_url`` answers are not deferred: the callers
  have their own fallbacks for them. Nor is :meth:`~logthread.slack.chat.Chat.edit`,
  an edit that a late replay could make wrong.

Letters never get lost silently: if the store refuses one, the worker logs it in
full and fails the delivery.
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from logthread import telemetry
from logthread.slack.chat import Chat, ChatError, _plain

logger = Logger(service="logthread", child=True)

QUEUE_ENV = "SLACK_DEAD_LETTER_QUEUE_URL"
KIND = "logthread.slack.deadletter"
VERSION = 1
# SQS takes 256 KiB per message; leave room for the envelope.
MAX_LETTER_BYTES = 240_000
# The channel errors post_search answers through response_url instead.
HANDLED_BY_CALLER = frozenset({"not_in_channel", "channel_not_found"})
# The calls that make up an answer in the channel; the rest only reach the requester.
DEFERRABLE = frozenset({"post", "update", "upload"})


REF_PREFIX = "$deadletter:"


def is_deferred(ts: str) -> bool:
    """True for the placeholder a deferred post returns instead of a Slack ts."""
    return ts.startswith(REF_PREFIX)


@dataclass
class Letter:
    """One answer's calls that didn't reach Slack, in order.

    Attributes
    ----------
    calls:
        ``{"operation", "arguments", "ref", "uncertain"}`` each. ``ref`` names the
        ts a deferred post would have returned; later calls use it as
        ``thread_ts`` (or ``ts``) and a replay substitutes the real one.
    error:
        The :class:`ChatError` that started the letter (``to_dict()`` form).
    context:
        Where it came from (``path``: "task" or "alarm", a key, the alarm name...).
    """

    calls: list[dict[str, Any]]
    error: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)

    def to_json(self) -> str:
        """The letter as a JSON document under :data:`MAX_LETTER_BYTES` (file text trimmed)."""
        doc: dict[str, Any] = {
            "kind": KIND,
            "version": VERSION,
            "id": self.id,
            "created": self.created,
            "error": self.error,
            "context": self.context,
            "calls": self.calls,
        }
        text = json.dumps(doc)
        while len(text.encode()) > MAX_LETTER_BYTES:
            if not _trim_largest_file(doc["calls"], len(text.encode()) - MAX_LETTER_BYTES):
                break
            text = json.dumps(doc)
        return text

    @classmethod
    def from_json(cls, text: str) -> Letter:
        """Parse a stored letter; ``ValueError`` when it isn't one."""
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("kind") != KIND:
            raise ValueError("not a logthread dead letter")
        calls = doc.get("calls")
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise ValueError("dead letter without calls")
        return cls(
            calls=calls,
            error=dict(doc.get("error") or {}),
            context=dict(doc.get("context") or {}),
            id=str(doc.get("id") or uuid.uuid4().hex),
            created=float(doc.get("created") or 0.0),
        )

    @property
    def uncertain(self) -> bool:
        """Whether a call in it may already have landed (a timeout)."""
        return any(c.get("uncertain") for c in self.calls)


def _trim_largest_file(calls: list[dict[str, Any]], excess: int) -> bool:
    uploads = [c for c in calls if c["operation"] == "upload" and c["arguments"].get("content")]
    if not uploads:
        return False
    biggest = max(uploads, key=lambda c: len(c["arguments"]["content"]))
    content = biggest["arguments"]["content"]
    keep = max(0, len(content) - excess - 200)
    note = "\n[... cut: the dead-letter queue holds 256 KB per message]\n"
    biggest["arguments"]["content"] = content[:keep] + note
    return keep > 0 or len(content) > len(note)


# -- the store -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """A letter taken from the store; settle it with ``delete`` or ``release``."""

    letter: Letter | None  # None: the message was not a letter (kept, reported)
    handle: str
    body: str


class DeadLetters(ABC):
    """Where letters wait for a replay."""

    @abstractmethod
    def send(self, letter: Letter) -> None:
        """Store ``letter`` durably (raises when it can't)."""

    @abstractmethod
    def receive(self, max_count: int = 10) -> list[Received]:
        """Take up to ``max_count`` letters, hidden from other readers until settled."""

    @abstractmethod
    def delete(self, received: Received) -> None:
        """Forget a letter that has been replayed."""

    @abstractmethod
    def release(self, received: Received) -> None:
        """Put a letter back, visible at once."""


class SqsDeadLetters(DeadLetters):
    """Letters as messages of an SQS queue (``SLACK_DEAD_LETTER_QUEUE_URL``).

    Parameters
    ----------
    sqs:
        A boto3 SQS client.
    queue_url:
        The queue.
    visibility_seconds:
        How long a received letter stays hidden while a replay works on it.
    """

    def __init__(self, sqs: Any, queue_url: str, *, visibility_seconds: int = 300) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.visibility_seconds = visibility_seconds

    def send(self, letter: Letter) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=letter.to_json())

    def receive(self, max_count: int = 10) -> list[Received]:
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, max_count)),
            VisibilityTimeout=self.visibility_seconds,
            WaitTimeSeconds=0,
        )
        out = []
        for message in got.get("Messages", []):
            body = str(message["Body"])
            try:
                letter: Letter | None = Letter.from_json(body)
            except ValueError:
                letter = None
            out.append(Received(letter, str(message["ReceiptHandle"]), body))
        return out

    def delete(self, received: Received) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=received.handle)

    def release(self, received: Received) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=received.handle, VisibilityTimeout=0
        )


def from_env(env: Mapping[str, str], client: Callable[[str], Any]) -> DeadLetters | None:
    """The configured store (``SLACK_DEAD_LETTER_QUEUE_URL``), or None without one."""
    url = env.get(QUEUE_ENV, "")
    return SqsDeadLetters(client("sqs"), url) if url else None


# -- deferring an answer's tail ----------------------------------------------------------------


class DeferringChat(Chat):
    """A :class:`Chat` that, once a call fails for good, collects the answer's rest.

    Wraps the worker's chat for one delivery; :attr:`letter` is then what must be
    dead-lettered (None when everything landed). See the module docstring for the
    rule.
    """

    def __init__(self, chat: Chat, *, context: Mapping[str, Any] | None = None) -> None:
        self.chat = chat
        self.context = dict(context or {})
        self.error: ChatError | None = None
        self.calls: list[dict[str, Any]] = []
        self._id = uuid.uuid4().hex

    @property
    def letter(self) -> Letter | None:
        if self.error is None:
            return None
        error = {k: v for k, v in self.error.to_dict().items() if k != "arguments"}
        return Letter(calls=list(self.calls), error=error, context=self.context, id=self._id)

    def take_letter(self) -> Letter | None:
        """The letter so far, handed over once: the chat starts a new one after it."""
        letter = self.letter
        self.error, self.calls, self._id = None, [], uuid.uuid4().hex
        return letter

    def _run(self, operation: str, arguments: dict[str, Any], call: Callable[[], Any]) -> Any:
        if self.error is None:
            try:
                return call()
            except ChatError as exc:
                if exc.code in HANDLED_BY_CALLER:
                    raise
                parent = operation == "post" and not arguments.get("thread_ts")
                if parent and not exc.uncertain:
                    raise  # nothing of the answer is up: the delivery's retry is exact
                self.error = exc
                return self._defer(operation, arguments, uncertain=exc.uncertain)
        return self._defer(operation, arguments, uncertain=False)

    def _defer(self, operation: str, arguments: dict[str, Any], *, uncertain: bool) -> Any:
        ref = f"{REF_PREFIX}{self._id}:{len(self.calls)}" if operation == "post" else ""
        self.calls.append(
            {
                "operation": operation,
                "arguments": _plain(arguments),
                "ref": ref,
                "uncertain": uncertain,
            }
        )
        return "" if operation == "upload" else (ref or None)

    def invoke(self, operation: str, arguments: dict[str, Any]) -> Any:
        if operation not in DEFERRABLE:
            # Only the requester sees these, or (edit) the caller wants it now or never.
            return self.chat.invoke(operation, arguments)
        return self._run(operation, arguments, lambda: self.chat.invoke(operation, arguments))


class LetterOutbox:
    """A delivery's dead letter as :class:`logthread.once.Outbox`: sent once its run is
    recorded, and again by the retry if the queue refused it.
    """

    def __init__(self, chat: DeferringChat, dead_letters: DeadLetters) -> None:
        self.chat = chat
        self.dead_letters = dead_letters

    def take(self) -> str | None:
        letter = self.chat.take_letter()
        return None if letter is None else letter.to_json()

    def send(self, stored: str) -> None:
        send_letter(self.dead_letters, Letter.from_json(stored))

    def flush(self) -> None:
        """Send what a run left without a record (no table, or the run raised)."""
        letter = self.chat.take_letter()
        if letter is not None:
            send_letter(self.dead_letters, letter)


def send_letter(dead_letters: DeadLetters, letter: Letter) -> None:
    """Store ``letter``; when the queue refuses it, log it whole and raise."""
    where = {"letter_id": letter.id, "calls": len(letter.calls), "error": letter.error}
    try:
        dead_letters.send(letter)
    except Exception:
        # The letter's content is in the log line, so it survives even this; the raise
        # fails the delivery so it is retried (and the worker's dead-letter queue follows).
        logger.exception(
            "a Slack dead letter could not be stored", extra={**where, "letter": letter.to_json()}
        )
        raise
    telemetry.count(telemetry.DEAD_LETTERS)
    logger.warning("Slack calls dead-lettered after retries", extra=where)


# -- replay ------------------------------------------------------------------------------------


@dataclass
class Replayed:
    """What a replay of one letter did."""

    posted: list[dict[str, Any]] = field(default_factory=list)  # calls that landed
    skipped: list[dict[str, Any]] = field(default_factory=list)  # uncertain, or needing one
    failed: ChatError | None = None  # the call that failed again (the rest not tried)
    left: Letter | None = None  # what still has to be replayed (None: nothing)


def _landed(chat: Chat, args: dict[str, Any]) -> str:
    return chat.find(args["channel"], args["marker"], thread_ts=args.get("thread_ts"))


def replay(letter: Letter, chat: Chat, *, include_uncertain: bool = False) -> Replayed:
    """Make the letter's calls in order on ``chat``; return what landed and what is left.

    A call whose ``thread_ts``/``ts`` is a ref gets the ts its deferred post got
    now. A post made with a marker is looked up in Slack and posted only if it
    isn't there (so replaying a letter twice posts it once); other uncertain calls
    (and calls needing their ts) are skipped unless ``include_uncertain``. The first call that fails again stops the replay: it and
    the calls after it are left, with every ref already known filled in.
    """
    out = Replayed()
    known: dict[str, str] = {}
    unknown: set[str] = set()
    left: list[dict[str, Any]] = []
    for call in letter.calls:
        args = dict(call["arguments"])
        for key in ("thread_ts", "ts"):
            value = args.get(key)
            if isinstance(value, str) and value in known:
                args[key] = known[value]
        needs = {v for k, v in args.items() if k in ("thread_ts", "ts") and v in unknown}
        resolved = {**call, "arguments": args}
        if out.failed is not None:
            left.append(resolved)
            continue
        marked = call["operation"] == "post" and bool(args.get("marker"))
        if needs or (call.get("uncertain") and not include_uncertain and not marked):
            out.skipped.append(resolved)
            left.append(resolved)
            if call.get("ref"):
                unknown.add(call["ref"])
            continue
        try:
            # A marked post may be in Slack already (it timed out, or an earlier replay posted
            # it and could not delete the letter): it is looked up, not re-sent.
            landed = _landed(chat, args) if marked else ""
            result = landed or getattr(chat, call["operation"])(**args)
        except ChatError as exc:
            out.failed = exc
            left.append(resolved)
            continue
        if call.get("ref"):
            known[call["ref"]] = str(result)
        out.posted.append(resolved)
    if left:
        out.left = Letter(
            calls=left, error=letter.error, context=letter.context, created=letter.created
        )
    return out
