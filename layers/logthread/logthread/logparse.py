"""Every Lambda log line becomes one :class:`~logthread.records.LogRecord`.

Formats understood (anything else stays a ``raw`` record holding the line):

- platform text lines: ``START``, ``END``, ``REPORT`` (durations, billed
  duration, memory, max memory used, init duration, status, X-Ray trace id),
  ``INIT_START`` / ``INIT_REPORT`` / ``EXTENSION`` / ``Task timed out``;
- the Python runtime's text lines ``[LEVEL]\\t<time>\\t<requestId>\\t<message>``
  (and its unhandled-exception lines ``[ERROR] Type: msg\\nTraceback ...``);
- the Node.js runtime's text lines ``<time>\\t<requestId>\\t<LEVEL>\\t<message>``;
- the Lambda JSON log format: application records (``requestId``) and platform
  records (``{"type": "platform.report", "record": {"requestId": ...}}``);
- Powertools Logger JSON (``function_request_id``, ``xray_trace_id``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from logthread.records import LogRecord

_UUIDISH = r"[0-9A-Za-z][0-9A-Za-z-]{7,63}"
_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z"

_START_RE = re.compile(rf"^START RequestId: ({_UUIDISH})(?:\s+Version: (\S+))?")
_END_RE = re.compile(rf"^END RequestId: ({_UUIDISH})")
_REPORT_RE = re.compile(rf"^REPORT RequestId: ({_UUIDISH})")
_PY_TEXT_RE = re.compile(rf"^\[([A-Za-z]+)\]\t({_ISO})\t([^\t]*)\t(.*)$", re.S)
_PY_UNHANDLED_RE = re.compile(r"^\[([A-Z]+)\]\s+(.*)$", re.S)
_NODE_TEXT_RE = re.compile(rf"^({_ISO})\t([^\t]*)\t([A-Za-z]+)\t(.*)$", re.S)
_TIMEOUT_RE = re.compile(rf"^({_ISO})\s+({_UUIDISH})\s+(Task timed out after .*)$", re.S)
_PLATFORM_PREFIXES = ("INIT_START", "INIT_REPORT", "INIT_RUNTIME_DONE", "EXTENSION", "TELEMETRY")
_XRAY_RE = re.compile(r"XRAY TraceId: (\S+)")

_LEVELS = {
    "WARNING": "WARN",
    "WARN": "WARN",
    "ERROR": "ERROR",
    "ERR": "ERROR",
    "INFO": "INFO",
    "DEBUG": "DEBUG",
    "TRACE": "TRACE",
    "FATAL": "FATAL",
    "CRITICAL": "CRITICAL",
}

# REPORT fields: label in the line -> (extra key, number type).
_REPORT_FIELDS: dict[str, tuple[str, type]] = {
    "Duration": ("duration_ms", float),
    "Billed Duration": ("billed_duration_ms", int),
    "Memory Size": ("memory_size_mb", int),
    "Max Memory Used": ("max_memory_used_mb", int),
    "Init Duration": ("init_duration_ms", float),
    "Restore Duration": ("restore_duration_ms", float),
    "Billed Restore Duration": ("billed_restore_duration_ms", float),
}
# JSON platform.report metrics -> the same keys as the text REPORT line.
_JSON_METRICS = {
    "durationMs": "duration_ms",
    "billedDurationMs": "billed_duration_ms",
    "memorySizeMB": "memory_size_mb",
    "maxMemoryUsedMB": "max_memory_used_mb",
    "initDurationMs": "init_duration_ms",
    "restoreDurationMs": "restore_duration_ms",
}


def normalize_level(level: Any) -> str:
    """``WARNING`` -> ``WARN``; unknown levels are upper-cased as they are."""
    text = str(level or "").strip().upper()
    return _LEVELS.get(text, text)


def iso_to_ms(text: str) -> int:
    """Epoch ms of an ISO-8601 or Powertools timestamp; 0 when unreadable."""
    value = text.strip()
    if not value:
        return 0
    value = value.replace(",", ".")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # Powertools writes "+0000"; fromisoformat wants "+00:00".
    m = re.match(r"^(.*[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(\d{2})$", value)
    if m:
        value = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return 0
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _number(text: str, kind: type) -> float | int | None:
    try:
        return kind(float(text)) if kind is int else float(text)
    except ValueError:
        return None


def _report_extra(line: str) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for part in re.split(r"\t|\n", line):
        label, sep, value = part.partition(": ")
        if not sep:
            continue
        label = label.strip()
        if label in _REPORT_FIELDS:
            key, kind = _REPORT_FIELDS[label]
            number = _number(value.split()[0] if value.split() else "", kind)
            if number is not None:
                extra[key] = number
        elif label == "Status":
            extra["status"] = value.strip()
        elif label == "Error Type":
            extra["error_type"] = value.strip()
    trace = _XRAY_RE.search(line)
    if trace:
        extra["xray_trace_id"] = trace.group(1)
    return extra


def report_summary(extra: dict[str, Any]) -> str:
    """``Duration: 102.25 ms  Billed: 103 ms  ...`` from a REPORT record's extra."""

    def fmt(v: float | int) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    parts = []
    for key, label, unit in (
        ("duration_ms", "Duration", "ms"),
        ("billed_duration_ms", "Billed", "ms"),
        ("memory_size_mb", "Memory", "MB"),
        ("max_memory_used_mb", "Max used", "MB"),
        ("init_duration_ms", "Init", "ms"),
        ("restore_duration_ms", "Restore", "ms"),
    ):
        if key in extra:
            parts.append(f"{label}: {fmt(extra[key])} {unit}")
    if extra.get("status") and extra["status"] != "success":
        parts.append(f"Status: {extra['status']}")
    if extra.get("error_type"):
        parts.append(f"Error: {extra['error_type']}")
    return "  ".join(parts)


