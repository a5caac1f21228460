"""The /logsearch path for real: ingress handler → SNS (moto) → SQS → worker handler → Slack.

Used by the slash, button and worker-task functional tests. Everything crosses
real HTTP: boto3 to the moto server, slack_sdk to the Slack stand-in. The queue
is subscribed to the task topic with raw delivery off, so the worker receives
the SNS envelope exactly as SQS carries it; requests are signed as Slack signs
them and handed over as API Gateway HTTP API v2 events (base64 form bodies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from logthread import aws as aws_module
from logthread.logparse import parse_line
from logthread.slack.format import escape, format_time
from logthread_local.aws import create_table
from logthread_local.slack_standin import SlackStandin

ROOT = Path(__file__).resolve().parents[2]
SECRET = "functional-signing-secret"
CHANNEL = "C0OPS0001"
USER = "U0ONCALL1"
TEAM = "T0LOCAL01"
TABLE = "logthread-test"
CONFIG: dict[str, Any] = {
    "access": {
        "teams": [TEAM],
        "users": [USER, "U0SECOND1"],
        "log_group_prefixes": ["/aws/lambda/"],
    },
    "limits": {"search_deadline_seconds": 15},
}
# Slack takes about one post a second per channel, and the worker paces itself to that
# through its table: every test sending two posts would wait a second for the second.
# The pipeline paces at 20 posts a second unless a test's config sets the pace itself
# (pacing has tests of its own: test_shared_pacing.py, test_storm.py, unit/test_pacing.py).
POSTS_PER_SECOND = 20


def quick_pace(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with ``limits.slack_posts_per_second_per_channel`` at POSTS_PER_SECOND if unset."""
    limits = config.get("limits", {})
    if not isinstance(limits, dict) or "slack_posts_per_second_per_channel" in limits:
        return config
    return {**config, "limits": {**limits, "slack_posts_per_second_per_channel": POSTS_PER_SECOND}}


class Context:
    """The attributes of Lambda's context that the handlers and Powertools read."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "2024/05/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def load_app(path: Path) -> ModuleType:
    """A fresh copy of a function's app.py (each test gets its own process-wide deps)."""
    name = f"_{path.parent.name}_app_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slack_signature(body: str, timestamp: int, secret: str = SECRET) -> str:
    """``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}``, as Slack signs."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def gateway_event(
    body: str,
    *,
    timestamp: int | None = None,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (v2) event carrying ``body`` as Slack sends it."""
    ts = int(time.time()) if timestamp is None else timestamp
    event: dict[str, Any] = json.loads(
        (ROOT / "fixtures/slack/apigw_v2_slash_command.json").read_text()
    )
    event["headers"].update(
        {
            "content-length": str(len(body)),
            "x-slack-request-timestamp": str(ts),
            "x-slack-signature": slack_signature(body, ts, secret),
            **(headers or {}),
        }
    )
    event["body"] = base64.b64encode(body.encode()).decode()
    event["isBase64Encoded"] = True
    return event


def command_body(text: str, *, response_url: str, user_id: str = USER, **fields: str) -> str:
    form = json.loads((ROOT / "fixtures/slack/slash_command.json").read_text())
    form.update(
        text=text,
        # Slack gives every command its own trigger_id (the worker de-duplicates on it).
        trigger_id=f"{uuid.uuid4().int % 10**13}.{TEAM}.{uuid.uuid4().hex}",
        team_id=TEAM,
        channel_id=CHANNEL,
        user_id=user_id,
        response_url=response_url,
        **fields,
    )
    form.pop("enterprise_id", None)
    form.pop("enterprise_name", None)
    return urlencode(form)


