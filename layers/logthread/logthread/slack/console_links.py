"""Deep links to CloudWatch Logs Insights with the query, log groups and window filled in.

The console keeps its state in the URL fragment in an undocumented but stable
encoding: the query detail is an object written as ``~(key~value~...)`` where
strings are ``'`` + their percent-encoding with ``%`` turned into ``*``, arrays
are ``(~item~item)``; that text goes through JavaScript's ``escape()``, is
prefixed with ``?queryDetail=``, goes through ``encodeURIComponent()``, and
finally every ``%`` becomes ``$``.

Every console URL starts with the host of a region: only a validated region
code (:func:`valid_region`) ever gets there, never free text from a payload or
a log group name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from logthread import ids
from logthread.loggroups import account_of, join_target, split_target
from logthread.query import SearchResult, TimeWindow
from logthread.slack.blocks import BUTTON_URL
from logthread.window import DAY_MS, DEFAULT_LOOKBACK_DAYS

MAX_GROUPS = 50  # StartQuery's limit, and the console's
DEFAULT_REGION = "us-east-1"
# us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, us-iso-east-1, eu-isoe-west-1...
# ASCII only ([0-9], not \d: an Arabic-Indic digit is a \d), matched in full.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}")


def valid_region(text: object) -> str:
    """``text`` when it is an AWS region code, else ``""``: the only way into a console host."""
    if isinstance(text, str) and _REGION.fullmatch(text):
        return text
    return ""


def alarm_console_url(region: str, name: str) -> str | None:
    """The alarm's page in the CloudWatch console.

    None without a valid region code or a name, or when the URL would be too long for a button.
    """
    region = valid_region(region)
    if not region or not name:
        return None
    url = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name, safe='')}"
    )
    return url if len(url) <= BUTTON_URL else None


def insights_query(request_id: str) -> str:
    """The Logs Insights query for one request (``request_id`` is validated first)."""
    return (
        "fields @timestamp, @logStream, @message\n"
        f"| filter @message like {ids.insights_term(request_id)}\n"
        "| sort @timestamp asc\n"
        "| limit 10000"
    )


def region_of(log_groups: Sequence[str]) -> str:
    """The region of the first log group ARN, else ``$AWS_REGION``, else us-east-1.

    Only valid region codes count: an ARN or a variable holding anything else is passed over.
    """
    for group in log_groups:
        parts = group.split(":")
        if group.startswith("arn:") and len(parts) > 3 and valid_region(parts[3]):
            return parts[3]
    return (
        valid_region(os.environ.get("AWS_REGION"))
        or valid_region(os.environ.get("AWS_DEFAULT_REGION"))
        or DEFAULT_REGION
    )


def _group_name(group: str) -> str:
    # A source account's group is searched by its ARN, and the monitoring account's
    # console opens it by that ARN (without ":*"); any other ARN by its name, as before.
    if account_of(group):
        return group.removesuffix(":*")
    # arn:aws:logs:region:account:log-group:NAME[:*]
    if group.startswith("arn:"):
        parts = group.split(":")
        return parts[6] if len(parts) > 6 else ""
    return group


def _string(value: str) -> str:
    # quote() never escapes "~", which is the object syntax's separator here.
    return "'" + quote(value, safe="").replace("~", "%7E").replace("%", "*")


def _js_escape(text: str) -> str:
    return "".join(c if c.isalnum() or c in "@*_+-./" else f"%{ord(c):02X}" for c in text)


def _iso(ms: int) -> str:
    t = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def console_url(
    region: str, log_groups: Sequence[str], query: str, window: TimeWindow | None
) -> str:
    """The console URL opening Logs Insights on ``query`` over ``log_groups`` and ``window``.

    Raises
    ------
    ValueError
        When ``region`` is not a region code.
    """
    if not valid_region(region):
        raise ValueError(f"not a region code: {region[:40]!r}")
    if window is None:
        span = DEFAULT_LOOKBACK_DAYS * DAY_MS // 1000
        when = f"end~0~start~-{span}~timeType~'RELATIVE~unit~'seconds"
    else:
        when = f"end~{_string(_iso(window.end_ms))}~start~{_string(_iso(window.start_ms))}"
        when += "~timeType~'ABSOLUTE"
    source = "(" + "".join("~" + _string(g) for g in log_groups) + ")"
    detail = f"~({when}~tz~'UTC~editorString~{_string(query)}~isLiveTail~false~source~{source})"
    fragment = quote("?queryDetail=" + _js_escape(detail), safe="-_.!~*'()").replace("%", "$")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:logs-insights{fragment}"
    )


def insights_link(result: SearchResult, *, max_length: int = BUTTON_URL) -> str | None:
    """A Logs Insights link for ``result``'s request, or None when there is none to give.

    Log groups are the ones searched (else the query's groups and functions), at most
    50; groups are dropped from the end until the URL fits ``max_length`` (Slack
    caps a button URL at 3,000 characters).
    """
    q = result.query
    try:
        query = insights_query(q.request_id)
        functions = [
            join_target(a, ids.function_log_group(f)) for a, f in map(split_target, q.functions)
        ]
    except ValueError:
        return None
    groups = list(result.log_groups_searched) or [*q.log_groups, *functions]
    names = [n for n in (_group_name(g) for g in groups) if n and not n.endswith("*")]
    names = list(dict.fromkeys(names))[:MAX_GROUPS]
    region = region_of(groups)
    window = result.window or q.window
    while names:
        url = console_url(region, names, query, window)
        if len(url) <= max_length:
            return url
        names.pop()
    return None
