"""Finding the requests that made an alarm's metric move.

CloudWatch alarm payloads carry no request id, so the worker works it out:

1. **Where to look** (:func:`plan`): a ``FunctionName`` dimension gives the
   function's log group; a custom metric leads through ``DescribeMetricFilters``
   to the log group and filter pattern that produce it; a composite alarm is
   followed to its children; otherwise the configured ``log_groups`` mapping.
   **In which account**: the metric's own (``AccountId`` of a metric data query),
   else the alarm's (an EventBridge event forwarded from a source account); a
   source account's group is named ``<account>:<name>`` (:class:`LogGroupRef`)
   and read by ARN, only when ``access.accounts`` lists the account.
2. **When**: back from ``StateChangeTime`` over Period x EvaluationPeriods
   (widened to cover every datapoint the reason quotes), plus a margin.
3. **Which lines** (:func:`find_failures`): error lines for Lambda metrics
   (ERROR level, timeouts, failed REPORTs), the metric filter's own pattern for
   log-based metrics, each one checked here too, since server-side filtering
   is not trusted (local stand-ins ignore most of the pattern language).
4. **Which requests**: the request id of each line, whatever the log format
   (:mod:`logthread.logparse`); lines without one (Python's unhandled-exception
   lines) belong to the request whose START precedes them in the same stream.
   The most recent few are kept.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logthread.alarms import patterns
from logthread.alarms.parse import Alarm, MetricRef, parse
from logthread.config import Access, Config
from logthread.ids import function_log_group
from logthread.loggroups import LogGroupRef
from logthread.logparse import parse_event
from logthread.query import TimeWindow
from logthread.records import LogRecord
from logthread.signatures import Tally

# What makes AWS/Lambda's Errors move, as one server-side OR pattern. moto treats
# it as "match everything", real CloudWatch as an OR of terms; either way every
# line is checked again by :func:`is_failure_line`.
ERROR_PATTERN = '?ERROR ?"Task timed out" ?"Status: timeout" ?"Status: error"'
REPORT_PATTERN = '"REPORT RequestId"'
DEFAULT_PERIOD_SECONDS = 300
# The longest a Lambda invocation can run: a failing request may have started this
# long before its error line.
MAX_INVOCATION_MS = 15 * 60 * 1000
# Lines read per log group at most while discovering (the newest ones win anyway).
MAX_LINES_PER_GROUP = 2000
MAX_EVALUATION_MS = 7 * 86_400_000
_DATAPOINT = re.compile(r"\((\d{2})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})\)")


@dataclass(frozen=True, slots=True)
class Target:
    """One log group to search, and how to recognise the lines that count.

    ``match`` is ``errors`` (Lambda error lines), ``slow`` (REPORT lines at or
    over ``threshold_ms``) or ``filter`` (the metric filter's ``pattern``).
    ``source`` says in words why this group was chosen. ``log_group`` is a name of
    the bot's own account, or ``<account>:<name>`` for a source account's group.
    """

    log_group: str
    pattern: str
    match: str
    source: str
    threshold_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Where and when to look; ``notes`` say what was skipped and why."""

    targets: tuple[Target, ...]
    window: TimeWindow
    notes: tuple[str, ...] = ()

    @property
    def log_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.log_group for t in self.targets))


@dataclass(slots=True)
class Failure:
    """A request that made the metric move, with the lines that did it."""

    request_id: str
    log_group: str
    last_ms: int
    lines: list[LogRecord] = field(default_factory=list)

    @property
    def first_error(self) -> str:
        """The first line's message, first line only: what the grouping compares."""
        for record in self.lines:
            text = record.message.strip().splitlines()
            if text:
                return text[0][:300]
        return ""


@dataclass(slots=True)
class Discovery:
    """The outcome: the most recent failing requests, newest first."""

    plan: Plan
    failures: list[Failure] = field(default_factory=list)
    total: int = 0  # distinct failing requests seen, before keeping the newest few
    unattributed: int = 0  # matching lines no request could be found for
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    # Every failing request of the window per error signature, when it was counted
    # (:func:`logthread.alarms.count.count_failures`); None otherwise.
    tally: Tally | None = None
    # Signature key -> when this alarm last showed it in an earlier episode (absent: new);
    # None when there is no history to ask (:mod:`logthread.alarms.signature_history`).
    known: dict[str, int] | None = None


