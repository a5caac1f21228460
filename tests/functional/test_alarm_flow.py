"""The alarm path end to end: SNS-shaped notifications in, Slack conversations out.

AWS is moto over real HTTP (Logs, DynamoDB, CloudWatch, SNS); Slack is the
stand-in behind the real slack_sdk WebClient. Every fixture's times are moved
to now (CloudWatch Logs refuses events older than 14 days), and each
conversation is checked message by message.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from logthread.alarms.episodes import EpisodeStore
from logthread.alarms.flow import handle_notification, notification_key
from logthread.config import Config, from_mapping
from logthread.slack.chat import SlackChat
from logthread.worker.deps import WorkerDeps
from logthread_local.aws import create_table
from logthread_local.slack_standin import SlackStandin
from tests.conftest import load_fixture

CHANNEL = "C0ALARMS"
PAYMENTS = "C0PAYMENTS"
TABLE = "logthread-alarms-test"
HOGE = "12345678-aaaa-bbbb-cccc-1234567890ab"
HEALTHY = "9f0e8d7c-1111-2222-3333-444455556666"
HOGE_GROUP = "/aws/lambda/HogeService"
FIXTURE_CHANGE = datetime(2024, 5, 14, 3, 21, 7, 123000, tzinfo=UTC)

CONFIG = {
    "default_channel": CHANNEL,
    "routes": [{"alarm": "PaymentService-*", "channel": PAYMENTS}],
    "request_id_rules": [
        {"alarm": "Checkout failed*", "expression": "powertools_json(detail).requestId"}
    ],
    "log_groups": [
        {"alarm": "Checkout failed*", "log_groups": ["/aws/lambda/HogeService"]},
        {"alarm": "FugaService-Errors", "log_groups": ["/aws/lambda/FugaService"]},
        {"alarm": "HogeService-Errors", "log_groups": ["/aws/lambda/HogeService"]},
    ],
}


# -- helpers --------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{3})?(\+0000|Z)")
_POINT = re.compile(r"\((\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})\)")


def retimed(text: str, delta: timedelta) -> str:
    """Every timestamp in a notification moved by ``delta`` (formats kept)."""

    def iso(m: re.Match[str]) -> str:
        t = datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC) + delta
        return t.strftime("%Y-%m-%dT%H:%M:%S") + (m[2] or "") + m[3]

    def point(m: re.Match[str]) -> str:
        t = datetime.strptime(m[1], "%d/%m/%y %H:%M:%S").replace(tzinfo=UTC) + delta
        return t.strftime("(%d/%m/%y %H:%M:%S)")

    return _POINT.sub(point, _ISO.sub(iso, text))


def notification(name: str, change_ms: int) -> tuple[str, str]:
    """A fixture's (Message, Subject), with its state change moved to ``change_ms``."""
    env = load_fixture(f"alarms/{name}")
    delta = datetime.fromtimestamp(change_ms / 1000, UTC) - FIXTURE_CHANGE
    delta = timedelta(seconds=round(delta.total_seconds()))
    return retimed(env["Message"], delta), env.get("Subject", "")


