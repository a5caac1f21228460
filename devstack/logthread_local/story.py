"""The seed's story, timed to now: HogeService fails to read its database, the alarm fires.

Used by ``make demo`` and ``logthread dev``. The logs are the project's shared
fixtures (fixtures/logs, loaded by :mod:`logthread_local.seed`): request
12345678-aaaa-bbbb-cccc-1234567890ab fails with ``DB fetch failed`` five minutes
ago, among other requests, one of which mentions an order ``123456789`` that a
careless prefix search would take for it. The alarm is the SNS message CloudWatch
publishes for a Lambda ``Errors`` alarm, its ``StateChangeTime`` now, its
5-minute period covering the failure.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logthread_local import seed

FUNCTION = seed.SEED_FUNCTION
LOG_GROUP = seed.SEED_LOG_GROUP
REQUEST_ID = seed.SEED_REQUEST_ID
ALARM_NAME = f"{FUNCTION}-Errors"
ERROR_MESSAGE = "DB fetch failed"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
_TAGGED = re.compile(r"^\[[A-Z]+\]\t[^\t]+\t([^\t]+)\t(.*)$", re.S)


def seed_logs(logs: Any, now_ms: int | None = None) -> dict[str, Any]:
    """Load every log fixture, placed relative to now; return the seed's summary."""
    return seed.seed(logs, now_ms)


@functools.cache
def _messages_by_request() -> dict[str, set[str]]:
    """HogeService's runtime lines (the message part) by the request id they carry."""
    found: dict[str, set[str]] = {}
    for event in seed.plan(files=[seed.FIXTURES_DIR / "hoge_service.json"]):
        m = _TAGGED.match(event["message"].rstrip("\n"))
        if m and event["logGroupName"] == LOG_GROUP:
            found.setdefault(m.group(1), set()).add(m.group(2))
    return found


def own_and_foreign_lines(request_id: str = REQUEST_ID) -> tuple[set[str], set[str]]:
    """Lines only ``request_id`` wrote, and lines only the other requests wrote."""
    by_request = _messages_by_request()
    own = set(by_request.get(request_id, set()))
    foreign = set().union(*(v for k, v in by_request.items() if k != request_id))
    return own - foreign, foreign - own


def shows_failing_request(text: str) -> bool:
    """``text`` holds every line of the failing request and none of another request's.

    The other requests include one that logged ``order 123456789 found``: a prefix
    search for ``12345678`` that trusted substring matches would bring it back.
    """
    own, foreign = own_and_foreign_lines()
    return bool(own) and all(m in text for m in own) and not any(m in text for m in foreign)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def fresh_failure(now_ms: int | None = None) -> tuple[str, list[tuple[int, str]]]:
    """A new request id and its failing lines (``(timestamp_ms, line)``), ending now.

    For trying the alarm again later in ``logthread dev``: the seed's own failure
    sits five minutes before the stack started, outside any later alarm's window.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    rid = str(uuid.uuid4())
    start = now_ms - 3_500
    body = [
        (3, "INFO", "Received event: {'path': '/users/42', 'httpMethod': 'GET'}"),
        (6, "INFO", "Fetching user 42 from users table"),
        (1010, "WARNING", "DB connection attempt 1/3 timed out after 1000 ms; retrying"),
        (2015, "WARNING", "DB connection attempt 2/3 timed out after 1000 ms; retrying"),
        (3020, "ERROR", ERROR_MESSAGE),
    ]
    lines = [(start, f"START RequestId: {rid} Version: $LATEST")]
    lines += [(start + o, f"[{lvl}]\t{_iso(start + o)}\t{rid}\t{msg}") for o, lvl, msg in body]
    lines.append((start + 3025, f"END RequestId: {rid}"))
    lines.append(
        (
            start + 3026,
            f"REPORT RequestId: {rid}\tDuration: 3022.40 ms\tBilled Duration: 3023 ms\t"
            "Memory Size: 256 MB\tMax Memory Used: 88 MB",
        )
    )
    return rid, lines


SECOND_KIND = "KeyError: 'customer_id'"
# Follow-ups in compressed time for the demo and the dev page: every 3 s for 10 minutes.
FOLLOW_UPS = {"follow_up_minutes": 0.05, "follow_up_for_minutes": 10}


def second_kind_failures(now_ms: int | None = None, count: int = 4) -> list[tuple[int, str]]:
    """``count`` requests failing another way (a ``KeyError``), stamped now.

    The incident goes on: while the alarm stays in ALARM, a second kind of error
    starts, which only a follow-up can bring to the thread.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    lines: list[tuple[int, str]] = []
    for i in range(count):
        rid = str(uuid.uuid4())
        # Stamped now, within a few ms of each other: every look reads only up to its
        # ingestion lag behind its own now, so none has read past them yet, and one
        # look counts them all (a slow machine makes the looks late, never early).
        start = now_ms + i * 10
        lines.append((start, f"START RequestId: {rid} Version: $LATEST"))
        trace = (
            f"{SECOND_KIND}\nTraceback (most recent call last):\n"
            '  File "/var/task/app.py", line 31, in handler\n'
            '    customer = event["customer_id"]'
        )
        # As logger.exception() prints it in the Lambda runtime's format.
        lines.append((start + 4, f"[ERROR]\t{_iso(start + 4)}\t{rid}\t{trace}"))
        lines.append((start + 5, f"END RequestId: {rid}"))
        lines.append(
            (
                start + 6,
                f"REPORT RequestId: {rid}\tDuration: 5.10 ms\tBilled Duration: 6 ms\t"
                "Memory Size: 256 MB\tMax Memory Used: 71 MB",
            )
        )
    return lines


