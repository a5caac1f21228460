"""Discovery without I/O: where to look, over which window, which lines count."""

from __future__ import annotations

import json

import pytest

from logthread.alarms import patterns
from logthread.alarms.discover import (
    ERROR_PATTERN,
    Failure,
    Target,
    datapoint_times,
    evaluation_window,
    group_errors,
    is_failure_line,
    plan,
    quoted_outside,
)
from logthread.alarms.parse import Alarm, parse
from logthread.config import from_mapping
from logthread.logparse import parse_line
from logthread.records import LogRecord
from tests.conftest import load_fixture

CHANGE = 1_715_656_867_123  # 2024-05-14T03:21:07.123Z
RID = "12345678-aaaa-bbbb-cccc-1234567890ab"


def _read(name: str) -> Alarm:
    env = load_fixture(f"alarms/{name}")
    return parse(env["Message"], env.get("Subject", ""))


class NoLogs:
    """A logs client that must not be called (the plan needs no lookup here)."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"unexpected call: {name}")


# -- the window -----------------------------------------------------------------------------


def test_datapoint_times_are_read_from_the_reason() -> None:
    reason = "Threshold Crossed: 2 out of the last 3 datapoints [2.0 (14/05/24 03:15:00), 0.0 (14/05/24 03:10:00)]"
    assert datapoint_times(reason) == [1_715_656_500_000, 1_715_656_200_000]
    assert datapoint_times("nothing (99/99/99 99:99:99)") == []


def test_window_goes_back_period_times_evaluations_plus_margin() -> None:
    alarm = _read("lambda_errors_hoge.json")  # period 300, 1 evaluation, datapoint 03:15:00
    window = evaluation_window(alarm, 60, now_ms=0)
    # Back to the 03:15:00 period boundary (also the quoted datapoint), minus a minute.
    assert window.start_ms == 1_715_656_500_000 - 60_000
    # The datapoint's period ends 03:20:00 < the change at 03:21:07; plus a minute.
    assert window.end_ms == CHANGE + 60_000


def test_window_covers_every_quoted_datapoint() -> None:
    env = load_fixture("alarms/metric_math_two_functions.json")
    doc = json.loads(env["Message"])
    doc["NewStateReason"] = "... [3.0 (14/05/24 03:05:00), 1.0 (14/05/24 03:04:00)]"
    window = evaluation_window(parse(json.dumps(doc)), 0, now_ms=0)
    assert window.start_ms == 1_715_655_840_000  # 03:04:00, before 3 x 60 s back


def test_window_without_a_time_ends_now() -> None:
    alarm = parse(json.dumps({"AlarmName": "x", "NewStateValue": "ALARM"}))
    window = evaluation_window(alarm, 0, now_ms=10_000_000)
    assert (window.start_ms, window.end_ms) == (10_000_000 - 300_000, 10_000_000)


# -- where to look --------------------------------------------------------------------------


def test_function_dimension_gives_its_log_group() -> None:
    config = from_mapping({}, env={})
    the_plan = plan(_read("lambda_errors_hoge.json"), config, logs=NoLogs(), now_ms=0)
    assert the_plan.targets == (
        Target("/aws/lambda/HogeService", ERROR_PATTERN, "errors", "Errors of HogeService"),
    )


def test_metric_math_looks_in_each_function() -> None:
    config = from_mapping({}, env={})
    the_plan = plan(_read("metric_math_two_functions.json"), config, logs=NoLogs(), now_ms=0)
    assert the_plan.log_groups == ("/aws/lambda/HogeService", "/aws/lambda/FugaService")


def test_duration_alarms_look_for_slow_reports() -> None:
    env = load_fixture("alarms/lambda_errors_hoge.json")
    doc = json.loads(env["Message"])
    doc["Trigger"].update(MetricName="Duration", Threshold=3000.0)
    (target,) = plan(parse(json.dumps(doc)), from_mapping({}, env={}), logs=NoLogs()).targets
    assert (target.match, target.threshold_ms) == ("slow", 3000.0)
    slow = parse_line(f"REPORT RequestId: {RID}\tDuration: 3500.12 ms\tBilled Duration: 3501 ms")
    fast = parse_line(f"REPORT RequestId: {RID}\tDuration: 35.12 ms\tBilled Duration: 36 ms")
    assert is_failure_line(target, slow) and not is_failure_line(target, fast)


def test_mapping_when_nothing_else_says() -> None:
    config = from_mapping(
        {"log_groups": [{"alarm": "Checkout-*", "log_groups": ["/aws/lambda/FugaService"]}]}, env={}
    )
    the_plan = plan(_read("composite_checkout.json"), config, logs=NoLogs(), now_ms=0)
    assert the_plan.log_groups == ("/aws/lambda/FugaService",)
    assert the_plan.targets[0].source == "configured for Checkout-Degraded"


def test_groups_outside_the_allowed_prefixes_are_not_searched() -> None:
    config = from_mapping(
        {
            "access": {"log_group_prefixes": ["/aws/lambda/Fuga"]},
        },
        env={},
    )
    the_plan = plan(_read("metric_math_two_functions.json"), config, logs=NoLogs(), now_ms=0)
    assert the_plan.log_groups == ("/aws/lambda/FugaService",)
    assert the_plan.notes == (
        "/aws/lambda/HogeService not searched: outside the allowed log group prefixes",
    )


def test_no_log_group_known_is_said() -> None:
    the_plan = plan(_read("plain_text.json"), from_mapping({}, env={}), logs=NoLogs(), now_ms=0)
    assert the_plan.targets == ()
    assert "no log group known" in the_plan.notes[0]


# -- which lines count ----------------------------------------------------------------------

ERRORS = Target("/aws/lambda/HogeService", ERROR_PATTERN, "errors", "x")


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        (f"[ERROR]\t2024-05-14T03:20:01.000Z\t{RID}\tboom", True),
        (f"[INFO]\t2024-05-14T03:20:01.000Z\t{RID}\tERROR in a message of an INFO line", False),
        (f"2024-05-14T03:20:01.000Z\t{RID}\tERROR\tInvoke Error", True),
        (f"2024-05-14T03:20:01.000Z {RID} Task timed out after 3.00 seconds", True),
        (f"REPORT RequestId: {RID}\tDuration: 3000.00 ms\tStatus: timeout", True),
        (f"REPORT RequestId: {RID}\tDuration: 3.00 ms", False),
        (json.dumps({"level": "ERROR", "message": "x", "function_request_id": RID}), True),
        (json.dumps({"level": "INFO", "message": "ERROR", "function_request_id": RID}), False),
    ],
)
def test_error_lines(line: str, counts: bool) -> None:
    assert is_failure_line(ERRORS, parse_line(line)) is counts


def test_metric_filter_lines_are_checked_here_too() -> None:
    target = Target("/g", '{ $.level = "ERROR" && $.message = "payment failed*" }', "filter", "x")
    hit = json.dumps({"level": "ERROR", "message": "payment failed: declined"})
    miss = json.dumps({"level": "ERROR", "message": "psp timeout"})
    assert is_failure_line(target, parse_line(hit))
    assert not is_failure_line(target, parse_line(miss))
    # A pattern we can't read is left to the server.
    odd = Target("/g", "[ip, user, status=5*]", "filter", "x")
    assert is_failure_line(odd, parse_line("anything"))


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        ("", "anything", True),
        ("ERROR", "[ERROR] x", True),
        ("ERROR", "[INFO] x", False),
        ('"Task timed out"', "x Task timed out after 3s", True),
        ("ERROR Exception", "ERROR: Exception", True),
        ("ERROR Exception", "ERROR only", False),
        ("?ERROR ?WARN", "WARN here", True),
        ("?ERROR ?WARN", "INFO here", False),
        ('"payment failed" -retry', "payment failed", True),
        ('"payment failed" -retry', "payment failed, retry", False),
        ("%ERR(OR)?:%", "ERR: x", True),
        ('{ $.level = "ERROR" }', '{"level": "ERROR"}', True),
        ('{ $.level = "ERROR" }', '{"level": "INFO"}', False),
        ('{ $.level = "ERROR" }', "[ERROR] not json", False),
        ("{ $.status >= 500 }", '{"status": 503}', True),
        ("{ $.status >= 500 }", '{"status": "503"}', False),
        ("{ $.status != 200 }", '{"status": 200}', False),
        ('{ $.a.b[1] = "x*" }', '{"a": {"b": ["y", "xyz"]}}', True),
        ("{ ($.x = 1) || ($.y = 2) }", '{"y": 2}', True),
        ("{ $.x = 1 && $.y = 2 || $.z = 3 }", '{"z": 3}', True),
        ("{ $.x = 1 && $.y = 2 || $.z = 3 }", '{"x": 1}', False),
        ("{ $.e EXISTS }", '{"e": null}', True),
        ("{ $.e NOT EXISTS }", '{"e": null}', False),
        ("{ $.e IS NULL }", '{"e": null}', True),
        ("{ $.ok IS FALSE }", '{"ok": false}', True),
        ('{ $.msg = "a && b" }', '{"msg": "a && b"}', True),
        ("[ip, user]", "x", None),
        ("{ (($.a = 1) || $.b = 2) && $.c = 3 }", "{}", None),
        ("{ $.a ~ 1 }", "{}", None),
    ],
)
def test_filter_patterns(pattern: str, line: str, expected: bool | None) -> None:
    assert patterns.matches(pattern, line) is expected


# -- grouping -------------------------------------------------------------------------------


def test_identical_errors_group_whatever_ids_they_carry() -> None:
    def failure(rid: str, message: str) -> Failure:
        return Failure(rid, "/g", 0, [LogRecord(timestamp=0, message=message, request_id=rid)])

    a = failure("a", "KeyError for 11111111-2222-3333-4444-555555555555\nTraceback ...")
    b = failure("b", "KeyError for 66666666-7777-8888-9999-000000000000")
    c = failure("c", "Timeout")
    groups = group_errors([c, a, b])
    assert [[f.request_id for f in fs] for _, fs in groups] == [["a", "b"], ["c"]]
    assert a.first_error == "KeyError for 11111111-2222-3333-4444-555555555555"


def test_absurd_periods_keep_the_window_within_a_week() -> None:
    alarm = parse(
        '{"AlarmName":"x","NewStateValue":"ALARM","StateChangeTime":"2024-05-14T03:21:07Z",'
        '"Trigger":{"Period":1e15,"EvaluationPeriods":1e9}}'
    )
    window = evaluation_window(alarm, 60, now_ms=0)
    assert 0 <= window.start_ms < window.end_ms
    assert window.duration_ms <= 7 * 86_400_000 * 2 + 120_000


def _quoting(stamp: str) -> Alarm:
    env = load_fixture("alarms/lambda_errors_hoge.json")
    doc = json.loads(env["Message"])
    doc["NewStateReason"] = f"Threshold Crossed: 1 datapoint [5.0 ({stamp})] was >= 1.0"
    return parse(json.dumps(doc))


def test_a_datapoint_quoted_from_the_year_2000_does_not_widen_the_window() -> None:
    window = evaluation_window(_quoting("01/01/00 00:00:00"), 60, now_ms=0)
    assert window.duration_ms < 3_600_000  # not 9,832 days


def test_a_datapoint_quoted_30_days_back_does_not_widen_the_window() -> None:
    alarm = _quoting("14/04/24 03:15:00")  # 30 days before the 14/05/24 change
    window = evaluation_window(alarm, 60, now_ms=0)
    assert window.start_ms > CHANGE - 3_600_000
    assert len(quoted_outside(alarm, now_ms=0)) == 1


def test_the_thread_says_a_quote_was_ignored() -> None:
    the_plan = plan(_quoting("01/01/00 00:00:00"), from_mapping({}, env={}), logs=None)
    assert any("outside the alarm's evaluation range" in note for note in the_plan.notes)
