"""A deterministic simulation of the alarm path: is the Slack state right whatever happens?

One run (one seed) makes, for each of a few CloudWatch alarms, a true history of
state changes (ALARM, OK, ALARM again, INSUFFICIENT_DATA..., with increasing
``StateChangeTime``), delivers every notification 1-3 times in a shuffled order
through the worker's public entry point (:func:`logthread.worker.handle_message`),
and meanwhile, on a schedule drawn from ``random.Random(seed)`` only:

- **crashes** the worker right *after* a side effect succeeded: after a Slack
  call (before the worker could record it) or after a write to the table
  (before the next post). :class:`Crash` is a ``BaseException``, as a killed
  process can't be caught, so Powertools keeps the in-progress record; the
  attempt tells Powertools it has no time left, so that record has expired by
  the retry, as a timed-out Lambda's has. The crashed delivery is re-queued
  (SNS/Lambda retry); after ``max_attempts`` it goes to the worker's dead-letter
  queue, which is redriven at the end (faults off), as an operator would;
- **Slack faults** through the stand-in (:meth:`SlackStandin.fail_next`): 429
  with ``Retry-After``, 500/503 and connection resets, either absorbed by
  slack_sdk's retries or outlasting them, and timeouts (a slow answer that
  lands after the client gave up);
- **races**: when a delivery is about to make a conditional write to the table,
  another pending delivery of the same alarm runs to completion first (a copy
  of the same notification then meets Powertools' in-progress record and is
  re-queued);
- **time**: the worker's clock (``deps.now``, also the store's) advances
  between deliveries, sometimes by more than the stale-claim takeover delay.

Slack dead letters (:mod:`logthread.slack.deadletter`) go to an in-memory store
and are replayed at the end. Then the final Slack state is read from the
stand-in and checked (:func:`check`); see :data:`KINDS` for the invariants.

How Slack is read: each notification's ``NewStateReason`` starts with a marker
(``SIM-a<alarm>-n<seq>-<STATE>``) that every rendering of it shows (the alarm
message's reason, "Still in ALARM", "Back to OK", the resolved message), so a
message shows a notification when its text or blocks hold its marker. An episode
runs from an ALARM to the next OK (INSUFFICIENT_DATA stays in it); its parent is
the top-level message showing one of its ALARMs, and the state that parent shows is
the word in its header (ALARM, RESOLVED or OK, INSUFFICIENT_DATA). A notification
outside every episode (an OK first, INSUFFICIENT_DATA after an OK) may be shown in
any thread, or in a message of its own while no earlier ALARM had been handled.

Everything real: moto's DynamoDB and Logs over HTTP, the Slack stand-in behind
slack_sdk's ``WebClient``, Powertools Idempotency. The worker is driven only
through ``handle_message`` and :class:`~logthread.worker.deps.WorkerDeps`; the
store is instrumented by subclassing whatever ``EpisodeStore`` is at run time
(every public method) and by botocore's event hooks on the table's client, so the
harness does not depend on the store's method names.

``python -m logthread_local.episodesim [--seeds N] [--seed S]`` runs it on its own
moto and stand-in; ``tests/functional/test_episode_sim.py`` runs a few seeds and
``bench/bench_episodes.py`` many.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import inspect
import json
import random
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from logthread.config import from_mapping
from logthread.slack.chat import Chat, ChatError, SlackChat
from logthread.slack.deadletter import DeadLetters, Letter, Received, replay
from logthread.slack.pacing import ChannelPacer
from logthread.slack.webclient import make_web_client
from logthread.worker import WorkerDeps, handle_message
from logthread_local.aws import create_table
from logthread_local.slack_standin import RESET, SlackStandin

CHANNEL = "C0EPISODESIM"
ACCOUNT = "123456789012"
REGION = "us-east-1"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alarms"
# DynamoDB calls that change the table.
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
# slack_sdk's retries (logthread.slack.webclient.retry_handlers): a fault repeated this many
# times outlasts them and surfaces as a ChatError.
OUTLAST = {"429": 9, "500": 4, "503": 4, RESET: 4}
CLIENT_TIMEOUT = 1.0  # seconds; a "timeout" fault answers after SLOW_ANSWER
SLOW_ANSWER = 1.2
NESTING = 2  # races nest at most this deep
_MARKER = re.compile(r"SIM-a(\d+)-n(\d{3})-")
_SHOWN = re.compile(r"\b(ALARM|RESOLVED|OK|INSUFFICIENT_DATA)\b\s*:")

LOOKUP = (
    " [after a post whose outcome the worker lost (a crash right after it, or a timeout):"
    " the Slack lookup by marker missed it]"
)
UNKNOWABLE = (
    " [an ALARM from INSUFFICIENT_DATA, handled before the OK that ended the episode before"
    " it arrived: nothing said yet that an episode had ended]"
)
# The invariants, as violation kinds.
KINDS = {
    "one-parent": "each episode has exactly one parent message, and it is its own",
    "foreign": "a thread shows only its own episode's state changes",
    "stale-parent": "the parent shows the state of its episode's newest StateChangeTime",
    "resolved-while-alarm": "never resolved while the newest state is ALARM",
    "stray-top-level": "no new top-level message for OK/INSUFFICIENT_DATA once the alarm has an episode",
    "posted-twice": "nothing posted twice",
    "lost": "each notification's content is in Slack or in a dead letter",
    "stuck": "every notification is handled in the end (after a calm redrive)",
}


class Crash(BaseException):
    """The worker process dies here (a BaseException: nothing in the worker catches it)."""


# -- knobs and results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What one seeded run may do; rates are per attempt, per Slack call, per conditional write."""

    alarms: int = 3
    notifications: int = 12  # across the alarms
    max_copies: int = 3  # each notification is delivered 1..max_copies times
    crash_rate: float = 0.35  # attempts that crash after one of their side effects
    fault_rate: float = 0.1  # Slack calls that meet a fault
    outlast_rate: float = 0.3  # ... of which outlast slack_sdk's retries
    timeout_rate: float = 0.08  # ... of which are a timeout (the call lands, the answer is lost)
    race_rate: float = 0.3  # conditional writes before which another delivery runs
    long_gap_rate: float = 0.15  # steps after which more than the stale-claim delay passes
    max_attempts: int = 3  # SNS -> Lambda: the first try and 2 retries, then the worker DLQ
    logs: bool = True  # a failing request in the logs for each ALARM
    redrive: bool = True  # redrive the worker DLQ at the end (no faults)
    replay_letters: bool = True  # replay the Slack dead letters at the end


