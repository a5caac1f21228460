"""Who may ask, and which log groups they may read.

Two checks, both against :class:`logthread.config.Access`:

* the requester: Slack team, channel and user allowlists (an empty list lets
  anyone through);
* the targets: every log group a search would read must be in the own account or
  in one of ``access.accounts`` (``<account id>:<target>``), and start with one of
  that account's prefixes. Function names count as ``/aws/lambda/<name>``.

Slash commands and button clicks go through the same checks, so a button
value edited to name a forbidden group is refused like a typed command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from logthread.commands import quote
from logthread.config import Access
from logthread.ids import function_log_group
from logthread.loggroups import join_target, split_target
from logthread.mrkdwn import escape


@dataclass(frozen=True, slots=True)
class Requester:
    """Who sent the request, as Slack says (the signature vouches for it)."""

    team_id: str
    channel_id: str
    user_id: str
    user_name: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a check.

    ``reason`` is for the log only; ``message`` is the polite text shown to a
    refused user.
    """

    allowed: bool
    reason: str = ""
    message: str = ""


ALLOWED = Decision(True)


def authorize_requester(access: Access, requester: Requester) -> Decision:
    """Check the team, channel and user allowlists.

    Parameters
    ----------
    access:
        The configured allowlists.
    requester:
        Team, channel and user ids from the signed Slack request.

    Returns
    -------
    Decision
    """
    if access.teams and requester.team_id not in access.teams:
        return Decision(
            False,
            f"team {requester.team_id} not allowed",
            "Sorry, `/logsearch` isn't enabled for this workspace.",
        )
    if access.channels and requester.channel_id not in access.channels:
        return Decision(
            False,
            f"channel {requester.channel_id} not allowed",
            "Sorry, `/logsearch` isn't enabled in this channel. "
            "Try it in a channel your team uses for operations.",
        )
    if access.users and requester.user_id not in access.users:
        return Decision(
            False,
            f"user {requester.user_id} not allowed",
            "Sorry, you're not on the list of people who may search logs with `/logsearch`. "
            "Ask the app's administrators if you need access.",
        )
    return ALLOWED


def target_log_groups(
    access: Access, functions: Iterable[str], log_groups: Iterable[str]
) -> list[str]:
    """Every log group (or prefix) a search would read, ``<account>:`` before a source
    account's; no target = the allowed prefixes of every allowed account."""
    groups = []
    for target in functions:
        account, name = split_target(target)
        groups.append(join_target(account, function_log_group(name)))
    groups.extend(log_groups)
    if groups:
        return groups
    own = list(access.log_group_prefixes)
    return own + [f"{a.account}:{p}" for a in access.accounts for p in a.log_group_prefixes]


def authorize_targets(
    access: Access, functions: Iterable[str], log_groups: Iterable[str]
) -> Decision:
    """Refuse when any target is in an account that may not be read, or falls outside
    its account's allowed prefixes.

    A name that is not a function name at all is refused too (the ingress never
    sends one; a task published past it might), and so is an account named by
    anything but its id (names are resolved by the ingress).
    """
    try:
        groups = target_log_groups(access, functions, log_groups)
    except ValueError as exc:
        return Decision(
            False, f"invalid target: {exc}", f"Sorry, I can't search that: {escape(str(exc))}."
        )
    accounts = [split_target(g)[0] for g in groups]
    if refused_accounts := [a for a in dict.fromkeys(accounts) if not access.may_read_account(a)]:
        allowed_accounts = ", ".join(quote(a) for a in access.source_accounts) or "none"
        return Decision(
            False,
            f"accounts not allowed: {', '.join(refused_accounts)}",
            f"Sorry, you may not search the account {quote(refused_accounts[0])}. "
            f"Searches may read this account and: {allowed_accounts}.",
        )
    refused = [g for g in groups if not access.may_read_in(*split_target(g))]
    if not refused:
        return ALLOWED
    account = split_target(refused[0])[0]
    allowed = ", ".join(quote(p) for p in access.prefixes_for(account)) or "none"
    return Decision(
        False,
        f"log groups not allowed: {', '.join(refused)}",
        f"Sorry, you may not search {', '.join(quote(g) for g in refused[:3])}. "
        f"Searches may read log groups starting with: {allowed}"
        + (f" in {quote(account)}." if account else "."),
    )


def authorize(
    access: Access,
    requester: Requester,
    functions: Iterable[str] = (),
    log_groups: Iterable[str] = (),
) -> Decision:
    """Both checks: the requester first, then every target."""
    decision = authorize_requester(access, requester)
    if not decision.allowed:
        return decision
    return authorize_targets(access, functions, log_groups)
