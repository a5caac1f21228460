"""A notification read with its account's name (:mod:`logthread.accounts`).

Every place that reads an alarm back for a message (the first post, the
resolved edit, a rescan, the follow-ups) reads it here, so the name shows the
same wherever the alarm does, and a route by account sees it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from logthread.accounts import AccountNames
from logthread.alarms.parse import Alarm, parse

__all__ = ["account_names", "own_account", "read_alarm"]


def account_names(deps: Any) -> AccountNames:
    """The deps' shared names (the own account's alias read once), or the configured ones."""
    names = getattr(deps, "accounts", None)
    return names if isinstance(names, AccountNames) else AccountNames(dict(deps.config.accounts))


def own_account(deps: Any) -> str:
    """The worker's own account id, asked only when source accounts are configured
    (``access.accounts``): a single-account deployment never needs it (``""``)."""
    if not deps.config.access.accounts:
        return ""
    return account_names(deps).own()[0]


def read_alarm(body: str, subject: str, deps: Any) -> Alarm:
    """:func:`~logthread.alarms.parse.parse`, with ``account_name`` filled in when known."""
    alarm = parse(body, subject)
    name = account_names(deps).name(alarm.account) if alarm.account else ""
    return replace(alarm, account_name=name) if name else alarm