def lambda_errors_alarm(
    now_ms: int | None = None,
    *,
    state: str = "ALARM",
    function: str = FUNCTION,
    period: int = 300,
    previous: str = "",
) -> tuple[dict[str, Any], str]:
    """The CloudWatch alarm message for Lambda ``Errors`` on ``function``, and its subject.

    Shaped like fixtures/alarms/lambda_errors_hoge.json (a real notification), with
    ``StateChangeTime`` at ``now_ms``; ``previous`` is its ``OldStateValue`` (default: OK
    for an ALARM, ALARM for an OK; "ALARM" for an ALARM is a repeat while it lasts).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    change = datetime.fromtimestamp(now_ms / 1000, UTC)
    stamp = change.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}+0000"
    datapoint = datetime.fromtimestamp((now_ms // 1000 - period) // 60 * 60, UTC)
    name = f"{function}-Errors"
    old = previous or {"ALARM": "OK", "OK": "ALARM"}.get(state, "OK")
    if state == "ALARM":
        reason = (
            f"Threshold Crossed: 1 out of the last 1 datapoints [1.0 "
            f"({datapoint:%d/%m/%y %H:%M:00})] was greater than or equal to the threshold (1.0) "
            "(minimum 1 datapoint for OK -> ALARM transition)."
        )
    else:
        reason = (
            f"Threshold Crossed: 1 out of the last 1 datapoints [0.0 "
            f"({datapoint:%d/%m/%y %H:%M:00})] was not greater than or equal to the threshold "
            "(1.0) (minimum 1 datapoint for ALARM -> OK transition)."
        )
    topic = "arn:aws:sns:us-east-1:123456789012:logthread-alarms"
    message = {
        "AlarmName": name,
        "AlarmDescription": f"{function} returned errors (Lambda Errors >= 1 over 5 minutes)",
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
            "Period": period,
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
    """Log fixtures a developer can load: name -> path (seed JSON, or .log / .txt lines)."""
    found: dict[str, Path] = {}
    for path in sorted(FIXTURES.rglob("*")):
        seed_file = path.parent == seed.FIXTURES_DIR and path.suffix == ".json"
        if path.is_file() and (seed_file or path.suffix in {".log", ".txt"}):
            found[str(path.relative_to(FIXTURES))] = path
    return found


def lines_from_text(text: str, now_ms: int | None = None) -> list[tuple[int, str]]:
    """Pasted log text as ``(timestamp, line)`` events ending now, one ms apart.

    Every line is stamped now (in order) rather than with a time it may carry, so
    that the default look-back (today first) and an alarm fired now both find it.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    rows = [r.rstrip("\r") for r in text.splitlines() if r.strip()]
    return [(now_ms - (len(rows) - i), row) for i, row in enumerate(rows)]


# -- a second account: PaymentService in a linked source account ----------------------------

# The stack's own account is the monitoring account of CloudWatch cross-account observability;
# this one is a source account linked to it (logthread_local.linkedlogs emulates the link).
SOURCE_ACCOUNT = "210987654321"
SOURCE_ACCOUNT_NAME = "payments"
SOURCE_FUNCTION = "PaymentService"
SOURCE_LOG_GROUP = f"/aws/lambda/{SOURCE_FUNCTION}"
SOURCE_REQUEST_ID = "87654321-dddd-4eee-8fff-0987654321ab"
SOURCE_ERROR = "Card gateway timed out after 3000 ms"
SOURCE_ALARM_NAME = "Payments-Errors"
SOURCE_FIXTURE = FIXTURES / "linked" / "payment_service.json"
MONITORING_ACCOUNT = "123456789012"


def linked_config() -> dict[str, Any]:
    """The configuration that lets the bot read the source account (and names it)."""
    return {
        "accounts": {SOURCE_ACCOUNT: SOURCE_ACCOUNT_NAME},
        "access": {"accounts": [SOURCE_ACCOUNT]},
    }