# -- planning -------------------------------------------------------------------------------


def evaluation_window(alarm: Alarm, margin_seconds: int, now_ms: int) -> TimeWindow:
    """Back from the state change over Period x EvaluationPeriods, plus ``margin_seconds``.

    The start goes back further when the reason quotes an older datapoint (datapoints
    are stamped with the start of their period, and evaluation runs late), but only
    within :func:`quote_reach_ms` of the change: a quote further away is not this
    evaluation's (see :func:`quoted_outside`).
    """
    end = alarm.state_change_ms or now_ms
    span_ms, period_ms = _evaluation_span_ms(alarm)
    start = end - span_ms
    if period_ms:
        start -= start % period_ms  # back to the period boundary the datapoint starts at
    quoted = [t for t in datapoint_times(alarm.reason) if _within_reach(t, end, alarm)]
    if quoted:
        start = min(start, min(quoted))
        end = max(end, max(quoted) + (period_ms or 60_000))
    margin = margin_seconds * 1000
    return TimeWindow(max(0, start - margin), end + margin)


def quote_reach_ms(alarm: Alarm) -> int:
    """How far before its change an alarm's quoted datapoint may lie: three evaluations or an
    hour, whichever is longer (CloudWatch reads past missing and late datapoints)."""
    span_ms, _ = _evaluation_span_ms(alarm)
    return max(3 * span_ms, 3_600_000)


def quoted_outside(alarm: Alarm, now_ms: int) -> list[int]:
    """The datapoints the reason quotes that lie outside the alarm's evaluation reach."""
    end = alarm.state_change_ms or now_ms
    return [t for t in datapoint_times(alarm.reason) if not _within_reach(t, end, alarm)]


def _within_reach(quoted_ms: int, end_ms: int, alarm: Alarm) -> bool:
    _, period_ms = _evaluation_span_ms(alarm)
    return end_ms - quote_reach_ms(alarm) <= quoted_ms <= end_ms + max(period_ms, 60_000)


def _evaluation_span_ms(alarm: Alarm) -> tuple[int, int]:
    # CloudWatch evaluates at most 7 days of data; anything longer is a broken payload.
    span_ms = min((alarm.evaluation_seconds or DEFAULT_PERIOD_SECONDS) * 1000, MAX_EVALUATION_MS)
    period_ms = (alarm.period or max((m.period or 0 for m in alarm.metrics), default=0)) * 1000
    return int(span_ms), int(min(period_ms, MAX_EVALUATION_MS))


def datapoint_times(reason: str) -> list[int]:
    """Epoch ms of the datapoints a reason quotes: ``[2.0 (14/05/24 03:15:00)]``."""
    out = []
    for dd, mm, yy, hh, mi, ss in _DATAPOINT.findall(reason or ""):
        try:
            moment = datetime(
                2000 + int(yy), int(mm), int(dd), int(hh), int(mi), int(ss), tzinfo=UTC
            )
        except ValueError:
            continue
        out.append(int(moment.timestamp() * 1000))
    return out


