"""The embedded local stack: real HTTP, real SNS -> SQS delivery, clean start and stop.

These tests give the stack stand-in handlers that record what they receive, so they
check the stack's own promises (the API Gateway v2 event, the SNS envelope inside
the SQS event, ports, shutdown) whatever the real handlers do; test_demo.py runs
the real ones end to end.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from logthread_local import slackreq
from logthread_local.stack import MAX_RECEIVES, RESOURCES, ROOT, LocalStack


class Recorder:
    """A Lambda handler that keeps every event it is given."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail
        self.seen = threading.Event()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.seen.set()
        assert context.get_remaining_time_in_millis() > 0
        if self.fail:
            raise RuntimeError("worker failed on purpose")
        body = base64.b64decode(event.get("body", "")).decode() if event.get("body") else ""
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"text": "ok", "echo": body}),
        }


def _stack(aws: str, **kwargs: Any) -> LocalStack:
    kwargs.setdefault("ingress_handler", Recorder())
    kwargs.setdefault("worker_handler", Recorder())
    # A bot token means "real Slack", so no stand-in starts: these tests need none.
    return LocalStack(aws_endpoint=aws, slack_token="xoxb-test", **kwargs)


def _port_open(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_resources_mirror_the_template(aws: str) -> None:
    with _stack(aws) as stack:
        ddb = stack.client("dynamodb")
        table = ddb.describe_table(TableName=RESOURCES["table"])["Table"]
        assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
        ttl = ddb.describe_time_to_live(TableName=RESOURCES["table"])
        assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiration"
        topics = {t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]}
        assert {stack.task_topic_arn, stack.alarm_topic_arn} <= topics
        subs = stack.client("sns").list_subscriptions()["Subscriptions"]
        for arn in (stack.task_topic_arn, stack.alarm_topic_arn):
            sub = next(s for s in subs if s["TopicArn"] == arn)
            attrs = stack.client("sns").get_subscription_attributes(
                SubscriptionArn=sub["SubscriptionArn"]
            )["Attributes"]
            assert sub["Protocol"] == "sqs"
            assert attrs.get("RawMessageDelivery", "false") == "false"
        assert os.environ["TASK_TOPIC_ARN"] == stack.task_topic_arn
        assert os.environ["TABLE_NAME"] == RESOURCES["table"]


def test_ingress_gets_an_api_gateway_v2_event_signed_as_slack_signs(aws: str) -> None:
    ingress = Recorder()
    with _stack(aws, ingress_handler=ingress, signing_secret="s3cret") as stack:
        response = stack.slash_command("12345678", channel_id="C0ALERTS")
        assert response["statusCode"] == 200
        assert response["headers"]["content-type"] == "application/json"
        assert json.loads(response["body"])["text"] == "ok"

    (event,) = ingress.events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /slack/events"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["path"] == "/slack/events"
    assert event["isBase64Encoded"] is True
    headers = event["headers"]
    assert all(k == k.lower() for k in headers)
    body = base64.b64decode(event["body"]).decode()
    form = parse_qs(body)
    assert form["command"] == ["/logsearch"]
    assert form["text"] == ["12345678"]
    assert form["channel_id"] == ["C0ALERTS"]
    assert SignatureVerifier("s3cret").is_valid(
        body, headers["x-slack-request-timestamp"], headers["x-slack-signature"]
    )
    assert not SignatureVerifier("other").is_valid(
        body, headers["x-slack-request-timestamp"], headers["x-slack-signature"]
    )


def test_a_button_click_carries_the_clicked_button(aws: str) -> None:
    ingress = Recorder()
    button = {
        "type": "button",
        "action_id": "logthread.search_again",
        "text": {"type": "plain_text", "text": "Search again"},
        "value": '{"v":1,"id":"12345678"}',
    }
    message = {
        "ts": "1700000000.000200",
        "thread_ts": "1700000000.000100",
        "text": "result",
        "blocks": [{"type": "actions", "block_id": "b1", "elements": [button]}],
    }
    with _stack(aws, ingress_handler=ingress) as stack:
        assert slackreq.buttons(message) == [button]
        assert stack.click(message, button, channel_id="C0ALERTS")["statusCode"] == 200
    payload = json.loads(
        parse_qs(base64.b64decode(ingress.events[0]["body"]).decode())["payload"][0]
    )
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000200",
        "channel_id": "C0ALERTS",
        "is_ephemeral": False,
        "thread_ts": "1700000000.000100",
    }
    (action,) = payload["actions"]
    assert action["action_id"] == "logthread.search_again"
    assert action["block_id"] == "b1"
    assert action["value"] == button["value"]


def test_only_the_slack_route_reaches_the_ingress(aws: str) -> None:
    ingress = Recorder()
    with _stack(aws, ingress_handler=ingress) as stack:
        response = slackreq.post(stack.ingress_base + "/other", "x=1", {})
    assert response["statusCode"] == 404
    assert ingress.events == []


