"""Notification → :class:`Alarm`: whatever reached the alarm topic, read defensively.

Handles CloudWatch metric alarms (single metric and metric math), composite
alarms, EventBridge "CloudWatch Alarm State Change" events delivered through
SNS, the ``alarmData`` event of an alarm whose action invokes the worker
directly (no SNS: the same detail as EventBridge's, named differently), custom JSON from applications and plain text. Nothing here raises: a
notification that cannot be read fully becomes an :class:`Alarm` with what
could be read and the reasons in ``problems`` (the flow then attaches the raw
text to the Slack message).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from logthread.alarms import fields as f
from logthread.alarms.fields import STATES

__all__ = ["CLOUDWATCH_SOURCES", "STATES", "Alarm", "MetricRef", "parse"]

# The sources CloudWatch itself wrote: their metrics, times and ARNs can be trusted to look
# things up (custom and text notifications are only shown).
CLOUDWATCH_SOURCES = ("cloudwatch", "eventbridge", "alarm_action")


@dataclass(frozen=True, slots=True)
class MetricRef:
    """One metric the alarm watches (or, for metric math, one expression term)."""

    namespace: str = ""
    name: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str = ""
    period: int | None = None
    id: str = ""
    label: str = ""
    expression: str = ""  # set for metric-math expressions, which have no namespace/name
    # The account the metric lives in, when the alarm names one (``AccountId`` of a metric
    # data query: an alarm in a monitoring account on a source account's metric); "" = the
    # alarm's own account.
    account: str = ""

    def dimension(self, name: str) -> str:
        """The value of dimension ``name``, or ``""``."""
        for key, value in self.dimensions:
            if key == name:
                return value
        return ""


@dataclass(frozen=True, slots=True)
class Alarm:
    """A notification, as much of it as could be read.

    ``source`` is ``cloudwatch`` | ``eventbridge`` | ``alarm_action`` (a Lambda
    alarm action's event) | ``custom`` | ``text``;
    ``kind`` is ``metric`` | ``metric_math`` | ``composite`` | ``""`` (unknown).
    ``state`` is one of :data:`STATES` or ``""`` when the notification has none
    (custom and text notifications). Times are epoch milliseconds.
    """

    source: str
    name: str
    raw: str
    subject: str = ""
    kind: str = ""
    state: str = ""
    previous_state: str = ""
    description: str = ""
    reason: str = ""
    state_change_ms: int | None = None
    arn: str = ""
    account: str = ""
    account_name: str = ""  # from the configuration or the alias (alarms.naming), not the payload
    region: str = ""  # region code, from the ARN when there is one
    region_label: str = ""  # what the payload called it ("US East (N. Virginia)")
    metrics: tuple[MetricRef, ...] = ()
    threshold: float | None = None
    comparison: str = ""
    period: int | None = None
    evaluation_periods: int | None = None
    datapoints_to_alarm: int | None = None
    alarm_rule: str = ""
    children: tuple[str, ...] = ()  # composite: child alarm names, triggering ones first
    payload: Any = None  # the decoded JSON document (jmespath rules run on it)
    problems: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        return not self.problems

    @property
    def episode_key(self) -> str:
        """What identifies this alarm across notifications (ARN when known)."""
        if self.arn:
            return self.arn
        return ":".join(p for p in (self.account, self.region, self.name) if p) or self.name

    @property
    def watched(self) -> tuple[MetricRef, ...]:
        """Metrics with a namespace and name (expressions left out)."""
        return tuple(m for m in self.metrics if m.name)

    @property
    def evaluation_seconds(self) -> int | None:
        """Period * EvaluationPeriods, when the period is known."""
        period = self.period or max((m.period or 0 for m in self.metrics), default=0)
        if not period:
            return None
        return period * (self.evaluation_periods or 1)


def parse(body: str, subject: str = "") -> Alarm:
    """Read one notification body (the SNS ``Message``) and its ``Subject``.

    Parameters
    ----------
    body:
        The message text exactly as delivered.
    subject:
        The SNS subject, ``""`` if none. CloudWatch's subject names the state
        and the alarm, which rescues truncated payloads.

    Returns
    -------
    Alarm
        Never raises, whatever the body: ``problems`` says what could not be read.
        JSON nested deeper than :data:`MAX_DEPTH` (or too deep for the decoder) is
        read as text, as truncated JSON is: what the text shows, plus the raw text.
    """
    body = body if isinstance(body, str) else str(body)
    subject = subject if isinstance(subject, str) else ""
    try:
        return _parse(body, subject)
    except Exception as exc:  # a payload must never cost the notification; say what happened
        problem = f"the message could not be read ({type(exc).__name__})"
        try:
            return _broken_json(body, subject, problem)
        except Exception:
            return Alarm(
                source="text", name=UNNAMED, raw=body, subject=subject, problems=(problem,)
            )


# CloudWatch and EventBridge payloads nest about six deep: far deeper is no notification,
# and walking it (jmespath rules, rendering, pretty-printing) would need the whole stack.
MAX_DEPTH = 64
TOO_DEEP = f"the message nests deeper than {MAX_DEPTH} levels: shown as text"


def _parse(body: str, subject: str) -> Alarm:
    text = body.strip()
    doc = None
    if text[:1] in "{[" and text:
        try:
            doc = json.loads(text)
        except RecursionError:
            return _broken_json(body, subject, TOO_DEEP)
        except ValueError:
            return _broken_json(body, subject)
        if f.too_deep(doc, MAX_DEPTH):
            return _broken_json(body, subject, TOO_DEEP)
    if isinstance(doc, dict):
        if "AlarmName" in doc and (
            "NewStateValue" in doc or "Trigger" in doc or "AlarmRule" in doc
        ):
            return _cloudwatch(doc, body, subject)
        if doc.get("detail-type") == "CloudWatch Alarm State Change" or (
            doc.get("source") == "aws.cloudwatch" and isinstance(doc.get("detail"), dict)
        ):
            return _eventbridge(doc, body, subject)
        if doc.get("source") == "aws.cloudwatch" and isinstance(doc.get("alarmData"), dict):
            return _eventbridge(doc, body, subject, action=True)
    if doc is not None:
        return _custom(doc, body, subject)
    return _text(body, subject)


# -- CloudWatch's own JSON ------------------------------------------------------------------


def _cloudwatch(doc: dict[str, Any], raw: str, subject: str) -> Alarm:
    problems: list[str] = []
    arn = f.string(doc.get("AlarmArn"))
    parts = f.ARN.match(arn)
    name = (
        f.string(doc.get("AlarmName"))
        or (parts["name"] if parts else "")
        or f.subject_name(subject)
    )
    if not name:
        problems.append("AlarmName missing")
    state = f.state(doc.get("NewStateValue"))
    if not state:
        state = f.subject_state(subject)
        problems.append("NewStateValue missing or unknown")
    changed = f.epoch_ms(doc.get("StateChangeTime"))
    if changed is None:
        problems.append("StateChangeTime missing or unreadable")
    trigger = doc.get("Trigger")
    metrics: tuple[MetricRef, ...] = ()
    kind = ""
    if isinstance(trigger, dict):
        if isinstance(trigger.get("Metrics"), list):
            kind = "metric_math"
            metrics = tuple(_math_metric(m) for m in trigger["Metrics"] if isinstance(m, dict))
        else:
            kind = "metric"
            metrics = (
                MetricRef(
                    namespace=f.string(trigger.get("Namespace")),
                    name=f.string(trigger.get("MetricName")),
                    dimensions=f.dimensions(trigger.get("Dimensions")),
                    stat=f.string(trigger.get("Statistic") or trigger.get("ExtendedStatistic")),
                    period=f.integer(trigger.get("Period")),
                ),
            )
    elif doc.get("AlarmRule"):
        kind = "composite"
    else:
        trigger = {}
        problems.append("Trigger missing")
    rule = f.string(doc.get("AlarmRule"))
    region_label = f.string(doc.get("Region"))
    return Alarm(
        source="cloudwatch",
        kind=kind,
        name=name or UNNAMED,
        raw=raw,
        subject=subject,
        state=state,
        previous_state=f.state(doc.get("OldStateValue")),
        description=f.string(doc.get("AlarmDescription")),
        reason=f.string(doc.get("NewStateReason")),
        state_change_ms=changed,
        arn=arn,
        account=f.string(doc.get("AWSAccountId")) or (parts["account"] if parts else ""),
        region=f.arn_region(parts) or f.region_code(region_label),
        region_label=region_label,
        metrics=metrics,
        threshold=f.number(trigger.get("Threshold")) if isinstance(trigger, dict) else None,
        comparison=f.string(trigger.get("ComparisonOperator")) if isinstance(trigger, dict) else "",
        period=f.integer(trigger.get("Period")) if isinstance(trigger, dict) else None,
        evaluation_periods=f.integer(trigger.get("EvaluationPeriods"))
        if isinstance(trigger, dict)
        else None,
        datapoints_to_alarm=f.integer(trigger.get("DatapointsToAlarm"))
        if isinstance(trigger, dict)
        else None,
        alarm_rule=rule,
        children=f.children(doc.get("TriggeringChildren"), rule),
        payload=doc,
        problems=tuple(problems),
    )


def _math_metric(m: dict[str, Any]) -> MetricRef:
    stat = f.obj(m.get("MetricStat"))
    metric = f.obj(stat.get("Metric"))
    return MetricRef(
        namespace=f.string(metric.get("Namespace")),
        name=f.string(metric.get("MetricName")),
        dimensions=f.dimensions(metric.get("Dimensions")),
        stat=f.string(stat.get("Stat")),
        period=f.integer(stat.get("Period") or m.get("Period")),
        id=f.string(m.get("Id")),
        label=f.string(m.get("Label")),
        expression=f.string(m.get("Expression")),
        account=_account_id(m.get("AccountId")),
    )


def _account_id(value: Any) -> str:
    """A 12-digit account id, else ``""`` (the value goes into ARNs: nothing else passes)."""
    text = f.string(value).strip()
    return text if len(text) == 12 and text.isascii() and text.isdigit() else ""


# -- EventBridge "CloudWatch Alarm State Change" -------------------------------------------


def _eventbridge(doc: dict[str, Any], raw: str, subject: str, *, action: bool = False) -> Alarm:
    """EventBridge's event, or (``action``) a Lambda alarm action's: the same detail.

    The action's event names its parts differently (``alarmData``, ``alarmArn``,
    ``accountId``) and its configuration has no threshold: the threshold is read
    from the state's ``reasonData`` (a JSON string) when the configuration has none.
    """
    problems: list[str] = []
    where = "alarmData" if action else "detail"
    detail = f.obj(doc.get(where))
    conf = f.obj(detail.get("configuration"))
    state = f.obj(detail.get("state"))
    previous = f.obj(detail.get("previousState"))
    candidates = [doc.get("alarmArn")] if action else f.items(doc.get("resources"))
    arn = next((r for r in candidates if isinstance(r, str) and f.ARN.match(r)), "")
    parts = f.ARN.match(arn)
    name = f.string(detail.get("alarmName")) or (parts["name"] if parts else "")
    if not name:
        problems.append(f"{where}.alarmName missing")
    value = f.state(state.get("value"))
    if not value:
        problems.append(f"{where}.state.value missing or unknown")
    changed = f.epoch_ms(state.get("timestamp")) or f.epoch_ms(doc.get("time"))
    if changed is None:
        problems.append(f"{where}.state.timestamp missing or unreadable")
    metrics = tuple(
        MetricRef(
            namespace=f.string(f.dig(m, "metricStat", "metric", "namespace")),
            name=f.string(f.dig(m, "metricStat", "metric", "name")),
            dimensions=f.dimensions(f.dig(m, "metricStat", "metric", "dimensions")),
            stat=f.string(f.dig(m, "metricStat", "stat")),
            period=f.integer(f.dig(m, "metricStat", "period") or m.get("period")),
            id=f.string(m.get("id")),
            label=f.string(m.get("label")),
            expression=f.string(m.get("expression")),
            account=_account_id(m.get("accountId")),
        )
        for m in f.items(conf.get("metrics"))
        if isinstance(m, dict)
    )
    rule = f.string(conf.get("alarmRule"))
    kind = "composite" if rule else ("metric_math" if len(metrics) > 1 else "metric")
    threshold = f.number(conf.get("threshold"))
    if threshold is None:
        threshold = f.number(_reason_data(state).get("threshold"))
    return Alarm(
        source="alarm_action" if action else "eventbridge",
        kind=kind if metrics or rule else "",
        name=name or UNNAMED,
        raw=raw,
        subject=subject,
        state=value,
        previous_state=f.state(previous.get("value")),
        description=f.string(conf.get("description")),
        reason=f.string(state.get("reason")),
        state_change_ms=changed,
        arn=arn,
        account=f.string(doc.get("accountId" if action else "account"))
        or (parts["account"] if parts else ""),
        # Only a region code: the free-text "region" of an event goes into no URL.
        region=f.arn_region(parts) or f.region_code(f.string(doc.get("region"))),
        region_label=f.string(doc.get("region")),
        metrics=metrics,
        threshold=threshold,
        comparison=f.string(conf.get("comparisonOperator")),
        period=f.integer(conf.get("period")),
        evaluation_periods=f.integer(conf.get("evaluationPeriods")),
        datapoints_to_alarm=f.integer(conf.get("datapointsToAlarm")),
        alarm_rule=rule,
        children=f.children(None, rule),
        payload=doc,
        problems=tuple(problems),
    )


def _reason_data(state: dict[str, Any]) -> dict[str, Any]:
    """The state's ``reasonData`` (JSON in a string), or ``{}``."""
    text = f.string(state.get("reasonData"))
    try:
        return f.obj(json.loads(text)) if text.startswith("{") else {}
    except (ValueError, RecursionError):
        return {}


