"""Notification → :class:`Alarm`: whatever reached the alarm topic, read defensively.

Handles CloudWatch metric alarms (single metric and metric math), composite
alarms, EventBridge "CloudWatch Alarm State Change" events delivered through
SNS, custom JSON from applications and plain text. Nothing here raises: a
notification that cannot be read fully becomes an :class:`Alarm` with what
could be read and the reasons in ``problems`` (the flow then attaches the raw
text to the Slack message).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")

# CloudWatch's own subject line: 'ALARM: "HogeService-Errors" in US East (N. Virginia)'
_SUBJECT = re.compile(
    r'^(?P<state>ALARM|OK|INSUFFICIENT_DATA):\s*"(?P<name>.+?)"\s*(?:in\s+(?P<region>.+))?$'
)
_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):cloudwatch:(?P<region>[\w-]+):(?P<account>\d*):alarm:(?P<name>.+)$"
)
# Composite rules name children as ALARM("name"), ALARM(name) or ALARM(arn:...:alarm:name).
_RULE_CHILD = re.compile(r'\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)')


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

    def dimension(self, name: str) -> str:
        """The value of dimension ``name``, or ``""``."""
        for key, value in self.dimensions:
            if key == name:
                return value
        return ""


@dataclass(frozen=True, slots=True)
class Alarm:
    """A notification, as much of it as could be read.

    ``source`` is ``cloudwatch`` | ``eventbridge`` | ``custom`` | ``text``;
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
        Never raises; ``problems`` says what could not be read.
    """
    body = body if isinstance(body, str) else str(body)
    subject = subject or ""
    text = body.strip()
    try:
        doc = json.loads(text) if text[:1] in "{[" and text else None
    except ValueError:
        return _broken_json(body, subject)
    if isinstance(doc, dict):
        if "AlarmName" in doc and (
            "NewStateValue" in doc or "Trigger" in doc or "AlarmRule" in doc
        ):
            return _cloudwatch(doc, body, subject)
        if doc.get("detail-type") == "CloudWatch Alarm State Change" or (
            doc.get("source") == "aws.cloudwatch" and isinstance(doc.get("detail"), dict)
        ):
            return _eventbridge(doc, body, subject)
    if doc is not None:
        return _custom(doc, body, subject)
    return _text(body, subject)


# -- CloudWatch's own JSON ------------------------------------------------------------------


def _cloudwatch(doc: dict[str, Any], raw: str, subject: str) -> Alarm:
    problems: list[str] = []
    arn = _s(doc.get("AlarmArn"))
    parts = _ARN.match(arn)
    name = _s(doc.get("AlarmName")) or (parts["name"] if parts else "") or _subject_name(subject)
    if not name:
        problems.append("AlarmName missing")
    state = _state(doc.get("NewStateValue"))
    if not state:
        state = _subject_state(subject)
        problems.append("NewStateValue missing or unknown")
    changed = _time(doc.get("StateChangeTime"))
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
                    namespace=_s(trigger.get("Namespace")),
                    name=_s(trigger.get("MetricName")),
                    dimensions=_dimensions(trigger.get("Dimensions")),
                    stat=_s(trigger.get("Statistic") or trigger.get("ExtendedStatistic")),
                    period=_int(trigger.get("Period")),
                ),
            )
    elif doc.get("AlarmRule"):
        kind = "composite"
    else:
        trigger = {}
        problems.append("Trigger missing")
    rule = _s(doc.get("AlarmRule"))
    region_label = _s(doc.get("Region"))
    return Alarm(
        source="cloudwatch",
        kind=kind,
        name=name,
        raw=raw,
        subject=subject,
        state=state,
        previous_state=_state(doc.get("OldStateValue")),
        description=_s(doc.get("AlarmDescription")),
        reason=_s(doc.get("NewStateReason")),
        state_change_ms=changed,
        arn=arn,
        account=_s(doc.get("AWSAccountId")) or (parts["account"] if parts else ""),
        region=parts["region"] if parts else _region_code(region_label),
        region_label=region_label,
        metrics=metrics,
        threshold=_float(trigger.get("Threshold")) if isinstance(trigger, dict) else None,
        comparison=_s(trigger.get("ComparisonOperator")) if isinstance(trigger, dict) else "",
        period=_int(trigger.get("Period")) if isinstance(trigger, dict) else None,
        evaluation_periods=_int(trigger.get("EvaluationPeriods"))
        if isinstance(trigger, dict)
        else None,
        datapoints_to_alarm=_int(trigger.get("DatapointsToAlarm"))
        if isinstance(trigger, dict)
        else None,
        alarm_rule=rule,
        children=_children(doc.get("TriggeringChildren"), rule),
        payload=doc,
        problems=tuple(problems),
    )


def _math_metric(m: dict[str, Any]) -> MetricRef:
    stat = _obj(m.get("MetricStat"))
    metric = _obj(stat.get("Metric"))
    return MetricRef(
        namespace=_s(metric.get("Namespace")),
        name=_s(metric.get("MetricName")),
        dimensions=_dimensions(metric.get("Dimensions")),
        stat=_s(stat.get("Stat")),
        period=_int(stat.get("Period") or m.get("Period")),
        id=_s(m.get("Id")),
        label=_s(m.get("Label")),
        expression=_s(m.get("Expression")),
    )


# -- EventBridge "CloudWatch Alarm State Change" -------------------------------------------


def _eventbridge(doc: dict[str, Any], raw: str, subject: str) -> Alarm:
    problems: list[str] = []
    detail = _obj(doc.get("detail"))
    conf = _obj(detail.get("configuration"))
    state = _obj(detail.get("state"))
    previous = _obj(detail.get("previousState"))
    arn = next((r for r in _list(doc.get("resources")) if isinstance(r, str) and _ARN.match(r)), "")
    parts = _ARN.match(arn)
    name = _s(detail.get("alarmName")) or (parts["name"] if parts else "")
    if not name:
        problems.append("detail.alarmName missing")
    value = _state(state.get("value"))
    if not value:
        problems.append("detail.state.value missing or unknown")
    changed = _time(state.get("timestamp")) or _time(doc.get("time"))
    if changed is None:
        problems.append("detail.state.timestamp missing or unreadable")
    metrics = tuple(
        MetricRef(
            namespace=_s(_dig(m, "metricStat", "metric", "namespace")),
            name=_s(_dig(m, "metricStat", "metric", "name")),
            dimensions=_dimensions(_dig(m, "metricStat", "metric", "dimensions")),
            stat=_s(_dig(m, "metricStat", "stat")),
            period=_int(_dig(m, "metricStat", "period") or m.get("period")),
            id=_s(m.get("id")),
            label=_s(m.get("label")),
            expression=_s(m.get("expression")),
        )
        for m in _list(conf.get("metrics"))
        if isinstance(m, dict)
    )
    rule = _s(conf.get("alarmRule"))
    kind = "composite" if rule else ("metric_math" if len(metrics) > 1 else "metric")
    return Alarm(
        source="eventbridge",
        kind=kind if metrics or rule else "",
        name=name,
        raw=raw,
        subject=subject,
        state=value,
        previous_state=_state(previous.get("value")),
        description=_s(conf.get("description")),
        reason=_s(state.get("reason")),
        state_change_ms=changed,
        arn=arn,
        account=_s(doc.get("account")) or (parts["account"] if parts else ""),
        region=parts["region"] if parts else _s(doc.get("region")),
        region_label=_s(doc.get("region")),
        metrics=metrics,
        threshold=_float(conf.get("threshold")),
        comparison=_s(conf.get("comparisonOperator")),
        period=_int(conf.get("period")),
        evaluation_periods=_int(conf.get("evaluationPeriods")),
        datapoints_to_alarm=_int(conf.get("datapointsToAlarm")),
        alarm_rule=rule,
        children=_children(None, rule),
        payload=doc,
        problems=tuple(problems),
    )


# -- Anything else --------------------------------------------------------------------------

_NAME_KEYS = ("AlarmName", "alarmName", "alarm_name", "title", "name", "alert", "event")
_TEXT_KEYS = ("AlarmDescription", "description", "message", "msg", "summary", "text")
_STATE_KEYS = ("NewStateValue", "state", "status")


def _custom(doc: Any, raw: str, subject: str) -> Alarm:
    """Application JSON: shown as-is; jmespath rules may still find request ids in it."""
    name = description = state = ""
    if isinstance(doc, dict):
        name = next((_s(doc.get(k)) for k in _NAME_KEYS if _s(doc.get(k))), "")
        description = next((_s(doc.get(k)) for k in _TEXT_KEYS if _s(doc.get(k))), "")
        state = next((_state(doc.get(k)) for k in _STATE_KEYS if _state(doc.get(k))), "")
    return Alarm(
        source="custom",
        name=name or _subject_name(subject) or subject.strip() or "Notification",
        raw=raw,
        subject=subject,
        state=state or _subject_state(subject),
        description=description,
        state_change_ms=_time(doc.get("time") or doc.get("timestamp"))
        if isinstance(doc, dict)
        else None,
        payload=doc,
    )


def _text(raw: str, subject: str) -> Alarm:
    first = next((line.strip() for line in raw.splitlines() if line.strip()), "")
    return Alarm(
        source="text",
        name=_subject_name(subject) or subject.strip() or first[:150] or "Notification",
        raw=raw,
        subject=subject,
        state=_subject_state(subject),
        payload=raw,
        problems=() if raw.strip() else ("empty message",),
    )


def _broken_json(raw: str, subject: str) -> Alarm:
    """JSON that does not parse (usually truncated): pick out what the text still shows."""

    def field_(key: str) -> str:
        match = re.search(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"', raw)
        if not match:
            return ""
        try:
            return str(json.loads(f'"{match[1]}"'))
        except ValueError:
            return match[1]

    arn = field_("AlarmArn")
    parts = _ARN.match(arn)
    name = field_("AlarmName") or (parts["name"] if parts else "") or _subject_name(subject)
    return Alarm(
        source="cloudwatch" if name else "text",
        name=name or subject.strip() or "Notification",
        raw=raw,
        subject=subject,
        state=_state(field_("NewStateValue")) or _subject_state(subject),
        previous_state=_state(field_("OldStateValue")),
        description=field_("AlarmDescription"),
        reason=field_("NewStateReason"),
        state_change_ms=_time(field_("StateChangeTime")),
        arn=arn,
        account=field_("AWSAccountId") or (parts["account"] if parts else ""),
        region=parts["region"] if parts else _region_code(field_("Region")),
        region_label=field_("Region"),
        problems=("the message is not valid JSON (truncated?)",),
    )


# -- Small readers --------------------------------------------------------------------------


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _state(value: Any) -> str:
    text = _s(value).upper()
    return text if text in STATES else ""


def _time(value: Any) -> int | None:
    """ISO 8601 (CloudWatch writes ``+0000``, EventBridge ``Z``) or epoch s/ms → epoch ms."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value if value > 10**11 else value * 1000)
    text = _s(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _dimensions(value: Any) -> tuple[tuple[str, str], ...]:
    """SNS payloads list ``{"name", "value"}`` (lower case); EventBridge uses a mapping."""
    if isinstance(value, dict):
        return tuple((str(k), str(v)) for k, v in value.items())
    out = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict):
            key = item.get("name", item.get("Name"))
            val = item.get("value", item.get("Value"))
            if key is not None and val is not None:
                out.append((str(key), str(val)))
    return tuple(out)


