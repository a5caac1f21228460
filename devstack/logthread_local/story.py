"""The seed's story, timed to now: HogeService fails to read its database, the alarm fires.

Used by ``make demo`` and ``logthread dev``. The log lines are written as the
Lambda Python runtime writes them; the alarm is the SNS message CloudWatch
publishes for a Lambda ``Errors`` alarm, with its ``StateChangeTime`` just after
the failure so the worker's evaluation window covers it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FUNCTION = "HogeService"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
REQUEST_ID = "12345678-aaaa-bbbb-cccc-1234567890ab"
OTHER_REQUEST_ID = "9f0e8d7c-1111-2222-3333-444455556666"
ALARM_NAME = f"{FUNCTION}-Errors"
ERROR_MESSAGE = "DB fetch failed"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def _request(request_id: str, start_ms: int, body: list[tuple[int, str, str]], report: str) -> list:
    lines = [(start_ms, f"START RequestId: {request_id} Version: $LATEST")]
    t = start_ms
    for offset, level, message in body:
        t = start_ms + offset
        lines.append((t, f"[{level}]\t{_iso(t)}\t{request_id}\t{message}"))
    lines.append((t + 2, f"END RequestId: {request_id}"))
    lines.append((t + 3, f"REPORT RequestId: {request_id}\t{report}"))
    return lines


# (offset ms from START, level, message) of each request's own lines.
HEALTHY = [
    (3, "INFO", "GET /orders/41 from 203.0.113.10"),
    (48, "INFO", "fetched order 41 from orders-db in 41 ms"),
]
FAILING = [
    (2, "INFO", "GET /orders/42 from 203.0.113.10"),
    (5, "INFO", "connecting to orders-db.cluster-abc123.us-east-1.rds.amazonaws.com"),
    (5007, "WARN", "orders-db did not answer within 5000 ms (attempt 1 of 2), retrying"),
    (
        10011,
        "ERROR",
        f"{ERROR_MESSAGE}: OperationalError: connection to orders-db timed out after 5000 ms "
        "(attempt 2 of 2)",
    ),
    (10013, "ERROR", "returning 503 to the caller for order 42"),
]


def shows_failing_request(text: str) -> bool:
    """True if ``text`` holds every line of the failing request and none of the healthy one."""
    return all(m in text for _, _, m in FAILING) and not any(m in text for _, _, m in HEALTHY)


def failure_lines(now_ms: int | None = None) -> list[tuple[int, str]]:
    """HogeService's log: a healthy request, then 12345678-… failing on its database.

    Timestamps fall in the 40 seconds before ``now_ms``, inside a 1-minute alarm
    period ending now.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    ok_start = now_ms - 40_000
    bad_start = now_ms - 30_000
    healthy = _request(
        OTHER_REQUEST_ID,
        ok_start,
        HEALTHY,
        "Duration: 51.20 ms\tBilled Duration: 52 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB",
    )
    failing = _request(
        REQUEST_ID,
        bad_start,
        FAILING,
        "Duration: 10016.87 ms\tBilled Duration: 10017 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 83 MB",
    )
    return sorted(healthy + failing)


def lambda_errors_alarm(
    now_ms: int | None = None, *, state: str = "ALARM", function: str = FUNCTION
) -> tuple[dict[str, Any], str]:
    """The CloudWatch alarm message for Lambda ``Errors`` on ``function``, and its subject.

    Shaped like fixtures/alarms/lambda_errors_hoge.json (a real notification), with
    the times moved to now and a 1-minute period.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    change = datetime.fromtimestamp(now_ms / 1000, UTC)
    stamp = change.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}+0000"
    period_start = change.strftime("%d/%m/%y %H:%M:00")
    name = f"{function}-Errors"
    old = {"ALARM": "OK", "OK": "ALARM"}.get(state, "OK")
    if state == "ALARM":
        reason = (
            f"Threshold Crossed: 1 out of the last 1 datapoints [1.0 ({period_start})] was "
            "greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> "
            "ALARM transition)."
        )
    else:
        reason = (
            f"Threshold Crossed: 1 out of the last 1 datapoints [0.0 ({period_start})] was not "
            "greater than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK "
            "transition)."
        )
    topic = "arn:aws:sns:us-east-1:123456789012:logthread-alarms"
    message = {
        "AlarmName": name,
        "AlarmDescription": f"{function} returned errors (Lambda Errors >= 1 in 1 minute)",
        "AWSAccountId": "123456789012",
        "AlarmConfigurationUpdatedTimestamp": "2024-05-01T09:12:44.512+0000",
        "NewStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": stamp,
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
        "OldStateValue": old,
        "OKActions": [topic],
        "AlarmActions": [topic],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": [{"value": function, "name": "FunctionName"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    subject = f'{state}: "{name}" in US East (N. Virginia)'
    return message, subject


def fixture_log_files() -> dict[str, Path]:
    """Log fixtures a developer can load into the stack: name -> path (.log / .txt)."""
    found: dict[str, Path] = {}
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file() and path.suffix in {".log", ".txt"}:
            found[str(path.relative_to(FIXTURES))] = path
    return found


def lines_from_text(text: str, now_ms: int | None = None) -> list[tuple[int, str]]:
    """Pasted log text as ``(timestamp, line)`` events ending now, one ms apart.

    Every line is stamped now (in order) rather than with a time it may carry, so
    that the default look-back (today first) and the alarm window both find it.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    rows = [r.rstrip("\r") for r in text.splitlines() if r.strip()]
    return [(now_ms - (len(rows) - i), row) for i, row in enumerate(rows)]