def _with_exception(message: str, details: Any) -> str:
    if isinstance(details, list):
        details = "\n".join(str(d).rstrip("\n") for d in details)
    if details:
        return f"{message}\n{str(details).rstrip()}" if message else str(details).rstrip()
    return message


# Where a line lives, plus the line as CloudWatch holds it: the LogRecord fields
# every parser copies (``timestamp``, ``log_group``, ``log_stream``, ``event_id``, ``raw``).
_Base = dict[str, Any]
_LineParser = Callable[[str, _Base], LogRecord | None]
_JsonParser = Callable[[dict[str, Any], _Base], LogRecord | None]


def _stamped(base: _Base, text_time: str) -> _Base:
    """``base`` with the time written in the line, when the event came without one."""
    if base["timestamp"]:
        return base
    return {**base, "timestamp": iso_to_ms(text_time)}


def _json_platform(data: dict[str, Any], base: _Base) -> LogRecord | None:
    """A JSON-format platform record: ``{"type": "platform.report", "record": {...}}``."""
    kind_field = data.get("type")
    if not (isinstance(kind_field, str) and kind_field.startswith("platform.")):
        return None
    raw_record = data.get("record")
    record: dict[str, Any] = raw_record if isinstance(raw_record, dict) else {}
    rid = str(record.get("requestId") or "")
    extra: dict[str, Any] = {"type": kind_field, "record": record}
    metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
    for src, dst in _JSON_METRICS.items():
        if isinstance(metrics, dict) and src in metrics:
            extra[dst] = metrics[src]
    if record.get("status"):
        extra["status"] = record["status"]
    if record.get("errorType"):
        extra["error_type"] = record["errorType"]
    tracing = record.get("tracing")
    if isinstance(tracing, dict) and isinstance(tracing.get("value"), str):
        root = tracing["value"].split(";", 1)[0]
        extra["xray_trace_id"] = root.removeprefix("Root=")
    sub = kind_field.removeprefix("platform.")
    if sub == "start":
        kind, message = "start", f"START Version: {record.get('version', '')}".rstrip()
    elif sub == "runtimeDone":
        kind, message = "end", f"END Status: {record.get('status', '')}".rstrip()
    elif sub == "report":
        kind, message = "report", f"REPORT {report_summary(extra)}".rstrip()
    else:
        kind, message = "platform", f"{kind_field} {json.dumps(record, sort_keys=True)}"
    return LogRecord(
        **base, message=message, level="PLATFORM", request_id=rid, kind=kind, extra=extra
    )


