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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
import yaml


class ConfigError(ValueError):
    """The configuration is invalid; the message names the bad key."""


@dataclass(frozen=True, slots=True)
class Route:
    alarm: str  # fnmatch pattern on the alarm name
    channel: str


@dataclass(frozen=True, slots=True)
class IdRule:
    alarm: str
    expression: str  # jmespath, with Powertools' functions (powertools_json ...)


@dataclass(frozen=True, slots=True)
class GroupMapping:
    alarm: str
    log_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Access:
    teams: tuple[str, ...] = ()  # empty = any
    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    log_group_prefixes: tuple[str, ...] = ("/aws/lambda/",)

    def may_read(self, log_group: str) -> bool:
        return any(log_group.startswith(p) for p in self.log_group_prefixes)


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

    def channel_for(self, alarm_name: str) -> str:
        """First route whose pattern matches, else the default channel."""
        for route in self.routes:
            if fnmatch.fnmatchcase(alarm_name, route.alarm):
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


def from_mapping(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed config document; ``env`` fills defaults (DEFAULT_CHANNEL...)."""
    env = os.environ if env is None else env
    data = _mapping(data, "config", _TOP_KEYS)

    routes = tuple(
        Route(
            _str(r.get("alarm"), f"routes[{i}].alarm"),
            _str(r.get("channel"), f"routes[{i}].channel"),
        )
        for i, r in enumerate(_items(data.get("routes"), "routes", {"alarm", "channel"}))
    )
    rules = []
    for i, r in enumerate(
        _items(data.get("request_id_rules"), "request_id_rules", {"alarm", "expression"})
    ):
        expr = _str(r.get("expression"), f"request_id_rules[{i}].expression")
        try:
            jmespath.compile(expr)
        except jmespath.exceptions.JMESPathError as exc:
            raise ConfigError(
                f"request_id_rules[{i}].expression: invalid jmespath: {exc}"
            ) from None
        rules.append(IdRule(str(r.get("alarm") or "*"), expr))
    mappings = tuple(
        GroupMapping(
            _str(m.get("alarm"), f"log_groups[{i}].alarm"),
            _str_list(m.get("log_groups"), f"log_groups[{i}].log_groups"),
        )
        for i, m in enumerate(_items(data.get("log_groups"), "log_groups", {"alarm", "log_groups"}))
    )

    a = _mapping(data.get("access"), "access", {"teams", "channels", "users", "log_group_prefixes"})
    prefixes = a.get("log_group_prefixes")
    if prefixes is None and env.get("ALLOWED_LOG_GROUP_PREFIX"):
        prefixes = [env["ALLOWED_LOG_GROUP_PREFIX"]]
    if prefixes is not None and not prefixes:
        # An empty list would leave nothing to refuse: every log group would pass.
        raise ConfigError("access.log_group_prefixes: must name at least one prefix")
    access = Access(
        teams=_str_list(a.get("teams"), "access.teams"),
        channels=_str_list(a.get("channels"), "access.channels"),
        users=_str_list(a.get("users"), "access.users"),
        log_group_prefixes=_str_list(prefixes, "access.log_group_prefixes")
        if prefixes is not None
        else Access().log_group_prefixes,
    )

    d = Limits()
    lim = _mapping(data.get("limits"), "limits", set(Limits.__slots__))
    limits = Limits(
        requests_per_alarm=int(
            _number(
                lim.get("requests_per_alarm"),
                "limits.requests_per_alarm",
                d.requests_per_alarm,
                minimum=1,
            )
        ),
        max_lines=int(_number(lim.get("max_lines"), "limits.max_lines", d.max_lines, minimum=1)),
        context_lines=int(
            _number(lim.get("context_lines"), "limits.context_lines", d.context_lines)
        ),
        search_deadline_seconds=float(
            _number(
                lim.get("search_deadline_seconds"),
                "limits.search_deadline_seconds",
                d.search_deadline_seconds,
                minimum=1,
            )
        ),
        lookback_days=int(
            _number(lim.get("lookback_days"), "limits.lookback_days", d.lookback_days, minimum=1)
        ),
        episode_ttl_days=int(
            _number(
                lim.get("episode_ttl_days"),
                "limits.episode_ttl_days",
                d.episode_ttl_days,
                minimum=1,
            )
        ),
        window_margin_seconds=int(
            _number(
                lim.get("window_margin_seconds"),
                "limits.window_margin_seconds",
                d.window_margin_seconds,
            )
        ),
        slack_posts_per_second_per_channel=float(
            _number(
                lim.get("slack_posts_per_second_per_channel"),
                "limits.slack_posts_per_second_per_channel",
                d.slack_posts_per_second_per_channel,
                minimum=0.01,
            )
        ),
    )

    patterns = []
    for i, p in enumerate(_items(data.get("redaction"), "redaction", {"name", "regex"})):
        regex = _str(p.get("regex"), f"redaction[{i}].regex")
        try:
            re.compile(regex)
        except re.error as exc:
            raise ConfigError(f"redaction[{i}].regex: invalid regular expression: {exc}") from None
        patterns.append(RedactionPattern(str(p.get("name") or f"custom-{i}"), regex))

    default_channel = data.get("default_channel", env.get("DEFAULT_CHANNEL", ""))
    if default_channel:
        _str(default_channel, "default_channel")
    return Config(
        default_channel=str(default_channel or ""),
        routes=routes,
        request_id_rules=tuple(rules),
        log_groups=mappings,
        access=access,
        limits=limits,
        redaction=tuple(patterns),
    )


def parse_document(text: str, source: str = "config") -> Mapping[str, Any]:
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
