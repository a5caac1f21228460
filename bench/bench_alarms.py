"""Alarm to thread: what threading the failing requests' logs costs over posting the alarm alone.

Data (generated, deterministic): ``/aws/lambda/bench-hoge`` with a busy five
minutes before the alarm: 500 healthy requests (2,000 lines) interleaved in 20
streams with 3 failing ones: one logs ``[ERROR]`` with its id, one times out,
one dies on an unhandled exception whose traceback line carries no id.

For each of 3 alarms (Lambda ``Errors`` on that function, distinct names so
each opens its own episode), on moto and the Slack stand-in over real HTTP:

* baseline, measured in the same run: what an SNS-to-Slack bridge does:
  parse the notification and post the alarm message, nothing else;
* logthread: :func:`logthread.alarms.flow.handle_notification`: idempotency
  record, episode claim, discovery over the evaluation window, one search per
  failing request, the alarm message and one reply per request;
* the same SNS message delivered again (at-least-once): served from the
  idempotency record.

Then the alarm first (issue 12): CloudWatch Logs slowed by the fault proxy (every
call waits ``SLOW_CALL`` s, as under a slow or throttled CloudWatch), for 3 more
alarms: the time from the notification handed to the worker to its alarm message
appearing in the Slack stand-in, beside the time to the message showing what was
found. The old order (search, then post) no longer exists in code: it posted the
parent when the findings were known, so the second figure is its baseline.

moto ignores the OR filter pattern and returns every line of the window, so the
discovery here reads all 2,000 lines and filters them itself; CloudWatch
would return only the error lines. Recall is failing requests threaded / 3.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from typing import Any

import boto3

from logthread.alarms.alarm_render import alarm_message
from logthread.alarms.episodes import EpisodeStore
from logthread.alarms.flow import handle_notification
from logthread.alarms.parse import parse
from logthread.aws import RETRY_CONFIG
from logthread.config import from_mapping
from logthread.slack.chat import SlackChat
from logthread.slack.webclient import make_web_client
from logthread.worker.deps import WorkerDeps
from logthread_local.aws import create_table, moto_server, use_endpoint
from logthread_local.faultproxy import FaultProxy
from logthread_local.seed import iso, put_events
from logthread_local.slack_standin import SlackStandin

GROUP = "/aws/lambda/bench-hoge"
CHANNEL = "C0BENCH"
ALARMS = 3
HEALTHY = 500
STREAMS = 20
SLOW_CALL = 0.3  # seconds the fault proxy holds every CloudWatch Logs call


def _rid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(now_ms: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The window's events and the failing request ids."""
    rng = random.Random(7)
    day = time.strftime("%Y/%m/%d/", time.gmtime(now_ms / 1000))
    streams = [f"{day}[$LATEST]{rng.getrandbits(128):032x}" for _ in range(STREAMS)]
    events: list[dict[str, Any]] = []
    clock = dict.fromkeys(streams, now_ms - 280_000)

    def add(stream: str, lines: list[tuple[int, str]]) -> None:
        for ts, message in lines:
            events.append(
                {
                    "logGroupName": GROUP,
                    "logStreamName": stream,
                    "timestamp": ts,
                    "message": message,
                }
            )

    for _ in range(HEALTHY):
        stream = rng.choice(streams)
        t, rid = clock[stream], _rid(rng)
        add(
            stream,
            [
                (t, f"START RequestId: {rid} Version: $LATEST"),
                (t + 2, f"[INFO]\t{iso(t + 2)}\t{rid}\tGET /orders/{rng.randint(1, 9999)}"),
                (t + 20, f"END RequestId: {rid}"),
                (t + 21, f"REPORT RequestId: {rid}\tDuration: 19.20 ms\tBilled Duration: 20 ms"),
            ],
        )
        clock[stream] = t + rng.randint(30, 400)
    failing = [_rid(rng) for _ in range(3)]
    shapes = [
        [(5, f"[ERROR]\t{{iso}}\t{failing[0]}\tDB fetch failed: timeout")],
        [(3000, f"{{iso}} {failing[1]} Task timed out after 3.00 seconds")],
        [(7, "[ERROR] KeyError: 'user'\nTraceback (most recent call last):\n  File \"app.py\"")],
    ]
    for rid, body in zip(failing, shapes, strict=True):
        stream = rng.choice(streams)
        t = clock[stream]
        lines = [(t, f"START RequestId: {rid} Version: $LATEST")]
        lines += [(t + o, m.replace("{iso}", iso(t + o))) for o, m in body]
        lines += [(t + 3001, f"END RequestId: {rid}")]
        add(stream, lines)
        clock[stream] = t + 3100
    return events, failing