@dataclass(frozen=True, slots=True)
class Note:
    """One notification of the true history."""

    alarm: int
    seq: int  # position in its alarm's history
    state: str
    at_ms: int  # StateChangeTime
    offset_s: int  # seconds since the history's start (for traces)
    body: str
    subject: str

    @property
    def label(self) -> str:
        m, s = divmod(self.offset_s, 60)
        return f"a{self.alarm}.{self.seq} {self.state}@{m}m{s:02d}s"

    @property
    def marker(self) -> str:
        return f"SIM-a{self.alarm}-n{self.seq:03d}-"

    @property
    def ident(self) -> tuple[int, int]:
        return (self.alarm, self.seq)


@dataclass(slots=True)
class Delivery:
    """One copy of a notification on its way to the worker."""

    note: Note
    copy: int
    attempts: int = 0


@dataclass(slots=True)
class Attempt:
    """One invocation of the worker for one delivery."""

    tick: int
    delivery: Delivery
    depth: int
    crash: Callable[[list[str]], bool] | None
    done: list[str] = field(default_factory=list)  # side effects that succeeded, in order
    log: list[str] = field(default_factory=list)  # done, plus failures and races
    store: list[str] = field(default_factory=list)  # store methods running (outermost first)
    asked_time: bool = False
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class Post:
    """A chat.postMessage that landed, and who made it."""

    note: tuple[int, int]
    event: int
    thread_ts: str
    digest: str
    text: str


@dataclass(frozen=True, slots=True)
class Violation:
    seed: int | str
    kind: str
    alarm: int
    detail: str
    trace: tuple[str, ...] = ()
    needs_lookup: bool = False  # follows a post whose outcome the worker lost
    unknowable: bool = False  # the worker could not yet know an episode had ended

    def __str__(self) -> str:
        lines = [f"[{self.kind}] seed {self.seed}, alarm a{self.alarm}: {self.detail}"]
        lines += [f"    {line}" for line in self.trace]
        return "\n".join(lines)


