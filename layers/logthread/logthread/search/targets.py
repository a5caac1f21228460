"""Which log groups a search reads: functions, group names and name prefixes."""

from __future__ import annotations

import time
from typing import Any

from logthread.ids import function_log_group, validate_log_group
from logthread.search.calls import ApiCalls

MAX_GROUPS = 250


def describe_prefix(logs: Any, prefix: str, calls: ApiCalls, deadline: float) -> list[str]:
    """Names of the log groups starting with ``prefix`` (DescribeLogGroups, paginated)."""
    names: list[str] = []
    params: dict[str, Any] = {"logGroupNamePrefix": prefix, "limit": 50}
    while time.monotonic() < deadline:
        page = calls.call("DescribeLogGroups", logs.describe_log_groups, **params)
        names.extend(g["logGroupName"] for g in page.get("logGroups", ()))
        token = page.get("nextToken")
        if not token or len(names) > MAX_GROUPS:
            break
        params["nextToken"] = token
    return names


def resolve_log_groups(
    logs: Any,
    functions: tuple[str, ...],
    log_groups: tuple[str, ...],
    *,
    calls: ApiCalls,
    deadline: float,
    verify_functions: bool = False,
) -> tuple[list[str], list[str]]:
    """The log groups to search, and the named ones that do not exist.

    Function groups are not looked up unless ``verify_functions`` (a missing
    one shows up as ResourceNotFoundException when searched); group names and
    prefixes are resolved with DescribeLogGroups.
    """
    found: list[str] = []
    missing: list[str] = []
    for name in functions:
        group = function_log_group(name)
        if verify_functions and group not in describe_prefix(logs, group, calls, deadline):
            missing.append(group)
        else:
            found.append(group)
    for raw in log_groups:
        text = validate_log_group(raw)
        prefix = text[:-1] if text.endswith("*") else text
        names = describe_prefix(logs, prefix, calls, deadline)
        if not text.endswith("*") and text in names:
            names = [text]
        if names:
            found.extend(names)
        else:
            missing.append(text)
    if not functions and not log_groups:
        found = describe_prefix(logs, "/aws/lambda/", calls, deadline)
    return list(dict.fromkeys(found)), missing


def verify_groups(
    logs: Any, groups: list[str], calls: ApiCalls, deadline: float
) -> tuple[list[str], list[str]]:
    """Split function groups (never looked up) into existing and missing ones."""
    existing, missing = [], []
    for group in groups:
        if group in describe_prefix(logs, group, calls, deadline):
            existing.append(group)
        else:
            missing.append(group)
    return existing, missing
