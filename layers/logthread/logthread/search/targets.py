"""Which log groups a search reads: functions, group names and name prefixes.

A target may name a source account (``"<account id>:<function-or-group>"``, see
:func:`logthread.loggroups.split_resolved`): its groups are listed with
DescribeLogGroups across linked accounts and searched by ARN. A source account's
group is always looked up first, so an account that is not linked (it lists
nothing) is never read. Groups are returned as identifiers: the plain name in the
own account (as before), the ARN in a source account.
"""

from __future__ import annotations

import time
from typing import Any

from logthread.ids import function_log_group, validate_log_group
from logthread.loggroups import LogGroupRef, is_arn, split_resolved
from logthread.search.calls import ApiCalls

MAX_GROUPS = 250
ACCOUNTS_PER_LISTING = 20  # DescribeLogGroups' accountIdentifiers takes at most 20


def region_of(logs: Any) -> str:
    return str(getattr(getattr(logs, "meta", None), "region_name", "") or "us-east-1")


def describe_prefix(logs: Any, prefix: str, calls: ApiCalls, deadline: float) -> list[str]:
    """Names of the own account's log groups starting with ``prefix`` (paginated)."""
    return _describe(logs, {"logGroupNamePrefix": prefix}, calls, deadline, "logGroupName")


def describe_linked(
    logs: Any, accounts: list[str], prefix: str, calls: ApiCalls, deadline: float
) -> list[str]:
    """ARNs of the groups starting with ``prefix`` in the linked source ``accounts``."""
    region = region_of(logs)
    wanted = set(accounts)
    arns: list[str] = []
    for i in range(0, len(accounts), ACCOUNTS_PER_LISTING):
        params = {
            "logGroupNamePrefix": prefix,
            "includeLinkedAccounts": True,
            "accountIdentifiers": accounts[i : i + ACCOUNTS_PER_LISTING],
        }
        for arn in _describe(logs, params, calls, deadline, "arn"):
            try:
                ref = LogGroupRef.from_arn(arn)
            except ValueError:
                continue
            # The answer lists the own account's groups too: only the accounts asked for count.
            if ref.account in wanted and ref.name.startswith(prefix):
                arns.append(ref.arn(region))
    return arns


def _describe(
    logs: Any, first: dict[str, Any], calls: ApiCalls, deadline: float, key: str
) -> list[str]:
    out: list[str] = []
    params: dict[str, Any] = {**first, "limit": 50}
    while time.monotonic() < deadline:
        page = calls.call("DescribeLogGroups", logs.describe_log_groups, **params)
        for g in page.get("logGroups", ()):
            if key == "arn":
                value = g.get("logGroupArn") or str(g.get("arn") or "").removesuffix(":*")
            else:
                value = g.get(key)
            if value:
                out.append(str(value))
        token = page.get("nextToken")
        if not token or len(out) > MAX_GROUPS:
            break
        params["nextToken"] = token
    return out


def resolve_log_groups(
    logs: Any,
    functions: tuple[str, ...],
    log_groups: tuple[str, ...],
    *,
    calls: ApiCalls,
    deadline: float,
    verify_functions: bool = False,
) -> tuple[list[str], list[str]]:
    """The log groups to search (identifiers), and the named ones that do not exist.

    Own-account function groups are not looked up unless ``verify_functions`` (a
    missing one shows up as ResourceNotFoundException when searched); group names
    and prefixes, and every target in a source account, are resolved with
    DescribeLogGroups. A missing source-account group is reported ``<account>:<name>``.
    """
    region = region_of(logs)
    found: list[str] = []
    missing: list[str] = []
    # A source account's listing per prefix, all its accounts at once (20 per call).
    wanted: dict[str, list[str]] = {}
    for target in functions:
        account, name = split_resolved(target)
        if account:
            wanted.setdefault(function_log_group(name), []).append(account)
    for raw in log_groups:
        account, text = split_resolved(raw)
        if account:
            wanted.setdefault(validate_log_group(text).removesuffix("*"), []).append(account)
    linked = {
        prefix: describe_linked(logs, list(dict.fromkeys(accounts)), prefix, calls, deadline)
        for prefix, accounts in wanted.items()
    }

    for target in functions:
        account, name = split_resolved(target)
        group = function_log_group(name)
        if account:
            arn = LogGroupRef(account, group).arn(region)
            (found if arn in linked[group] else missing).append(
                arn if arn in linked[group] else f"{account}:{group}"
            )
        elif verify_functions and group not in describe_prefix(logs, group, calls, deadline):
            missing.append(group)
        else:
            found.append(group)
    for raw in log_groups:
        account, text = split_resolved(raw)
        text = validate_log_group(text)
        prefix = text.removesuffix("*")
        if account:
            names = [a for a in linked[prefix] if LogGroupRef.from_arn(a).account == account]
            exact = LogGroupRef(account, text).arn(region) if not text.endswith("*") else ""
        else:
            names = describe_prefix(logs, prefix, calls, deadline)
            exact = text if not text.endswith("*") else ""
        if exact and exact in names:
            names = [exact]
        if names:
            found.extend(names)
        else:
            missing.append(raw)
    if not functions and not log_groups:
        found = describe_prefix(logs, "/aws/lambda/", calls, deadline)
    return list(dict.fromkeys(found)), missing


def verify_groups(
    logs: Any, groups: list[str], calls: ApiCalls, deadline: float
) -> tuple[list[str], list[str]]:
    """Split function groups (never looked up) into existing and missing ones.

    A source account's group (an ARN) was looked up when resolved: it exists.
    """
    existing, missing = [], []
    for group in groups:
        if is_arn(group) or group in describe_prefix(logs, group, calls, deadline):
            existing.append(group)
        else:
            missing.append(group)
    return existing, missing