def _json_powertools(data: dict[str, Any], base: _Base) -> LogRecord | None:
    """A Powertools Logger record (``function_request_id``, ``xray_trace_id``)."""
    if not ("function_request_id" in data or ("xray_trace_id" in data and "service" in data)):
        return None
    rid = str(data.get("function_request_id") or "")
    message = data.get("message", "")
    text = message if isinstance(message, str) else json.dumps(message, sort_keys=True)
    text = _with_exception(text, data.get("exception"))
    skip = {"message", "level", "function_request_id"}
    extra = {k: v for k, v in data.items() if k not in skip}
    return LogRecord(
        **base,
        message=text,
        level=normalize_level(data.get("level")),
        request_id=rid,
        kind="powertools",
        extra=extra,
    )


def _json_application(data: dict[str, Any], base: _Base) -> LogRecord | None:
    """A Lambda JSON-format application record (``requestId``, ``level``, ``message``)."""
    if not ("requestId" in data or ("level" in data and "message" in data)):
        return None
    message = data.get("message", "")
    text = message if isinstance(message, str) else json.dumps(message, sort_keys=True)
    if data.get("errorType") and not text:
        text = f"{data['errorType']}: {data.get('errorMessage', '')}"
    text = _with_exception(text, data.get("stackTrace") or data.get("stack"))
    skip = {"message", "level", "requestId"}
    extra = {k: v for k, v in data.items() if k not in skip}
    return LogRecord(
        **base,
        message=text,
        level=normalize_level(data.get("level")),
        request_id=str(data.get("requestId") or ""),
        kind="json",
        extra=extra,
    )


# Tried in order: a ``platform.*`` type wins over any other key, Powertools' keys
# over those of the plain JSON format.
_JSON_PARSERS: tuple[_JsonParser, ...] = (_json_platform, _json_powertools, _json_application)


def _start_line(line: str, base: _Base) -> LogRecord | None:
    m = _START_RE.match(line)
    if not m:
        return None
    version = m.group(2) or ""
    return LogRecord(
        **base,
        message=f"START Version: {version}".rstrip(),
        level="PLATFORM",
        request_id=m.group(1),
        kind="start",
        extra={"version": version} if version else {},
    )


def _end_line(line: str, base: _Base) -> LogRecord | None:
    m = _END_RE.match(line)
    if not m:
        return None
    return LogRecord(**base, message="END", level="PLATFORM", request_id=m.group(1), kind="end")


def _report_line(line: str, base: _Base) -> LogRecord | None:
    m = _REPORT_RE.match(line)
    if not m:
        return None
    extra = _report_extra(line)
    return LogRecord(
        **base,
        message=f"REPORT {report_summary(extra)}".rstrip(),
        level="PLATFORM",
        request_id=m.group(1),
        kind="report",
        extra=extra,
    )


def _other_platform_line(line: str, base: _Base) -> LogRecord | None:
    if not line.startswith(_PLATFORM_PREFIXES):
        return None
    return LogRecord(**base, message=line, level="PLATFORM", kind="platform")


def _json_line(line: str, base: _Base) -> LogRecord | None:
    stripped = line.lstrip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):  # nested too deep to read: a raw line like any
        return None
    if not isinstance(data, dict):
        return None
    when = data.get("timestamp") or data.get("time")
    if isinstance(when, str):
        base = _stamped(base, when)
    for parser in _JSON_PARSERS:
        record = parser(data, base)
        if record is not None:
            return record
    # No text format starts with "{": an object of no known shape is a raw line,
    # but its own time still beats none.
    return LogRecord(**base, message=line, kind="raw")