def _notification(name: str, change_ms: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(change_ms / 1000))
    return json.dumps(
        {
            "AlarmName": name,
            "AWSAccountId": "123456789012",
            "NewStateValue": "ALARM",
            "NewStateReason": "Threshold Crossed: 3 datapoints were greater than the threshold (1.0).",
            "StateChangeTime": f"{stamp}.{change_ms % 1000:03d}+0000",
            "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
            "OldStateValue": "OK",
            "Trigger": {
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Statistic": "SUM",
                "Dimensions": [{"value": "bench-hoge", "name": "FunctionName"}],
                "Period": 300,
                "EvaluationPeriods": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Threshold": 1.0,
            },
        }
    )


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f} ms"


def run() -> list[str]:
    now = int(time.time() * 1000)
    events, failing = generate(now)
    out: list[str] = []
    with moto_server() as endpoint, SlackStandin() as slack:
        use_endpoint(endpoint)
        put_events(boto3.client("logs"), events)
        logs = boto3.client("logs")
        ddb = boto3.client("dynamodb")
        create_table(ddb, "bench-alarms")
        calls = {"FilterLogEvents": 0, "GetLogEvents": 0}

        def count(model: Any, **_: Any) -> None:
            if model.name in calls:
                calls[model.name] += 1

        logs.meta.events.register("before-call.logs", count)
        chat = SlackChat(make_web_client(slack.token, slack.url))
        deps = WorkerDeps(
            logs=logs,
            chat=chat,
            config=from_mapping({"default_channel": CHANNEL}, env={}),
            store=EpisodeStore(ddb, "bench-alarms"),
        )
        out.append(
            f"data: {GROUP}: {len(events):,} lines in the 5-minute window, {STREAMS} streams, "
            f"{HEALTHY} healthy + 3 failing requests (ERROR line, timeout, traceback without id)"
        )
        base, ours, again = [], [], []
        recall, slack_calls, api = [], [], []
        for i in range(ALARMS):
            body = _notification(f"bench-hoge-Errors-{i}", now - 5_000)
            t0 = time.perf_counter()
            alarm = parse(body)
            message = alarm_message(alarm)
            chat.post(CHANNEL, text=message.text, blocks=message.blocks)
            base.append(time.perf_counter() - t0)

            before_slack, before_api = len(slack.calls), dict(calls)
            t0 = time.perf_counter()
            result = handle_notification(body, "", deps)
            ours.append(time.perf_counter() - t0)
            slack_calls.append(len(slack.calls) - before_slack)
            api.append({k: calls[k] - before_api[k] for k in calls})
            recall.append(len(set(result["requests"]) & set(failing)) / len(failing))

            before_slack = len(slack.calls)
            t0 = time.perf_counter()
            handle_notification(body, "", deps)
            again.append(time.perf_counter() - t0)
            assert len(slack.calls) == before_slack, "a duplicate reached Slack"
        out.append(f"{'':<44}{'median':>10}   per alarm")
        out.append(f"{'baseline: alarm message only':<44}{_ms(base)}   1 Slack call, no logs")
        out.append(
            f"{'logthread: alarm + failing requests threaded':<44}{_ms(ours)}   "
            f"recall {min(recall):.0%}, {statistics.median(slack_calls):.0f} Slack calls, "
            f"FilterLogEvents {statistics.median(a['FilterLogEvents'] for a in api):.0f}, "
            f"GetLogEvents {statistics.median(a['GetLogEvents'] for a in api):.0f}"
        )
        out.append(f"{'same SNS message again (idempotent)':<44}{_ms(again)}   0 Slack calls")
        with FaultProxy(endpoint) as proxy:
            proxy.delay("*", SLOW_CALL)
            slow = WorkerDeps(
                logs=boto3.client("logs", endpoint_url=proxy.url, config=RETRY_CONFIG),
                chat=chat,
                config=deps.config,
                store=deps.store,
            )
            out += _alarm_first(slow, slack, now)
    return out


def _alarm_first(deps: WorkerDeps, slack: SlackStandin, now: int) -> list[str]:
    """Notification handed to the worker -> parent in Slack, and -> findings in Slack."""
    parent, found, total = [], [], []
    for i in range(ALARMS):
        body = _notification(f"bench-slow-Errors-{i}", now - 5_000)
        before = len(slack.calls)
        t0 = time.time()
        result = handle_notification(body, "", deps)
        total.append(time.time() - t0)
        calls = [c for c in slack.calls[before:] if not (c.error or c.fault)]
        posted = next(
            c for c in calls if c.method == "chat.postMessage" and "thread_ts" not in c.params
        )
        edited = next(
            c for c in calls if c.method == "chat.update" and c.params.get("ts") == result["ts"]
        )
        parent.append(posted.time - t0)
        found.append(edited.time - t0)
    return [
        f"slow CloudWatch Logs (fault proxy: +{SLOW_CALL:g} s per call), median of {ALARMS}:",
        f"{'  alarm first: parent message in Slack':<44}{_ms(parent)}   target < 1,000 ms",
        f"{'  findings in Slack (= old order: parent)':<44}{_ms(found)}"
        "   the search ends, the parent is edited",
        f"{'  whole notification handled':<44}{_ms(total)}",
    ]
