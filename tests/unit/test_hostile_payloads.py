"""Payloads that crashed instead of being posted (security review, item 4).

A notification nested 100,000 levels deep (or 5,000 inside ``AlarmDescription``)
raised ``RecursionError``: retried, dead-lettered, never posted. Whatever the
body and subject, :func:`logthread.alarms.parse.parse` returns an alarm, the
renderers produce messages within Slack's limits, and request id rules skip
what they can't read: a body that can't be read as JSON is shown as raw text,
cut to size.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logthread import config as config_module
from logthread.alarms.alarm_render import Message, alarm_message
from logthread.alarms.discover import Discovery, Plan, Target
from logthread.alarms.extract import evaluate, extract_ids
from logthread.alarms.parse import Alarm, parse
from logthread.alarms.replies import (
    RAW_INLINE,
    nothing_found_reply,
    raw_reply,
    transition_reply,
)
from logthread.query import TimeWindow
from logthread.slack.blocks import HEADER_TEXT, SECTION_TEXT, as_dicts, block_errors

T = TypeVar("T")
WINDOW = TimeWindow(1_715_656_507_123, 1_715_656_927_123)
CHANGE = "2024-05-14T03:21:07.123+0000"
RULES = config_module.from_mapping(
    {
        "request_id_rules": [
            {"alarm": "*", "expression": "powertools_json(AlarmDescription).requestId"},
            {"alarm": "*", "expression": "powertools_json(AlarmDescription)[0][0]"},
            {"alarm": "*", "expression": "powertools_json(message)"},
            {"alarm": "*", "expression": "to_string(@)"},
            {"alarm": "*", "expression": "Trigger.Dimensions[].value"},
            {"alarm": "*", "expression": "@"},
        ]
    },
    env={},
)


def nested(depth: int, kind: str = "[") -> str:
    if kind == "{":
        return '{"a":' * depth + "1" + "}" * depth
    if kind == "mixed":
        return '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)
    return "[" * depth + "]" * depth


def cloudwatch(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "AlarmName": "HogeService-Errors",
        "AlarmDescription": "Errors of HogeService",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": CHANGE,
        "Region": "US East (N. Virginia)",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors",
        "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "SUM"},
    }
    doc.update(fields)
    return doc


def with_raw(doc: dict[str, Any], key: str, raw_value: str) -> str:
    """``doc`` as JSON with ``raw_value`` (already JSON) spliced in as ``key``'s value."""
    marker = "__RAW_VALUE__"
    return json.dumps({**doc, key: marker}).replace(json.dumps(marker), raw_value)


def rendered(alarm: Alarm) -> list[Message]:
    """Every message the flow can make of ``alarm``; none may raise."""
    plan = Plan((Target("/aws/lambda/HogeService", "", "errors", "mapped"),), WINDOW)
    out = [
        alarm_message(alarm),
        alarm_message(alarm, discovery=Discovery(plan), rescan_key=alarm.episode_key),
        alarm_message(alarm, resolved_by=alarm, started_ms=WINDOW.start_ms),
        transition_reply(alarm),
        nothing_found_reply(alarm, Discovery(plan), rescan_key=alarm.episode_key),
    ]
    raw = raw_reply(alarm)
    if raw is not None:
        out.append(raw)
    extract_ids(alarm, RULES)  # rules that can't read the payload are skipped, never fatal
    return out


def assert_posted(alarm: Alarm) -> list[Message]:
    messages = rendered(alarm)
    for message in messages:
        assert message.text and len(message.text) <= SECTION_TEXT
        blocks = as_dicts(message.blocks)
        assert block_errors(blocks) == []
        assert all(len(b["text"]["text"]) <= HEADER_TEXT for b in blocks if b["type"] == "header")
    return messages