def seed_source_account(logs: Any, now_ms: int | None = None) -> dict[str, Any]:
    """Load PaymentService's logs into the source account ``logs`` acts as (its own
    ``x-moto-account-id``: :func:`logthread_local.aws.in_account`); return the summary."""
    return seed.seed(logs, now_ms, files=[SOURCE_FIXTURE])


def shows_source_failure(text: str) -> bool:
    """``text`` holds every line of the payments account's failing request, and no line
    only the requests around it wrote (same group, same stream, minutes apart)."""
    by_request: dict[str, set[str]] = {}
    for event in seed.plan(files=[SOURCE_FIXTURE]):
        m = _TAGGED.match(event["message"].rstrip("\n"))
        if m:
            by_request.setdefault(m.group(1), set()).add(m.group(2))
    own = by_request.get(SOURCE_REQUEST_ID, set())
    foreign = set().union(*(v for k, v in by_request.items() if k != SOURCE_REQUEST_ID))
    return (
        bool(own)
        and all(m in text for m in own - foreign)
        and not any(m in text for m in foreign - own)
    )


def source_failure(now_ms: int | None = None) -> tuple[str, list[tuple[int, str]]]:
    """A new failing PaymentService request (``(timestamp_ms, line)``), ending now."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    rid = str(uuid.uuid4())
    start = now_ms - 3_100
    body = [
        (3, "INFO", "Charging order 6001 (EUR 12.00) with card gateway"),
        (3006, "WARNING", "Card gateway did not answer within 3000 ms; no retry"),
        (3010, "ERROR", SOURCE_ERROR),
    ]
    lines = [(start, f"START RequestId: {rid} Version: $LATEST")]
    lines += [(start + o, f"[{lvl}]\t{_iso(start + o)}\t{rid}\t{msg}") for o, lvl, msg in body]
    lines.append((start + 3012, f"END RequestId: {rid}"))
    return rid, lines


def cross_account_alarm(
    now_ms: int | None = None, *, state: str = "ALARM", period: int = 300
) -> tuple[dict[str, Any], str]:
    """The monitoring account's alarm on the source account's ``Errors`` of PaymentService.

    A metric of another account can only be named in a metric data query (``AccountId``),
    so CloudWatch writes the trigger as ``Metrics``, as for metric math.
    """
    message, _ = lambda_errors_alarm(now_ms, state=state, function=SOURCE_FUNCTION, period=period)
    trigger = message["Trigger"]
    for key in ("MetricName", "Namespace", "StatisticType", "Statistic", "Unit", "Dimensions"):
        trigger.pop(key, None)
    trigger["Metrics"] = [
        {
            "Id": "m1",
            "AccountId": SOURCE_ACCOUNT,
            "Label": f"Errors of {SOURCE_FUNCTION} ({SOURCE_ACCOUNT_NAME})",
            "MetricStat": {
                "Metric": {
                    "Dimensions": [{"value": SOURCE_FUNCTION, "name": "FunctionName"}],
                    "MetricName": "Errors",
                    "Namespace": "AWS/Lambda",
                },
                "Period": period,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
    ]
    message["AlarmName"] = SOURCE_ALARM_NAME
    message["AlarmArn"] = message["AlarmArn"].rsplit(":", 1)[0] + f":{SOURCE_ALARM_NAME}"
    message["AlarmDescription"] = (
        f"{SOURCE_FUNCTION} errors in the {SOURCE_ACCOUNT_NAME} account ({SOURCE_ACCOUNT}), "
        "watched from the monitoring account"
    )
    return message, f'{state}: "{SOURCE_ALARM_NAME}" in US East (N. Virginia)'


def forwarded_alarm_event(now_ms: int | None = None, *, state: str = "ALARM") -> dict[str, Any]:
    """The source account's own alarm on PaymentService, as its EventBridge rule forwards
    the state change to the monitoring account (``account`` is the source account)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    message, _ = lambda_errors_alarm(now_ms, state=state, function=SOURCE_FUNCTION)
    name = f"{SOURCE_FUNCTION}-Errors"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": SOURCE_ACCOUNT,
        "time": _iso(now_ms // 1000 * 1000).replace(".000Z", "Z"),
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:{SOURCE_ACCOUNT}:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": message["NewStateReason"],
                "timestamp": message["StateChangeTime"],
            },
            "previousState": {"value": message["OldStateValue"], "reason": ""},
            "configuration": {
                "description": f"{SOURCE_FUNCTION} returned errors",
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": "AWS/Lambda",
                                "name": "Errors",
                                "dimensions": {"FunctionName": SOURCE_FUNCTION},
                            },
                            "period": 300,
                            "stat": "Sum",
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }
