"""Config validation: every error names the bad key, word for word as documented."""

from __future__ import annotations

from typing import Any

import pytest

from logthread.config import Config, ConfigError, IdRule, Limits, RedactionPattern, from_mapping

TOP = "access, accounts, default_channel, limits, log_groups, redaction, request_id_rules, routes"
LIMITS = (
    "context_lines, episode_ttl_days, error_kinds_listed, examples_per_alarm,"
    " follow_up_for_minutes, follow_up_minutes, lookback_days,"
    " max_lines, requests_per_alarm, search_deadline_seconds, signature_ttl_days,"
    " slack_posts_per_second_per_channel, window_margin_seconds"
)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "config: must be a mapping"),
        ({"colour": "red"}, f"config.colour: unknown key (allowed: {TOP})"),
        ({"routes": {}}, "routes: must be a list"),
        ({"routes": ["a"]}, "routes[0]: must be a mapping"),
        ({"routes": [{"to": "x"}]}, "routes[0].to: unknown key (allowed: account, alarm, channel)"),
        (
            {"routes": [{"channel": "C1"}]},
            "routes[0]: needs an alarm or an account pattern (or both)",
        ),
        (
            {"routes": [{"alarm": "", "channel": "C1"}]},
            "routes[0].alarm: must be a non-empty string",
        ),
        (
            {"routes": [{"alarm": "a", "channel": "C1"}, {"alarm": "b", "channel": " "}]},
            "routes[1].channel: must be a non-empty string",
        ),
        ({"request_id_rules": [{}]}, "request_id_rules[0].expression: must be a non-empty string"),
        (
            {"request_id_rules": [{"expression": "a", "path": "b"}]},
            "request_id_rules[0].path: unknown key (allowed: alarm, expression)",
        ),
        ({"log_groups": [{"log_groups": []}]}, "log_groups[0].alarm: must be a non-empty string"),
        (
            {"log_groups": [{"alarm": "a", "log_groups": "/aws/lambda/f"}]},
            "log_groups[0].log_groups: must be a list of strings",
        ),
        (
            {"log_groups": [{"alarm": "a", "log_groups": ["/aws/lambda/f", 3]}]},
            "log_groups[0].log_groups[1]: must be a non-empty string",
        ),
        ({"access": []}, "access: must be a mapping"),
        (
            {"access": {"groups": []}},
            "access.groups: unknown key (allowed: accounts, channels, log_group_prefixes, teams, users)",
        ),
        ({"access": {"teams": "T1"}}, "access.teams: must be a list of strings"),
        ({"access": {"channels": [""]}}, "access.channels[0]: must be a non-empty string"),
        ({"access": {"users": ["U1", None]}}, "access.users[1]: must be a non-empty string"),
        (
            {"access": {"log_group_prefixes": []}},
            "access.log_group_prefixes: must name at least one prefix",
        ),
        (
            {"access": {"log_group_prefixes": "/aws/"}},
            "access.log_group_prefixes: must be a list of strings",
        ),
        ({"limits": []}, "limits: must be a mapping"),
        ({"limits": {"max_line": 5}}, f"limits.max_line: unknown key (allowed: {LIMITS})"),
        (
            {"limits": {"requests_per_alarm": 0}},
            "limits.requests_per_alarm: must be a number >= 1",
        ),
        ({"limits": {"max_lines": True}}, "limits.max_lines: must be a number >= 1"),
        ({"limits": {"context_lines": -1}}, "limits.context_lines: must be a number >= 0"),
        (
            {"limits": {"search_deadline_seconds": 0.5}},
            "limits.search_deadline_seconds: must be a number >= 1",
        ),
        ({"limits": {"lookback_days": "3"}}, "limits.lookback_days: must be a number >= 1"),
        ({"limits": {"episode_ttl_days": 0}}, "limits.episode_ttl_days: must be a number >= 1"),
        (
            {"limits": {"window_margin_seconds": -5}},
            "limits.window_margin_seconds: must be a number >= 0",
        ),
        (
            {"limits": {"slack_posts_per_second_per_channel": 0}},
            "limits.slack_posts_per_second_per_channel: must be a number >= 0.01",
        ),
        (
            {"limits": {"follow_up_minutes": 16}},
            "limits.follow_up_minutes: must be a number <= 15",
        ),
        ({"redaction": [{"name": "x"}]}, "redaction[0].regex: must be a non-empty string"),
        (
            {"redaction": [{"regex": "a", "flags": "i"}]},
            "redaction[0].flags: unknown key (allowed: name, regex)",
        ),
        ({"default_channel": 5}, "default_channel: must be a non-empty string"),
        ({"default_channel": "  "}, "default_channel: must be a non-empty string"),
    ],
)
def test_each_error_names_its_key(document: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(document, env={})
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("document", "start"),
    [
        (
            {"request_id_rules": [{"expression": "a[["}]},
            "request_id_rules[0].expression: invalid jmespath: ",
        ),
        ({"redaction": [{"regex": "("}]}, "redaction[0].regex: invalid regular expression: "),
    ],
)
def test_compile_errors_name_their_key(document: Any, start: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(document, env={})
    assert str(info.value).startswith(start)


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"redaction": [{}], "routes": [{}]}, "routes[0]: needs an alarm"),
        ({"log_groups": [{}], "request_id_rules": [{}]}, "request_id_rules[0].expression"),
        ({"access": [], "log_groups": [{}]}, "log_groups[0].alarm"),
        ({"limits": [], "access": []}, "access:"),
        ({"redaction": [{}], "limits": []}, "limits:"),
        ({"default_channel": 5, "redaction": [{}]}, "redaction[0].regex"),
        ({"limits": {"max_lines": 0, "requests_per_alarm": 0}}, "limits.requests_per_alarm"),
    ],
)
def test_sections_are_checked_in_a_fixed_order(document: Any, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(document, env={})
    assert str(info.value).startswith(key)


def test_values_defaults_and_environment() -> None:
    config = from_mapping(
        {
            "request_id_rules": [{"expression": "detail.id"}],
            "redaction": [{"regex": "k-[0-9]+"}],
            "limits": {"max_lines": 2.7, "search_deadline_seconds": 5},
        },
        env={"DEFAULT_CHANNEL": "C0", "ALLOWED_LOG_GROUP_PREFIX": "/aws/lambda/app-"},
    )
    assert config.default_channel == "C0"
    assert config.request_id_rules == (IdRule("*", "detail.id"),)
    assert config.redaction == (RedactionPattern("custom-0", "k-[0-9]+"),)
    assert config.access.log_group_prefixes == ("/aws/lambda/app-",)
    assert config.limits.max_lines == 2 and isinstance(config.limits.max_lines, int)
    assert config.limits.search_deadline_seconds == 5.0
    assert isinstance(config.limits.search_deadline_seconds, float)
    assert config.limits.requests_per_alarm == Limits().requests_per_alarm
    # The file wins over the environment.
    named = from_mapping(
        {"default_channel": "C9", "access": {"log_group_prefixes": ["/aws/"]}},
        env={"DEFAULT_CHANNEL": "C0", "ALLOWED_LOG_GROUP_PREFIX": "/aws/lambda/app-"},
    )
    assert named.default_channel == "C9" and named.access.log_group_prefixes == ("/aws/",)
    assert from_mapping({}, env={}) == Config()
