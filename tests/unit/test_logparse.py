"""Every Lambda log format becomes the one record shape."""

from __future__ import annotations

import json

import pytest

from logthread.logparse import iso_to_ms, normalize_level, parse_event, parse_line

RID = "12345678-aaaa-bbbb-cccc-1234567890ab"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"
T = "2024-05-01T12:00:00.123Z"
T_MS = 1714564800123


def test_start() -> None:
    r = parse_line(f"START RequestId: {RID} Version: $LATEST\n", timestamp=5)
    assert (r.kind, r.level, r.request_id, r.timestamp) == ("start", "PLATFORM", RID, 5)
    assert r.extra == {"version": "$LATEST"}
    assert r.message == "START Version: $LATEST"
    assert r.raw.endswith("\n")


def test_end() -> None:
    r = parse_line(f"END RequestId: {RID}\n")
    assert (r.kind, r.request_id, r.message) == ("end", RID, "END")


def test_report_with_init_and_xray() -> None:
    line = (
        f"REPORT RequestId: {RID}\tDuration: 102.25 ms\tBilled Duration: 103 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 71 MB\tInit Duration: 245.32 ms\t\n"
        f"XRAY TraceId: {TRACE}\tSegmentId: 4c31d5a3a09ae99c\tSampled: true\t\n"
    )
    r = parse_line(line)
    assert r.kind == "report" and r.request_id == RID
    assert r.extra == {
        "duration_ms": 102.25,
        "billed_duration_ms": 103,
        "memory_size_mb": 128,
        "max_memory_used_mb": 71,
        "init_duration_ms": 245.32,
        "xray_trace_id": TRACE,
    }
    assert "Duration: 102.25 ms" in r.message and "Init: 245.32 ms" in r.message


def test_report_of_a_timeout_without_init() -> None:
    line = (
        f"REPORT RequestId: {RID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 80 MB\tStatus: timeout\n"
    )
    r = parse_line(line)
    assert "init_duration_ms" not in r.extra
    assert r.extra["status"] == "timeout"
    assert "Status: timeout" in r.message


def test_python_text() -> None:
    r = parse_line(f"[ERROR]\t{T}\t{RID}\tDB fetch failed\n", timestamp=7)
    assert (r.kind, r.level, r.request_id, r.message, r.timestamp) == (
        "text",
        "ERROR",
        RID,
        "DB fetch failed",
        7,
    )
    assert r.extra["runtime"] == "python" and r.extra["time"] == T
    assert r.is_error


def test_python_text_takes_the_lines_time_when_none_is_given() -> None:
    assert parse_line(f"[INFO]\t{T}\t{RID}\thello").timestamp == T_MS


def test_python_text_multiline_message_and_warning_level() -> None:
    r = parse_line(f"[WARNING]\t{T}\t{RID}\tslow query\n  took 3s\n")
    assert r.level == "WARN"
    assert r.message == "slow query\n  took 3s"


def test_python_init_line_has_no_request_id() -> None:
    r = parse_line(f"[INFO]\t{T}\t\tFound credentials in environment variables.\n")
    assert r.request_id == "" and r.kind == "text"


def test_python_unhandled_exception() -> None:
    line = (
        "[ERROR] RuntimeError: DB fetch failed\nTraceback (most recent call last):\n"
        '  File "/var/task/app.py", line 12, in handler\n'
    )
    r = parse_line(line)
    assert r.level == "ERROR" and r.request_id == ""
    assert r.message.startswith("RuntimeError: DB fetch failed\nTraceback")


def test_node_text() -> None:
    r = parse_line(f"{T}\t{RID}\tINFO\torder accepted {{ id: 42 }}\n")
    assert (r.kind, r.level, r.request_id, r.message) == (
        "text",
        "INFO",
        RID,
        "order accepted { id: 42 }",
    )
    assert r.extra["runtime"] == "node"


def test_node_text_during_init() -> None:
    r = parse_line(f"{T}\tundefined\tWARN\tcold start\n")
    assert r.request_id == "" and r.level == "WARN"


def test_task_timed_out() -> None:
    r = parse_line(f"{T} {RID} Task timed out after 3.00 seconds\n")
    assert r.level == "ERROR" and r.request_id == RID
    assert r.message == "Task timed out after 3.00 seconds"


def test_init_start_is_platform() -> None:
    r = parse_line("INIT_START Runtime Version: python:3.12.v16\tRuntime Version ARN: arn:x\n")
    assert r.kind == "platform" and r.level == "PLATFORM" and r.request_id == ""


def test_json_app_record_python() -> None:
    line = json.dumps(
        {
            "timestamp": T,
            "level": "ERROR",
            "message": "DB fetch failed",
            "logger": "root",
            "requestId": RID,
            "errorType": "RuntimeError",
            "errorMessage": "timeout",
            "stackTrace": ['  File "/var/task/app.py", line 9, in handler\n'],
        }
    )
    r = parse_line(line)
    assert (r.kind, r.level, r.request_id) == ("json", "ERROR", RID)
    assert r.message.startswith("DB fetch failed\n") and "app.py" in r.message
    assert r.extra["logger"] == "root" and r.timestamp == T_MS


