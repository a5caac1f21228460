"""Alarm messages in Block Kit: what a reader sees, always within Slack's limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logthread.alarms.alarm_render import alarm_message, alarm_url
from logthread.alarms.discover import Discovery, Failure, Plan, Target
from logthread.alarms.parse import Alarm, parse
from logthread.alarms.replies import (
    already_threaded_reply,
    nothing_found_reply,
    raw_reply,
    summary_reply,
    transition_reply,
)
from logthread.query import TimeWindow
from logthread.records import LogRecord
from logthread.slack.blocks import as_dicts, block_errors
from tests.conftest import load_fixture

GROUP = "/aws/lambda/HogeService"
WINDOW = TimeWindow(1_715_656_507_123, 1_715_656_927_123)
IDS = [f"{i}2345678-aaaa-bbbb-cccc-1234567890ab" for i in range(1, 5)]


def _read(name: str) -> Alarm:
    env = load_fixture(f"alarms/{name}")
    return parse(env["Message"], env.get("Subject", ""))


def _text(blocks: list[Any]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(as_dicts(blocks))
    return "\n".join(out)


def _valid(blocks: list[Any]) -> None:
    assert block_errors(as_dicts(blocks)) == []


def _failure(rid: str, message: str, ms: int) -> Failure:
    record = LogRecord(
        timestamp=ms, message=message, level="ERROR", request_id=rid, log_group=GROUP
    )
    return Failure(rid, GROUP, ms, [record])


def _plan(**kw: Any) -> Plan:
    target = Target(GROUP, "?ERROR", "errors", "Errors of HogeService")
    return Plan(kw.get("targets", (target,)), WINDOW, kw.get("notes", ()))


def test_lambda_errors_alarm_message() -> None:
    alarm = _read("lambda_errors_hoge.json")
    message = alarm_message(alarm)
    _valid(message.blocks)
    shown = _text(message.blocks)
    assert message.text.startswith("ALARM: HogeService-Errors — Threshold Crossed")
    assert shown.startswith(":rotating_light: ALARM: HogeService-Errors")
    assert "*Metric*\n`AWS/Lambda Errors` (Sum) `FunctionName=HogeService`" in shown
    assert "*Threshold*\n&gt;= 1" in shown
    assert "*Evaluation*\n1 of 1 x 5 min ending 2024-05-14 03:21:07 UTC" in shown
    assert "*Where*\naccount `123456789012` · `us-east-1` · US East (N. Virginia)" in shown
    # Without a discovery: no search button, the console link as the CloudWatch button.
    (actions,) = [b for b in as_dicts(message.blocks) if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["url"] == alarm_url(alarm)
    assert button["url"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#alarmsV2:alarm/HogeService-Errors"
    )


def test_the_console_link_uses_the_region_of_the_arn() -> None:
    env = load_fixture("alarms/lambda_errors_hoge.json")
    doc = json.loads(env["Message"])
    doc["AlarmArn"] = doc["AlarmArn"].replace("us-east-1", "ap-northeast-1")
    doc["AlarmName"] = "Hoge Errors/5xx"
    url = alarm_url(parse(json.dumps(doc)))
    assert url == (
        "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1"
        "#alarmsV2:alarm/Hoge%20Errors%2F5xx"
    )


def test_discovery_adds_the_search_button_and_the_count() -> None:
    alarm = _read("lambda_errors_hoge.json")
    discovery = Discovery(_plan(), [_failure(IDS[0], "boom", WINDOW.end_ms - 1)], total=1)
    message = alarm_message(alarm, discovery=discovery, found_ids=[IDS[0]])
    _valid(message.blocks)
    assert ":thread: 1 failing request — logs in the thread" in _text(message.blocks)
    (actions,) = [b for b in as_dicts(message.blocks) if b["type"] == "actions"]
    again, cloudwatch = actions["elements"]
    assert again["action_id"] == "logthread.search_again"
    assert json.loads(again["value"]) == {
        "v": 1,
        "id": IDS[0],
        "f": [],
        "g": [GROUP],
        "w": [WINDOW.start_ms, WINDOW.end_ms],
        "c": 0,
    }
    assert "#logsV2:logs-insights" in cloudwatch["url"]


def test_resolved_message_says_how_long_it_lasted() -> None:
    alarm = _read("lambda_errors_hoge.json")
    ok = _read("lambda_errors_hoge_ok.json")
    message = alarm_message(alarm, resolved_by=ok, found_ids=[IDS[0]])
    _valid(message.blocks)
    shown = _text(message.blocks)
    assert message.text == "RESOLVED: HogeService-Errors"
    assert shown.startswith(":white_check_mark: RESOLVED: HogeService-Errors")
    assert "*Back to OK* at 2024-05-14 03:47:07 UTC — lasted 26 min 0 s." in shown
    assert "Went into ALARM at 2024-05-14 03:21:07 UTC." in shown
    # The original details stay.
    assert "HogeService returned errors" in shown


def test_metric_math_and_composite_details() -> None:
    math = _text(alarm_message(_read("metric_math_two_functions.json")).blocks)
    assert "`e1` = `m1 + m2` (Checkout errors)" in math
    assert "*Evaluation*\n1 of 3 x 1 min ending" in math
    composite = _text(alarm_message(_read("composite_checkout.json")).blocks)
    assert '*Rule*\n`ALARM("HogeService-Errors") OR ALARM("FugaService-Errors")`' in composite
    assert "*Metric*" not in composite


def test_unreadable_payload_is_flagged() -> None:
    message = alarm_message(_read("truncated.json"))
    shown = _text(message.blocks)
    assert ":warning: Parts of this notification could not be read" in shown
    assert "The raw text is in the thread." in shown


def test_text_and_custom_notifications_have_no_state_prefix() -> None:
    text = alarm_message(_read("plain_text.json"))
    assert _text(text.blocks).startswith(":bell: Nightly export failed\nNightly export to s3://")
    assert text.text == "Nightly export failed"
    custom = alarm_message(_read("custom_json_id_in_string.json"))
    assert _text(custom.blocks).startswith(":bell: Checkout failed for a customer")
    # No console link for something that isn't a CloudWatch alarm.
    assert not any(b["type"] == "actions" for b in as_dicts(custom.blocks))


def test_summary_groups_identical_errors_biggest_first() -> None:
    ms = WINDOW.end_ms
    failures = [
        _failure(IDS[0], f"KeyError: 'user' in request {IDS[0]}", ms - 1),
        _failure(IDS[1], "TimeoutError: psp", ms - 2),
        _failure(IDS[2], f"KeyError: 'user' in request {IDS[2]}", ms - 3),
        _failure(IDS[3], f"KeyError: 'user' in request {IDS[3]}", ms - 4),
    ]
    message = summary_reply(Discovery(_plan(), failures, total=6))
    _valid(message.blocks)
    shown = _text(message.blocks)
    assert shown.startswith(":mag: *4 failing requests* in `/aws/lambda/HogeService` · 2024-05-14")
    assert "_6 failing requests in the window; the 4 most recent are below._" in shown
    grouped = shown.index("*3 requests, same error:* `KeyError: 'user' in request")
    single = shown.index(f"• `{IDS[1]}`: `TimeoutError: psp`")
    assert grouped < single
    assert f"`{IDS[0]}`, `{IDS[2]}`, `{IDS[3]}`" in shown


def test_nothing_found_says_where_it_looked() -> None:
    alarm = _read("metric_filter_payment_failures.json")
    target = Target(
        "/aws/lambda/PaymentService",
        '{ $.level = "ERROR" }',
        "filter",
        "metric filter PaymentFailures",
    )
    discovery = Discovery(_plan(targets=(target,)), partial=True, notes=["x: throttled"])
    message = nothing_found_reply(alarm, discovery)
    _valid(message.blocks)
    shown = _text(message.blocks)
    assert "*No failing request found* in the alarm's evaluation window." in shown
    assert "*Where I looked:* 2024-05-14 03:15:07 → 03:22:07 UTC (7 min 0 s)" in shown
    assert (
        '• `/aws/lambda/PaymentService` — lines matching `{ $.level = "ERROR" }` '
        "(metric filter PaymentFailures)" in shown
    )
    assert "x: throttled · the search stopped early: more may exist" in shown


def test_nothing_found_without_a_log_group_asks_for_a_mapping() -> None:
    alarm = _read("composite_checkout.json")
    message = nothing_found_reply(
        alarm, Discovery(_plan(targets=(), notes=("no log group known",)))
    )
    shown = _text(message.blocks)
    assert "I don't know which log group belongs to this alarm (no log group known)" in shown
    assert "`Checkout-Degraded`" in shown


def test_transitions() -> None:
    ok = _read("lambda_errors_hoge_ok.json")
    started = _read("lambda_errors_hoge.json").state_change_ms
    shown = _text(transition_reply(ok, started_ms=started).blocks)
    assert shown.startswith(
        ":white_check_mark: *Back to OK* at 2024-05-14 03:47:07 UTC after 26 min 0 s."
    )
    repeat = _text(transition_reply(_read("lambda_errors_hoge_repeat.json")).blocks)
    assert repeat.startswith(
        ":rotating_light: *Still in ALARM* at 2024-05-14 03:31:07 UTC.\n>Threshold"
    )
    assert _text(already_threaded_reply(IDS[:2]).blocks) == (
        f":mag: No new failing request since the last notification (`{IDS[0]}`, `{IDS[1]}` above)."
    )


def test_raw_text_inline_or_as_a_file() -> None:
    small = raw_reply(_read("truncated.json"))
    assert small is not None
    assert _text(small.blocks).startswith('The notification as received:\n```\n{"AlarmName"')
    big = parse("x" * 5000, "s")
    assert raw_reply(big) is None
    fenced = raw_reply(parse("a ``` b <c>", "s"))
    assert fenced is not None and "a `\u200b`\u200b` b &lt;c&gt;" in _text(fenced.blocks)


def test_huge_fields_stay_within_slack_limits() -> None:
    env = load_fixture("alarms/lambda_errors_hoge.json")
    doc = json.loads(env["Message"])
    doc["AlarmName"] = "N" * 255
    doc["AlarmDescription"] = "D" * 1024
    doc["NewStateReason"] = "R" * 5000
    doc["Trigger"]["Dimensions"] = [{"name": f"d{i}", "value": "v" * 255} for i in range(30)]
    message = alarm_message(parse(json.dumps(doc)))
    _valid(message.blocks)


@settings(max_examples=60)
@given(st.text(max_size=2000), st.text(max_size=100))
def test_any_notification_renders_valid_blocks(body: str, subject: str) -> None:
    alarm = parse(body, subject)
    _valid(alarm_message(alarm).blocks)
    raw = raw_reply(alarm)
    if raw is not None:
        _valid(raw.blocks)


def test_rescan_button_round_trip() -> None:
    import pytest

    from logthread.alarms import rescan
    from logthread.tasks import parse_rescan

    key = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors"
    button = rescan.button(key, WINDOW)
    assert button is not None and button.action_id == "logthread.alarm_search_again"
    assert rescan.decode_button(str(button.value)) == (key, WINDOW)
    body = rescan.rescan_body(
        str(button.value), channel="C1", thread_ts="1.2", user_id="U1", now_ms=WINDOW.end_ms
    )
    parsed = parse_rescan(body)
    assert parsed is not None
    assert (parsed.episode_key, parsed.channel, parsed.thread_ts, parsed.user_id) == (
        key,
        "C1",
        "1.2",
        "U1",
    )
    # Three times as long, never past now.
    assert parsed.window.duration_ms == 3 * WINDOW.duration_ms
    assert parsed.window.end_ms == WINDOW.end_ms
    assert rescan.button("k" * 3000, WINDOW) is None
    for bad in ("", "{}", '{"v":1,"k":"x","w":[2,1]}', '{"v":2,"k":"x","w":[1,2]}'):
        with pytest.raises(ValueError):
            rescan.decode_button(bad)
    assert parse_rescan('{"type":"logthread.alarm_rescan","version":1}') is None
    assert parse_rescan(json.dumps({"AlarmName": "x"})) is None


def test_nothing_found_offers_the_rescan_button_only_for_episodes() -> None:
    alarm = _read("lambda_errors_hoge.json")
    discovery = Discovery(_plan())
    plain = as_dicts(nothing_found_reply(alarm, discovery).blocks)
    episode = as_dicts(
        nothing_found_reply(alarm, discovery, rescan_key=alarm.episode_key, again=True).blocks
    )
    assert [e["text"]["text"] for b in plain if b["type"] == "actions" for e in b["elements"]] == [
        "Open in CloudWatch"
    ]
    assert [e["action_id"] for b in episode if b["type"] == "actions" for e in b["elements"]] == [
        "logthread.alarm_search_again",
        "logthread.open_cloudwatch",
    ]
    assert _text(episode).startswith(":mag: *Searched again: still no failing request.*")


def test_hostile_values_render_within_limits() -> None:
    from logthread.alarms import rescan

    for value in ("1e400", "NaN", "1e15", "-5"):
        body = (
            '{"AlarmName":"x","NewStateValue":"ALARM","StateChangeTime":' + value + ","
            '"Trigger":{"Period":' + value + ',"Threshold":' + value + "}}"
        )
        _valid(alarm_message(parse(body)).blocks)
    for value in ('{"v":1,"k":"x","w":[0,1e400]}', '{"v":1,"k":"x","w":[0,1e18]}'):
        with pytest.raises(ValueError):
            rescan.decode_button(value)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    [
        "AlarmName",
        "AlarmArn",
        "NewStateValue",
        "OldStateValue",
        "StateChangeTime",
        "NewStateReason",
        "AlarmDescription",
        "Region",
        "AWSAccountId",
        "Trigger",
        "AlarmRule",
        "TriggeringChildren",
        "detail-type",
        "source",
        "detail",
        "resources",
        "time",
        "title",
    ]
)


@settings(max_examples=150)
@given(st.dictionaries(_KEYS, _JSON, max_size=10), st.booleans())
def test_any_json_shaped_like_a_notification_renders(
    doc: dict[str, Any], eventbridge: bool
) -> None:
    if eventbridge:
        doc = {**doc, "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch"}
    body = json.dumps(doc)
    alarm = parse(body)
    _valid(alarm_message(alarm).blocks)
    ok = parse(body.replace("ALARM", "OK"))
    _valid(alarm_message(alarm, resolved_by=ok, started_ms=alarm.state_change_ms).blocks)


def test_kinds_reply_lists_every_kind_escaped_and_caps_them() -> None:
    from logthread.signatures import Signature, Tally

    tally = Tally()
    for i in range(12):
        kind = Signature("ValueError", f"<!channel> kind {chr(97 + i)} password=hunter{i}x")
        for n in range(12 - i):
            tally.add(kind, WINDOW.start_ms + n * 1000, IDS[n % 4], GROUP)
    discovery = Discovery(_plan(), [], total=tally.total, tally=tally, known={})
    message = summary_reply(discovery, kinds_listed=10)
    _valid(message.blocks)
    shown = _text(as_dicts(message.blocks))
    assert message.text == "78 failing requests, 12 kinds of error"
    assert shown.startswith(f":mag: *78 failing requests, 12 kinds of error* in `{GROUP}`")
    assert "<!channel>" not in json.dumps(as_dicts(message.blocks))
    assert "hunter" not in json.dumps(as_dicts(message.blocks))
    assert "• *12 requests:* `ValueError: &lt;!channel&gt; kind a password=[REDACTED" in shown
    assert shown.count(":new: *new*") == 10
    assert "_…and 2 more kinds (3 requests)_" in shown


def test_the_looking_form_says_so_and_has_no_buttons_until_the_findings() -> None:
    alarm = _read("lambda_errors_hoge.json")

    looking = alarm_message(alarm, looking=True)

    blocks = as_dicts(looking.blocks)
    assert not block_errors(blocks)
    shown = _text(blocks)
    assert shown.startswith(":rotating_light: ALARM: HogeService-Errors")
    assert ":mag: Looking for the failing requests…" in shown
    assert "*Reason:* Threshold Crossed" in shown
    assert not [b for b in blocks if b["type"] == "actions"]
    assert looking.text == alarm_message(alarm).text  # the notification reads the same
