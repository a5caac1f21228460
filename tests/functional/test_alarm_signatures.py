"""Kinds of error in the alarm thread, through the real alarm flow.

The window an on-call engineer met: 30 failing requests of three kinds (20 DB
resets, 7 ``KeyError``s, 3 declined payments, each with other hosts, ids and
numbers inside), the declined payments the most recent. The thread must name all
three, with their counts, and thread one example of each; a second episode marks
a kind seen before as known and one never seen as new.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from logthread.alarms.episodes import EpisodeStore
from logthread.alarms.flow import handle_notification
from logthread.config import from_mapping
from logthread.slack.chat import SlackChat
from logthread.worker.deps import WorkerDeps
from logthread_local.aws import create_table
from logthread_local.slack_standin import SlackStandin
from tests.functional.test_alarm_flow import notification, put_lines, python_request, texts

CHANNEL = "C0ALARMS"
TABLE = "logthread-signatures-test"
GROUP = "/aws/lambda/HogeService"
# How much later the OK fixture's StateChangeTime is than the ALARM fixture's, less a minute.
OK_AFTER_MS = 26 * 60_000 - 60_000


@pytest.fixture
def logs(aws: str) -> Any:
    return boto3.client("logs", endpoint_url=aws)


@pytest.fixture
def deps(aws: str, chat: SlackChat) -> Iterator[WorkerDeps]:
    ddb = boto3.client("dynamodb", endpoint_url=aws)
    create_table(ddb, TABLE)
    yield WorkerDeps(
        logs=boto3.client("logs", endpoint_url=aws),
        chat=chat,
        config=from_mapping({"default_channel": CHANNEL}, env={}),
        store=EpisodeStore(ddb, TABLE),
        cloudwatch=boto3.client("cloudwatch", endpoint_url=aws),
    )


def _rid(kind: str, i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{i}"))


def db_reset(i: int) -> tuple[str, list[tuple[int, str, str]]]:
    message = (
        f"DB fetch failed: connection to 10.0.{i}.{i * 7 % 250}:5432 reset by peer "
        f"after {100 + i * 13} ms (order {4000 + i})"
    )
    return _rid("db", i), [(2, "INFO", f"GET /orders/{4000 + i}"), (40 + i, "ERROR", message)]


KEY_ERROR = (
    "[ERROR] KeyError: '{key}'\nTraceback (most recent call last):\n"
    '  File "/var/task/app.py", line {line}, in handler\n    user = event["{key}"]\n'
)


def declined(i: int) -> tuple[str, list[tuple[int, str, str]]]:
    message = (
        f"payment declined by api-{i}.payments.example.com for card ending {1000 + i * 37} "
        f"(charge ch_{i}x9Q2mZ7k{i}, 2024-05-14T03:1{i}:00Z)"
    )
    return _rid("pay", i), [(3, "ERROR", message)]


def seed_window(logs: Any, change_ms: int, *, kinds: tuple[str, ...]) -> dict[str, list[str]]:
    """Failing requests of ``kinds`` over four minutes before ``change_ms``, in 5 streams.

    The KeyErrors are unhandled exceptions: their lines carry no request id (the
    START before them in their stream says whose they are). Declined payments last.
    """
    ids: dict[str, list[str]] = {k: [] for k in kinds}
    plan: list[tuple[str, int]] = []
    plan += [("db", i) for i in range(20)] if "db" in kinds else []
    plan += [("key", i) for i in range(7)] if "key" in kinds else []
    plan += [("pay", i) for i in range(3)] if "pay" in kinds else []
    streams: dict[int, list[tuple[int, str]]] = {s: [] for s in range(5)}
    t = change_ms - 240_000
    for n, (kind, i) in enumerate(plan):
        t += 6_000
        if kind == "key":
            rid = _rid("key", i)
            lines = python_request(rid, t, [(2, "INFO", f"handling order {i}")])[:2]
            lines.append((t + 5, KEY_ERROR.format(key=f"user{i}", line=9 + i)))
            lines.append((t + 6, f"END RequestId: {rid}"))
        else:
            rid, body = db_reset(i) if kind == "db" else declined(i)
            lines = python_request(rid, t, body)
        ids[kind].append(rid)
        streams[n % 5].extend(lines)
    stamp = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime())
    for s, lines in streams.items():
        if lines:
            put_lines(logs, GROUP, lines, stream=f"{stamp}{uuid.uuid4().hex}{s}")
    return ids


def test_three_kinds_of_error_are_all_named_with_their_counts(
    deps: WorkerDeps, logs: Any, slack: SlackStandin
) -> None:
    change = int(time.time() * 1000) - 5_000
    ids = seed_window(logs, change, kinds=("db", "key", "pay"))

    result = handle_notification(*notification("lambda_errors_hoge.json", change), deps)

    (parent,) = slack.messages(CHANNEL)
    assert ":thread: 30 failing requests, 3 kinds of error" in texts(parent)
    summary, *stories = slack.replies(CHANNEL, parent["ts"])
    shown = texts(summary)
    assert shown.startswith(":mag: *30 failing requests, 3 kinds of error* in `" + GROUP + "`")
    db = shown.index(
        "• *20 requests:* `DB fetch failed: connection to &lt;ip&gt; reset by peer after "
        "&lt;n&gt; ms (order &lt;n&gt;)` · :new: *new*"
    )
    key = shown.index("• *7 requests:* `KeyError: '&lt;val&gt;'` · :new: *new*")
    pay = shown.index(
        "• *3 requests:* `payment declined by &lt;host&gt; for card ending &lt;n&gt; "
        "(charge &lt;id&gt;, &lt;time&gt;)` · :new: *new*"
    )
    assert db < key < pay  # most frequent first
    assert "in `/var/task/app.py in handler`" in shown  # the KeyError's top frame
    # One example each, the most recent of its kind, in the same order.
    examples = [ids["db"][-1], ids["key"][-1], ids["pay"][-1]]
    for example in examples:
        assert f"e.g. `{example}`" in shown
    assert result["requests"] == examples
    assert [texts(s).splitlines()[0] for s in stories] == [f"Request {r}" for r in examples]


def test_a_kind_seen_in_an_earlier_episode_is_known_and_a_new_one_new(
    deps: WorkerDeps, logs: Any, slack: SlackStandin
) -> None:
    now = int(time.time() * 1000)
    first = now - 20 * 60_000
    seed_window(logs, first, kinds=("db",))
    handle_notification(*notification("lambda_errors_hoge.json", first), deps)
    # The OK fixture changes 26 min after the ALARM fixture: back to OK a minute after ALARM.
    handle_notification(*notification("lambda_errors_hoge_ok.json", first - OK_AFTER_MS), deps)

    second = now - 5_000
    seed_window(logs, second, kinds=("db", "key"))
    handle_notification(*notification("lambda_errors_hoge.json", second), deps)

    earlier, later = slack.messages(CHANNEL)
    summary = texts(slack.replies(CHANNEL, later["ts"])[0])
    assert "27 failing requests, 2 kinds of error" in summary
    db_row = next(r for r in summary.split("• ") if r.startswith("*20 requests:*"))
    key_row = next(r for r in summary.split("• ") if r.startswith("*7 requests:*"))
    assert ":new: *new*" in key_row
    assert "known, last seen " in db_row and ":new:" not in db_row
    # Last seen: the first episode's newest DB reset (the 20th, two minutes before its change).
    newest_ms = first - 240_000 + 20 * 6_000 + 40 + 19
    seen = db_row.split("known, last seen ")[1][:19]
    assert seen == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(newest_ms / 1000))
    # Within one episode a repeat does not make its own kinds "known".
    first_summary = texts(slack.replies(CHANNEL, earlier["ts"])[0])
    assert "known" not in first_summary


def test_counting_keeps_only_the_newest_and_attributes_a_traceback_whose_start_is_earlier(
    logs: Any,
) -> None:
    from logthread.alarms.count import count_failures
    from logthread.alarms.discover import ERROR_PATTERN, Plan, Target
    from logthread.query import TimeWindow

    change = int(time.time() * 1000) - 5_000
    ids = seed_window(logs, change, kinds=("db", "key"))
    # A request that began before the window and died inside it, on a traceback without id.
    slow = _rid("slow", 0)
    began = change - 400_000
    put_lines(
        logs,
        GROUP,
        [
            (began, f"START RequestId: {slow} Version: $LATEST"),
            (change - 30_000, KEY_ERROR.format(key="late", line=3)),
        ],
    )
    window = TimeWindow(change - 300_000, change)
    the_plan = Plan((Target(GROUP, ERROR_PATTERN, "errors", "test"),), window)

    counted = count_failures(logs, the_plan, keep=2, deadline=time.monotonic() + 30)

    assert counted.discovery.total == 28 and counted.tally.total == 28
    assert counted.discovery.unattributed == 0
    assert [e.count for e in counted.tally.ranked()] == [20, 8]
    key_kind = counted.tally.ranked()[1]
    assert key_kind.example_id == slow  # the newest KeyError: the late one
    # Only the two newest failing requests are kept with their lines.
    assert [f.request_id for f in counted.discovery.failures] == [slow, ids["key"][-1]]
    assert counted.calls["FilterLogEvents"] >= 2  # the window, then the START before it


def test_a_repeat_in_the_same_episode_does_not_make_its_own_kinds_known(
    deps: WorkerDeps, logs: Any, slack: SlackStandin
) -> None:
    now = int(time.time() * 1000)
    first = now - 11 * 60_000
    seed_window(logs, first, kinds=("db",))
    handle_notification(*notification("lambda_errors_hoge.json", first), deps)
    # The repeat fixture changes 10 min after the ALARM fixture; new failures before it.
    repeat = first + 10 * 60_000
    seed_window(logs, repeat, kinds=("db", "key"))
    handle_notification(*notification("lambda_errors_hoge_repeat.json", first), deps)

    (parent,) = slack.messages(CHANNEL)
    replies = [texts(r) for r in slack.replies(CHANNEL, parent["ts"])]
    summaries = [r for r in replies if r.startswith(":mag: *")]
    assert len(summaries) == 2
    assert summaries[1].startswith(":mag: *27 failing requests, 2 kinds of error*")
    # The DB resets were in this episode's first look, not in an earlier episode.
    assert summaries[1].count(":new: *new*") == 2
    assert "known" not in "".join(summaries)