def texts(message: dict[str, Any]) -> str:
    """All the text a reader sees in a message: its blocks (or its text without blocks)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
                out.append(str(node["text"]))
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(out) if out else str(message.get("text", ""))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b.get("elements", [])
    ]


def put_lines(logs: Any, group: str, lines: list[tuple[int, str]], stream: str = "") -> str:
    stream = stream or time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = [{"timestamp": t, "message": m} for t, m in sorted(lines)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return stream


def python_request(rid: str, start: int, body: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    """A request as the Lambda Python runtime logs it."""

    def iso(ms: int) -> str:
        return (
            datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{ms % 1000:03d}Z"
        )

    lines = [(start, f"START RequestId: {rid} Version: $LATEST")]
    t = start
    for offset, level, message in body:
        t = start + offset
        lines.append((t, f"[{level}]\t{iso(t)}\t{rid}\t{message}"))
    lines.append((t + 1, f"END RequestId: {rid}"))
    lines.append(
        (
            t + 2,
            f"REPORT RequestId: {rid}\tDuration: {t - start + 2}.00 ms\tBilled Duration: {t - start + 3} ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB",
        )
    )
    return lines


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def logs(aws: str) -> Any:
    return boto3.client("logs", endpoint_url=aws)


@pytest.fixture
def table(aws: str) -> Iterator[Any]:
    ddb = boto3.client("dynamodb", endpoint_url=aws)
    create_table(ddb, TABLE)
    yield ddb


@pytest.fixture
def cloudwatch(aws: str) -> Any:
    return boto3.client("cloudwatch", endpoint_url=aws)


@pytest.fixture
def config() -> Config:
    return from_mapping(CONFIG, env={})


@pytest.fixture
def deps(logs: Any, table: Any, chat: SlackChat, config: Config, cloudwatch: Any) -> WorkerDeps:
    return WorkerDeps(
        logs=logs,
        chat=chat,
        config=config,
        store=EpisodeStore(table, TABLE),
        cloudwatch=cloudwatch,
    )


def hoge_failure(logs: Any, change_ms: int) -> str:
    """HogeService fails on its database just before the alarm (a healthy request beside it)."""
    healthy = python_request(
        HEALTHY,
        change_ms - 45_000,
        [
            (3, "INFO", "GET /orders/41 from 203.0.113.10"),
            (48, "INFO", "fetched order 41 in 41 ms"),
        ],
    )
    failing = python_request(
        HOGE,
        change_ms - 35_000,
        [
            (2, "INFO", "GET /orders/42 from 203.0.113.10"),
            (5, "INFO", "connecting to orders-db.cluster-abc123.us-east-1.rds.amazonaws.com"),
            (5007, "WARN", "orders-db did not answer within 5000 ms (attempt 1 of 2), retrying"),
            (
                10011,
                "ERROR",
                "DB fetch failed: OperationalError: connection to orders-db timed out after "
                "5000 ms (attempt 2 of 2)",
            ),
            (10013, "ERROR", "returning 503 to the caller for order 42"),
        ],
    )
    return put_lines(logs, HOGE_GROUP, healthy + failing)


# -- the headline: Lambda Errors on HogeService ---------------------------------------------


def test_lambda_errors_alarm_threads_the_failing_request(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    hoge_failure(logs, change)
    body, subject = notification("lambda_errors_hoge.json", change)

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert result == {
        "action": "opened",
        "channel": CHANNEL,
        "ts": parent["ts"],
        "requests": [HOGE],
    }
    shown = texts(parent)
    assert shown.startswith(":rotating_light: ALARM: HogeService-Errors")
    for part in (
        "HogeService returned errors",
        "*Reason:* Threshold Crossed: 1 out of the last 1 datapoints",
        "`AWS/Lambda Errors` (Sum) `FunctionName=HogeService`",
        "*Threshold*\n&gt;= 1",
        "*Evaluation*\n1 of 1 x 5 min ending",
        "account `123456789012` · `us-east-1` · US East (N. Virginia)",
        "#alarmsV2:alarm/HogeService-Errors|HogeService-Errors in the CloudWatch console>",
        ":thread: 1 failing request — logs in the thread",
    ):
        assert part in shown, part
    again, claim, open_cw = buttons(parent)
    assert (claim["action_id"], claim["text"]["text"]) == ("logthread.alarm_claim", "I'm on it")
    assert (again["action_id"], again["text"]["text"]) == (
        "logthread.search_again",
        "Search logs again",
    )
    value = json.loads(again["value"])
    assert (value["id"], value["g"]) == (HOGE, ["/aws/lambda/HogeService"])
    assert value["w"][0] < change - 300_000 < change < value["w"][1]
    assert open_cw["text"]["text"] == "Open in CloudWatch"
    assert open_cw["url"].startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/home")

    # One request: its own reply leads with its error, no separate summary.
    (story_reply,) = slack.replies(CHANNEL, parent["ts"])
    timeline = texts(story_reply)
    assert timeline.startswith(f"Request {HOGE}")
    assert "*2 errors*" in timeline
    assert "*First error:* `DB fetch failed: OperationalError" in timeline
    order = [
        "START Version: $LATEST",
        "GET /orders/42",
        "WARN   orders-db did not answer",
        "ERROR  DB fetch failed",
        "ERROR  returning 503",
        "END",
        "REPORT Duration: 10015 ms",
    ]
    positions = [timeline.index(p) for p in order]
    assert positions == sorted(positions)
    assert HEALTHY not in json.dumps(slack.conversation())


def test_lambda_errors_alarm_on_the_seeded_logs(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    """The shared seed (fixtures/logs): the unhandled-exception line carries no request id."""
    from logthread_local import seed

    seeded = seed.seed(logs, now_ms, files=[seed.FIXTURES_DIR / "hoge_service.json"])
    body, subject = notification("lambda_errors_hoge.json", now_ms)

    result = handle_notification(body, subject, deps)

    assert result["requests"] == [seeded["seed"]["request_id"]]
    (parent,) = slack.messages(CHANNEL)
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    timeline = texts(reply)
    assert timeline.startswith(f"Request {seed.SEED_REQUEST_ID}")
    assert "*First error:* `DB fetch failed`" in timeline
    # The traceback line (no id in it) is part of the story, in its place.
    order = [
        "START Version",
        "Fetching user 42",
        "attempt 2/3",
        "ERROR  DB fetch failed",
        "RuntimeError: DB fetch failed",
        "REPORT",
    ]
    positions = [timeline.index(p) for p in order]
    assert positions == sorted(positions)
    assert "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0" not in timeline


def test_an_error_line_without_a_request_id_belongs_to_the_request_running_in_its_stream(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    crashed = "dddddddd-3333-4444-8555-666666666666"
    after = "eeeeeeee-3333-4444-8555-666666666666"
    t = change - 30_000
    lines = [
        *python_request(crashed, t, [(2, "INFO", "handling order 9")])[:2],
        (
            t + 5,
            "[ERROR] KeyError: 'user'\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 9, in handler\n",
        ),
        (t + 6, f"END RequestId: {crashed}"),
        *python_request(after, t + 1000, [(2, "INFO", "fine")]),
    ]
    put_lines(logs, HOGE_GROUP, lines)

    result = handle_notification(*notification("lambda_errors_hoge.json", change), deps)

    assert result["requests"] == [crashed]
    (parent,) = slack.messages(CHANNEL)
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(reply).startswith(f"Request {crashed}")
    assert "KeyError: 'user'" in texts(reply)


def test_no_failing_request_says_where_it_looked(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    healthy = python_request(HEALTHY, change - 20_000, [(3, "INFO", "all good")])
    put_lines(logs, HOGE_GROUP, healthy)
    body, subject = notification("lambda_errors_hoge.json", change)

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert result["requests"] == []
    assert ":thread: No failing request found — see the thread" in texts(parent)
    assert [b["text"]["text"] for b in buttons(parent)] == [
        "Search logs again",
        "I'm on it",
        "Open in CloudWatch",
    ]
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    shown = texts(reply)
    assert shown.startswith(":mag: *No failing request found* in the alarm's evaluation window.")
    assert "*Where I looked:*" in shown
    assert (
        "• `/aws/lambda/HogeService` — error lines: ERROR level, timeouts, failed REPORTs (Errors of HogeService)"
        in shown
    )
    again, _ = buttons(reply)
    assert (again["action_id"], again["text"]["text"]) == (
        "logthread.alarm_search_again",
        "Search logs again",
    )


def test_search_logs_again_widens_the_window_and_answers_in_the_thread(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    from logthread.alarms.rescan import decode_button, rescan_body
    from logthread.worker import handle_message

    change = now_ms - 10_000
    early = "ffffffff-4444-4555-8666-777777777777"  # failed before the evaluation window
    put_lines(
        logs,
        HOGE_GROUP,
        python_request(early, change - 15 * 60_000, [(3, "ERROR", "DB fetch failed: early")]),
    )
    handle_notification(*notification("lambda_errors_hoge.json", change), deps)
    (parent,) = slack.messages(CHANNEL)
    (nothing,) = slack.replies(CHANNEL, parent["ts"])
    again, _ = buttons(nothing)
    key, window = decode_button(again["value"])
    assert key == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors"
    assert window.start_ms > change - 15 * 60_000

    # The click, as the ingress publishes it; the worker routes it to the alarm path.
    body = rescan_body(
        again["value"], channel=CHANNEL, thread_ts=parent["ts"], user_id="U0ONCALL1", now_ms=now_ms
    )
    result = handle_message(body, None, deps)

    assert result["action"] == "searched-again"
    assert result["requests"] == [early]
    assert len(slack.messages(CHANNEL)) == 1
    _, found = slack.replies(CHANNEL, parent["ts"])
    assert texts(found).startswith(f"Request {early}")
    # The same click delivered twice answers once.
    handle_message(body, None, deps)
    assert len(slack.replies(CHANNEL, parent["ts"])) == 2


# -- other notification shapes --------------------------------------------------------------


def powertools_line(rid: str, ms: int, level: str, message: str) -> str:
    stamp = (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S,")
        + f"{ms % 1000:03d}+0000"
    )
    return json.dumps(
        {
            "level": level,
            "location": "charge:88",
            "message": message,
            "timestamp": stamp,
            "service": "payment",
            "function_name": "PaymentService",
            "function_request_id": rid,
        }
    )


def test_metric_filter_alarm_finds_the_lines_behind_the_metric(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    group = "/aws/lambda/PaymentService"
    declined = ["aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"]
    other = "aaaaaaaa-0000-4000-8000-000000000003"
    lines = []
    for i, rid in enumerate([*declined, other]):
        t = change - 50_000 + i * 10_000
        lines.append((t, f"START RequestId: {rid} Version: $LATEST"))
        lines.append((t + 5, powertools_line(rid, t + 5, "INFO", "charging card")))
        if rid == other:  # an error, but not one the metric filter counts
            lines.append((t + 9, powertools_line(rid, t + 9, "ERROR", "psp timeout")))
        else:
            lines.append(
                (
                    t + 9,
                    powertools_line(
                        rid, t + 9, "ERROR", f"payment failed: card declined for {rid}"
                    ),
                )
            )
        lines.append((t + 12, f"END RequestId: {rid}"))
    put_lines(logs, group, lines)
    logs.put_metric_filter(
        logGroupName=group,
        filterName="PaymentFailures",
        filterPattern='{ $.level = "ERROR" && $.message = "payment failed*" }',
        metricTransformations=[
            {
                "metricName": "PaymentFailures",
                "metricNamespace": "HogeApp/Payments",
                "metricValue": "1",
            }
        ],
    )
    body, subject = notification("metric_filter_payment_failures.json", change)

    result = handle_notification(body, subject, deps)

    assert slack.messages(CHANNEL) == []  # routed by name
    (parent,) = slack.messages(PAYMENTS)
    assert result["requests"] == [declined[1], declined[0]]  # newest first
    assert "`HogeApp/Payments PaymentFailures` (Sum)" in texts(parent)
    summary, first, second = slack.replies(PAYMENTS, parent["ts"])
    shown = texts(summary)
    assert shown.startswith(
        ":mag: *2 failing requests, 1 kind of error* in `/aws/lambda/PaymentService`"
    )
    # The same error, the ids inside it aside; the example is the most recent.
    assert "*2 requests:* `payment failed: card declined for &lt;id&gt;`" in shown
    assert f"e.g. `{declined[1]}`" in shown
    assert other not in json.dumps(slack.conversation())
    assert texts(first).startswith(f"Request {declined[1]}")
    assert texts(second).startswith(f"Request {declined[0]}")


def fuga_failure(
    logs: Any, change_ms: int, rid: str = "bbbbbbbb-1111-4222-8333-444444444444"
) -> str:
    """FugaService (Node.js) fails with an uncaught TypeError."""
    t = change_ms - 20_000

    def iso(ms: int) -> str:
        return (
            datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{ms % 1000:03d}Z"
        )

    put_lines(
        logs,
        "/aws/lambda/FugaService",
        [
            (t, f"START RequestId: {rid} Version: $LATEST"),
            (t + 4, f"{iso(t + 4)}\t{rid}\tINFO\tcart 77 checkout"),
            (
                t + 9,
                f"{iso(t + 9)}\t{rid}\tERROR\tInvoke Error \t"
                '{"errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading \'price\')"}',
            ),
            (t + 11, f"END RequestId: {rid}"),
            (
                t + 12,
                f"REPORT RequestId: {rid}\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tStatus: error\tError Type: Runtime.Unknown",
            ),
        ],
    )
    return rid


def test_metric_math_alarm_searches_each_function(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    hoge_failure(logs, change)
    fuga = fuga_failure(logs, change)
    body, subject = notification("metric_math_two_functions.json", change)

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert set(result["requests"]) == {HOGE, fuga}
    shown = texts(parent)
    assert "`e1` = `m1 + m2` (Checkout errors)" in shown
    assert "`m1`: `AWS/Lambda Errors` (Sum) `FunctionName=HogeService`" in shown
    assert "`m2`: `AWS/Lambda Errors` (Sum) `FunctionName=FugaService`" in shown
    assert "*Evaluation*\n1 of 3 x 1 min ending" in shown
    summary, *stories = slack.replies(CHANNEL, parent["ts"])
    shown = texts(summary)
    assert (
        ":mag: *2 failing requests, 2 kinds of error* in `/aws/lambda/HogeService`, "
        "`/aws/lambda/FugaService`"
        in shown
        or (
            ":mag: *2 failing requests, 2 kinds of error* in `/aws/lambda/FugaService`, "
            "`/aws/lambda/HogeService`" in shown
        )
    )
    assert "`DB fetch failed: OperationalError" in shown
    # Node's Invoke Error is known by its type and message.
    assert "`TypeError: Cannot read properties of undefined (reading '&lt;val&gt;')`" in shown
    assert sorted(texts(s).splitlines()[0] for s in stories) == sorted(
        [f"Request {HOGE}", f"Request {fuga}"]
    )


def test_composite_alarm_follows_its_children(
    deps: WorkerDeps, logs: Any, cloudwatch: Any, slack: SlackStandin, now_ms: int
) -> None:
    for fn in ("HogeService", "FugaService"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{fn}-Errors",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": fn}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    change = now_ms - 10_000
    fuga = fuga_failure(logs, change)
    put_lines(logs, HOGE_GROUP, python_request(HOGE, change - 30_000, [(3, "INFO", "fine")]))
    body, subject = notification("composite_checkout.json", change)

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert result["requests"] == [fuga]
    shown = texts(parent)
    assert shown.startswith(":rotating_light: ALARM: Checkout-Degraded")
    assert '*Rule*\n`ALARM("HogeService-Errors") OR ALARM("FugaService-Errors")`' in shown
    assert "*Children*\n`FugaService-Errors`, `HogeService-Errors`" in shown
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(reply).startswith(f"Request {fuga}")
    assert "TypeError" in texts(reply)


def test_composite_alarm_without_cloudwatch_uses_the_mapping(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    deps.cloudwatch = None
    change = now_ms - 10_000
    fuga = fuga_failure(logs, change)
    body, subject = notification("composite_checkout.json", change)

    assert handle_notification(body, subject, deps)["requests"] == [fuga]


def test_eventbridge_state_change_via_sns(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    fuga = fuga_failure(logs, change)
    body, subject = notification("eventbridge_alarm_state_change.json", change)
    assert subject == ""

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert result["requests"] == [fuga]
    shown = texts(parent)
    assert shown.startswith(":rotating_light: ALARM: FugaService-Errors")
    assert "FugaService returned errors" in shown
    assert "`AWS/Lambda Errors` (Sum) `FunctionName=FugaService`" in shown
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(reply).startswith(f"Request {fuga}")


def test_custom_payload_with_the_id_inside_a_json_string(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    hoge_failure(logs, change)
    body, subject = notification("custom_json_id_in_string.json", change)

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert result == {
        "action": "posted",
        "channel": CHANNEL,
        "ts": parent["ts"],
        "requests": [HOGE],
    }
    shown = texts(parent)
    assert shown.startswith(":bell: Checkout failed for a customer")
    assert "Order placement returned HTTP 500" in shown
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(reply).startswith(f"Request {HOGE}")
    assert "DB fetch failed" in texts(reply)


def test_plain_text_is_posted_as_it_came(
    deps: WorkerDeps, slack: SlackStandin, now_ms: int
) -> None:
    body, subject = notification("plain_text.json", now_ms)

    result = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    assert result["action"] == "posted"
    shown = texts(parent)
    assert shown.startswith(":bell: Nightly export failed")
    assert "Nightly export to s3://hoge-exports failed on host batch-01 (exit code 3)." in shown
    assert slack.replies(CHANNEL, parent["ts"]) == []


def test_unreadable_notification_is_posted_with_its_raw_text(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    change = now_ms - 10_000
    hoge_failure(logs, change)
    body, subject = notification("truncated.json", change)

    handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    shown = texts(parent)
    assert shown.startswith(":rotating_light: ALARM: HogeService-Errors")
    assert (
        ":warning: Parts of this notification could not be read (the message is not valid JSON (truncated?))"
        in shown
    )
    raw, request = slack.replies(CHANNEL, parent["ts"])
    assert texts(raw).startswith(
        'The notification as received:\n```\n{"AlarmName":"HogeService-Errors"'
    )
    # What could be read was enough: the mapping named the log group, the time the window.
    assert texts(request).startswith(f"Request {HOGE}")


# -- one episode, one thread ----------------------------------------------------------------


def test_alarm_then_alarm_then_ok_is_one_thread(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 30 * 60_000  # fixtures: ALARM 03:21:07, repeat 03:31:07, OK 03:47:07
    hoge_failure(logs, first)
    body, subject = notification("lambda_errors_hoge.json", first)
    opened = handle_notification(body, subject, deps)

    # Ten minutes on, still failing: HogeService fails again for a new request.
    second = first + 10 * 60_000 + 333
    later = "cccccccc-2222-4333-8444-555555555555"
    put_lines(
        logs,
        HOGE_GROUP,
        python_request(later, second - 60_000, [(4, "ERROR", "DB fetch failed: pool exhausted")]),
    )
    body, subject = notification("lambda_errors_hoge_repeat.json", first)
    repeated = handle_notification(body, subject, deps)

    body, subject = notification("lambda_errors_hoge_ok.json", first)
    resolved = handle_notification(body, subject, deps)

    (parent,) = slack.messages(CHANNEL)
    ts = parent["ts"]
    assert opened["ts"] == repeated["ts"] == resolved["ts"] == ts
    assert (opened["action"], repeated["action"], resolved["action"]) == (
        "opened",
        "repeated",
        "resolved",
    )
    assert repeated["requests"] == [later]

    # The original message now says it is resolved, and how long it lasted.
    shown = texts(parent)
    assert shown.startswith(":white_check_mark: RESOLVED: HogeService-Errors")
    assert "*Back to OK* at" in shown and "— lasted 26 min 0 s." in shown
    assert "was not greater than or equal to the threshold" in shown
    assert parent.get("edited")

    replies = slack.replies(CHANNEL, ts)
    assert len(replies) == 5
    hoge_story, still, later_story, back, recap = replies
    assert texts(recap).startswith(":checkered_flag: *Recap:* 2 failing requests")
    assert texts(hoge_story).startswith(f"Request {HOGE}")
    assert texts(still).startswith(":rotating_light: *Still in ALARM* at")
    assert texts(later_story).startswith(f"Request {later}")
    assert HOGE not in texts(later_story)  # already threaded above, not repeated
    assert texts(back).startswith(":white_check_mark: *Back to OK* at")
    assert "after 26 min 0 s." in texts(back)


def test_insufficient_data_while_open_replies_in_the_thread(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 10_000
    hoge_failure(logs, first)
    handle_notification(*notification("lambda_errors_hoge.json", first), deps)
    handle_notification(*notification("lambda_errors_hoge_insufficient.json", first), deps)

    (parent,) = slack.messages(CHANNEL)
    *_, reply = slack.replies(CHANNEL, parent["ts"])
    assert texts(reply).startswith(":grey_question: *INSUFFICIENT_DATA* at")


def test_ok_without_an_open_episode_is_its_own_message(
    deps: WorkerDeps, slack: SlackStandin, now_ms: int
) -> None:
    result = handle_notification(*notification("lambda_errors_hoge_ok.json", now_ms), deps)

    (parent,) = slack.messages(CHANNEL)
    assert result["action"] == "posted"
    assert texts(parent).startswith(":white_check_mark: OK: HogeService-Errors")
    assert slack.replies(CHANNEL, parent["ts"]) == []


# -- at least once --------------------------------------------------------------------------


def test_the_same_sns_message_twice_posts_once(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, aws: str, now_ms: int
) -> None:
    """Through SNS for real: the same envelope delivered twice (as SNS may)."""
    change = now_ms - 10_000
    hoge_failure(logs, change)
    sns = boto3.client("sns", endpoint_url=aws)
    sqs = boto3.client("sqs", endpoint_url=aws)
    topic = sns.create_topic(Name="logthread-alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="alarms")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    body, subject = notification("lambda_errors_hoge.json", change)
    sns.publish(TopicArn=topic, Message=body, Subject=subject)
    (delivery,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)["Messages"]
    envelope = json.loads(delivery["Body"])
    assert envelope["Type"] == "Notification"

    first = handle_notification(envelope["Message"], envelope["Subject"], deps)
    calls = len(slack.calls)
    second = handle_notification(envelope["Message"], envelope["Subject"], deps)

    assert second == first
    assert len(slack.calls) == calls  # not a single Slack call the second time
    (parent,) = slack.messages(CHANNEL)
    assert len(slack.replies(CHANNEL, parent["ts"])) == 1


class FailsOnceAfterPosting(SlackChat):
    """Posts the first message, then Slack fails the next post once (a real HTTP error)."""

    def __init__(self, chat: SlackChat, slack: SlackStandin) -> None:
        super().__init__(chat.client)
        self.slack = slack
        self.armed = True

    def post(self, channel: str, **kwargs: Any) -> str:
        ts = super().post(channel, **kwargs)
        if self.armed:
            self.armed = False
            self.slack.fail_next("chat.postMessage", status=200, error="fatal_error")
        return ts


def test_a_worker_failing_after_posting_does_not_post_again(
    deps: WorkerDeps, chat: SlackChat, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    from logthread.slack.chat import ChatError

    change = now_ms - 10_000
    hoge_failure(logs, change)
    body, subject = notification("lambda_errors_hoge.json", change)
    deps.chat = FailsOnceAfterPosting(chat, slack)

    with pytest.raises(ChatError):
        handle_notification(body, subject, deps)
    (parent,) = slack.messages(CHANNEL)
    assert slack.replies(CHANNEL, parent["ts"]) == []

    # The delivery is retried: the alarm message is not posted again, the thread is.
    result = handle_notification(body, subject, deps)
    assert slack.messages(CHANNEL) == [parent | {"thread_ts": parent["ts"], "reply_count": 1}]
    assert result["ts"] == parent["ts"]
    (reply,) = slack.replies(CHANNEL, parent["ts"])
    assert texts(reply).startswith(f"Request {HOGE}")


def test_two_notifications_of_one_episode_share_the_thread(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    """CloudWatch's SNS message and the EventBridge event for the same alarm state."""
    change = now_ms - 10_000
    fuga = fuga_failure(logs, change)
    env = json.loads(notification("eventbridge_alarm_state_change.json", change)[0])
    sns_shape = {
        "AlarmName": "FugaService-Errors",
        "AlarmArn": env["resources"][0],
        "NewStateValue": "ALARM",
        "NewStateReason": env["detail"]["state"]["reason"],
        "StateChangeTime": env["detail"]["state"]["timestamp"],
        "Trigger": {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Dimensions": [{"value": "FugaService", "name": "FunctionName"}],
            "Period": 60,
            "EvaluationPeriods": 1,
        },
    }
    a = handle_notification(json.dumps(env), "", deps)
    b = handle_notification(
        json.dumps(sns_shape), 'ALARM: "FugaService-Errors" in US East (N. Virginia)', deps
    )

    (parent,) = slack.messages(CHANNEL)
    assert (a["action"], b["action"]) == ("opened", "repeated")
    assert a["ts"] == b["ts"] == parent["ts"]
    story_reply, still, nothing_new = slack.replies(CHANNEL, parent["ts"])
    assert texts(story_reply).startswith(f"Request {fuga}")
    assert texts(still).startswith(":rotating_light: *Still in ALARM*")
    assert (
        texts(nothing_new)
        == f":mag: No new failing request since the last notification (`{fuga}` above)."
    )