# -- Anything else --------------------------------------------------------------------------

# Shown for an alarm whose payload lost its name; such an alarm never opens an episode.
UNNAMED = "Unnamed alarm"
_NAME_KEYS = ("AlarmName", "alarmName", "alarm_name", "title", "name", "alert", "event")
_TEXT_KEYS = ("AlarmDescription", "description", "message", "msg", "summary", "text")
_STATE_KEYS = ("NewStateValue", "state", "status")


def _custom(doc: Any, raw: str, subject: str) -> Alarm:
    """Application JSON: shown as-is; jmespath rules may still find request ids in it."""
    name = description = state = ""
    if isinstance(doc, dict):
        name = next((f.string(doc.get(k)) for k in _NAME_KEYS if f.string(doc.get(k))), "")
        description = next((f.string(doc.get(k)) for k in _TEXT_KEYS if f.string(doc.get(k))), "")
        state = next((f.state(doc.get(k)) for k in _STATE_KEYS if f.state(doc.get(k))), "")
    return Alarm(
        source="custom",
        name=name or f.subject_name(subject) or subject.strip() or "Notification",
        raw=raw,
        subject=subject,
        state=state or f.subject_state(subject),
        description=description,
        state_change_ms=f.epoch_ms(doc.get("time") or doc.get("timestamp"))
        if isinstance(doc, dict)
        else None,
        payload=doc,
    )


