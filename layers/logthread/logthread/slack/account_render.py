"""What a search result says about the accounts it read (cross-account observability).

A result of the own account alone reads as before (`` · account X`` when it has a
name); one that spans accounts counts them, and every group it names carries its
account (:func:`logthread.loggroups.group_label` for the searched groups).
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import SectionBlock

from logthread.loggroups import account_of, split_target
from logthread.query import SearchResult
from logthread.slack import blocks as limits
from logthread.slack.format import code

__all__ = ["accounts_note", "missing_block", "plain_label"]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def accounts_note(result: SearchResult, own: str) -> str:
    """`` · account X`` for the own account (as before), `` · N accounts`` across several."""
    sources = {account_of(g) for g in result.log_groups_searched} - {""}
    if not sources:
        return f" · account {own}" if own else ""
    owns = any(not account_of(g) for g in result.log_groups_searched)
    return f" · {_plural(len(sources) + owns, 'account')}"


def plain_label(label: str) -> str:
    """An account label (mrkdwn, from account_label) as plain text for the timeline."""
    return (
        label.replace("*", "")
        .replace("`", "")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
    )


def missing_block(result: SearchResult, names: Callable[[str], str] | None) -> SectionBlock | None:
    """The groups named that do not exist, when one is in a source account (it may be one
    not linked); a result of the own account alone says nothing more than before."""
    missing = result.missing_log_groups
    if not any(split_target(g)[0] for g in missing):
        return None
    shown = ", ".join(code(missing_label(g, names)) for g in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    hint = (
        " (another account's group is found only when that account is linked to this one "
        "and its link shares the group)"
    )
    return SectionBlock(text=f"*Not found:* {shown}{more}{hint}"[: limits.SECTION_TEXT])


def missing_label(group: str, names: Callable[[str], str] | None) -> str:
    account, name = split_target(group)
    if not account:
        return group
    label = names(account) if names is not None else ""
    return f"{label} {account} {name}" if label else f"{account} {name}"