def click_body(
    message: dict[str, Any], action: dict[str, Any], *, response_url: str, user_id: str = USER
) -> str:
    """A block_actions click on ``action`` of ``message`` as it sits in the stand-in."""
    payload = json.loads((ROOT / "fixtures/slack/block_actions_search_again.json").read_text())
    payload["user"] = {"id": user_id, "username": "oncall", "name": "oncall", "team_id": TEAM}
    payload["team"] = {"id": TEAM, "domain": "local"}
    payload["channel"] = {"id": CHANNEL, "name": "ops"}
    payload["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
        **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
    }
    payload["message"] = {"type": "message", **message}
    payload["response_url"] = response_url
    payload["trigger_id"] = f"{uuid.uuid4().int % 10**13}.{TEAM}.{uuid.uuid4().hex}"
    payload["actions"] = [
        {
            "action_id": action["action_id"],
            "block_id": "b",
            "text": action.get("text", {}),
            "value": action.get("value", ""),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
    ]
    return urlencode({"payload": json.dumps(payload)})


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by action_id."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for e in elements:
            if isinstance(e, dict) and e.get("type") == "button" and "action_id" in e:
                found[e["action_id"]] = e
    return found


def message_text(message: dict[str, Any]) -> str:
    """Every text a person would read in the message, blocks included."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(out) or str(message.get("text", ""))


def timeline_entry(event: dict[str, Any]) -> tuple[str, str]:
    """What a timeline line must show for ``event``: its time and its message's first line."""
    record = parse_line(event["message"], timestamp=event["timestamp"])
    first = (record.message or record.raw).rstrip("\n").split("\n")[0]
    return format_time(event["timestamp"]), escape(first)


def assert_lines_in_order(text: str, entries: list[tuple[str, str]]) -> None:
    """Each (time, message) on one line of ``text``, in this order."""
    lines = text.splitlines()
    at = 0
    for stamp, message in entries:
        while at < len(lines) and not (stamp in lines[at] and message in lines[at]):
            at += 1
        assert at < len(lines), f"missing or out of order: {stamp} {message!r}\n{text}"
        at += 1


class Pipeline:
    """Topic, queue, table and both handlers, wired as the SAM template wires them."""

    def __init__(
        self,
        endpoint: str,
        slack: SlackStandin,
        monkeypatch: pytest.MonkeyPatch,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.slack = slack
        # Clients cached by an earlier test could point elsewhere; build ours afresh.
        aws_module.client.cache_clear()
        self.sns = boto3.client("sns", endpoint_url=endpoint)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint)
        self.logs = boto3.client("logs", endpoint_url=endpoint)
        self.topic = self.sns.create_topic(Name="logthread-tasks")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="logthread-worker")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.queue_arn = queue_arn
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue_arn)
        create_table(boto3.client("dynamodb", endpoint_url=endpoint), TABLE)
        for name, value in {
            "TASK_TOPIC_ARN": self.topic,
            "TABLE_NAME": TABLE,
            "SLACK_SIGNING_SECRET": SECRET,
            "LOGTHREAD_CONFIG_JSON": json.dumps(quick_pace(CONFIG if config is None else config)),
            "POWERTOOLS_SERVICE_NAME": "logthread",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("SLACK_SECRET_ARN", "LOGTHREAD_CONFIG", "AWS_LAMBDA_FUNCTION_NAME"):
            monkeypatch.delenv(name, raising=False)
        self.ingress = load_app(ROOT / "functions/ingress/app.py")
        self.worker = load_app(ROOT / "functions/worker/app.py")
        self.envelopes: list[dict[str, Any]] = []

    # -- Slack → ingress ---------------------------------------------------------------------

    def post(self, body: str, **kwargs: Any) -> dict[str, Any]:
        """Deliver a request to the ingress handler; return its API Gateway result."""
        result: dict[str, Any] = self.ingress.handler(
            gateway_event(body, **kwargs), Context("logthread-ingress")
        )
        return result

    def command(self, text: str, *, user_id: str = USER, **kwargs: Any) -> dict[str, Any]:
        self.response_url = self.slack.response_url(CHANNEL, user_id)
        return self.post(
            command_body(text, response_url=self.response_url, user_id=user_id), **kwargs
        )

    def click(
        self, message: dict[str, Any], action_id: str, *, user_id: str = USER, value: str = ""
    ) -> dict[str, Any]:
        action = dict(buttons(message)[action_id])
        if value:
            action["value"] = value
        self.response_url = self.slack.response_url(CHANNEL, user_id)
        body = click_body(message, action, response_url=self.response_url, user_id=user_id)
        return self.post(body)

    # -- SNS → SQS → worker ------------------------------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """Receive what the queue holds (without handing it to the worker)."""
        messages: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return messages
            messages.extend(got)

    def deliver(self, messages: list[dict[str, Any]] | None = None) -> Any:
        """Hand the queued messages to the worker as Lambda's SQS event; delete the handled."""
        messages = self.pending() if messages is None else messages
        assert messages, "nothing was published to the task topic"
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        self.envelopes.extend(json.loads(m["Body"]) for m in messages)
        result = self.worker.handler({"Records": records}, Context("logthread-worker"))
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        return result
