"""Small defensive readers for notification payloads: never raise, default to empty.

Shared by :mod:`logthread.alarms.parse`: payload values may be missing, null or of
the wrong type in old or truncated notifications.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime
from typing import Any

from logthread.slack.console_links import valid_region

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")

# CloudWatch's own subject line: 'ALARM: "HogeService-Errors" in US East (N. Virginia)'
SUBJECT = re.compile(
    r'^(?P<state>ALARM|OK|INSUFFICIENT_DATA):\s*"(?P<name>.+?)"\s*(?:in\s+(?P<region>.+))?$'
)
ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):cloudwatch:(?P<region>[\w-]+):(?P<account>\d*):alarm:(?P<name>.+)$"
)
# Composite rules name children as ALARM("name"), ALARM(name) or ALARM(arn:...:alarm:name).
_RULE_CHILD = re.compile(r'\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)')


# -- readers --------------------------------------------------------------------------


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def number(value: Any) -> float | None:
    """A finite number, or None (JSON also carries Infinity, NaN and 1e400)."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def integer(value: Any) -> int | None:
    out = number(value)
    return int(out) if out is not None else None


def state(value: Any) -> str:
    text = string(value).upper()
    return text if text in STATES else ""


def epoch_ms(value: Any) -> int | None:
    """ISO 8601 (CloudWatch writes ``+0000``, EventBridge ``Z``) or epoch s/ms → epoch ms."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = number(value)
        if seconds is None:
            return None
        return _sane(int(seconds if seconds > 10**11 else seconds * 1000))
    text = string(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _sane(int(moment.timestamp() * 1000))


# Times are rendered and widened into windows: keep them where datetime still works.
_LATEST_MS = 32_503_680_000_000  # 3000-01-01


def _sane(ms: int) -> int | None:
    return ms if 0 <= ms < _LATEST_MS else None


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def dimensions(value: Any) -> tuple[tuple[str, str], ...]:
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


def child_name(ref: str) -> str:
    match = ARN.match(ref.strip())
    return match["name"] if match else ref.strip()


def children(triggering: Any, rule: str) -> tuple[str, ...]:
    names: list[str] = []
    for child in triggering if isinstance(triggering, list) else ():
        ref = child.get("Arn") or child.get("AlarmName") if isinstance(child, dict) else child
        if isinstance(ref, str) and ref.strip():
            names.append(child_name(ref))
    names.extend(child_name(m) for m in _RULE_CHILD.findall(rule))
    return tuple(dict.fromkeys(n for n in names if n))


def subject_name(subject: str) -> str:
    match = SUBJECT.match(subject.strip())
    return match["name"] if match else ""


def subject_state(subject: str) -> str:
    match = SUBJECT.match(subject.strip())
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


def region_code(label: str) -> str:
    """A region code, or ``""``: the code itself, or a display name mapped back to one.

    Old payloads carry only the display name. Anything else (free text, a host name,
    ``|`` or ``>``) is no region: it never reaches a console URL.
    """
    if not label:
        return ""
    return valid_region(label) or valid_region(_region_names().get(label, ""))


def arn_region(parts: re.Match[str] | None) -> str:
    """The region of a parsed ARN, when it is a region code."""
    return valid_region(parts["region"]) if parts else ""


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` (decoded JSON) nests deeper than ``limit``; iterative, never recurses."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