@dataclass(slots=True)
class RunReport:
    """One schedule: what was injected, and what was wrong at the end."""

    seed: int | str
    notes: int = 0
    deliveries: int = 0  # copies delivered (each retried as needed)
    attempts: int = 0
    crashes: int = 0
    crashes_after: Counter[str] = field(default_factory=Counter)  # "slack" / "table"
    faults: Counter[str] = field(default_factory=Counter)  # "429", "500", "reset", "timeout"...
    outlasted: int = 0  # faults that outlasted slack_sdk's retries
    races: int = 0
    in_progress: int = 0  # copies that met another copy's in-progress record
    failed: Counter[str] = field(default_factory=Counter)  # other errors the worker raised
    worker_dlq: int = 0  # deliveries that ran out of attempts
    stuck: int = 0  # ... and still failed after the redrive
    letters: int = 0  # Slack dead letters written
    letters_left: int = 0  # ... still waiting after the replay
    unexpected: int = 0  # Slack failures nobody injected (a loaded machine): not reproducible
    seconds: float = 0.0
    violations: list[Violation] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.notes} notifications, {self.deliveries} deliveries, "
            f"{self.attempts} attempts, {self.crashes} crashes, {sum(self.faults.values())} "
            f"Slack faults, {self.races} races, {self.worker_dlq} to the worker DLQ, "
            f"{len(self.violations)} violations ({self.seconds:.1f} s)"
            + (f"; {self.unexpected} Slack failures not injected" if self.unexpected else "")
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One delivery of a hand-written schedule.

    ``note`` is ``"a<alarm>.<seq>"``; ``crash`` names the side effect to crash after:
    ``"P:top"`` (a top-level post), ``"P:reply"``, ``"U:update"``, ``"W:<store method>"``
    (a table write), the first one in this attempt whose label starts so, ``"+N"`` for N
    side effects later (``"P:top+1"``); ``wait`` is how far the clock moves first.
    """

    note: str
    crash: str | None = None
    wait: float = 30.0


# -- the true history -------------------------------------------------------------------------


def alarm_name(alarm: int) -> str:
    return f"SimFn{alarm}-Errors"


def _function(alarm: int) -> str:
    return f"SimFn{alarm}"


def _cw_time(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


@functools.cache
def _template(name: str) -> tuple[dict[str, Any], str]:
    envelope = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return json.loads(envelope["Message"]), str(envelope.get("Subject", ""))


REASONS = {
    "ALARM": "Threshold Crossed: 1 out of the last 1 datapoints was greater than or equal "
    "to the threshold (1.0).",
    "OK": "Threshold Crossed: 1 out of the last 1 datapoints was not greater than or equal "
    "to the threshold (1.0).",
    "INSUFFICIENT_DATA": "Insufficient Data: 1 datapoint was unknown.",
}


def make_note(alarm: int, seq: int, state: str, previous: str, at_ms: int, offset_s: int) -> Note:
    """The SNS Message and Subject CloudWatch would send, from the fixtures as templates."""
    fixture = {
        "ALARM": "lambda_errors_hoge_repeat.json"
        if previous == "ALARM"
        else "lambda_errors_hoge.json",
        "OK": "lambda_errors_hoge_ok.json",
        "INSUFFICIENT_DATA": "lambda_errors_hoge_insufficient.json",
    }[state]
    doc, subject = _template(fixture)
    doc = json.loads(json.dumps(doc))
    name, fn = alarm_name(alarm), _function(alarm)
    marker = f"SIM-a{alarm}-n{seq:03d}-{state}"
    doc.update(
        AlarmName=name,
        AlarmDescription=f"{fn} returned errors (simulated)",
        AlarmArn=f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        NewStateValue=state,
        OldStateValue=previous,
        NewStateReason=f"{marker} {REASONS[state]}",
        StateChangeTime=_cw_time(at_ms),
    )
    doc["Trigger"] = {**doc["Trigger"], "Dimensions": [{"value": fn, "name": "FunctionName"}]}
    subject = subject.replace("HogeService-Errors", name)
    return Note(alarm, seq, state, at_ms, offset_s, json.dumps(doc), subject)


def make_history(rng: random.Random, alarms: int, notifications: int, end_ms: int) -> list[Note]:
    """Each alarm's state changes, a minute to 20 apart, all before ``end_ms``."""
    counts = [1] * alarms
    for _ in range(max(0, notifications - alarms)):
        counts[rng.randrange(alarms)] += 1
    follows = {
        "": (("ALARM", 8), ("OK", 1), ("INSUFFICIENT_DATA", 1)),
        "ALARM": (("ALARM", 3), ("OK", 6), ("INSUFFICIENT_DATA", 1)),
        "OK": (("ALARM", 8), ("INSUFFICIENT_DATA", 2)),
        "INSUFFICIENT_DATA": (("ALARM", 6), ("OK", 4)),
    }
    plans: list[list[tuple[str, int]]] = []
    for count in counts:
        state, t, changes = "", 0, []
        for _ in range(count):
            options = follows[state]
            state = rng.choices([s for s, _ in options], [w for _, w in options])[0]
            t += rng.randint(60, 1200) * 1000 + rng.randint(0, 999)
            changes.append((state, t))
        plans.append(changes)
    span = max(t for changes in plans for _, t in changes) + 60_000
    start = end_ms - span
    notes: list[Note] = []
    for alarm, changes in enumerate(plans):
        previous = "OK"
        for seq, (state, t) in enumerate(changes):
            notes.append(make_note(alarm, seq, state, previous, start + t, t // 1000))
            previous = state
    return notes


@dataclass(frozen=True, slots=True)
class Episode:
    alarm: int
    index: int
    notes: tuple[Note, ...]

    @property
    def name(self) -> str:
        return f"a{self.alarm}/E{self.index}"


def episodes(notes: Iterable[Note]) -> tuple[list[Episode], dict[tuple[int, int], int | None]]:
    """The true episodes: from an ALARM to the next OK (INSUFFICIENT_DATA stays in it).

    Returns the episodes and, for each note, the index of its episode in that list
    (None: a note outside every episode, e.g. OK before any ALARM).
    """
    found: list[Episode] = []
    of: dict[tuple[int, int], int | None] = {}
    by_alarm: dict[int, list[Note]] = {}
    for note in notes:
        by_alarm.setdefault(note.alarm, []).append(note)
    for alarm in sorted(by_alarm):
        current: list[Note] | None = None
        index = 0
        for note in sorted(by_alarm[alarm], key=lambda n: n.at_ms):
            if note.state == "ALARM" and current is None:
                current = []
            if current is None:
                of[note.ident] = None
                continue
            current.append(note)
            of[note.ident] = len(found)
            if note.state == "OK":
                found.append(Episode(alarm, index, tuple(current)))
                current, index = None, index + 1
        if current:
            found.append(Episode(alarm, index, tuple(current)))
    return found, of


def _from_no_data(ident: tuple[int, int], by_id: dict[tuple[int, int], Note]) -> bool:
    """Whether the note is an ALARM whose state before it was INSUFFICIENT_DATA."""
    note = by_id[ident]
    before = by_id.get((note.alarm, note.seq - 1))
    return note.state == "ALARM" and before is not None and before.state == "INSUFFICIENT_DATA"


# -- the Slack dead letters ---------------------------------------------------------------------


class MemoryDeadLetters(DeadLetters):
    """The Slack dead-letter queue, in memory."""

    def __init__(self) -> None:
        self.letters: dict[str, Letter] = {}
        self.sent = 0

    def send(self, letter: Letter) -> None:
        Letter.from_json(letter.to_json())  # it must survive the queue
        self.letters[letter.id] = letter
        self.sent += 1

    def receive(self, max_count: int = 10) -> list[Received]:
        return [
            Received(letter, key, letter.to_json())
            for key, letter in list(self.letters.items())[:max_count]
        ]

    def delete(self, received: Received) -> None:
        self.letters.pop(received.handle, None)

    def release(self, received: Received) -> None:
        pass


# -- the instrumented seams ---------------------------------------------------------------------


class SimChat(Chat):
    """The worker's chat: the real :class:`SlackChat`, with faults and crashes around each call."""

    def __init__(self, inner: Chat, sim: Simulation) -> None:
        self.inner = inner
        self.sim = sim

    def invoke(self, operation: str, arguments: dict[str, Any]) -> Any:
        return self.sim._slack_call(self.inner, operation, arguments)


def _store_class(sim: Simulation) -> type:
    """A subclass of whatever ``EpisodeStore`` is now, every public method instrumented."""
    from logthread.alarms.episodes import EpisodeStore

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            with sim._in_store(name):
                result = fn(self, *args, **kwargs)
            if isinstance(result, EpisodeStore) and not isinstance(result, cls):
                result.__class__ = cls  # e.g. with_ttl(): the same store, still watched
            return result

        return method

    members = {
        name: wrap(name, fn)
        for name, fn in inspect.getmembers(EpisodeStore, inspect.isfunction)
        if not name.startswith("_")
    }
    cls = type("SimEpisodeStore", (EpisodeStore,), members)
    return cls


# -- the simulation ----------------------------------------------------------------------------


class Simulation:
    """Seeded runs against one moto endpoint and one Slack stand-in (cleared per run).

    Parameters
    ----------
    endpoint:
        moto's URL (DynamoDB and Logs).
    slack:
        A started :class:`SlackStandin`; each run clears it.
    config:
        The knobs (:class:`SimConfig`).
    """

    def __init__(self, endpoint: str, slack: SlackStandin, config: SimConfig | None = None) -> None:
        self.endpoint = endpoint
        self.slack = slack
        self.config = config or SimConfig()
        self.ddb = boto3.client("dynamodb", endpoint_url=endpoint)
        self.logs = boto3.client("logs", endpoint_url=endpoint)
        self.ddb.meta.events.register("before-parameter-build.dynamodb", self._before_write)
        self.ddb.meta.events.register("after-call.dynamodb", self._after_call)
        self._store_cls = _store_class(self)
        self._runs = 0
        self._reset(0)

    # -- one run ---------------------------------------------------------------------------

    def _reset(self, seed: int | str) -> None:
        self.rng = random.Random(seed if isinstance(seed, int) else str(seed))
        self.report = RunReport(seed)
        self.queue: list[Delivery] = []
        self.dlq: list[Delivery] = []
        self.stack: list[Attempt] = []
        self.posts: list[Post] = []
        self.completed: dict[tuple[int, int], int] = {}  # note -> tick of its first success
        self.last_error: dict[tuple[int, int], str] = {}
        self.injecting = False
        self.tick = 0  # attempts started
        self.events = 0  # side effects and completions, in the order they happened
        self.ambiguous: set[tuple[int, int]] = set()  # notes whose post's outcome was lost
        # A whole minute: StateChangeTimes and the clock are exact, and moto takes the logs.
        self.start = float(int(time.time()) // 60 * 60)
        self.clock = self.start

    def now(self) -> float:
        """The worker's clock (epoch seconds)."""
        return self.clock

    def _setup(self, notes: Sequence[Note]) -> WorkerDeps:
        self._runs += 1
        self.table = f"logthread-episodesim-{self._runs}"
        create_table(self.ddb, self.table)
        self.slack.clear()
        self.slack.use_clock(self.now)
        for alarm in sorted({n.alarm for n in notes}):
            with contextlib.suppress(self.logs.exceptions.ResourceNotFoundException):
                self.logs.delete_log_group(logGroupName=f"/aws/lambda/{_function(alarm)}")
        if self.config.logs:
            self._failing_requests(notes)
        web = make_web_client(
            self.slack.token, self.slack.url, timeout=1, interval=_no_wait(), max_retries=3
        )
        web.timeout = CLIENT_TIMEOUT  # type: ignore[assignment]  # urllib takes a float
        self.chat = SlackChat(web, pacer=ChannelPacer(0.0, sleep=lambda _s: None))
        self.letters = MemoryDeadLetters()
        config = from_mapping({"default_channel": CHANNEL}, env={})
        self.deps = WorkerDeps(
            logs=self.logs,
            chat=SimChat(self.chat, self),
            config=config,
            store=self._store_cls(self.ddb, self.table, now=self.now),
            now=self.now,
            remaining_ms=self._remaining_ms,
            dead_letters=self.letters,
        )
        return self.deps

    def _teardown(self) -> None:
        with contextlib.suppress(Exception):
            self.ddb.delete_table(TableName=self.table)

    def _failing_requests(self, notes: Sequence[Note]) -> None:
        """One failing request per ALARM, 30 s before its state change, in its function's logs."""
        from logthread_local.seed import iso, put_events

        events = []
        day = time.strftime("%Y/%m/%d", time.gmtime(self.start))
        for note in notes:
            if note.state != "ALARM":
                continue
            rid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            t = note.at_ms - 30_000
            for dt, message in (
                (0, f"START RequestId: {rid} Version: $LATEST"),
                (5, f"[ERROR]\t{iso(t + 5)}\t{rid}\tDB fetch failed: pool exhausted"),
                (6, f"END RequestId: {rid}"),
                (7, f"REPORT RequestId: {rid}\tDuration: 7.00 ms\tBilled Duration: 8 ms"),
            ):
                events.append(
                    {
                        "logGroupName": f"/aws/lambda/{_function(note.alarm)}",
                        "logStreamName": f"{day}/[$LATEST]{note.alarm:032x}",
                        "timestamp": t + dt,
                        "message": message,
                    }
                )
        if events:
            put_events(self.logs, events)

    def run(self, seed: int) -> RunReport:
        """One random schedule; see the module docstring."""
        started = time.perf_counter()
        self._reset(seed)
        cfg = self.config
        notes = make_history(self.rng, cfg.alarms, cfg.notifications, int(self.start * 1000))
        deps = self._setup(notes)
        try:
            for note in notes:
                copies = self.rng.choices(
                    range(1, cfg.max_copies + 1), [6, 3, 1][: cfg.max_copies]
                )[0]
                self.queue.extend(Delivery(note, c + 1) for c in range(copies))
            self.rng.shuffle(self.queue)
            self.report.deliveries = len(self.queue)
            self.injecting = True
            self._drain(deps)
            self.injecting = False
            if cfg.redrive and self.dlq:
                self._trace("-- redrive the worker DLQ (no faults)")
                self.queue, self.dlq = self.dlq, []
                for d in self.queue:
                    d.attempts = 0
                self._drain(deps)
            self._finish(notes)
        finally:
            self._teardown()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def run_script(
        self,
        history: dict[int, Sequence[tuple[str, float]]],
        steps: Sequence[Step],
        *,
        name: str = "script",
    ) -> RunReport:
        """A hand-written schedule: ``history`` maps an alarm to its (state, minute) changes.

        Only the steps' crashes are injected; a crashed step is not retried unless a
        later step delivers the note again.
        """
        started = time.perf_counter()
        self._reset(name)
        end = int(self.start * 1000)
        span = int(max(m for changes in history.values() for _, m in changes) * 60_000) + 60_000
        notes: list[Note] = []
        for alarm, changes in sorted(history.items()):
            previous = "OK"
            for seq, (state, minute) in enumerate(changes):
                at = end - span + int(minute * 60_000)
                notes.append(make_note(alarm, seq, state, previous, at, int(minute * 60)))
                previous = state
        by_label = {f"a{n.alarm}.{n.seq}": n for n in notes}
        deps = self._setup(notes)
        try:
            copies: Counter[str] = Counter()
            for step in steps:
                copies[step.note] += 1
                self.clock += step.wait
                delivery = Delivery(by_label[step.note], copies[step.note])
                self._attempt(deps, delivery, depth=0, crash=_crash_spec(step.crash))
            self.report.deliveries = sum(copies.values())
            self._finish(notes)
        finally:
            self._teardown()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _drain(self, deps: WorkerDeps) -> None:
        while self.queue:
            delivery = self.queue.pop(0)
            self._advance()
            self._attempt(deps, delivery, depth=0, crash=self._draw_crash())

    def _advance(self) -> None:
        from logthread.alarms import episodes as module

        stale = float(getattr(module, "STALE_CLAIM_SECONDS", 300))
        if self.rng.random() < self.config.long_gap_rate:
            self.clock += self.rng.uniform(stale + 1, 3 * stale)
        else:
            self.clock += self.rng.uniform(1, 90)

    def _attempt(
        self,
        deps: WorkerDeps,
        delivery: Delivery,
        *,
        depth: int,
        crash: Callable[[list[str]], bool] | None,
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
        )

        self.tick += 1
        self.report.attempts += 1
        attempt = Attempt(self.tick, delivery, depth, crash)
        slot = len(self.report.trace)
        self.report.trace.append("")  # filled in below, so nested attempts follow it
        self.stack.append(attempt)
        note = delivery.note
        retry = True
        try:
            result = handle_message(note.body, note.subject, deps)
            action = result.get("action", "?") if isinstance(result, dict) else repr(result)
            attempt.outcome = f"ok {action}"
            self.events += 1
            self.completed.setdefault(note.ident, self.events)
            retry = False
        except Crash:
            attempt.outcome = "CRASH"
        except IdempotencyAlreadyInProgressError:
            attempt.outcome = "in progress"
            self.report.in_progress += 1
        except Exception as exc:
            attempt.outcome = f"{type(exc).__name__}: {str(exc)[:80]}"
            self.report.failed[type(exc).__name__] += 1
        finally:
            self.stack.pop()
        self.report.trace[slot] = self._describe(attempt)
        if retry:
            self.last_error[note.ident] = attempt.outcome
            self._requeue(delivery)

    def _scripted(self) -> bool:
        return isinstance(self.report.seed, str)

    def _requeue(self, delivery: Delivery) -> None:
        if self._scripted():
            return
        delivery.attempts += 1
        if delivery.attempts >= self.config.max_attempts:
            self.dlq.append(delivery)
            self.report.worker_dlq += 1 if self.injecting else 0
            return
        self.queue.insert(self.rng.randint(0, len(self.queue)), delivery)

    def _remaining_ms(self) -> int:
        # A crashing attempt says it has no time left when Powertools asks (first), so its
        # in-progress record has expired by the retry, as a timed-out Lambda's has.
        attempt = self.stack[-1] if self.stack else None
        if attempt is not None and attempt.crash is not None and not attempt.asked_time:
            attempt.asked_time = True
            return 0
        return 120_000

    # -- side effects -----------------------------------------------------------------------

    def _effect(self, attempt: Attempt, label: str, where: str, *, late: bool = False) -> None:
        self.events += 1
        attempt.done.append(label)
        attempt.log.append(label + ("(timed out, landed)" if late else ""))
        if late:
            self.ambiguous.add(attempt.delivery.note.ident)
        if attempt.crash is not None and attempt.crash(attempt.done):
            attempt.log.append("CRASH")
            self.report.crashes += 1
            self.report.crashes_after[where] += 1
            if label.startswith("P:"):  # the worker never learnt this post's ts
                self.ambiguous.add(attempt.delivery.note.ident)
            raise Crash(f"after {label}")

    @contextlib.contextmanager
    def _in_store(self, name: str) -> Iterator[None]:
        attempt = self.stack[-1] if self.stack else None
        if attempt is None:
            yield
            return
        attempt.store.append(name)
        try:
            yield
        finally:
            attempt.store.pop()

    def _before_write(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        attempt = self.stack[-1] if self.stack else None
        if attempt is None or not attempt.store or model.name not in WRITES:
            return
        if "ConditionExpression" not in json.dumps(params, default=str):
            return
        if not self.injecting or attempt.depth >= NESTING:
            return
        if self.rng.random() >= self.config.race_rate:
            return
        mine = attempt.delivery.note
        candidates = [
            d
            for d in self.queue
            if d.note.alarm == mine.alarm and not (d.note == mine and attempt.crash is not None)
        ]
        if not candidates:
            return
        other = self.rng.choice(candidates)
        self.queue.remove(other)
        self.report.races += 1
        attempt.log.append(f"race[{attempt.store[0]}]")
        self._attempt(self.deps, other, depth=attempt.depth + 1, crash=self._draw_crash())

    def _draw_crash(self) -> Callable[[list[str]], bool] | None:
        """Half the crashes after the n-th side effect, half after the n-th Slack call."""
        if not self.injecting or self.rng.random() >= self.config.crash_rate:
            return None
        if self.rng.random() < 0.5:
            return functools.partial(_nth, self.rng.randint(1, 8))
        return functools.partial(_nth_slack, self.rng.randint(1, 4))

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        attempt = self.stack[-1] if self.stack else None
        if attempt is None or not attempt.store or model.name not in WRITES:
            return
        if http_response.status_code >= 300:
            attempt.log.append(f"W:{attempt.store[0]}✗")
            return
        self._effect(attempt, f"W:{attempt.store[0]}", "table")

    def _slack_call(self, inner: Chat, operation: str, arguments: dict[str, Any]) -> Any:
        attempt = self.stack[-1] if self.stack else None
        if attempt is None:
            return inner.invoke(operation, arguments)
        fault, count = self._draw_fault(operation)
        before = len(self.slack.calls)
        label = {"post": "P:reply" if arguments.get("thread_ts") else "P:top"}.get(
            operation, f"{operation[0].upper()}:{operation}"
        )
        try:
            result = inner.invoke(operation, arguments)
        except ChatError as exc:
            if fault == "timeout" and self._landed(before):
                if operation == "post":
                    self._record_post(attempt, arguments, "?")
                self._effect(attempt, label, "slack", late=True)
            else:
                self._check_faults(attempt, before, count)
                attempt.log.append(f"{label}✗{exc.code}")
            raise
        self._check_faults(attempt, before, count)
        if operation == "post":
            self._record_post(attempt, arguments, str(result))
        self._effect(attempt, label, "slack")
        return result

    def _check_faults(self, attempt: Attempt, before: int, scripted: int) -> None:
        """Every scripted fault met this call, and nothing else failed it."""
        met = sum(1 for c in self.slack.calls[before:] if c.fault or c.error)
        if met != scripted:
            self.report.unexpected += 1
            attempt.log.append(f"(Slack failed {met} times, {scripted} injected!)")

    def _draw_fault(self, operation: str) -> tuple[str | None, int]:
        cfg = self.config
        method = {"post": "chat.postMessage", "update": "chat.update", "edit": "chat.update"}.get(
            operation
        )
        if not self.injecting or method is None or self.rng.random() >= cfg.fault_rate:
            return None, 0
        if self.rng.random() < cfg.timeout_rate:
            self.slack.fail_next(method, status=200, delay=SLOW_ANSWER)
            self.report.faults["timeout"] += 1
            return "timeout", 1
        # slack_sdk sleeps Retry-After (plus up to 1 s) for an unpaced call: 429 only on posts.
        kinds = ["429", "500", "503", RESET] if operation == "post" else ["500", "503", RESET]
        kind = self.rng.choice(kinds)
        if self.rng.random() < cfg.outlast_rate:
            count = OUTLAST[kind]
            self.report.outlasted += 1
        else:
            count = self.rng.randint(1, OUTLAST[kind] - 1)
        status: int | str = kind if kind == RESET else int(kind)
        self.slack.fail_next(method, status=status, retry_after=1, count=count)
        self.report.faults[kind] += 1
        return kind, count

    def _landed(self, before: int) -> bool:
        """Wait for a timed-out call to land (the stand-in answers it late)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(c.fault == "slow" for c in self.slack.calls[before:]):
                return True
            time.sleep(0.01)
        return False

    def _record_post(self, attempt: Attempt, arguments: dict[str, Any], ts: str) -> None:
        blocks = [b if isinstance(b, dict) else b.to_dict() for b in arguments.get("blocks") or []]
        content = json.dumps([arguments.get("text"), blocks], sort_keys=True, default=str)
        self.posts.append(
            Post(
                attempt.delivery.note.ident,
                self.events + 1,
                str(arguments.get("thread_ts") or ""),
                hashlib.sha256(content.encode()).hexdigest()[:16],
                str(arguments.get("text") or "")[:60],
            )
        )

    # -- the trace ---------------------------------------------------------------------------

    def _trace(self, line: str) -> None:
        self.report.trace.append(line)

    def _describe(self, attempt: Attempt) -> str:
        d = attempt.delivery
        elapsed = int(self.clock - self.start)
        indent = "  " * attempt.depth + ("└ " if attempt.depth else "")
        effects = " ".join(attempt.log) or "-"
        return (
            f"#{attempt.tick:<3} t+{elapsed:>4}s {indent}{d.note.label} copy {d.copy} "
            f"try {d.attempts + 1}: {effects} -> {attempt.outcome}"
        )

    # -- the end -----------------------------------------------------------------------------

    def _finish(self, notes: Sequence[Note]) -> None:
        self.report.notes = len(notes)
        self.report.letters = self.letters.sent
        if self.config.replay_letters and self.letters.letters:
            for received in self.letters.receive(1000):
                assert received.letter is not None
                outcome = replay(received.letter, self.chat)
                self.letters.delete(received)
                if outcome.left is not None:
                    self.letters.letters[received.handle] = outcome.left
        self.report.letters_left = len(self.letters.letters)
        stuck = {d.note.ident for d in self.dlq} - set(self.completed)
        self.report.stuck = len(stuck)
        slack = SlackState.read(self.slack, CHANNEL)
        self.report.violations = check(
            self.report.seed,
            notes,
            slack,
            self.posts,
            completed=self.completed,
            letters=list(self.letters.letters.values()),
            last_error=self.last_error,
            ambiguous=self.ambiguous,
            trace=self.report.trace,
        )


def _no_wait() -> Any:
    from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

    return FixedValueRetryIntervalCalculator(0.0)


def _nth(n: int, done: list[str]) -> bool:
    return len(done) == n


def _nth_slack(n: int, done: list[str]) -> bool:
    slack = [label for label in done if not label.startswith("W:")]
    return bool(done) and not done[-1].startswith("W:") and len(slack) == n


def _crash_spec(spec: str | None) -> Callable[[list[str]], bool] | None:
    if not spec:
        return None
    prefix, _, later = spec.partition("+")
    extra = int(later or 0)

    def crash(done: list[str]) -> bool:
        first = next((i for i, label in enumerate(done) if label.startswith(prefix)), None)
        return first is not None and len(done) == first + 1 + extra

    return crash


# -- reading Slack and checking it ----------------------------------------------------------------


@dataclass(slots=True)
class Message:
    ts: str
    name: str  # "message 3" (top-level, oldest first), "message 3 reply 2"
    shown: str  # the state the header (or fallback text) shows: ALARM, OK, INSUFFICIENT_DATA, ""
    notes: set[tuple[int, int]]  # whose markers it carries


@dataclass(slots=True)
class Thread:
    parent: Message
    replies: list[Message]

    @property
    def notes(self) -> set[tuple[int, int]]:
        out = set(self.parent.notes)
        for reply in self.replies:
            out |= reply.notes
        return out


@dataclass(slots=True)
class SlackState:
    threads: list[Thread]

    @classmethod
    def read(cls, slack: SlackStandin, channel: str) -> SlackState:
        threads = []
        for i, top in enumerate(slack.messages(channel), 1):
            replies = [
                _message(m, f"message {i} reply {j}")
                for j, m in enumerate(slack.replies(channel, top["ts"]), 1)
            ]
            threads.append(Thread(_message(top, f"message {i}"), replies))
        return cls(threads)

    def everything(self) -> set[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for thread in self.threads:
            out |= thread.notes
        return out


def _message(msg: dict[str, Any], name: str) -> Message:
    blob = json.dumps([msg.get("text"), msg.get("blocks")], ensure_ascii=False)
    notes = {(int(a), int(n)) for a, n in _MARKER.findall(blob)}
    header = next(
        (
            str(b.get("text", {}).get("text", ""))
            for b in msg.get("blocks") or []
            if b.get("type") == "header"
        ),
        "",
    )
    found = _SHOWN.search(header) or _SHOWN.search(str(msg.get("text", "")))
    shown = found.group(1) if found else ""
    return Message(str(msg["ts"]), name, "OK" if shown == "RESOLVED" else shown, notes)


def check(
    seed: int | str,
    notes: Sequence[Note],
    slack: SlackState,
    posts: Sequence[Post],
    *,
    completed: dict[tuple[int, int], int],
    letters: Sequence[Letter] = (),
    last_error: dict[tuple[int, int], str] | None = None,
    ambiguous: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
    trace: Sequence[str] = (),
) -> list[Violation]:
    """The invariants (:data:`KINDS`) over the final Slack state; each violation with its trace.

    ``completed`` maps each note handled at least once to the tick it first succeeded;
    notes never handled are ``stuck`` and left out of what the parents must show.
    ``ambiguous`` notes made a post whose outcome the worker lost (it crashed right
    after, or the call timed out and landed): a duplicate of theirs says so.
    """
    by_id = {n.ident: n for n in notes}
    found, episode_of = episodes(notes)
    out: list[Violation] = []

    def add(kind: str, alarm: int, detail: str) -> None:
        mine = f"a{alarm}."
        lines = tuple(line for line in trace if mine in line or line.startswith("--"))
        if len(lines) > 30:
            lines = (*lines[:12], f"... ({len(lines) - 24} more)", *lines[-12:])
        out.append(
            Violation(seed, kind, alarm, detail, lines, LOOKUP in detail, UNKNOWABLE in detail)
        )

    def lost_ts(ids: Iterable[tuple[int, int]]) -> str:
        return LOOKUP if set(ids) & ambiguous else ""

    def names(ids: Iterable[tuple[int, int]]) -> str:
        return ", ".join(by_id[i].label for i in sorted(ids))

    # Which top-level messages are each episode's parent: those showing one of its ALARMs.
    parents: dict[int, list[Thread]] = {}
    for thread in slack.threads:
        opening = {i for i in thread.parent.notes if by_id[i].state == "ALARM"}
        mine = {episode_of[i] for i in opening if episode_of[i] is not None}
        if len(mine) > 1:
            some = by_id[next(iter(opening))].alarm
            add("one-parent", some, f"{thread.parent.name} opens episodes of {names(opening)}")
        for index in mine:
            assert index is not None
            parents.setdefault(index, []).append(thread)

    for index, episode in enumerate(found):
        seen = [n for n in episode.notes if n.ident in completed]
        alarms = [n for n in seen if n.state == "ALARM"]
        threads = parents.get(index, [])
        if alarms and not threads:
            holders = [t.parent.name for t in slack.threads if {n.ident for n in alarms} & t.notes]
            add(
                "one-parent",
                episode.alarm,
                f"episode {episode.name} ({names(n.ident for n in episode.notes)}) has no parent "
                f"message of its own; its ALARMs are in the thread of {', '.join(holders) or 'nothing'}",
            )
        if len(threads) > 1:
            add(
                "one-parent",
                episode.alarm,
                f"episode {episode.name} has {len(threads)} parent messages "
                f"({', '.join(t.parent.name for t in threads)})"
                + lost_ts(n.ident for n in episode.notes),
            )
        if not seen:
            continue
        newest = max(seen, key=lambda n: n.at_ms)
        for thread in threads:
            shown = thread.parent.shown
            if shown == "OK" and newest.state != "OK":
                add(
                    "resolved-while-alarm",
                    episode.alarm,
                    f"the parent ({thread.parent.name}) of {episode.name} shows resolved, but its "
                    f"newest state is {newest.label}",
                )
            elif newest.state == "OK" and shown != "OK":
                add(
                    "stale-parent",
                    episode.alarm,
                    f"the parent ({thread.parent.name}) of {episode.name} shows {shown or '?'}, but "
                    f"the episode ended with {newest.label}",
                )
            foreign = {
                i
                for i in thread.notes
                if by_id[i].alarm == episode.alarm
                and episode_of[i] is not None
                and episode_of[i] != index
            }
            if foreign:
                add(
                    "foreign",
                    episode.alarm,
                    f"the thread of {episode.name} ({thread.parent.name}) shows "
                    f"{names(foreign)} of other episodes"
                    + (UNKNOWABLE if all(_from_no_data(i, by_id) for i in foreign) else ""),
                )

    # A top-level message of its own for OK/INSUFFICIENT_DATA only while the alarm has no
    # earlier ALARM handled: once it has, the change belongs in that episode's thread.
    first_top: dict[tuple[int, int], int] = {}
    for post in posts:
        if not post.thread_ts:
            first_top.setdefault(post.note, post.event)
    for thread in slack.threads:
        if any(by_id[i].state == "ALARM" for i in thread.parent.notes):
            continue
        for ident in thread.parent.notes:
            note = by_id[ident]
            posted = first_top.get(ident)
            if posted is None:
                continue
            earlier = [
                n
                for n in notes
                if n.alarm == note.alarm
                and n.state == "ALARM"
                and n.at_ms < note.at_ms
                and completed.get(n.ident, posted) < posted
            ]
            if earlier:
                add(
                    "stray-top-level",
                    note.alarm,
                    f"{note.label} got a top-level message of its own ({thread.parent.name}) "
                    f"although {names(n.ident for n in earlier)} had been handled",
                )

    # Nothing posted twice: no notification makes the same post twice, nor two top-level posts.
    seen_posts: Counter[tuple[tuple[int, int], str, str]] = Counter()
    tops: Counter[tuple[int, int]] = Counter()
    for post in posts:
        seen_posts[(post.note, post.thread_ts, post.digest)] += 1
        if not post.thread_ts:
            tops[post.note] += 1
    for (ident, thread_ts, digest), count in seen_posts.items():
        if count > 1:
            text = next(p.text for p in posts if p.note == ident and p.digest == digest)
            named = {t.parent.ts: t.parent.name for t in slack.threads}
            where = f"in the thread of {named.get(thread_ts, '?')}" if thread_ts else "top-level"
            add(
                "posted-twice",
                ident[0],
                f"{by_id[ident].label} posted {text!r} {count} times {where}" + lost_ts([ident]),
            )
    for ident, count in tops.items():
        if count > 1 and not any(
            c > 1 for (i, t, _), c in seen_posts.items() if i == ident and not t
        ):
            add(
                "posted-twice",
                ident[0],
                f"{by_id[ident].label} made {count} different top-level posts" + lost_ts([ident]),
            )

    # Nothing lost: each notification is in Slack, in a Slack dead letter, or in the worker DLQ.
    visible = slack.everything()
    lettered = {
        (int(a), int(n))
        for letter in letters
        for a, n in _MARKER.findall(json.dumps(letter.calls, ensure_ascii=False))
    }
    for note in notes:
        if note.ident not in completed:
            error = (last_error or {}).get(note.ident, "never delivered")
            add("stuck", note.alarm, f"{note.label} was never handled (last: {error})")
            continue
        if note.ident not in visible and note.ident not in lettered:
            add("lost", note.alarm, f"{note.label} is nowhere in Slack nor in a dead letter")
    return out


# -- many runs ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Exploration:
    """Many seeds: the figures a bench prints."""

    config: SimConfig
    runs: list[RunReport] = field(default_factory=list)

    @property
    def violations(self) -> list[Violation]:
        return [v for run in self.runs for v in run.violations]

    def lines(self, examples: int = 3) -> list[str]:
        runs = self.runs
        faults: Counter[str] = Counter()
        crashes: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        for run in runs:
            faults.update(run.faults)
            crashes.update(run.crashes_after)
            failed.update(run.failed)
            kinds.update(v.kind for v in run.violations)
        cfg = self.config
        bad = [run for run in runs if run.violations]
        numbers = [r.seed for r in runs]
        if numbers and numbers == list(range(int(numbers[0]), int(numbers[0]) + len(numbers))):
            seeds = f"seeds {numbers[0]}-{numbers[-1]}"
        else:
            seeds = "seeds " + ", ".join(map(str, numbers))
        total = sum
        out = [
            f"schedules explored     {len(runs):>6}   ({seeds}; {cfg.alarms} alarms, "
            f"{cfg.notifications} notifications each delivered 1-{cfg.max_copies} times)",
            f"deliveries             {total(r.deliveries for r in runs):>6}   "
            f"({total(r.attempts for r in runs)} attempts; "
            f"{total(r.in_progress for r in runs)} met an in-progress copy; "
            f"the worker raised {', '.join(f'{k} {v}' for k, v in failed.most_common()) or 'nothing'})",
            f"crashes injected       {total(r.crashes for r in runs):>6}   "
            f"(after a Slack call {crashes['slack']}, after a table write {crashes['table']})",
            f"Slack faults injected  {total(faults.values()):>6}   "
            f"({', '.join(f'{k} {v}' for k, v in sorted(faults.items())) or 'none'}; "
            f"{total(r.outlasted for r in runs)} outlasted slack_sdk's retries)",
            f"races injected         {total(r.races for r in runs):>6}",
            f"worker DLQ             {total(r.worker_dlq for r in runs):>6}   "
            f"(redriven at the end; {total(r.stuck for r in runs)} still failing)",
            f"Slack dead letters     {total(r.letters for r in runs):>6}   "
            f"({total(r.letters_left for r in runs)} left after the replay)",
            *(
                [
                    f"NOT REPRODUCIBLE: {total(r.unexpected for r in runs)} Slack failures not injected"
                ]
                if any(r.unexpected for r in runs)
                else []
            ),
            f"invariant violations   {len(self.violations):>6}   "
            f"(in {len(bad)} of {len(runs)} schedules)",
        ]
        lookups = Counter(v.kind for v in self.violations if v.needs_lookup)
        for kind in KINDS:
            if kinds[kind]:
                why = f" ({lookups[kind]} after a lost post outcome)" if lookups[kind] else ""
                out.append(f"  {kind:<22}{kinds[kind]:>6}   {KINDS[kind]}{why}")
        # The shortest trace of each kind, the worst kinds first.
        worst = ("resolved-while-alarm", "one-parent", "lost", "stale-parent", "foreign")
        order = [k for k in worst if kinds[k]] + [k for k in KINDS if k not in worst and kinds[k]]
        for kind in order[:examples]:
            example = min(
                (v for v in self.violations if v.kind == kind), key=lambda v: len(v.trace)
            )
            out.append("example:")
            out.extend("  " + line for line in str(example).splitlines())
        return out


def explore(
    seeds: Iterable[int],
    *,
    endpoint: str | None = None,
    slack: SlackStandin | None = None,
    config: SimConfig | None = None,
    progress: Callable[[RunReport], None] | None = None,
) -> Exploration:
    """Run ``seeds``; starts its own moto and stand-in unless given them."""
    with contextlib.ExitStack() as stack:
        if endpoint is None:
            from logthread_local.aws import moto_server

            endpoint = stack.enter_context(moto_server())
        if slack is None:
            slack = stack.enter_context(SlackStandin())
        sim = Simulation(endpoint, slack, config)
        found = Exploration(sim.config)
        for seed in seeds:
            report = sim.run(seed)
            found.runs.append(report)
            if progress is not None:
                progress(report)
        return found


def main(argv: Sequence[str] | None = None) -> int:
    import logging
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seeds", type=int, default=20, help="run seeds 0..N-1")
    parser.add_argument("--seed", type=int, action="append", help="run only this seed (repeatable)")
    defaults = SimConfig()
    parser.add_argument("--notifications", type=int, default=defaults.notifications)
    parser.add_argument("--alarms", type=int, default=defaults.alarms)
    parser.add_argument("--trace", action="store_true", help="print each run's full trace")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("logthread"):  # the worker's own log lines
            logging.getLogger(name).setLevel(logging.ERROR)
    from logthread_local.aws import LOCAL_ENV

    os.environ.update(LOCAL_ENV)
    config = SimConfig(alarms=args.alarms, notifications=args.notifications)

    def progress(report: RunReport) -> None:
        print(report.summary(), flush=True)
        if args.trace:
            print("\n".join("  " + line for line in report.trace))

    found = explore(args.seed or range(args.seeds), config=config, progress=progress)
    print("\n".join(found.lines(examples=len(KINDS))))
    return 1 if found.violations else 0


if __name__ == "__main__":
    sys.exit(main())