def _text(raw: str, subject: str) -> Alarm:
    first = next((line.strip() for line in raw.splitlines() if line.strip()), "")
    return Alarm(
        source="text",
        name=f.subject_name(subject) or subject.strip() or first[:150] or "Notification",
        raw=raw,
        subject=subject,
        state=f.subject_state(subject),
        payload=raw,
        problems=() if raw.strip() else ("empty message",),
    )


def _broken_json(
    raw: str, subject: str, problem: str = "the message is not valid JSON (truncated?)"
) -> Alarm:
    """JSON that does not parse (usually truncated, or nested too deep): what the text shows."""

    def field_(key: str) -> str:
        match = re.search(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"', raw)
        if not match:
            return ""
        try:
            return str(json.loads(f'"{match[1]}"'))
        except ValueError:
            return match[1]

    arn = field_("AlarmArn")
    parts = f.ARN.match(arn)
    name = field_("AlarmName") or (parts["name"] if parts else "") or f.subject_name(subject)
    return Alarm(
        source="cloudwatch" if name else "text",
        name=name or subject.strip() or "Notification",
        raw=raw,
        subject=subject,
        state=f.state(field_("NewStateValue")) or f.subject_state(subject),
        previous_state=f.state(field_("OldStateValue")),
        description=field_("AlarmDescription"),
        reason=field_("NewStateReason"),
        state_change_ms=f.epoch_ms(field_("StateChangeTime")),
        arn=arn,
        account=field_("AWSAccountId") or (parts["account"] if parts else ""),
        region=f.arn_region(parts) or f.region_code(field_("Region")),
        region_label=field_("Region"),
        problems=(problem,),
    )