def plan(
    alarm: Alarm,
    config: Config,
    *,
    logs: Any,
    cloudwatch: Any = None,
    now_ms: int | None = None,
    own_account: str = "",
) -> Plan:
    """Decide which log groups to search, for which lines, over which window.

    Parameters
    ----------
    alarm:
        The parsed notification.
    config:
        Supplies the ``log_groups`` mapping, the access prefixes and the margin.
    logs:
        boto3 CloudWatch Logs client (``DescribeMetricFilters``).
    cloudwatch:
        boto3 CloudWatch client, used to read a composite alarm's children; None
        to rely on the mapping for them.
    now_ms:
        The clock, for alarms without a state change time.
    own_account:
        The bot's own account id; "" when unknown or not needed (a single-account
        deployment): an account not listed in ``access.accounts`` is then taken for
        the own one, as before.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    notes: list[str] = []
    metrics = list(alarm.watched)
    window_alarm = alarm
    if alarm.kind == "composite" and alarm.children:
        children = _child_alarms(alarm, cloudwatch, notes)
        for child in children:
            metrics.extend(child.watched)
        if children:
            # The window follows the longest child evaluation, from the composite's change.
            longest = max(children, key=lambda c: c.evaluation_seconds or 0)
            window_alarm = _with_time(longest, alarm)
    access = config.access
    targets: list[Target] = []
    refused = False
    for metric in metrics:
        owner = _owner(metric.account or alarm.account, own_account, access, notes)
        if owner is None:
            refused = True
            continue
        targets.extend(_targets_for(metric, alarm, logs, notes, owner))
    if not targets and not refused:
        owner = _owner(alarm.account, own_account, access, notes)
        if owner is not None:
            targets += _mapped_targets(alarm, config, owner, own_account, notes)
        refused = owner is None
    allowed: list[Target] = []
    for target in dict.fromkeys(targets):
        if access.may_read(LogGroupRef.parse(target.log_group)):
            allowed.append(target)
        else:
            notes.append(f"{target.log_group} not searched: outside the allowed log group prefixes")
    if not targets and not refused:
        notes.append("no log group known for this alarm (add one under log_groups in the config)")
    window = evaluation_window(window_alarm, config.limits.window_margin_seconds, now_ms)
    if outside := quoted_outside(window_alarm, now_ms):
        notes.append(
            f"{len(outside)} datapoint(s) the reason quotes lie outside the alarm's evaluation "
            "range and were not searched"
        )
    return Plan(tuple(allowed), window, tuple(notes))


def _owner(account: str, own: str, access: Access, notes: list[str]) -> str | None:
    """The account whose logs a metric's failures are in: ``""`` for the bot's own, an id
    for a source account it may read, None (and a note saying why) for any other."""
    if not account or account == own:
        return ""
    if access.may_read_account(account):  # listed in access.accounts (12-digit ids only)
        return account
    if not own and not access.accounts:
        # Single-account, the own id unknown: no telling them apart, read as before.
        return ""
    note = (
        f"logs of account {account} not read: it is not among the accounts logthread may "
        "read (access.accounts)"
    )
    if note not in notes:
        notes.append(note)
    return None


def read_as(logs: Any, group: str) -> str:
    """What a Logs call is sent for a plan's group: the name in the own account, the ARN
    (in the client's region) for ``<account>:<name>``."""
    from logthread.search.targets import region_of

    return LogGroupRef.parse(group).identifier(region_of(logs))


def _in_account(owner: str, name: str) -> str:
    """The group as the plan names it: ``name`` in the own account, else ``<account>:<name>``."""
    return str(LogGroupRef(owner, name))


def _mapped_targets(
    alarm: Alarm, config: Config, owner: str, own: str, notes: list[str]
) -> list[Target]:
    """The ``log_groups`` mapping's groups for the alarm (and a composite's children)."""
    out = []
    for name in [alarm.name, *alarm.children]:
        for group in config.mapped_log_groups(name):
            if mapped := _mapped(group, owner, own, config.access, notes):
                out.append(Target(mapped, ERROR_PATTERN, "errors", f"configured for {name}"))
    return out


def _mapped(group: str, owner: str, own: str, access: Access, notes: list[str]) -> str:
    """A ``log_groups`` entry (a name, ``<account>:<name>`` or an ARN) in its account."""
    try:
        ref = LogGroupRef.parse(group).local(own)
    except ValueError as exc:
        notes.append(str(exc))
        return ""
    if not ref.account:
        return _in_account(owner, ref.name)
    return str(ref) if _owner(ref.account, own, access, notes) is not None else ""


def _targets_for(
    metric: MetricRef, alarm: Alarm, logs: Any, notes: list[str], owner: str = ""
) -> list[Target]:
    function = metric.dimension("FunctionName")
    if not function and metric.namespace == "AWS/Lambda":
        function = metric.dimension("Resource").split(":", 1)[0]
    if function:
        try:
            group = _in_account(owner, function_log_group(function))
        except ValueError as exc:
            notes.append(str(exc))
            return []
        if metric.name == "Duration" and alarm.threshold is not None:
            return [
                Target(
                    group, REPORT_PATTERN, "slow", f"{metric.name} of {function}", alarm.threshold
                )
            ]
        return [Target(group, ERROR_PATTERN, "errors", f"{metric.name} of {function}")]
    if metric.namespace and not metric.namespace.startswith("AWS/"):
        if owner:
            # DescribeMetricFilters reads the caller's own account only: a source account's
            # log-based metric leads nowhere from here.
            notes.append(
                f"the metric filters of account {owner} cannot be read from this account: "
                "name its log groups under log_groups in the config"
            )
            return []
        return _metric_filter_targets(metric, logs, notes)
    return []


def _metric_filter_targets(metric: MetricRef, logs: Any, notes: list[str]) -> list[Target]:
    """Log-based metrics: the metric filters that publish ``metric``."""
    out: list[Target] = []
    try:
        pages = logs.get_paginator("describe_metric_filters").paginate(
            metricName=metric.name, metricNamespace=metric.namespace
        )
        for page in pages:
            for f in page.get("metricFilters", []):
                out.append(
                    Target(
                        f["logGroupName"],
                        str(f.get("filterPattern", "")),
                        "filter",
                        f"metric filter {f.get('filterName', '')}".strip(),
                    )
                )
    except Exception as exc:  # a lookup failure must not lose the alarm
        notes.append(f"DescribeMetricFilters failed for {metric.namespace}/{metric.name}: {exc}")
    return out


def _child_alarms(alarm: Alarm, cloudwatch: Any, notes: list[str]) -> list[Alarm]:
    """A composite's children as Alarms (metrics, periods), via DescribeAlarms."""
    if cloudwatch is None:
        return []
    try:
        found = cloudwatch.describe_alarms(
            AlarmNames=list(alarm.children[:100]), AlarmTypes=["MetricAlarm"]
        ).get("MetricAlarms", [])
    except Exception as exc:
        notes.append(f"DescribeAlarms failed for the composite's children: {exc}")
        return []
    return [parse(_as_notification(a)) for a in found]


def _as_notification(a: dict[str, Any]) -> str:
    """DescribeAlarms' shape → the notification shape the parser reads."""
    import json

    trigger: dict[str, Any] = {
        "Period": a.get("Period"),
        "EvaluationPeriods": a.get("EvaluationPeriods"),
        "Threshold": a.get("Threshold"),
        "ComparisonOperator": a.get("ComparisonOperator"),
    }
    if a.get("Metrics"):
        trigger["Metrics"] = a["Metrics"]
    else:
        trigger.update(
            Namespace=a.get("Namespace"),
            MetricName=a.get("MetricName"),
            Statistic=a.get("Statistic"),
            Dimensions=a.get("Dimensions", []),
        )
    return json.dumps(
        {
            "AlarmName": a.get("AlarmName"),
            "AlarmArn": a.get("AlarmArn"),
            "NewStateValue": a.get("StateValue"),
            "Trigger": trigger,
        },
        default=str,
    )


def _with_time(child: Alarm, composite: Alarm) -> Alarm:
    from dataclasses import replace

    return replace(child, state_change_ms=composite.state_change_ms, reason=composite.reason)


# -- finding the lines ----------------------------------------------------------------------


def is_failure_line(target: Target, record: LogRecord) -> bool:
    """Would this line have moved the metric ``target`` stands for?"""
    if target.match == "filter":
        verdict = patterns.matches(target.pattern, record.raw or record.message)
        return True if verdict is None else verdict
    if target.match == "slow":
        duration = record.extra.get("duration_ms") if record.kind == "report" else None
        return duration is not None and duration >= (target.threshold_ms or 0)
    if record.is_error or record.extra.get("timeout"):
        return True
    if record.kind == "report" and record.extra.get("status") in ("timeout", "error", "failure"):
        return True
    raw = record.raw or record.message
    return "Task timed out" in raw


def find_failures(
    logs: Any,
    the_plan: Plan,
    *,
    limit: int,
    deadline: float,
) -> Discovery:
    """Search the plan's window and keep the ``limit`` most recent failing requests.

    Parameters
    ----------
    logs:
        boto3 CloudWatch Logs client.
    the_plan:
        From :func:`plan`.
    limit:
        How many requests to keep (``limits.requests_per_alarm``).
    deadline:
        ``time.monotonic()`` value by which to stop; what was found so far is kept
        and the discovery is marked partial.
    """
    from logthread.search.calls import ApiCalls
    from logthread.search.deadline import guard
    from logthread.search.filter import filter_events

    # botocore's retries are held to the deadline too (a throttled call gives up then).
    guard(logs)
    calls = ApiCalls(deadline)
    out = Discovery(plan=the_plan)
    by_id: dict[str, Failure] = {}
    for target in the_plan.targets:
        if time.monotonic() >= deadline:
            out.partial = True
            out.notes.append(f"{target.log_group} not searched: out of time")
            continue
        try:
            events = filter_events(
                logs,
                read_as(logs, target.log_group),
                the_plan.window,
                target.pattern,
                deadline=deadline,
                limit=MAX_LINES_PER_GROUP,
                calls=calls,
            )
        except Exception as exc:  # one group failing must not lose the others
            out.partial = True
            out.notes.append(f"{target.log_group}: {_why(exc)}")
            continue
        if not events.complete and events.reason.startswith("deadline"):
            out.partial = True
            out.notes.append(f"{target.log_group}: stopped at the {events.reason}")
        # Named as the plan names the group (``<account>:<name>`` in a source account).
        records = [parse_event({**e, "logGroupName": target.log_group}, "") for e in events]
        hits = [r for r in records if not r.context and is_failure_line(target, r)]
        orphans = [r for r in hits if not r.request_id]
        owners = attribute_orphans(
            logs, target.log_group, orphans, the_plan.window, deadline, calls
        )
        for record in hits:
            rid = record.request_id or owners.get(record.event_id or id(record), "")
            if not rid:
                out.unattributed += 1
                continue
            failure = by_id.setdefault(rid, Failure(rid, target.log_group, record.timestamp))
            failure.lines.append(record)
            failure.last_ms = max(failure.last_ms, record.timestamp)
    ranked = sorted(by_id.values(), key=lambda f: f.last_ms, reverse=True)
    for failure in ranked:
        failure.lines.sort(key=lambda r: r.timestamp)
    out.total = len(ranked)
    out.failures = ranked[:limit]
    return out


def attribute_orphans(
    logs: Any,
    log_group: str,
    orphans: Iterable[LogRecord],
    window: TimeWindow,
    deadline: float,
    calls: Any = None,
) -> dict[Any, str]:
    """Lines without a request id → the request whose START precedes them in their stream.

    A Lambda execution environment runs one request at a time, and each has its
    own stream, so the last START before the line is the line's request.
    """
    from logthread.search.filter import filter_events

    by_stream: dict[str, list[LogRecord]] = {}
    for record in orphans:
        if record.log_stream:
            by_stream.setdefault(record.log_stream, []).append(record)
    owners: dict[Any, str] = {}
    for stream, lines in by_stream.items():
        earliest = min(r.timestamp for r in lines)
        latest = max(r.timestamp for r in lines)
        try:
            starts = filter_events(
                logs,
                read_as(logs, log_group),
                TimeWindow(max(0, earliest - MAX_INVOCATION_MS), latest),
                '"START RequestId"',
                deadline=deadline,
                stream_prefix=stream,
                calls=calls,
            )
        except Exception:  # attribution is best effort
            continue
        begun = sorted(
            (r.timestamp, r.request_id)
            for r in (parse_event(e, log_group) for e in starts)
            if r.kind == "start" and r.log_stream == stream
        )
        for line in lines:
            before = [rid for ts, rid in begun if ts <= line.timestamp]
            if before:
                owners[line.event_id or id(line)] = before[-1]
    return owners


def _why(exc: Exception) -> str:
    code = (
        getattr(exc, "response", {}).get("Error", {}).get("Code")
        if hasattr(exc, "response")
        else ""
    )
    return f"{code}: {exc}" if code else str(exc)


def group_errors(failures: Iterable[Failure]) -> list[tuple[str, list[Failure]]]:
    """Failures grouped by identical first error message, biggest group first."""
    groups: dict[str, list[Failure]] = {}
    for failure in failures:
        groups.setdefault(_normalise(failure.first_error), []).append(failure)
    return sorted(groups.items(), key=lambda kv: -len(kv[1]))


def _normalise(message: str) -> str:
    # The same error differs only by the ids inside it: compare without them.
    text = re.sub(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "<id>",
        message,
    )
    return text.strip()