def _python_text_line(line: str, base: _Base) -> LogRecord | None:
    m = _PY_TEXT_RE.match(line)
    if not m:
        return None
    return LogRecord(
        **_stamped(base, m.group(2)),
        message=m.group(4),
        level=normalize_level(m.group(1)),
        request_id=m.group(3).strip(),
        kind="text",
        extra={"time": m.group(2), "runtime": "python"},
    )


def _node_text_line(line: str, base: _Base) -> LogRecord | None:
    m = _NODE_TEXT_RE.match(line)
    if not m:
        return None
    rid = m.group(2).strip()
    return LogRecord(
        **_stamped(base, m.group(1)),
        message=m.group(4),
        level=normalize_level(m.group(3)),
        request_id="" if rid == "undefined" else rid,
        kind="text",
        extra={"time": m.group(1), "runtime": "node"},
    )


def _timeout_line(line: str, base: _Base) -> LogRecord | None:
    m = _TIMEOUT_RE.match(line)
    if not m:
        return None
    return LogRecord(
        **_stamped(base, m.group(1)),
        message=m.group(3),
        level="ERROR",
        request_id=m.group(2),
        kind="text",
        extra={"time": m.group(1), "timeout": True},
    )


def _python_unhandled_line(line: str, base: _Base) -> LogRecord | None:
    m = _PY_UNHANDLED_RE.match(line)
    if not (m and normalize_level(m.group(1)) in _LEVELS.values()):
        return None
    return LogRecord(
        **base,
        message=m.group(2),
        level=normalize_level(m.group(1)),
        kind="text",
        extra={"runtime": "python", "unhandled": True},
    )


# Tried in order, the first record wins. The loose unhandled-exception shape
# (``[ERROR] ...``) comes after the Python text shape it would also match.
_LINE_PARSERS: tuple[_LineParser, ...] = (
    _start_line,
    _end_line,
    _report_line,
    _other_platform_line,
    _json_line,
    _python_text_line,
    _node_text_line,
    _timeout_line,
    _python_unhandled_line,
)


def parse_line(
    raw: str,
    *,
    timestamp: int = 0,
    log_group: str = "",
    log_stream: str = "",
    event_id: str = "",
) -> LogRecord:
    """Parse one CloudWatch message into a :class:`LogRecord`.

    Parameters
    ----------
    raw:
        The event's ``message`` exactly as CloudWatch holds it.
    timestamp:
        The event's ``timestamp`` (epoch ms). When 0, the time written in the
        line itself is used if it has one.
    log_group, log_stream, event_id:
        Where the line lives; copied to the record.

    Returns
    -------
    LogRecord
        ``kind`` says which format matched; unknown lines are ``raw`` records
        whose message is the line itself.
    """
    line = raw.rstrip("\r\n")
    base: _Base = {
        "timestamp": timestamp,
        "log_group": log_group,
        "log_stream": log_stream,
        "event_id": event_id,
        "raw": raw,
    }
    for parser in _LINE_PARSERS:
        record = parser(line, base)
        if record is not None:
            return record
    return LogRecord(**base, message=line, kind="raw")


def parse_event(event: dict[str, Any], log_group: str) -> LogRecord:
    """Parse one FilterLogEvents / GetLogEvents event dict.

    Parameters
    ----------
    event:
        A CloudWatch event: ``message``, ``timestamp`` and, when known,
        ``logStreamName``, ``eventId`` and ``logGroupName`` (which wins over
        ``log_group``).
    log_group:
        The group the event was read from.
    """
    return parse_line(
        str(event.get("message", "")),
        timestamp=int(event.get("timestamp") or 0),
        log_group=str(event.get("logGroupName") or log_group),
        log_stream=str(event.get("logStreamName") or ""),
        event_id=str(event.get("eventId") or ""),
    )
