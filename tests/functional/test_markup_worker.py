"""Hostile notifications through the real worker: nothing live reaches Slack, nothing is lost.

Security review items 2 and 4, end to end: SNS events into ``functions/worker/app.py``,
AWS on moto, Slack on the stand-in behind the real WebClient. Payload fields, the
SNS subject, the EventBridge ``region`` and the failing request's log lines (its
text and its log stream's name) all carry mentions, special commands and
labelled links; every recorded Slack call (fallback text, blocks, button URLs,
file titles and comments) is then checked by the unit property's checker.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slash_pipeline import CHANNEL, TEAM, USER, Context, Pipeline
from test_worker_tasks import sns_event

# The checker lives with the unit property; share it, don't copy it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_markup_property import bad_urls, live_markup, mrkdwn_texts

from logthread.alarms.flow import handle_notification
from logthread_local.slack_standin import SlackStandin

GROUP = "/aws/lambda/HogeService"
RID = "7c0ffee0-aaaa-4bbb-8ccc-1234567890ab"
EVIL = "<!channel> <!here> <@U0EVIL> <#C0EVIL> <!subteam^S0EVIL|@oncall> <https://evil.example|AWS console> &lt;!everyone&gt;"
CONFIG: dict[str, Any] = {
    "access": {"teams": [TEAM], "users": [USER], "log_group_prefixes": ["/aws/lambda/"]},
    "default_channel": CHANNEL,
    "log_groups": [{"alarm": "*", "log_groups": [GROUP]}],
    "request_id_rules": [{"alarm": "Checkout*", "expression": "requestId"}],
    "limits": {"search_deadline_seconds": 10},
}


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    yield Pipeline(aws, slack, monkeypatch, config=CONFIG)


def iso(ms: int, z: str = "+0000") -> str:
    t = datetime.fromtimestamp(ms / 1000, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}{z}"


def failing_request(pipeline: Pipeline, change_ms: int) -> None:
    """A request failing just before the alarm, its lines and its stream name hostile."""
    stream = f"2024/05/14/[$LATEST]{EVIL.replace(':', '.').replace('*', '.')}"
    pipeline.logs.create_log_group(logGroupName=GROUP)
    pipeline.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    t = change_ms - 30_000
    lines = [
        (t, f"START RequestId: {RID} Version: $LATEST"),
        (t + 1, f"[INFO]\t{iso(t + 1, 'Z')}\t{RID}\tGET /orders/{EVIL}"),
        (t + 2, f"[ERROR]\t{iso(t + 2, 'Z')}\t{RID}\tpayment failed: {EVIL}"),
        (t + 3, f"[ERROR]\t{iso(t + 3, 'Z')}\t{RID}\t```{EVIL}``` `{EVIL}`"),
        (t + 4, f"END RequestId: {RID}"),
        (t + 5, f"REPORT RequestId: {RID}\tDuration: 5.00 ms\tBilled Duration: 6 ms"),
    ]
    events = [{"timestamp": ms, "message": m} for ms, m in lines]
    pipeline.logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def cloudwatch(change_ms: int, state: str = "ALARM", **fields: Any) -> str:
    doc = {
        "AlarmName": f"HogeService-Errors {EVIL}",
        "AlarmDescription": f"Errors of HogeService {EVIL}",
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "OldStateValue": "OK" if state == "ALARM" else "ALARM",
        "NewStateReason": f"Threshold Crossed {EVIL}",
        "StateChangeTime": iso(change_ms),
        "Region": f"US East (N. Virginia) {EVIL}",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors",
        "Trigger": {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": EVIL,
            "Dimensions": [{"name": "FunctionName", "value": f"HogeService {EVIL}"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
        },
    }
    doc.update(fields)
    return json.dumps(doc)


def eventbridge(change_ms: int) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": "123456789012",
            "time": iso(change_ms, "Z")[:19] + "Z",
            "region": "evil.example/aws-login#|<!channel>",
            "resources": [],
            "detail": {
                "alarmName": f"FugaService-Errors {EVIL}",
                "state": {"value": "ALARM", "reason": EVIL, "timestamp": iso(change_ms)},
                "previousState": {"value": "OK"},
                "configuration": {"description": EVIL, "metrics": []},
            },
        }
    )


def check_every_call(slack: SlackStandin) -> int:
    """Every Slack call so far carries no live markup from outside; returns how many."""
    calls = [c for c in slack.calls if c.status == 200 and not c.error]
    for call in calls:
        p = call.params
        found: list[str] = []
        for key in ("text", "initial_comment"):
            if isinstance(p.get(key), str):
                found += live_markup(p[key])
        blocks = p.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for text in mrkdwn_texts(blocks or []):
            found += live_markup(text)
        assert bad_urls(blocks or []) == [], call.method
        files = p.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        for f in files or []:
            found += live_markup(str(f.get("title", "")))
        for key in ("filename", "title"):
            if key in p:
                assert "<" not in str(p[key]), (call.method, key)
        assert found == [], (call.method, found)
    return len(calls)


def deliver(pipeline: Pipeline, body: str, subject: str = "") -> None:
    pipeline.worker.handler(sns_event(pipeline, body, subject), Context("logthread-worker"))


def test_hostile_notifications_post_nothing_live(pipeline: Pipeline, slack: SlackStandin) -> None:
    now = int(time.time() * 1000)
    change = now - 10_000
    failing_request(pipeline, change)

    deliver(pipeline, cloudwatch(change), f'ALARM: "HogeService-Errors" in {EVIL}')
    deliver(pipeline, cloudwatch(change + 60_000, "OK"), f'OK: "x" in {EVIL}')
    deliver(pipeline, eventbridge(change))
    deliver(pipeline, f"{EVIL}\nnightly export failed", EVIL)
    deliver(pipeline, json.dumps({"title": f"Checkout failed {EVIL}", "requestId": RID}))
    deliver(pipeline, json.dumps({"AlarmName": EVIL, "NewStateValue": "ALARM"})[:40], EVIL)
    deep = "[" * 5_000 + "]" * 5_000
    deliver(pipeline, cloudwatch(change + 120_000, AlarmDescription=deep), "")
    # Truncated and too long to inline: the raw text goes into the thread as a file.
    truncated = cloudwatch(change + 180_000, AlarmName="Truncated", AlarmDescription=EVIL * 40)
    deliver(pipeline, truncated[:5000], f'ALARM: "{EVIL}"')

    methods = {c.method for c in slack.calls}
    assert {"chat.postMessage", "chat.update", "files.completeUploadExternal"} <= methods
    assert check_every_call(slack) > 10
    # The failing request's story was posted (with its hostile lines, escaped).
    stories = [m for m in slack.conversation().get(CHANNEL, []) if RID in json.dumps(m)]
    assert stories
    urls = [
        e["url"]
        for c in slack.calls_to("chat.postMessage")
        for b in (c.params.get("blocks") or [])
        if isinstance(b, dict) and b.get("type") == "actions"
        for e in b["elements"]
        if e.get("url")
    ]
    assert urls and all("evil.example" not in u for u in urls)


@pytest.mark.parametrize("where", ["body", "description"])
def test_a_notification_nested_too_deep_is_posted_as_raw_text(
    pipeline: Pipeline, slack: SlackStandin, where: str
) -> None:
    """The alarm path itself, past the worker's decoder: a message, and the raw text as a file.

    100,000 levels as the whole body, or 5,000 as the value of ``AlarmDescription``.
    """
    if where == "body":
        body, name = "[" * 100_000 + "]" * 100_000, "Deep"
    else:
        change = int(time.time() * 1000)
        deep = "[" * 5_000 + "]" * 5_000
        body = cloudwatch(change, AlarmName="Deep").replace(
            '"AlarmDescription": "', f'"x": {deep}, "y": "'
        )
        name = "Deep"
    result = handle_notification(body, f'ALARM: "{name}" in {EVIL}', pipeline.worker.deps())
    assert result["action"] in ("posted", "opened")
    (parent,) = [m for m in slack.messages(CHANNEL) if "Deep" in json.dumps(m)]
    assert len(json.dumps(parent["blocks"])) < 10_000
    if where == "body":
        assert "[[[[[[[[" in json.dumps(parent["blocks"])  # the start of the raw text, cut
    assert len(slack.calls_to("files.completeUploadExternal")) == 1  # the raw text, as a file
    check_every_call(slack)


def test_a_notification_100000_levels_deep_through_the_worker(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    deliver(pipeline, "[" * 100_000 + "]" * 100_000, 'ALARM: "Deep" in US East')
    assert slack.calls_to("chat.postMessage")
    check_every_call(slack)


def test_an_alarm_whose_window_holds_a_log_line_nested_too_deep_is_posted(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    change = int(time.time() * 1000) - 10_000
    failing_request(pipeline, change)
    deep = '{"level": "ERROR", "x": ' + '{"a": ' * 3_000 + "1" + "}" * 3_000 + "}"
    stream = "2024/05/14/[$LATEST]deep"
    pipeline.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    pipeline.logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": change - 20_000, "message": deep}],
    )
    result = handle_notification(
        cloudwatch(change, AlarmName="HogeService-Errors"), "", pipeline.worker.deps()
    )
    assert result["action"] == "opened"
    assert slack.messages(CHANNEL)
    check_every_call(slack)
