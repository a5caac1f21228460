"""Reading the worker's dead-letter queue: Lambda destination records, SNS envelopes, the rest.

The record below is the shape AWS documents for an asynchronous invocation's on-failure
destination ("Capturing records of Lambda asynchronous invocations"), with the SNS event
Lambda hands a function subscribed to a topic as its ``requestPayload``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from logthread.redrivecmd import (
    Envelope,
    Failure,
    Redriver,
    Unreadable,
    clean,
    function_name,
    headline,
    read,
    unqualified,
    when,
)
from logthread.tasks import MARKER

FUNCTION = "arn:aws:lambda:us-east-2:123456789012:function:logthread-WorkerFunction-AbC123"
TOPIC = "arn:aws:sns:us-east-2:123456789012:logthread-AlarmTopic-XyZ"
ALARM = json.dumps({"AlarmName": "HogeService-Errors", "NewStateValue": "ALARM"})


def sns_event(message: str = ALARM, subject: str = "ALARM: HogeService-Errors") -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TOPIC}:0b1c2d3e",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": TOPIC,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2024-05-14T03:20:01.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-2.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def record(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "1.0",
        "timestamp": "2024-05-14T03:21:07.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": f"{FUNCTION}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": sns_event(),
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": "Slack is down",
            "errorType": "RuntimeError",
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "stackTrace": ['  File "/var/task/app.py", line 1, in handler\n'],
        },
    }
    doc.update(overrides)
    return doc


def test_a_destination_record_is_read_whole() -> None:
    got = read(json.dumps(record()))
    assert isinstance(got, Failure)
    assert got.function_arn == f"{FUNCTION}:$LATEST"
    assert got.payload == sns_event()
    assert got.condition == "RetriesExhausted" and got.attempts == 3
    assert got.error == "RuntimeError: Slack is down"
    (notice,) = got.notices
    assert (notice.message, notice.subject, notice.topic_arn) == (
        ALARM,
        "ALARM: HogeService-Errors",
        TOPIC,
    )
    line = headline(got)
    assert line.startswith("failed 2024-05-14 03:21:07 UTC after 3 attempts (RetriesExhausted)")
    assert "alarm 'HogeService-Errors' from topic logthread-AlarmTopic-XyZ" in line


def test_an_event_too_old_to_run_has_no_response_and_still_reads() -> None:
    doc = record()
    doc["requestContext"].update(condition="EventAgeExceeded", approximateInvokeCount=0)
    del doc["responseContext"], doc["responsePayload"]
    got = read(json.dumps(doc))
    assert isinstance(got, Failure)
    assert (got.condition, got.attempts, got.error) == ("EventAgeExceeded", 0, "")


def test_a_search_task_is_described_by_its_request_id() -> None:
    task = json.dumps(
        {
            "type": MARKER,
            "version": 1,
            "kind": "search",
            "query": {"request_id": "12345678-aaaa-bbbb-cccc-1234567890ab"},
            "reply": {"channel": "C0ASKED"},
        }
    )
    got = read(json.dumps(record(requestPayload=sns_event(task, "logthread task"))))
    assert isinstance(got, Failure)
    assert "search task, request id 12345678-aaaa-bbbb-cccc-1234567890ab for channel C0ASKED" in (
        headline(got)
    )


def test_an_sns_envelope_is_read_as_one() -> None:
    envelope = sns_event()["Records"][0]["Sns"]
    got = read(json.dumps(envelope))
    assert isinstance(got, Envelope)
    assert got.notice.topic_arn == TOPIC and got.notice.message == ALARM
    assert headline(got).startswith("published 2024-05-14 03:20:01 UTC: alarm 'HogeService-Errors'")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("plain text", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": "world"}', "neither a Lambda destination record nor an SNS message"),
        (json.dumps(record(requestPayload={"detail": {}})), "not an SNS event"),
        (json.dumps(record(requestPayload={"Records": [{"Sns": {}}]})), "not an SNS event"),
        (json.dumps(record(requestPayload="text")), "not an SNS event"),
        (json.dumps({**record(), "requestContext": {"condition": "x"}}), "names no function"),
        (
            json.dumps(record(requestContext={"functionArn": FUNCTION, "condition": "Success"})),
            "not of a failure",
        ),
        ('{"Type": "Notification", "Message": "x"}', "without a Message or TopicArn"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_anything_else_is_unreadable_and_says_why(body: str, reason: str) -> None:
    got = read(body)
    assert isinstance(got, Unreadable)
    assert reason in got.reason


def test_only_the_named_function_is_redriven() -> None:
    got = read(json.dumps(record()))
    assert Redriver(None, lambda: None).refusal(got) == ""
    assert (
        Redriver(None, lambda: None, function="logthread-WorkerFunction-AbC123").refusal(got) == ""
    )
    assert Redriver(None, lambda: None, function=FUNCTION).refusal(got) == ""
    refused = Redriver(None, lambda: None, function="other").refusal(got)
    assert "logthread-WorkerFunction-AbC123" in refused and "'other'" in refused


def test_names_and_arns() -> None:
    assert function_name(f"{FUNCTION}:$LATEST") == "logthread-WorkerFunction-AbC123"
    assert function_name("plain-name") == "plain-name"
    assert unqualified(f"{FUNCTION}:$LATEST") == FUNCTION
    assert unqualified(FUNCTION) == FUNCTION


def test_untrusted_text_reaches_the_terminal_on_one_line_without_control_characters() -> None:
    assert clean("a\x1b[31mred\x07\nnext\tline") == "a [31mred next line"
    assert clean("x" * 200, 10) == "x" * 10 + "…"
    assert when("2024-05-14T03:21:07.568Z") == "2024-05-14 03:21:07 UTC"
    assert when("2024-05-14T05:21:07+02:00") == "2024-05-14 03:21:07 UTC"
    assert when("yesterday\x1b") == "yesterday"
    assert when("") == "?"


def test_an_alarm_action_event_is_re_driven_as_it_came() -> None:
    from tests.conftest import load_fixture

    event = load_fixture("alarms/alarm_action_fuga.json")
    got = read(json.dumps(record(requestPayload=event)))
    assert isinstance(got, Failure)
    assert got.payload == event  # invoked again with exactly this event
    assert "alarm 'FugaService-Errors' from topic alarm-action" in headline(got)