def test_sns_messages_reach_the_worker_in_their_sns_envelope(aws: str) -> None:
    worker = Recorder()
    with _stack(aws, worker_handler=worker) as stack:
        alarm = {"AlarmName": "HogeService-Errors", "NewStateValue": "ALARM"}
        message_id = stack.publish_alarm(alarm, subject='ALARM: "HogeService-Errors"')
        stack.client("sns").publish(TopicArn=stack.task_topic_arn, Message='{"type":"x"}')
        assert stack.wait_idle(timeout=20)
        assert [d.error for d in stack.deliveries] == ["", ""]

    by_topic = {}
    for event in worker.events:
        (record,) = event["Records"]
        assert record["eventSource"] == "aws:sqs"
        envelope = json.loads(record["body"])
        by_topic[envelope["TopicArn"]] = envelope
    alarm_env = by_topic[stack.alarm_topic_arn]
    assert alarm_env["Type"] == "Notification"
    assert alarm_env["MessageId"] == message_id
    assert alarm_env["Subject"] == 'ALARM: "HogeService-Errors"'
    assert json.loads(alarm_env["Message"]) == alarm
    assert json.loads(by_topic[stack.task_topic_arn]["Message"]) == {"type": "x"}


def test_a_failing_worker_leaves_the_message_in_the_dead_letter_queue(aws: str) -> None:
    worker = Recorder(fail=True)
    with _stack(aws, worker_handler=worker) as stack:
        stack.publish_alarm("plain text alarm", subject="hello")
        assert stack.wait_idle(timeout=30)
        assert len(worker.events) == 3
        assert all(d.error.startswith("RuntimeError") for d in stack.deliveries)
        assert stack.deliveries[0].problem == "RuntimeError: worker failed on purpose"
        (dead,) = stack.dead_letters()
        assert dead["Message"] == "plain text alarm"


def test_ports_are_free_and_everything_stops(aws: str) -> None:
    before = dict(os.environ)
    first, second = _stack(aws), _stack(aws)
    with first, second:
        assert first.ingress_url != second.ingress_url
        assert _port_open(first.ingress_url) and _port_open(second.ingress_url)
        threads = {t.name for t in threading.enumerate()}
        assert {"pump-task", "pump-alarm", "ingress"} <= threads
    assert not _port_open(first.ingress_url)
    assert not _port_open(second.ingress_url)
    assert not {"pump-task", "pump-alarm", "ingress"} & {t.name for t in threading.enumerate()}
    assert dict(os.environ) == before


def test_own_moto_server_stops_with_the_stack() -> None:
    with LocalStack(
        slack_token="xoxb-test", ingress_handler=Recorder(), worker_handler=Recorder()
    ) as stack:
        endpoint = stack.aws_endpoint
        assert _port_open(endpoint)
    assert not _port_open(endpoint)


def test_a_failed_start_stops_what_had_started(aws: str) -> None:
    def broken(*_: Any) -> None:
        raise AssertionError("never called")

    stack = LocalStack(
        aws_endpoint=aws, slack_token="xoxb-test", ingress_handler=broken, worker_handler=broken
    )
    stack._start_pumps = lambda: (_ for _ in ()).throw(RuntimeError("boom"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="boom"):
        stack.start()
    assert not _port_open(stack.ingress_url)


def test_the_local_stack_mirrors_template_yaml(aws: str) -> None:
    yaml_helper = pytest.importorskip("samtranslator.yaml_helper")
    template = yaml_helper.yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))
    resources = template["Resources"]
    worker = resources["WorkerFunction"]["Properties"]
    sns_events = {
        e["Properties"]["Topic"]["Ref"] for e in worker["Events"].values() if e["Type"] == "SNS"
    }
    assert sns_events == {"TaskTopic", "AlarmTopic"}  # the local stack's two delivery queues
    ingress = resources["IngressFunction"]["Properties"]
    assert ingress["Environment"]["Variables"]["TASK_TOPIC_ARN"] == {"Ref": "TaskTopic"}
    table_ref = worker["Environment"]["Variables"]["TABLE_NAME"]["Ref"]
    table = resources[table_ref]["Properties"]
    # Lambda tries an async event 1 + MaximumRetryAttempts times before its dead-letter queue.
    assert worker["EventInvokeConfig"]["MaximumRetryAttempts"] + 1 == MAX_RECEIVES

    with _stack(aws) as stack:
        local = stack.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
        ttl = stack.client("dynamodb").describe_time_to_live(TableName=stack.table_name)
        assert set(stack.queues) == {"task", "alarm", "follow_up", "dlq", "slack_dlq"}
        # The worker finds the Slack dead-letter queue and its follow-up queue as
        # template.yaml tells it to.
        assert os.environ["SLACK_DEAD_LETTER_QUEUE_URL"] == stack.queues["slack_dlq"]
        assert os.environ["FOLLOW_UP_QUEUE_URL"] == stack.queues["follow_up"]
        follow_up_redrive = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.queues["follow_up"], AttributeNames=["RedrivePolicy"]
        )["Attributes"]["RedrivePolicy"]
    follow_up = worker["Environment"]["Variables"]["FOLLOW_UP_QUEUE_URL"]["Ref"]
    queue = resources[follow_up]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    assert int(json.loads(follow_up_redrive)["maxReceiveCount"]) == MAX_RECEIVES
    slack_dlq = worker["Environment"]["Variables"]["SLACK_DEAD_LETTER_QUEUE_URL"]["Ref"]
    assert resources[slack_dlq]["Type"] == "AWS::SQS::Queue"
    assert local["KeySchema"] == table["KeySchema"]
    assert local["AttributeDefinitions"] == table["AttributeDefinitions"]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": ttl["TimeToLiveDescription"]["AttributeName"],
        "Enabled": True,
    }
