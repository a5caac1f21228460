"""Reading notifications: every shape on the alarm topic, defensively."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logthread.alarms.parse import Alarm, parse
from tests.conftest import load_fixture


def _read(name: str) -> Alarm:
    env = load_fixture(f"alarms/{name}")
    return parse(env["Message"], env.get("Subject", ""))


def test_lambda_errors_alarm() -> None:
    alarm = _read("lambda_errors_hoge.json")
    assert alarm.readable
    assert (alarm.source, alarm.kind, alarm.state, alarm.previous_state) == (
        "cloudwatch",
        "metric",
        "ALARM",
        "OK",
    )
    assert alarm.name == "HogeService-Errors"
    assert alarm.description.startswith("HogeService returned errors")
    assert alarm.reason.startswith("Threshold Crossed")
    assert alarm.state_change_ms == 1715656867123  # 2024-05-14T03:21:07.123Z
    assert (alarm.account, alarm.region) == ("123456789012", "us-east-1")
    assert alarm.region_label == "US East (N. Virginia)"
    (metric,) = alarm.metrics
    assert (metric.namespace, metric.name, metric.stat, metric.period) == (
        "AWS/Lambda",
        "Errors",
        "SUM",
        300,
    )
    assert metric.dimension("FunctionName") == "HogeService"
    assert alarm.threshold == 1.0
    assert alarm.comparison == "GreaterThanOrEqualToThreshold"
    assert alarm.evaluation_seconds == 300
    assert alarm.episode_key == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors"


def test_region_comes_from_the_arn_not_the_display_name() -> None:
    env = load_fixture("alarms/lambda_errors_hoge.json")
    doc = json.loads(env["Message"])
    doc["AlarmArn"] = doc["AlarmArn"].replace("us-east-1", "ap-northeast-1")
    doc["Region"] = "Somewhere Else"
    alarm = parse(json.dumps(doc))
    assert alarm.region == "ap-northeast-1"
    assert alarm.region_label == "Somewhere Else"


def test_metric_math_alarm_lists_every_term() -> None:
    alarm = _read("metric_math_two_functions.json")
    assert alarm.kind == "metric_math"
    assert [m.id for m in alarm.metrics] == ["e1", "m1", "m2"]
    assert alarm.metrics[0].expression == "m1 + m2"
    assert [m.dimension("FunctionName") for m in alarm.watched] == ["HogeService", "FugaService"]
    # The trigger's Period is 60 and there are 3 evaluation periods.
    assert alarm.evaluation_seconds == 180


def test_metric_math_without_top_level_period_uses_the_terms() -> None:
    env = load_fixture("alarms/metric_math_two_functions.json")
    doc = json.loads(env["Message"])
    del doc["Trigger"]["Period"]
    assert parse(json.dumps(doc)).evaluation_seconds == 180


def test_composite_alarm_names_its_children() -> None:
    alarm = _read("composite_checkout.json")
    assert alarm.kind == "composite"
    assert alarm.readable
    assert alarm.metrics == ()
    assert alarm.alarm_rule == 'ALARM("HogeService-Errors") OR ALARM("FugaService-Errors")'
    # The triggering child first, then the rest of the rule.
    assert alarm.children == ("FugaService-Errors", "HogeService-Errors")


def test_composite_rule_with_arns_and_bare_names() -> None:
    body = json.dumps(
        {
            "AlarmName": "c",
            "NewStateValue": "ALARM",
            "AlarmRule": "ALARM(arn:aws:cloudwatch:eu-west-1:1:alarm:a-1) AND NOT OK(b_2)",
            "TriggeringChildren": [],
        }
    )
    assert parse(body).children == ("a-1", "b_2")


def test_eventbridge_state_change() -> None:
    alarm = _read("eventbridge_alarm_state_change.json")
    assert (alarm.source, alarm.kind, alarm.state, alarm.previous_state) == (
        "eventbridge",
        "metric",
        "ALARM",
        "OK",
    )
    assert alarm.name == "FugaService-Errors"
    assert alarm.description == "FugaService returned errors"
    assert alarm.state_change_ms == 1715656867123
    assert (alarm.account, alarm.region) == ("123456789012", "us-east-1")
    (metric,) = alarm.metrics
    assert metric.dimension("FunctionName") == "FugaService"
    assert metric.period == 60
    assert alarm.evaluation_seconds == 60
    assert alarm.subject == ""


def test_lambda_alarm_action_reads_like_eventbridge() -> None:
    """An alarm whose action invokes the worker: ``alarmData``, no SNS; the same episode key."""
    event = load_fixture("alarms/alarm_action_fuga.json")
    alarm = parse(json.dumps(event))
    bridged = _read("eventbridge_alarm_state_change.json")
    assert alarm.readable, alarm.problems
    assert (alarm.source, alarm.kind, alarm.state, alarm.previous_state) == (
        "alarm_action",
        "metric",
        "ALARM",
        "OK",
    )
    assert alarm.episode_key == bridged.episode_key
    assert (alarm.name, alarm.description) == (bridged.name, bridged.description)
    assert alarm.state_change_ms == bridged.state_change_ms == 1715656867123
    assert (alarm.account, alarm.region) == ("123456789012", "us-east-1")
    assert alarm.metrics == bridged.metrics
    assert alarm.evaluation_seconds == 60
    # The action's configuration has no threshold: it comes from the state's reasonData.
    assert alarm.threshold == 1.0


def test_lambda_alarm_action_metric_math_and_composite() -> None:
    event = load_fixture("alarms/alarm_action_fuga.json")
    event["alarmData"]["configuration"]["metrics"] = [
        {"id": "e1", "expression": "m1/m2", "label": "Rate", "returnData": True},
        {"id": "m1", "metricStat": {"metric": {"namespace": "AWS/Lambda", "name": "Errors"}}},
        {"id": "m2", "metricStat": {"metric": {"namespace": "AWS/Lambda", "name": "Invocations"}}},
    ]
    alarm = parse(json.dumps(event))
    assert alarm.kind == "metric_math"
    assert [m.expression or m.name for m in alarm.metrics] == ["m1/m2", "Errors", "Invocations"]
    event["alarmData"]["configuration"] = {"alarmRule": "ALARM(a-1) OR ALARM(b_2)"}
    event["alarmData"]["state"]["reasonData"] = '{"triggeringAlarms": []}'
    composite = parse(json.dumps(event))
    assert (composite.kind, composite.children, composite.threshold) == (
        "composite",
        ("a-1", "b_2"),
        None,
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"alarmArn": 7, "alarmData": {"state": {"reasonData": "{not json"}}},
        {"alarmData": {"state": "ALARM", "configuration": []}},
    ],
)
def test_lambda_alarm_action_broken_says_what_is_missing(broken: dict[str, object]) -> None:
    alarm = parse(json.dumps({"source": "aws.cloudwatch", **broken}))
    assert alarm.source == "alarm_action"
    assert "alarmData.alarmName missing" in alarm.problems
    assert alarm.episode_key == alarm.name


def test_custom_json_is_kept_for_the_rules() -> None:
    alarm = _read("custom_json_id_in_string.json")
    assert alarm.source == "custom"
    assert alarm.name == "Checkout failed for a customer"
    assert alarm.description == "Order placement returned HTTP 500"
    assert alarm.state == ""
    assert isinstance(alarm.payload, dict) and "detail" in alarm.payload
    assert alarm.readable


def test_plain_text_takes_its_name_from_the_subject() -> None:
    alarm = _read("plain_text.json")
    assert alarm.source == "text"
    assert alarm.name == "Nightly export failed"
    assert alarm.raw.startswith("Nightly export to s3://hoge-exports failed")
    assert alarm.readable


def test_truncated_json_keeps_what_it_can_read() -> None:
    alarm = _read("truncated.json")
    assert not alarm.readable
    assert "not valid JSON" in alarm.problems[0]
    assert alarm.name == "HogeService-Errors"
    assert alarm.state == "ALARM"
    assert alarm.state_change_ms == 1715656867123
    assert alarm.region == "us-east-1"
    assert alarm.reason.startswith("Threshold Crossed")


def test_old_payload_without_arn_maps_the_region_name() -> None:
    alarm = _read("old_payload.json")
    assert alarm.arn == ""
    assert alarm.region == "eu-west-1"  # "EU (Ireland)"
    assert alarm.description == ""  # null in old payloads
    assert alarm.metrics[0].dimension("FunctionName") == "HogeService"
    assert alarm.episode_key == "123456789012:eu-west-1:HogeService-Errors-legacy"
    assert alarm.readable


def test_missing_fields_are_reported_not_raised() -> None:
    alarm = parse(json.dumps({"AlarmName": "x", "Trigger": {"Period": "oops"}}), "")
    assert alarm.state == ""
    assert "NewStateValue missing or unknown" in alarm.problems
    assert "StateChangeTime missing or unreadable" in alarm.problems
    assert alarm.period is None


def test_state_falls_back_to_the_subject() -> None:
    alarm = parse(json.dumps({"AlarmName": "x", "Trigger": {}}), 'OK: "x" in US East (Ohio)')
    assert alarm.state == "OK"


@pytest.mark.parametrize("body", ["", "   ", "[]", "null", "42", '"just a string"', "{"])
def test_odd_bodies_still_parse(body: str) -> None:
    alarm = parse(body, "")
    assert alarm.name
    assert alarm.raw == body


@given(st.text(max_size=300), st.text(max_size=80))
def test_parse_never_raises(body: str, subject: str) -> None:
    alarm = parse(body, subject)
    assert isinstance(alarm, Alarm)
    assert alarm.name


@pytest.mark.parametrize("value", ["1e400", "-1e400", "Infinity", "NaN", '"x"', "[]", "{}"])
def test_hostile_numbers_are_dropped_not_raised(value: str) -> None:
    body = (
        '{"AlarmName":"x","NewStateValue":"ALARM","StateChangeTime":' + value + ","
        '"Trigger":{"Period":' + value + ',"EvaluationPeriods":' + value + ","
        '"Threshold":' + value + ',"Dimensions":[{"name":"FunctionName","value":"f"}]}}'
    )
    alarm = parse(body)
    assert alarm.name == "x"
    assert alarm.period is None and alarm.evaluation_periods is None and alarm.threshold is None
    assert alarm.state_change_ms is None
    custom = parse('{"title":"t","time":' + value + "}")
    assert custom.state_change_ms is None


def test_far_future_iso_times_are_dropped() -> None:
    alarm = parse('{"AlarmName":"x","NewStateValue":"OK","StateChangeTime":"9999-12-31T23:59:59Z"}')
    assert alarm.state_change_ms is None