def test_json_app_record_node_with_object_message() -> None:
    line = json.dumps({"timestamp": T, "level": "INFO", "requestId": RID, "message": {"a": 1}})
    r = parse_line(line)
    assert r.message == '{"a": 1}' and r.request_id == RID


def test_json_platform_start_report_runtime_done() -> None:
    start = parse_line(
        json.dumps(
            {
                "time": T,
                "type": "platform.start",
                "record": {"requestId": RID, "version": "$LATEST"},
            }
        )
    )
    assert (start.kind, start.request_id, start.level) == ("start", RID, "PLATFORM")
    report = parse_line(
        json.dumps(
            {
                "time": T,
                "type": "platform.report",
                "record": {
                    "requestId": RID,
                    "metrics": {
                        "durationMs": 5.2,
                        "billedDurationMs": 6,
                        "memorySizeMB": 128,
                        "maxMemoryUsedMB": 70,
                        "initDurationMs": 300.5,
                    },
                    "tracing": {
                        "type": "X-Amzn-Trace-Id",
                        "value": f"Root={TRACE};Parent=ab;Sampled=1",
                    },
                    "status": "success",
                },
            }
        )
    )
    assert report.kind == "report" and report.request_id == RID
    assert report.extra["duration_ms"] == 5.2 and report.extra["init_duration_ms"] == 300.5
    assert report.extra["billed_duration_ms"] == 6 and report.extra["max_memory_used_mb"] == 70
    assert report.extra["xray_trace_id"] == TRACE
    done = parse_line(
        json.dumps(
            {
                "time": T,
                "type": "platform.runtimeDone",
                "record": {"requestId": RID, "status": "error"},
            }
        )
    )
    assert done.kind == "end" and done.request_id == RID
    init = parse_line(
        json.dumps({"time": T, "type": "platform.initStart", "record": {"phase": "init"}})
    )
    assert init.kind == "platform" and init.request_id == ""


def test_powertools_logger() -> None:
    line = json.dumps(
        {
            "level": "ERROR",
            "location": "handler:12",
            "message": "DB fetch failed",
            "timestamp": "2024-05-01 12:00:00,123+0000",
            "service": "inventory",
            "cold_start": False,
            "function_name": "InventoryService",
            "function_request_id": RID,
            "xray_trace_id": TRACE,
            "exception": "Traceback (most recent call last):\n  ...\nRuntimeError: boom",
            "exception_name": "RuntimeError",
        }
    )
    r = parse_line(line)
    assert (r.kind, r.level, r.request_id) == ("powertools", "ERROR", RID)
    assert r.extra["xray_trace_id"] == TRACE and r.extra["service"] == "inventory"
    assert r.message.startswith("DB fetch failed\nTraceback")
    assert r.timestamp == T_MS


def test_powertools_warning_level() -> None:
    r = parse_line(json.dumps({"level": "WARNING", "message": "m", "function_request_id": RID}))
    assert r.level == "WARN"


@pytest.mark.parametrize(
    "line",
    ["plain print output", '{"not": "a log record"}', "{broken json", "[notalevel] x", ""],
)
def test_unknown_lines_stay_raw(line: str) -> None:
    r = parse_line(line, timestamp=9)
    assert r.kind == "raw" and r.message == line and r.raw == line and r.timestamp == 9


def test_unknown_json_object_stays_raw_but_keeps_its_own_time() -> None:
    line = json.dumps({"timestamp": T, "not": "a log record"})
    r = parse_line(line)
    assert (r.kind, r.message, r.timestamp) == ("raw", line, T_MS)
    assert parse_line(line, timestamp=9).timestamp == 9  # the event's own time wins


def test_parse_event_carries_cloudwatch_fields() -> None:
    event = {
        "logStreamName": "2024/05/01/[$LATEST]abc",
        "timestamp": 1000,
        "message": f"END RequestId: {RID}\n",
        "ingestionTime": 1001,
        "eventId": "3789",
    }
    r = parse_event(event, "/aws/lambda/HogeService")
    assert (r.log_group, r.log_stream, r.event_id, r.timestamp) == (
        "/aws/lambda/HogeService",
        "2024/05/01/[$LATEST]abc",
        "3789",
        1000,
    )
    assert parse_event({**event, "logGroupName": "/other"}, "/x").log_group == "/other"


def test_normalize_level_and_times() -> None:
    assert normalize_level("warning") == "WARN"
    assert normalize_level(None) == ""
    assert iso_to_ms(T) == T_MS
    assert iso_to_ms("2024-05-01 12:00:00,123+0000") == T_MS
    assert iso_to_ms("2024-05-01T14:00:00.123+02:00") == T_MS
    assert iso_to_ms("garbage") == 0
