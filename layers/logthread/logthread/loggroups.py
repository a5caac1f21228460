"""A log group in an account: what the bot reads, named the way CloudWatch Logs wants it.

With CloudWatch cross-account observability the bot runs in the *monitoring*
account and reads the log groups of linked *source* accounts. CloudWatch Logs
names those only by ARN: ``logGroupIdentifier`` (FilterLogEvents, GetLogEvents)
and ``logGroupIdentifiers`` (StartQuery) take either a plain name, meaning a group
of the caller's own account, or ``arn:<partition>:logs:<region>:<account>:log-group:<name>``
(without the ``:*`` that DescribeLogGroups' ``arn`` field ends with).

:class:`LogGroupRef` is that pair. ``account == ""`` is the bot's own account:
the single-account deployment never needs to know its own id, and a plain name
is sent exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LogGroupRef", "is_arn", "partition_of"]

ACCOUNT_RE = re.compile(r"^\d{12}$")
# arn:<partition>:logs:<region>:<account>:log-group:<name>[:*]
_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":log-group:(?P<name>[^:*]+)(?::\*)?$"
)


def partition_of(region: str) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def is_arn(text: str) -> bool:
    return text.startswith("arn:")


def account_of(identifier: str) -> str:
    """The account of a log group ARN; ``""`` for a plain name or anything unreadable."""
    m = _ARN_RE.match(identifier)
    return m["account"] if m else ""


def is_account_id(text: str) -> bool:
    return bool(ACCOUNT_RE.match(text))


@dataclass(frozen=True, slots=True, order=True)
class LogGroupRef:
    """One log group: its ``account`` (``""`` = the bot's own) and its ``name``."""

    account: str
    name: str

    def __post_init__(self) -> None:
        if self.account and not is_account_id(self.account):
            raise ValueError(f"not a 12-digit account id: {self.account!r}")
        if not self.name or ":" in self.name or "*" in self.name:
            raise ValueError(f"not a log group name: {self.name!r}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.name)

    @classmethod
    def own(cls, name: str) -> LogGroupRef:
        """A group of the bot's own account."""
        return cls("", name)

    def arn(self, region: str, account: str = "") -> str:
        """The group's ARN, without the trailing ``:*``.

        ``account`` fills in the bot's own id for a group of the own account.
        """
        owner = self.account or account
        if not owner:
            raise ValueError(f"the account of {self.name!r} is not known")
        return f"arn:{partition_of(region)}:logs:{region}:{owner}:log-group:{self.name}"

    def identifier(self, region: str, own_account: str = "") -> str:
        """What to send as ``logGroupIdentifier(s)``: the plain name for the own
        account (as before), the ARN for a source account."""
        if not self.account or self.account == own_account:
            return self.name
        return self.arn(region)

    def local(self, own_account: str) -> LogGroupRef:
        """The same group with the own account written ``""`` (``own_account`` "": unchanged)."""
        if own_account and self.account == own_account:
            return LogGroupRef("", self.name)
        return self

    @classmethod
    def from_arn(cls, arn: str) -> LogGroupRef:
        """Parse a log group ARN (with or without ``:*``); ValueError if it is not one."""
        m = _ARN_RE.match(arn)
        if not m:
            raise ValueError(f"not a log group ARN: {arn!r}")
        return cls(m["account"], m["name"])

    @classmethod
    def from_identifier(cls, identifier: str) -> LogGroupRef:
        """A ``logGroupIdentifier`` as sent: an ARN, else a plain name of the own account."""
        return cls.from_arn(identifier) if is_arn(identifier) else cls.own(identifier)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> LogGroupRef:
        """A DescribeLogGroups entry or a Logs event (FilterLogEvents' ``events``, a
        subscription or Insights result): by ``logGroupArn``/``arn`` when it carries
        one (a source account's group does), else by ``logGroupName`` in the own account."""
        for key in ("logGroupArn", "arn"):
            if value := entry.get(key):
                return cls.from_arn(str(value))
        name = entry.get("logGroupName") or entry.get("logGroup") or ""
        return cls.own(str(name))

    @classmethod
    def parse(cls, text: str) -> LogGroupRef:
        """``<account id>:<name>`` (as Logs Insights' ``@log`` field and :meth:`__str__`
        write it), an ARN, or a plain name of the own account."""
        if is_arn(text):
            return cls.from_arn(text)
        account, sep, name = text.partition(":")
        if sep and is_account_id(account):
            return cls(account, name)
        return cls.own(text)

    def __str__(self) -> str:
        return f"{self.account}:{self.name}" if self.account else self.name


# -- what a call sends --------------------------------------------------------------------------
# Inside the search engine a group is its identifier (a plain name, or the ARN of a source
# account's group): the identifier is what the calls take, and what results are keyed by.


def group_params(identifier: str) -> dict[str, str]:
    """FilterLogEvents/GetLogEvents' group: ``logGroupName`` for a plain name (as before),
    ``logGroupIdentifier`` for an ARN."""
    return (
        {"logGroupIdentifier": identifier} if is_arn(identifier) else {"logGroupName": identifier}
    )


def query_params(identifiers: list[str]) -> dict[str, list[str]]:
    """StartQuery's groups: ``logGroupNames`` when all are plain names (as before), else
    ``logGroupIdentifiers`` (names and ARNs may mix there; at most 50)."""
    if any(is_arn(i) for i in identifiers):
        return {"logGroupIdentifiers": list(identifiers)}
    return {"logGroupNames": list(identifiers)}


def split_target(target: str) -> tuple[str, str]:
    """``"<account>:<function-or-group>"`` → ``(account, rest)``; no account → ``("", target)``.

    ``account`` is whatever precedes the first ``:`` (an id, or a name to resolve).
    """
    head, sep, tail = target.partition(":")
    if sep and not target.startswith("/"):
        return head, tail
    return "", target


def split_resolved(target: str) -> tuple[str, str]:
    """:func:`split_target` for a target whose account is already an id (the search's):
    what precedes a ``:`` is an account only when it is a 12-digit id, so a function's
    ``name:alias`` or its ARN stays the function (:func:`logthread.ids.function_log_group`).
    """
    account, rest = split_target(target)
    return (account, rest) if is_account_id(account) else ("", target)


def join_target(account: str, target: str) -> str:
    return f"{account}:{target}" if account else target


def group_label(identifier: str, name_of: Callable[[str], str] | None = None) -> str:
    """Plain text for a searched group: its name in the own account (as before); in a
    source account ``prod 210987654321 /aws/lambda/api`` (the name when known)."""
    if not is_arn(identifier):
        return identifier
    try:
        ref = LogGroupRef.from_arn(identifier)
    except ValueError:
        return identifier
    name = name_of(ref.account) if name_of is not None else ""
    return f"{name} {ref.account} {ref.name}" if name else f"{ref.account} {ref.name}"