def shown(message: Message) -> str:
    """The texts of ``message``'s blocks, as Slack shows them (entities decoded)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                out.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(as_dicts(message.blocks))
    text = "\n".join(out)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.mark.parametrize("kind", ["[", "{", "mixed"])
def test_a_body_nested_100000_deep_is_posted_as_raw_text_cut_to_size(kind: str) -> None:
    body = nested(100_000, kind)
    alarm = parse(body, "")
    assert alarm.problems  # the raw text goes into the thread (inline or as a file)
    assert alarm.raw == body
    first, *_ = assert_posted(alarm)
    # The message shows the start of the raw text, cut: never the 200,000 characters.
    assert body[:100] in shown(first)
    assert len(shown(first)) < 8_000
    assert raw_reply(alarm) is None  # too big to inline: the flow uploads it as a file


def test_a_body_nested_100000_deep_keeps_what_its_subject_says() -> None:
    alarm = parse(nested(100_000), 'ALARM: "HogeService-Errors" in US East (N. Virginia)')
    assert (alarm.name, alarm.state) == ("HogeService-Errors", "ALARM")
    assert_posted(alarm)


def test_a_cloudwatch_alarm_with_5000_levels_in_its_description_is_posted() -> None:
    body = with_raw(cloudwatch(), "AlarmDescription", nested(5_000, "{"))
    alarm = parse(body, "")
    # What can still be read is read: the alarm keeps its name, state and episode.
    assert (alarm.source, alarm.name, alarm.state) == ("cloudwatch", "HogeService-Errors", "ALARM")
    assert alarm.arn and alarm.problems
    assert_posted(alarm)


def test_5000_levels_as_a_json_string_in_the_description_are_shown_cut() -> None:
    deep = nested(5_000)
    body = json.dumps(cloudwatch(AlarmDescription=deep))
    alarm = parse(body, "")
    assert alarm.description == deep and alarm.readable
    messages = assert_posted(alarm)
    assert deep[:200] in shown(messages[0])
    # powertools_json on it fails like any other rule that can't read its payload.
    assert extract_ids(alarm, RULES).ids == ()
    with pytest.raises(ValueError):
        evaluate("powertools_json(AlarmDescription)", alarm.payload)


@pytest.mark.parametrize("depth", [200, 900, 990, 2_000])
@pytest.mark.parametrize("key", ["Trigger", "AlarmDescription", "NewStateReason", "extra"])
def test_deep_values_anywhere_in_a_notification(depth: int, key: str) -> None:
    body = with_raw(cloudwatch(), key, nested(depth, "mixed"))
    alarm = parse(body, "")
    assert alarm.name == "HogeService-Errors"
    assert_posted(alarm)


@pytest.mark.parametrize("depth", [100, 500, 990])
def test_deep_custom_json_and_eventbridge(depth: int) -> None:
    custom = with_raw({"title": "Checkout failed", "message": "x"}, "detail", nested(depth))
    eventbridge = with_raw(
        {
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "region": "us-east-1",
            "resources": [],
        },
        "detail",
        '{"alarmName": "x", "configuration": ' + nested(depth, "{") + "}",
    )
    for body in (custom, eventbridge, nested(depth), nested(depth, "{")):
        assert_posted(parse(body, ""))


def test_a_rule_result_nested_deeper_than_the_stack_is_skipped() -> None:
    doc = json.loads(nested(900))
    with pytest.raises(ValueError):
        evaluate("to_string(@)", _deeper(doc, 200))
    assert evaluate("@", {"a": "x"}) == []


def _deeper(doc: Any, n: int) -> Any:
    for _ in range(n):
        doc = [doc]
    return doc


def _with_little_stack(frames_left: int, fn: Callable[[], T]) -> T:
    """Run ``fn`` with only about ``frames_left`` Python frames to spare (as deep in a Lambda)."""

    def depth() -> int:
        frame, n = sys._getframe(), 0
        while frame is not None:
            frame, n = frame.f_back, n + 1  # type: ignore[assignment]
        return n

    def down(n: int) -> T:
        return fn() if n <= 0 else down(n - 1)

    return down(sys.getrecursionlimit() - depth() - frames_left)


@pytest.mark.parametrize("depth", [150, 400, 900])
def test_parse_and_render_never_raise_even_with_little_stack_left(depth: int) -> None:
    body = with_raw(cloudwatch(), "Trigger", nested(depth))
    alarm = _with_little_stack(250, lambda: parse(body, ""))
    assert alarm.name == "HogeService-Errors"
    _with_little_stack(250, lambda: assert_posted(alarm))


def test_huge_bodies_and_subjects_are_cut_to_size() -> None:
    for body, subject in [
        ("x" * 1_000_000, ""),
        ("line\n" * 200_000, "s" * 100_000),
        ("", 'ALARM: "' + "n" * 100_000 + '"'),
        (json.dumps(cloudwatch(AlarmName="a" * 300_000, NewStateReason="r" * 300_000)), ""),
        (json.dumps({"message": "m" * 500_000, "title": "t" * 500_000}), ""),
        ("{" + "x" * 300_000, ""),
    ]:
        alarm = parse(body, subject)
        assert_posted(alarm)
        raw = raw_reply(alarm)
        assert raw is None or len(shown(raw)) < RAW_INLINE * 2


# Bodies of every shape: nesting of any depth, truncated, wrapped in a notification.
brackets = st.sampled_from(["[", "{", "mixed"])


@st.composite
def deep_bodies(draw: st.DrawFn) -> tuple[str, str]:
    inner = nested(draw(st.integers(0, 120_000)), draw(brackets))
    where = draw(st.sampled_from(["body", "value", "string", "custom"]))
    if where == "body":
        body = inner
    elif where == "value":
        key = draw(st.sampled_from(["AlarmDescription", "Trigger", "NewStateReason", "Region"]))
        body = with_raw(cloudwatch(), key, inner)
    elif where == "string":
        key = draw(st.sampled_from(["AlarmDescription", "NewStateReason", "AlarmName"]))
        body = json.dumps(cloudwatch(**{key: inner}))
    else:
        body = with_raw({"title": draw(st.text(max_size=20))}, "message", inner)
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    subject = draw(st.sampled_from(["", 'ALARM: "HogeService-Errors" in US East', inner[:5000]]))
    return body, subject


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deep_bodies())
def test_no_body_or_subject_makes_parse_or_render_raise(payload: tuple[str, str]) -> None:
    alarm = parse(*payload)
    assert alarm.name
    assert_posted(alarm)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000), st.text(max_size=300))
def test_any_text_at_all_is_posted(body: str, subject: str) -> None:
    assert_posted(parse(body, subject))
