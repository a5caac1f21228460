"""The one check every CloudWatch Logs call of the bot passes before it is sent.

:func:`install` hooks a boto3 Logs client (botocore's ``provide-client-params``
event, which every call, paginators included, emits before anything is built or
sent) and refuses a call that would read outside :class:`logthread.config.Access`:

- a log group of the own account (a plain name) outside ``access.log_group_prefixes``;
- a group named by ARN whose account is not the own one and not in ``access.accounts``,
  or outside that account's prefixes, or in another region;
- a group of a source account that is not linked to this monitoring account (a
  DescribeLogGroups with ``includeLinkedAccounts`` returned none of its groups; one
  probe per account, remembered :data:`LINKED_TTL_S`), so nothing is *read* from it;
- DescribeLogGroups across accounts (``includeLinkedAccounts``) without
  ``accountIdentifiers``, or naming an account that is not allowed;
- StartQuery without named groups, or whose query picks its own (``SOURCE``);
- any other read (Get*, Filter*, Start*, Describe*, List*, Test*): not one the bot makes.

Whatever a command, a button value, a task or a notification names, the
refusal happens here, in the client, as :class:`ReadRefused` (a ``ClientError``
with code ``AccessDeniedException``, so every caller already treats it as IAM's
own refusal). IAM (template.yaml) scopes the same reads to the same accounts and
prefixes; this guard also covers the configuration's narrower lists.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from logthread.config import Access
from logthread.loggroups import LogGroupRef, is_arn

__all__ = ["LINKED_TTL_S", "ReadGuard", "ReadRefused", "install"]

LINKED_TTL_S = 300.0
_HOOK_ID = "logthread-read-guard"
_REGION_RE = re.compile(r"^arn:[^:]+:logs:(?P<region>[^:]+):")
# The command, on any line (after a comment) or after a pipe: the bot's queries never have it.
_SOURCE_RE = re.compile(r"(?:^|\|)\s*SOURCE\s+logGroups\b", re.IGNORECASE | re.MULTILINE)

# Operations that take one group, by logGroupName or logGroupIdentifier.
_ONE_GROUP = {"FilterLogEvents", "GetLogEvents", "DescribeLogStreams"}
# Operations that read nothing of a log group's events, or were checked when started.
_NO_GROUP = {"GetQueryResults", "StopQuery", "DescribeMetricFilters"}
_READ_VERBS = ("Get", "Filter", "Start", "Describe", "List", "Test")


class ReadRefused(ClientError):
    """A Logs call the access configuration does not allow; never sent."""

    def __init__(self, operation: str, reason: str) -> None:
        error: Any = {
            "Error": {"Code": "AccessDeniedException", "Message": f"logthread: {reason}"},
            "ResponseMetadata": {"RetryAttempts": 0},  # nothing was sent
        }
        super().__init__(error, operation)
        self.reason = reason


class ReadGuard:
    """The checks, apart from botocore (unit-testable with plain parameters).

    Parameters
    ----------
    access:
        What may be read.
    region:
        The client's region: ARNs of other regions are refused.
    own_account:
        Returns the bot's own account id; called only when an ARN is checked (a
        single-account deployment sends none and never needs it).
    probe_linked:
        ``probe_linked(account)`` says whether the account is linked (sees one of its
        groups through ``includeLinkedAccounts``), None when it could not tell (the
        answer is then not remembered); no probe: every allowed account counts as linked.
    """

    def __init__(
        self,
        access: Access,
        region: str,
        own_account: Callable[[], str],
        probe_linked: Callable[[str], bool | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access = access
        self.region = region
        self._own_account = own_account
        self._own: str | None = None
        self._probe_linked = probe_linked
        self._clock = clock
        self._linked: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def own_account(self) -> str:
        if self._own is None:
            self._own = self._own_account() or ""
        return self._own

    # -- what the hooks call --------------------------------------------------------------

    def check(self, operation: str, params: dict[str, Any]) -> None:
        """Raise :class:`ReadRefused` unless ``operation(**params)`` may be sent."""
        if operation in _NO_GROUP:
            return
        if operation == "DescribeLogGroups":
            self._check_listing(params)
            return
        if operation in _ONE_GROUP:
            names = [params[k] for k in ("logGroupName", "logGroupIdentifier") if k in params]
            if len(names) != 1:
                raise ReadRefused(operation, "name exactly one log group")
            self._check_groups(operation, names)
            return
        if operation == "StartQuery":
            query = str(params.get("queryString", ""))
            if _SOURCE_RE.search(query):
                raise ReadRefused(operation, "a query may not choose its own log groups (SOURCE)")
            if params.get("queryLanguage", "CWLI") != "CWLI":
                # SQL and PPL queries name their log groups inside the query string.
                raise ReadRefused(operation, "only Logs Insights' own query language")
            names = [params["logGroupName"]] if "logGroupName" in params else []
            names += list(params.get("logGroupNames") or ())
            names += list(params.get("logGroupIdentifiers") or ())
            if not names:
                raise ReadRefused(operation, "a query must name its log groups")
            self._check_groups(operation, names)
            return
        if operation.startswith(_READ_VERBS):
            raise ReadRefused(operation, f"{operation} is not a read logthread makes")
        # Anything else writes or configures: IAM grants the bot none of it, and the local
        # stack and tests seed their logs through the same client.

    def seen(self, response: dict[str, Any]) -> None:
        """Remember the source accounts a DescribeLogGroups answer showed groups of (linked)."""
        now = self._clock()
        for entry in response.get("logGroups") or ():
            try:
                ref = LogGroupRef.from_entry(entry)
            except ValueError:
                continue
            if ref.account:
                with self._lock:
                    self._linked[ref.account] = (True, now)

    # -- the rules ------------------------------------------------------------------------

    def ref(self, identifier: str) -> LogGroupRef:
        """The group an identifier names, its account ``""`` when it is the own one."""
        if not is_arn(identifier):
            return LogGroupRef.own(identifier)
        m = _REGION_RE.match(identifier)
        if m is None or m["region"] != self.region:
            raise ValueError(f"{identifier} is not in this region ({self.region})")
        return LogGroupRef.from_arn(identifier).local(self.own_account())

    def _check_groups(self, operation: str, identifiers: Iterable[Any]) -> None:
        for identifier in identifiers:
            try:
                ref = self.ref(str(identifier))
            except ValueError as exc:
                raise ReadRefused(operation, str(exc)) from None
            if not self.access.may_read_account(ref.account):
                raise ReadRefused(operation, f"account {ref.account} may not be read")
            if not self.access.may_read(ref):
                raise ReadRefused(operation, f"{ref} is outside the allowed log group prefixes")
            if ref.account and not self.is_linked(ref.account):
                raise ReadRefused(operation, f"account {ref.account} is not linked")

    def _check_listing(self, params: dict[str, Any]) -> None:
        accounts = [str(a) for a in params.get("accountIdentifiers") or ()]
        for identifier in params.get("logGroupIdentifiers") or ():
            try:  # names only, but an account that may not be read is not even named
                ref = self.ref(str(identifier))
            except ValueError as exc:
                raise ReadRefused("DescribeLogGroups", str(exc)) from None
            if ref.account:
                accounts.append(ref.account)
        if params.get("includeLinkedAccounts") and not accounts:
            raise ReadRefused("DescribeLogGroups", "name the accounts to list (accountIdentifiers)")
        own = self.own_account() if accounts else ""
        for account in accounts:
            if account != own and not self.access.may_read_account(account):
                raise ReadRefused("DescribeLogGroups", f"account {account} may not be read")

    def is_linked(self, account: str) -> bool:
        if self._probe_linked is None:
            return True
        now = self._clock()
        with self._lock:
            known = self._linked.get(account)
        if known is not None and now - known[1] < LINKED_TTL_S:
            return known[0]
        linked = self._probe_linked(account)
        if (
            linked is None
        ):  # the probe itself failed (throttled...): refuse now, ask again next time
            return False
        with self._lock:
            self._linked[account] = (linked, now)
        return linked


def probe_with(client: Any) -> Callable[[str], bool | None]:
    """Whether an account is linked: does ``includeLinkedAccounts`` show one of its groups?
    None when the listing failed (a refusal by AWS says "not linked")."""

    def probe(account: str) -> bool | None:
        try:
            page = client.describe_log_groups(
                includeLinkedAccounts=True, accountIdentifiers=[account], limit=50
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            return False if code in ("AccessDeniedException", "ResourceNotFoundException") else None
        return any(
            str(g.get("logGroupArn") or g.get("arn") or "").split(":")[4:5] == [account]
            for g in page.get("logGroups") or ()
        )

    return probe


def install(
    client: Any, access: Access, own_account: Callable[[], str], *, linked_check: bool = True
) -> ReadGuard | None:
    """Hook ``client`` (a boto3 CloudWatch Logs client) so every call passes a
    :class:`ReadGuard` first; returns it (None for a test double without events).

    Installing again replaces the previous guard (same hook ids).
    """
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        return None
    region = str(client.meta.region_name or "")
    probe = probe_with(client) if linked_check and access.accounts else None
    guard = ReadGuard(access, region, own_account, probe)
    service = client.meta.service_model.service_id.hyphenize()

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        guard.check(model.name, params)

    def after(parsed: dict[str, Any], **_: Any) -> None:
        if isinstance(parsed, dict):
            guard.seen(parsed)

    events.unregister(f"provide-client-params.{service}", unique_id=f"{_HOOK_ID}-check")
    events.unregister(f"after-call.{service}.DescribeLogGroups", unique_id=f"{_HOOK_ID}-seen")
    events.register_first(f"provide-client-params.{service}", before, unique_id=f"{_HOOK_ID}-check")
    events.register(f"after-call.{service}.DescribeLogGroups", after, unique_id=f"{_HOOK_ID}-seen")
    return guard
