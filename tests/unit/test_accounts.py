"""Accounts by name (issue 13, part 3): the configuration's names, routes by account."""

from __future__ import annotations

import json

import pytest
import yaml

from logthread.accounts import AccountNames
from logthread.alarms.alarm_render import alarm_message
from logthread.alarms.naming import read_alarm
from logthread.config import ConfigError, from_mapping
from logthread.slack.format import account_label
from tests.conftest import load_fixture

PROD = "123456789012"
ENV = {"DEFAULT_CHANNEL": "C0DEFAULT"}


def _config(text: str):  # type: ignore[no-untyped-def]
    return from_mapping(yaml.safe_load(text), ENV)


def test_account_names_from_yaml_quoted_or_not() -> None:
    config = _config(
        """
accounts:
  123456789012: prod
  "000000000042": sandbox
"""
    )
    assert dict(config.accounts) == {PROD: "prod", "000000000042": "sandbox"}


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"accounts": ["prod"]}, "accounts: must be a mapping of account id to name"),
        ({"accounts": {"prod": "x"}}, "accounts.prod: must be a 12-digit account id"),
        ({"accounts": {PROD: ""}}, f"accounts.{PROD}: must be a non-empty string"),
        ({"routes": [{"channel": "C1"}]}, "routes[0]: needs an alarm or an account pattern"),
        ({"routes": [{"account": "", "channel": "C1"}]}, "routes[0].account: must be"),
    ],
)
def test_bad_account_settings_are_named(doc: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        from_mapping(doc, ENV)


def test_routes_by_account_id_or_name_and_by_both() -> None:
    config = _config(
        """
accounts: {123456789012: prod}
routes:
  - {alarm: "Payment*", account: "prod", channel: C0PAYPROD}
  - {account: 123456789012, channel: C0PROD}
  - {account: "staging-*", channel: C0STAGING}
  - {alarm: "Payment*", channel: C0PAY}
"""
    )
    assert config.channel_for("PaymentErrors", PROD, "prod") == "C0PAYPROD"
    assert config.channel_for("Other", PROD, "prod") == "C0PROD"
    assert config.channel_for("Other", PROD) == "C0PROD"
    assert config.channel_for("Other", "210987654321", "staging-eu") == "C0STAGING"
    assert config.channel_for("PaymentErrors", "210987654321") == "C0PAY"
    assert config.channel_for("Other") == "C0DEFAULT"


def test_the_alarm_message_names_the_account() -> None:
    config = _config("accounts: {123456789012: prod}")

    class Deps:
        pass

    deps = Deps()
    deps.config = config  # type: ignore[attr-defined]
    body = json.dumps(load_fixture("alarms/alarm_action_fuga.json"))
    alarm = read_alarm(body, "", deps)
    assert alarm.account_name == "prod"
    text = json.dumps([b.to_dict() for b in alarm_message(alarm).blocks])
    assert "account *prod* (`123456789012`)" in text
    # Unknown accounts are shown by their id, as before.
    unnamed = read_alarm(body.replace(PROD, "210987654321"), "", deps)
    assert unnamed.account_name == ""
    assert "account `210987654321`" in json.dumps(
        [b.to_dict() for b in alarm_message(unnamed).blocks]
    )


def test_labels_escape_the_name() -> None:
    assert account_label(PROD, "<!here> prod") == "*&lt;!here&gt; prod* (`123456789012`)"
    assert account_label(PROD, "") == "`123456789012`"


def test_no_aws_clients_means_configured_names_only() -> None:
    names = AccountNames({PROD: "prod"})
    assert (names.name(PROD), names.name("210987654321"), names.own_named()) == (
        "prod",
        "",
        ("", ""),
    )
