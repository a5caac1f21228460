"""Configuration: one documented file plus a few environment variables.

The file (YAML or JSON) is named by ``LOGTHREAD_CONFIG`` (a path) or given
inline in ``LOGTHREAD_CONFIG_JSON``. It is validated at load and every error
names the bad key, e.g. ``routes[1].channel: must be a non-empty string``.
See README.md "Configuration reference" for every key and its default.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from logthread.loggroups import LogGroupRef


class ConfigError(ValueError):
    """The configuration is invalid; the message names the bad key."""


@dataclass(frozen=True, slots=True)
class Route:
    alarm: str  # fnmatch pattern on the alarm name ("" = any alarm)
    channel: str
    account: str = ""  # fnmatch pattern on the account id or its name ("" = any account)

    def matches(self, alarm_name: str, account: str = "", account_name: str = "") -> bool:
        if self.alarm and not fnmatch.fnmatchcase(alarm_name, self.alarm):
            return False
        return not self.account or any(
            value and fnmatch.fnmatchcase(value, self.account) for value in (account, account_name)
        )


@dataclass(frozen=True, slots=True)
class IdRule:
    alarm: str
    expression: str  # jmespath, with Powertools' functions (powertools_json ...)


@dataclass(frozen=True, slots=True)
class GroupMapping:
    alarm: str
    log_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """A source account the bot may read (cross-account observability), and where."""

    account: str  # 12-digit id
    log_group_prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Access:
    teams: tuple[str, ...] = ()  # empty = any
    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    log_group_prefixes: tuple[str, ...] = ("/aws/lambda/",)
    # Source accounts that may be read; empty = the bot's own account only (as before).
    accounts: tuple[AccountAccess, ...] = ()

    def prefixes_for(self, account: str) -> tuple[str, ...]:
        """The prefixes allowed in ``account`` (``""`` = the own account); () = none."""
        if not account:
            return self.log_group_prefixes
        for allowed in self.accounts:
            if allowed.account == account:
                return allowed.log_group_prefixes
        return ()

    def may_read(self, log_group: str | LogGroupRef) -> bool:
        """Whether a group may be read: a plain name is one of the own account.

        A :class:`LogGroupRef` of the own account must carry ``""`` as its account
        (:meth:`LogGroupRef.local`); any other id must be listed in ``accounts``.
        """
        if isinstance(log_group, str):  # may be a name prefix ("/shop-*"): no LogGroupRef
            return self.may_read_in("", log_group)
        return self.may_read_in(*log_group.key)

    def may_read_in(self, account: str, name: str) -> bool:
        """Whether ``name`` (a group or a name prefix) may be read in ``account`` ("" = own)."""
        return any(name.startswith(p) for p in self.prefixes_for(account))

    def may_read_account(self, account: str) -> bool:
        return not account or any(a.account == account for a in self.accounts)

    @property
    def source_accounts(self) -> tuple[str, ...]:
        return tuple(a.account for a in self.accounts)


@dataclass(frozen=True, slots=True)
class Limits:
    requests_per_alarm: int = 3
    max_lines: int = 500
    context_lines: int = 0
    search_deadline_seconds: float = 20.0
    lookback_days: int = 3
    episode_ttl_days: int = 7
    window_margin_seconds: int = 60
    slack_posts_per_second_per_channel: float = 1.0
    follow_up_minutes: float = 5.0
    follow_up_for_minutes: float = 120.0
    examples_per_alarm: int = 3
    error_kinds_listed: int = 10
    signature_ttl_days: int = 30


@dataclass(frozen=True, slots=True)
class RedactionPattern:
    name: str
    regex: str


@dataclass(frozen=True, slots=True)
class Config:
    default_channel: str = ""
    routes: tuple[Route, ...] = ()
    request_id_rules: tuple[IdRule, ...] = ()
    log_groups: tuple[GroupMapping, ...] = ()
    access: Access = field(default_factory=Access)
    limits: Limits = field(default_factory=Limits)
    redaction: tuple[RedactionPattern, ...] = ()
    # Account id → name, as pairs: a Config is hashed (cached redactors), a dict is not.
    accounts: tuple[tuple[str, str], ...] = ()

    def channel_for(self, alarm_name: str, account: str = "", account_name: str = "") -> str:
        """First route whose patterns (alarm, account id or name) match, else the default channel."""
        for route in self.routes:
            if route.matches(alarm_name, account, account_name):
                return route.channel
        return self.default_channel

    def id_rules_for(self, alarm_name: str) -> list[IdRule]:
        return [r for r in self.request_id_rules if fnmatch.fnmatchcase(alarm_name, r.alarm)]

    def mapped_log_groups(self, alarm_name: str) -> tuple[str, ...]:
        for m in self.log_groups:
            if fnmatch.fnmatchcase(alarm_name, m.alarm):
                return m.log_groups
        return ()


_TOP_KEYS = {
    "default_channel",
    "routes",
    "request_id_rules",
    "log_groups",
    "access",
    "limits",
    "redaction",
    "accounts",
}


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: must be a non-empty string")
    return value


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{key}: must be a list of strings")
    return tuple(_str(v, f"{key}[{i}]") for i, v in enumerate(value))


def _mapping(value: Any, key: str, allowed: set[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: must be a mapping")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(
            f"{key}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
        )
    return value


def _items(value: Any, key: str, allowed: set[str]) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{key}: must be a list")
    return [_mapping(v, f"{key}[{i}]", allowed) for i, v in enumerate(value)]


def _number(value: Any, key: str, default: float, *, minimum: float = 0) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(f"{key}: must be a number >= {minimum}")
    return value


# The lowest value each limit accepts; its type is that of its default in Limits.
_LIMIT_MINIMUMS: dict[str, float] = {
    "requests_per_alarm": 1,
    "max_lines": 1,
    "context_lines": 0,
    "search_deadline_seconds": 1,
    "lookback_days": 1,
    "episode_ttl_days": 1,
    "window_margin_seconds": 0,
    "slack_posts_per_second_per_channel": 0.01,
    "follow_up_minutes": 0.05,  # 3 s: the local stack runs a follow-up in compressed time
    "follow_up_for_minutes": 0,  # 0: no follow-ups
    "examples_per_alarm": 0,
    "error_kinds_listed": 1,
    "signature_ttl_days": 1,
}


# The highest value some limits accept.
_LIMIT_MAXIMUMS: dict[str, float] = {
    "follow_up_minutes": 15,  # SQS delays a message at most 15 minutes (logthread.delay)
}


def from_mapping(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed config document.

    Parameters
    ----------
    data:
        The document, as :func:`parse_document` (or ``json.loads``) returns it.
    env:
        Fills what the document leaves out: ``DEFAULT_CHANNEL``,
        ``ALLOWED_LOG_GROUP_PREFIX`` and ``ALLOWED_SOURCE_ACCOUNTS``. Defaults to ``os.environ``.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        At the first bad key, named in the message. Sections are checked in
        this order: routes, request_id_rules, log_groups, access, limits,
        redaction, default_channel, accounts, then access.accounts (which may name
        accounts by their names under ``accounts``).
    """
    env = os.environ if env is None else env
    data = _mapping(data, "config", _TOP_KEYS)
    # Keyword arguments are evaluated in order: that order decides which error is reported.
    config = Config(
        routes=_routes(data.get("routes")),
        request_id_rules=_id_rules(data.get("request_id_rules")),
        log_groups=_group_mappings(data.get("log_groups")),
        access=_access(data.get("access"), env),
        limits=_limits(data.get("limits")),
        redaction=_redaction(data.get("redaction")),
        default_channel=_default_channel(data, env),
        accounts=_accounts(data.get("accounts")),
    )
    # access.accounts may name accounts by their name in `accounts`: read once both are.
    raw = data.get("access")
    source_accounts = _source_accounts(
        raw.get("accounts") if isinstance(raw, Mapping) else None,
        dict(config.accounts),
        config.access.log_group_prefixes,
        env,
    )
    if not source_accounts:
        return config
    from dataclasses import replace

    return replace(config, access=replace(config.access, accounts=source_accounts))