def test_notification_keys_are_stable() -> None:
    assert notification_key("b", "s") == notification_key("b", "s")
    assert notification_key("b", "s") != notification_key("b", "t")


def test_secrets_never_reach_slack(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    """Error lines (in the summary and the timelines) and payload text are redacted."""
    change = now_ms - 10_000
    ids = ["aaaaaaaa-5555-4666-8777-000000000001", "aaaaaaaa-5555-4666-8777-000000000002"]
    for i, rid in enumerate(ids):
        put_lines(
            logs,
            HOGE_GROUP,
            python_request(
                rid,
                change - 40_000 + i * 5_000,
                [(3, "ERROR", "DB login failed: password=hunter2 key AKIAIOSFODNN7EXAMPLE")],
            ),
        )
    handle_notification(*notification("lambda_errors_hoge.json", change), deps)
    body = json.dumps(
        {"title": "deploy hook failed", "message": "token xoxb-123456789012-abcdefghijkl"}
    )
    handle_notification(body, "", deps)

    everything = json.dumps(slack.conversation())
    for secret in ("hunter2", "AKIAIOSFODNN7EXAMPLE", "xoxb-123456789012-abcdefghijkl"):
        assert secret not in everything
    alarm, custom = slack.messages(CHANNEL)
    summary, *_ = slack.replies(CHANNEL, alarm["ts"])
    # The kind of error shows neither: the normalization took them out before redaction.
    assert "*2 requests:* `DB login failed: password=&lt;id&gt; key &lt;id&gt;`" in texts(summary)
    assert "[REDACTED:slack-token]" in texts(custom)


def test_an_alarm_message_that_timed_out_leaves_no_thread_under_a_placeholder(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int, aws: str
) -> None:
    """The first post timed out (it may have landed; its ts is unknown): the repeat must not
    reply under the dead letter's placeholder, which Slack could never find."""
    from dataclasses import replace

    from logthread.slack.deadletter import SqsDeadLetters
    from logthread.slack.webclient import make_web_client
    from logthread.worker import handle_message

    sqs = boto3.client("sqs", endpoint_url=aws)
    queue = sqs.create_queue(QueueName="alarm-slack-dlq")["QueueUrl"]
    timing_out = replace(
        deps,
        chat=SlackChat(make_web_client(slack.token, slack.url, timeout=1)),
        dead_letters=SqsDeadLetters(sqs, queue),
    )
    first = now_ms - 30 * 60_000
    hoge_failure(logs, first)
    slack.fail_next("chat.postMessage", 200, delay=1.5, match=lambda p: not p.get("thread_ts"))
    body, subject = notification("lambda_errors_hoge.json", first)
    handle_message(body, subject, timing_out)

    body, subject = notification("lambda_errors_hoge_repeat.json", first)
    repeated = handle_message(body, subject, timing_out)

    assert not repeated["ts"].startswith("$")
    assert repeated["ts"] in [m["ts"] for m in slack.messages(CHANNEL)]
    assert slack.replies(CHANNEL, repeated["ts"])


def test_an_ok_whose_own_message_timed_out_is_forgotten_so_its_late_alarm_is_posted(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int, aws: str
) -> None:
    """An OK with no episode whose message timed out (its ts unknown, in a dead letter) must
    not leave a record that makes its late ALARM wait for that message forever."""
    from dataclasses import replace

    from logthread.slack.deadletter import SqsDeadLetters
    from logthread.slack.webclient import make_web_client
    from logthread.worker import handle_message

    sqs = boto3.client("sqs", endpoint_url=aws)
    queue = sqs.create_queue(QueueName="alarm-slack-dlq")["QueueUrl"]
    lettering = replace(
        deps,
        chat=SlackChat(make_web_client(slack.token, slack.url, timeout=1)),
        dead_letters=SqsDeadLetters(sqs, queue),
    )
    first = now_ms - 30 * 60_000
    hoge_failure(logs, first)
    slack.fail_next("chat.postMessage", 200, delay=4, match=lambda p: not p.get("thread_ts"))
    body, subject = notification("lambda_errors_hoge_ok.json", first)
    assert handle_message(body, subject, lettering)["ts"].startswith("$")  # a placeholder

    body, subject = notification("lambda_errors_hoge.json", first)
    late = handle_message(body, subject, lettering)

    assert late["ts"] in [m["ts"] for m in slack.messages(CHANNEL)]
    assert slack.replies(CHANNEL, late["ts"])
