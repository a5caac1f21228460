"""Slack faults: retries, the dead-letter queue (SQS on moto) and ``logthread replay``.

Slack is the stand-in behind the real slack_sdk WebClient; 5xx/reset retries are
paced at 20 ms to keep the suite quick, while 429s sleep their real ``Retry-After``.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from logthread import cli
from logthread.config import from_mapping
from logthread.query import SearchQuery
from logthread.replaycmd import replay_all
from logthread.slack.chat import ChatError, SlackChat
from logthread.slack.deadletter import DeferringChat, Letter, SqsDeadLetters
from logthread.slack.webclient import make_web_client
from logthread.tasks import ReplyTo, SearchTask
from logthread.worker import handle_message
from logthread.worker.deps import WorkerDeps
from logthread_local import seed as seeding
from logthread_local.slack_standin import RESET, SLOW, SlackStandin

CHANNEL = "C0DEADLTR"


def in_thread(params: dict[str, Any]) -> bool:
    return bool(params.get("thread_ts"))


def quick_chat(slack: SlackStandin, **kwargs: Any) -> SlackChat:
    return SlackChat(
        make_web_client(
            slack.token, slack.url, interval=FixedValueRetryIntervalCalculator(0.02), **kwargs
        )
    )


@pytest.fixture
def queue(aws: str) -> Iterator[SqsDeadLetters]:
    sqs = boto3.client("sqs", endpoint_url=aws)
    url = sqs.create_queue(QueueName=f"logthread-slack-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    yield SqsDeadLetters(sqs, url, visibility_seconds=30)


def waiting(store: SqsDeadLetters) -> list[Letter]:
    got = store.sqs.receive_message(
        QueueUrl=store.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [Letter.from_json(m["Body"]) for m in got.get("Messages", [])]


def worker(aws: str, slack: SlackStandin, store: SqsDeadLetters, **chat: Any) -> WorkerDeps:
    logs = boto3.client("logs", endpoint_url=aws)
    seeding.seed(logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    config = from_mapping({"default_channel": CHANNEL}, env={})
    return WorkerDeps(logs=logs, chat=quick_chat(slack, **chat), config=config, dead_letters=store)


def search_task(thread_ts: str = "") -> str:
    query = SearchQuery(seeding.SEED_REQUEST_ID, functions=(seeding.SEED_FUNCTION,))
    reply = ReplyTo(channel=CHANNEL, user_id="U0ASKER", team_id="T0", thread_ts=thread_ts)
    return SearchTask(query, reply, extra={"task_id": uuid.uuid4().hex}).to_json()


def late_replies(slack: SlackStandin, ts: str, count: int) -> list[dict[str, Any]]:
    """The thread's replies once ``count`` are there: a slow answer lands after the timeout."""
    deadline = time.monotonic() + 10
    while len(slack.replies(CHANNEL, ts)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return slack.replies(CHANNEL, ts)


def replay_cli(
    store: SqsDeadLetters, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch, *args: str
) -> int:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    return cli.main(["replay", "--queue-url", store.queue_url, *args])


# -- the worker's rule ----------------------------------------------------------------------


def test_a_reply_that_keeps_failing_is_dead_lettered_and_replayed_once(
    aws: str,
    slack: SlackStandin,
    queue: SqsDeadLetters,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deps = worker(aws, slack, queue, max_retries=2)
    slack.fail_next("chat.postMessage", 503, count=3, match=in_thread)

    ts = handle_message(search_task(), "logthread task", deps)  # the delivery completes

    (parent,) = slack.messages(CHANNEL)
    assert parent["ts"] == ts and slack.replies(CHANNEL, ts) == []
    (letter,) = waiting(queue)
    assert letter.error["code"] == "http_503"
    assert [c["operation"] for c in letter.calls] == ["post"]
    assert letter.calls[0]["arguments"]["thread_ts"] == ts
    assert not letter.uncertain

    assert replay_cli(queue, slack, monkeypatch, "--dry-run") == 1
    assert "post in C0DEADLTR thread" in capsys.readouterr().out
    assert slack.replies(CHANNEL, ts) == []

    assert replay_cli(queue, slack, monkeypatch) == 0
    assert "1 calls posted, 1 done, 0 waiting" in capsys.readouterr().out
    (reply,) = slack.replies(CHANNEL, ts)
    assert reply["text"] == letter.calls[0]["arguments"]["text"]
    assert waiting(queue) == []
    # A second replay finds nothing: the reply is in the thread exactly once.
    assert replay_cli(queue, slack, monkeypatch) == 0
    assert "no dead letters waiting" in capsys.readouterr().out
    assert len(slack.replies(CHANNEL, ts)) == 1


def test_a_parent_that_fails_fails_the_delivery_and_letters_nothing(
    aws: str, slack: SlackStandin, queue: SqsDeadLetters
) -> None:
    deps = worker(aws, slack, queue, max_retries=1)
    slack.fail_next("chat.postMessage", 500, count=2)
    with pytest.raises(ChatError):
        handle_message(search_task(), "logthread task", deps)
    assert slack.messages(CHANNEL) == [] and waiting(queue) == []
    # The redelivery (SNS/Lambda's retry) answers whole, once.
    ts = handle_message(search_task(), "logthread task", deps)
    assert len(slack.messages(CHANNEL)) == 1 and len(slack.replies(CHANNEL, ts)) == 1


def test_a_timed_out_reply_is_kept_not_reposted(
    aws: str,
    slack: SlackStandin,
    queue: SqsDeadLetters,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    parent = slack.call_method("chat.postMessage", {"channel": CHANNEL, "text": "asked"})["ts"]
    deps = worker(aws, slack, queue, timeout=1)
    slack.fail_next("chat.postMessage", 200, delay=1.5, match=in_thread)

    handle_message(search_task(thread_ts=parent), "logthread task", deps)

    (letter,) = waiting(queue)
    assert letter.uncertain and letter.error["code"] == "timeout"
    # Slack did post it, late: a replay must not post it again.
    assert len(late_replies(slack, parent, 1)) == 1
    assert replay_cli(queue, slack, monkeypatch) == 1
    out = capsys.readouterr().out
    assert "skipped post in C0DEADLTR" in out and "may already be in Slack" in out
    assert len(slack.replies(CHANNEL, parent)) == 1
    assert len(waiting(queue)) == 1


def test_replay_stops_at_a_call_that_fails_again_and_keeps_only_the_rest(
    slack: SlackStandin, queue: SqsDeadLetters
) -> None:
    deferring = DeferringChat(quick_chat(slack, max_retries=1))
    parent = deferring.post(CHANNEL, text="parent")
    slack.fail_next("chat.postMessage", 503, count=2, match=in_thread)
    for i in range(3):
        deferring.post(CHANNEL, text=f"reply {i}", thread_ts=parent)
    letter = deferring.letter
    assert letter is not None and len(letter.calls) == 3
    queue.send(letter)

    slack.fail_next("chat.postMessage", 503, count=2, match=lambda p: p.get("text") == "reply 1")
    assert replay_all(queue, quick_chat(slack, max_retries=1), _Sink()) == 1
    (left,) = waiting(queue)
    assert [c["arguments"]["text"] for c in left.calls] == ["reply 1", "reply 2"]
    assert replay_all(queue, quick_chat(slack), _Sink()) == 0
    texts = [m["text"] for m in slack.replies(CHANNEL, parent)]
    assert texts == ["reply 0", "reply 1", "reply 2"]


def _text_is(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda params: params.get("text") == text


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


# -- hundreds of posts through fixed-rate faults ----------------------------------------------


def test_hundreds_of_posts_under_faults_land_exactly_once(
    slack: SlackStandin, queue: SqsDeadLetters
) -> None:
    """300 posts (100 answers: a parent and two replies) with 10% of calls failing.

    Faults at a fixed seeded rate: 429 (Retry-After 1), 500, 503, connection
    resets and answers slower than the client's 1 s timeout (the post still
    lands). A parent that surely failed is redelivered whole (as SNS would), the
    rest of an answer is dead-lettered, and the replay posts it.
    """
    slack.fault_rate(0.1, kinds=(429, 500, 503, RESET, SLOW), seed=11, slow_seconds=1.3)
    # Every kind at least once whatever the threads' interleaving draws: a reply that
    # fails for good, one that times out, a parent throttled, reset and refused once.
    scripted: list[tuple[str, int | str, int, float]] = [
        ("answer 7 reply 0", 503, 2, 0.0),
        ("answer 9 reply 1", 200, 1, 1.3),
        ("answer 3", 429, 1, 0.0),
        ("answer 4", RESET, 1, 0.0),
        ("answer 5", 500, 1, 0.0),
    ]
    for text, status, count, delay in scripted:
        slack.fail_next("chat.postMessage", status, count=count, delay=delay, match=_text_is(text))
    # One retry for 5xx/resets, so some posts still fail after it (429s get 6).
    chat = quick_chat(slack, timeout=1, max_retries=1)
    letters: list[Letter] = []

    def answer(i: int) -> None:
        channel = f"C{i % 10:02d}"
        for _attempt in range(4):  # the delivery and SNS's retries
            deferring = DeferringChat(chat)
            try:
                ts = deferring.post(channel, text=f"answer {i}")
                for j in range(2):
                    deferring.post(channel, text=f"answer {i} reply {j}", thread_ts=ts)
            except ChatError:
                continue
            if deferring.letter is not None:
                letters.append(deferring.letter)
            return
        raise AssertionError(f"answer {i} failed every delivery")

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(answer, range(100)))
    for letter in letters:
        queue.send(letter)
    # Each slow answer timed out in the client and lands a moment later: wait for them.
    uncertain = sum(c["uncertain"] for letter in letters for c in letter.calls)
    deadline = time.monotonic() + 10
    while sum(c.fault == SLOW for c in slack.calls) < uncertain and time.monotonic() < deadline:
        time.sleep(0.05)
    calls = slack.calls_to("chat.postMessage")
    seen = Counter(c.fault for c in calls if c.fault)
    # Both kinds of letter happened: failed for good, and timed out (uncertain).
    assert any(not x.uncertain for x in letters) and any(x.uncertain for x in letters)
    assert {"429", "500", "503", RESET, SLOW} <= set(seen), seen

    # Retry-After honoured: a post answered 429 came back no sooner than it said.
    by_post: dict[tuple[str, str], list[Any]] = {}
    for c in calls:
        by_post.setdefault((c.params["channel"], c.params["text"]), []).append(c)
    for attempts in by_post.values():
        for before, after in itertools.pairwise(attempts):
            if before.status == 429:
                assert after.time - before.time >= 1.0

    slack.fault_rate(0)
    assert replay_all(queue, quick_chat(slack), _Sink()) in (0, 1)
    held = [c for letter in waiting(queue) for c in letter.calls]
    # Only calls behind a timed-out post may wait: that post is already in Slack.
    assert all(
        c["uncertain"] or str(c["arguments"].get("thread_ts", "")).startswith("$") for c in held
    )
    held_texts = {c["arguments"]["text"] for c in held if not c["uncertain"]}

    landed = Counter()
    for n in range(10):
        for parent in slack.messages(f"C{n:02d}"):
            landed[parent["text"]] += 1
            for reply in slack.replies(f"C{n:02d}", parent["ts"]):
                assert reply["text"].startswith(parent["text"] + " reply")
                landed[reply["text"]] += 1
    wanted = {f"answer {i}" for i in range(100)} | {
        f"answer {i} reply {j}" for i in range(100) for j in range(2)
    }
    assert max(landed.values()) == 1  # nothing twice
    assert set(landed) | held_texts == wanted  # nothing lost
    assert not set(landed) & held_texts


class RefusesOnce(SqsDeadLetters):
    """The dead-letter queue refuses the first letter (SQS down for a moment)."""

    refused = 0

    def send(self, letter: Letter) -> None:
        if not self.refused:
            self.refused += 1
            raise RuntimeError("SQS refused the letter")
        super().send(letter)


def test_a_letter_the_queue_refused_is_sent_by_the_retry_and_nothing_is_posted_twice(
    aws: str, slack: SlackStandin, queue: SqsDeadLetters
) -> None:
    from logthread.alarms.episodes import EpisodeStore
    from logthread_local.aws import create_table

    ddb = boto3.client("dynamodb", endpoint_url=aws)
    create_table(ddb, "logthread-dlq-test")
    refusing = RefusesOnce(queue.sqs, queue.queue_url, visibility_seconds=30)
    deps = worker(aws, slack, refusing, max_retries=0)
    deps.store = EpisodeStore(ddb, "logthread-dlq-test")
    slack.fail_next("chat.postMessage", 503, count=5, match=in_thread)
    task = search_task()

    with pytest.raises(RuntimeError, match="refused the letter"):
        handle_message(task, "logthread task", deps)  # the delivery fails: retried
    ts = handle_message(task, "logthread task", deps)

    (parent,) = slack.messages(CHANNEL)  # not posted again by the retry
    assert parent["ts"] == ts
    (letter,) = waiting(queue)  # and the letter is not lost
    assert letter.calls[0]["arguments"]["thread_ts"] == ts