def _routes(value: Any) -> tuple[Route, ...]:
    routes = []
    for i, r in enumerate(_items(value, "routes", {"alarm", "account", "channel"})):
        if "alarm" not in r and "account" not in r:
            raise ConfigError(f"routes[{i}]: needs an alarm or an account pattern (or both)")
        routes.append(
            Route(
                _str(r.get("alarm"), f"routes[{i}].alarm") if "alarm" in r else "",
                _str(r.get("channel"), f"routes[{i}].channel"),
                _account_id(r.get("account"), f"routes[{i}].account") if "account" in r else "",
            )
        )
    return tuple(routes)


def _account_id(value: Any, key: str) -> str:
    # YAML reads an unquoted 12-digit id as a number: take it back as the id it was.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        return f"{value:012d}"
    return _str(value, key)


def _accounts(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError("accounts: must be a mapping of account id to name")
    out: dict[str, str] = {}
    for raw_id, name in value.items():
        account_id = _account_id(raw_id, "accounts")
        if not (account_id.isdigit() and len(account_id) == 12):
            raise ConfigError(f"accounts.{account_id}: must be a 12-digit account id")
        out[account_id] = _str(name, f"accounts.{account_id}")
    return tuple(out.items())


def _id_rules(value: Any) -> tuple[IdRule, ...]:
    rules = []
    for i, r in enumerate(_items(value, "request_id_rules", {"alarm", "expression"})):
        # jmespath and yaml are imported where they are used: the ingress loads the config
        # on its cold path (LOGTHREAD_CONFIG_JSON, usually without rules) and needs neither.
        import jmespath

        expr = _str(r.get("expression"), f"request_id_rules[{i}].expression")
        try:
            jmespath.compile(expr)
        except jmespath.exceptions.JMESPathError as exc:
            raise ConfigError(
                f"request_id_rules[{i}].expression: invalid jmespath: {exc}"
            ) from None
        rules.append(IdRule(str(r.get("alarm") or "*"), expr))
    return tuple(rules)


def _group_mappings(value: Any) -> tuple[GroupMapping, ...]:
    return tuple(
        GroupMapping(
            _str(m.get("alarm"), f"log_groups[{i}].alarm"),
            _str_list(m.get("log_groups"), f"log_groups[{i}].log_groups"),
        )
        for i, m in enumerate(_items(value, "log_groups", {"alarm", "log_groups"}))
    )


def _access(value: Any, env: Mapping[str, str]) -> Access:
    a = _mapping(value, "access", {"teams", "channels", "users", "log_group_prefixes", "accounts"})
    prefixes = a.get("log_group_prefixes")
    if prefixes is None and env.get("ALLOWED_LOG_GROUP_PREFIX"):
        prefixes = [env["ALLOWED_LOG_GROUP_PREFIX"]]
    if prefixes is not None and not prefixes:
        # An empty list would leave nothing to refuse: every log group would pass.
        raise ConfigError("access.log_group_prefixes: must name at least one prefix")
    return Access(
        teams=_str_list(a.get("teams"), "access.teams"),
        channels=_str_list(a.get("channels"), "access.channels"),
        users=_str_list(a.get("users"), "access.users"),
        log_group_prefixes=_str_list(prefixes, "access.log_group_prefixes")
        if prefixes is not None
        else Access().log_group_prefixes,
    )


def _source_accounts(
    value: Any, names: Mapping[str, str], default_prefixes: tuple[str, ...], env: Mapping[str, str]
) -> tuple[AccountAccess, ...]:
    """``access.accounts``: each entry an account (id, or name from ``accounts``), or a
    mapping ``{account, log_group_prefixes}``; prefixes default to ``access.log_group_prefixes``.

    ``ALLOWED_SOURCE_ACCOUNTS`` (the template's ``SourceAccountIds``, comma-separated ids)
    is used when the document does not list any.
    """
    if value is None and (listed := env.get("ALLOWED_SOURCE_ACCOUNTS", "").strip()):
        value = [part.strip() for part in listed.split(",") if part.strip()]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("access.accounts: must be a list of accounts (ids or names)")
    by_name = {name: account_id for account_id, name in names.items()}
    out: dict[str, AccountAccess] = {}
    for i, entry in enumerate(value):
        key = f"access.accounts[{i}]"
        prefixes = default_prefixes
        if isinstance(entry, Mapping):
            entry = _mapping(entry, key, {"account", "log_group_prefixes"})
            if "log_group_prefixes" in entry:
                prefixes = _str_list(entry["log_group_prefixes"], f"{key}.log_group_prefixes")
                if not prefixes:
                    raise ConfigError(f"{key}.log_group_prefixes: must name at least one prefix")
            entry = entry.get("account")
            key = f"{key}.account"
        text = _account_id(entry, key).strip()
        account_id = text if (text.isdigit() and len(text) == 12) else by_name.get(text, "")
        if not account_id:
            raise ConfigError(
                f"{key}: {text!r} is neither a 12-digit account id nor a name under accounts"
            )
        if account_id in out:
            raise ConfigError(f"{key}: account {account_id} is listed twice")
        out[account_id] = AccountAccess(account_id, prefixes)
    return tuple(out.values())


def _limits(value: Any) -> Limits:
    lim = _mapping(value, "limits", set(Limits.__slots__))
    defaults = Limits()
    values: dict[str, Any] = {}
    for limit in fields(Limits):  # declared order: the first bad limit is the one reported
        default = getattr(defaults, limit.name)
        number = _number(
            lim.get(limit.name),
            f"limits.{limit.name}",
            default,
            minimum=_LIMIT_MINIMUMS[limit.name],
        )
        most = _LIMIT_MAXIMUMS.get(limit.name)
        if most is not None and number > most:
            raise ConfigError(f"limits.{limit.name}: must be a number <= {most}")
        values[limit.name] = type(default)(number)
    return Limits(**values)


def _redaction(value: Any) -> tuple[RedactionPattern, ...]:
    patterns = []
    for i, p in enumerate(_items(value, "redaction", {"name", "regex"})):
        regex = _str(p.get("regex"), f"redaction[{i}].regex")
        try:
            re.compile(regex)
        except re.error as exc:
            raise ConfigError(f"redaction[{i}].regex: invalid regular expression: {exc}") from None
        patterns.append(RedactionPattern(str(p.get("name") or f"custom-{i}"), regex))
    return tuple(patterns)


def _default_channel(data: Mapping[str, Any], env: Mapping[str, str]) -> str:
    default_channel = data.get("default_channel", env.get("DEFAULT_CHANNEL", ""))
    if default_channel:
        _str(default_channel, "default_channel")
    return str(default_channel or "")


def parse_document(text: str, source: str = "config") -> Mapping[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML/JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping")
    return data


def load(env: Mapping[str, str] | None = None) -> Config:
    """Load from ``LOGTHREAD_CONFIG`` (path) or ``LOGTHREAD_CONFIG_JSON`` (inline)."""
    env = os.environ if env is None else env
    if inline := env.get("LOGTHREAD_CONFIG_JSON"):
        try:
            return from_mapping(json.loads(inline), env)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"LOGTHREAD_CONFIG_JSON: not valid JSON: {exc}") from None
    if path := env.get("LOGTHREAD_CONFIG"):
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"LOGTHREAD_CONFIG: no such file: {path}")
        return from_mapping(parse_document(p.read_text(encoding="utf-8"), str(p)), env)
    return from_mapping({}, env)