def _child_name(ref: str) -> str:
    match = _ARN.match(ref.strip())
    return match["name"] if match else ref.strip()


def _children(triggering: Any, rule: str) -> tuple[str, ...]:
    names: list[str] = []
    for child in triggering if isinstance(triggering, list) else ():
        ref = child.get("Arn") or child.get("AlarmName") if isinstance(child, dict) else child
        if isinstance(ref, str) and ref.strip():
            names.append(_child_name(ref))
    names.extend(_child_name(m) for m in _RULE_CHILD.findall(rule))
    return tuple(dict.fromkeys(n for n in names if n))


def _subject_name(subject: str) -> str:
    match = _SUBJECT.match(subject.strip())
    return match["name"] if match else ""


def _subject_state(subject: str) -> str:
    match = _SUBJECT.match(subject.strip())
    return match["state"] if match else ""


@functools.cache
def _region_names() -> dict[str, str]:
    """Display name → region code, from botocore's bundled endpoint data."""
    import botocore.session

    names: dict[str, str] = {}
    data = botocore.session.get_session().get_data("endpoints")
    for partition in data.get("partitions", []):
        for code, info in partition.get("regions", {}).items():
            label = str(info.get("description", ""))
            names[label] = code
            # CloudWatch still says "EU (Ireland)" where botocore says "Europe (Ireland)".
            if label.startswith("Europe ("):
                names["EU (" + label[len("Europe (") :]] = code
    return names


def _region_code(label: str) -> str:
    """Old payloads carry only the display name; map it back to a code when we can."""
    if not label:
        return ""
    if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", label):
        return label
    return _region_names().get(label, "")
