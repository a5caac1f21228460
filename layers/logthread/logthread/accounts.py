"""Account ids → the names people know them by.

A name comes from the configuration (``accounts: {id: name}``) first; for the
account the worker runs in, the account alias (IAM ``ListAccountAliases``) when
the role may read it. IAM answers only for the caller's own account, so other
accounts are named by the configuration or not at all. Each look-up is made
once per process, and a refusal (no permission, no network) only means "no
name": an account is never a reason for a message to fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["AccountNames"]


class AccountNames:
    """Names for account ids.

    Parameters
    ----------
    configured:
        ``accounts`` from the configuration.
    iam, sts:
        Called (no argument) for boto3 clients the first time the own account's
        alias is wanted; None: no alias.
    """

    def __init__(
        self,
        configured: Mapping[str, str],
        *,
        iam: Callable[[], Any] | None = None,
        sts: Callable[[], Any] | None = None,
    ) -> None:
        self.configured = dict(configured)
        self._iam = iam
        self._sts = sts
        self._own: tuple[str, str] | None = None  # (id, alias), read once

    def name(self, account_id: str) -> str:
        """The account's name, or ``""``."""
        if not account_id:
            return ""
        if name := self.configured.get(account_id):
            return name
        own_id, alias = self.own()
        return alias if account_id == own_id else ""

    def own(self) -> tuple[str, str]:
        """``(id, alias)`` of the account the worker runs in (``""`` for what is unknown)."""
        if self._own is None:
            own_id = alias = ""
            try:
                if self._sts is not None:
                    own_id = str(self._sts().get_caller_identity().get("Account") or "")
                if own_id and self._iam is not None:
                    aliases = self._iam().list_account_aliases().get("AccountAliases") or []
                    alias = str(aliases[0]) if aliases else ""
            except (BotoCoreError, ClientError):
                # Not allowed or not reachable: named by the configuration only. An id not
                # read is asked again next time (access checks compare with it).
                if not own_id:
                    return ("", "")
            self._own = (own_id, alias)
        return self._own

    def own_named(self) -> tuple[str, str]:
        """``(id, name)`` of the worker's own account, ``("", "")`` unless it has a name
        (searches show it then; an id alone tells the reader nothing they would act on)."""
        own_id, _ = self.own()
        name = self.name(own_id)
        return (own_id, name) if name else ("", "")
