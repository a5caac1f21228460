"""access.accounts: which source accounts may be read, and under which prefixes."""

from __future__ import annotations

import pytest

from logthread.config import AccountAccess, ConfigError, from_mapping
from logthread.loggroups import LogGroupRef

PROD = "210987654321"
STAGING = "310987654321"


def test_no_accounts_is_the_single_account_deployment() -> None:
    access = from_mapping({}, env={}).access
    assert access.accounts == ()
    assert access.may_read("/aws/lambda/a")
    assert access.may_read(LogGroupRef.own("/aws/lambda/a"))
    assert not access.may_read(LogGroupRef(PROD, "/aws/lambda/a"))
    assert not access.may_read_account(PROD)


def test_accounts_by_id_or_name_with_their_own_prefixes() -> None:
    access = from_mapping(
        {
            "accounts": {PROD: "prod", STAGING: "staging"},
            "access": {
                "log_group_prefixes": ["/aws/lambda/shop-"],
                "accounts": ["prod", {"account": STAGING, "log_group_prefixes": ["/ecs/"]}],
            },
        },
        env={},
    ).access
    assert access.accounts == (
        AccountAccess(PROD, ("/aws/lambda/shop-",)),
        AccountAccess(STAGING, ("/ecs/",)),
    )
    assert access.may_read(LogGroupRef(PROD, "/aws/lambda/shop-api"))
    assert not access.may_read(LogGroupRef(PROD, "/aws/lambda/other"))
    assert access.may_read(LogGroupRef(STAGING, "/ecs/web"))
    assert not access.may_read(LogGroupRef(STAGING, "/aws/lambda/shop-api"))
    assert access.source_accounts == (PROD, STAGING)


def test_an_unquoted_yaml_id_is_taken_back_as_the_id() -> None:
    access = from_mapping({"access": {"accounts": [int(PROD)]}}, env={}).access
    assert access.source_accounts == (PROD,)


def test_the_stack_parameter_lists_them_when_the_document_does_not() -> None:
    env = {"ALLOWED_SOURCE_ACCOUNTS": f"{PROD}, {STAGING}"}
    assert from_mapping({}, env=env).access.source_accounts == (PROD, STAGING)
    narrowed = from_mapping({"access": {"accounts": [PROD]}}, env=env).access
    assert narrowed.source_accounts == (PROD,)
    assert from_mapping({}, env={"ALLOWED_SOURCE_ACCOUNTS": ""}).access.accounts == ()


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ("prod", r"access\.accounts: must be a list"),
        (
            ["nobody"],
            r"access\.accounts\[0\]: 'nobody' is neither a 12-digit account id nor a name",
        ),
        (["12345"], r"access\.accounts\[0\]: '12345' is neither"),
        ([PROD, "prod"], r"access\.accounts\[1\]: account 210987654321 is listed twice"),
        (
            [{"account": PROD, "log_group_prefixes": []}],
            r"access\.accounts\[0\]\.log_group_prefixes: must name",
        ),
        ([{"account": PROD, "prefix": "/x"}], r"access\.accounts\[0\]\.prefix: unknown key"),
        (
            [{"log_group_prefixes": ["/x"]}],
            r"access\.accounts\[0\]\.account: must be a non-empty string",
        ),
    ],
)
def test_errors_name_the_bad_key(accounts: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping({"accounts": {PROD: "prod"}, "access": {"accounts": accounts}}, env={})
