"""`in <account>:<target>`: parsing, resolving names, and what authz lets through."""

from __future__ import annotations

import pytest

from logthread.authz import authorize_targets, target_log_groups
from logthread.bounds import with_default_targets
from logthread.commands import CommandError, SearchCommand, parse_command, resolve_accounts
from logthread.config import from_mapping
from logthread.query import SearchQuery

PROD = "210987654321"
OTHER = "444444444444"
NOW = 1_767_000_000_000
RID = "12345678-aaaa-bbbb-cccc-1234567890ab"
CONFIG = from_mapping(
    {
        "accounts": {PROD: "prod"},
        "access": {
            "log_group_prefixes": ["/aws/lambda/"],
            "accounts": [{"account": "prod", "log_group_prefixes": ["/aws/lambda/shop-"]}],
        },
    },
    env={},
)


def test_targets_may_name_an_account_by_id_or_name() -> None:
    parsed = parse_command(f"{RID} in prod:shop-api,{PROD}:/aws/lambda/shop-*,local", now_ms=NOW)
    assert isinstance(parsed, SearchCommand)
    assert parsed.functions == ("prod:shop-api", "local")
    assert parsed.log_groups == (f"{PROD}:/aws/lambda/shop-*",)
    names = dict(CONFIG.accounts)
    assert resolve_accounts(parsed.functions, names) == (f"{PROD}:shop-api", "local")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{RID} in a<b>:api", "is not an account"),
        (f"{RID} in prod:not/a/function", "is not a Lambda function name"),
        (f"{RID} in :api", "is not an account"),
    ],
)
def test_a_bad_account_or_target_is_refused(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(text, now_ms=NOW)


def test_the_own_account_named_is_the_own_account() -> None:
    names = {**dict(CONFIG.accounts), "123456789012": "monitoring"}
    targets = ["monitoring:api", "123456789012:/aws/lambda/x", "prod:api"]
    assert resolve_accounts(targets, names, own_account="123456789012") == (
        "api",
        "/aws/lambda/x",
        f"{PROD}:api",
    )


def test_an_unknown_account_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(CommandError, match=r"I don't know the account `staging` \(names: `prod`\)"):
        resolve_accounts(["staging:api"], dict(CONFIG.accounts))


def test_authz_holds_each_account_to_its_prefixes() -> None:
    access = CONFIG.access
    assert authorize_targets(access, [f"{PROD}:shop-api", "anything"], []).allowed
    refused = authorize_targets(access, [f"{PROD}:billing"], [])
    assert not refused.allowed and f"in `{PROD}`" in refused.message
    assert "`/aws/lambda/shop-`" in refused.message
    other = authorize_targets(access, [], [f"{OTHER}:/aws/lambda/x"])
    assert not other.allowed and other.message.startswith(
        f"Sorry, you may not search the account `{OTHER}`"
    )
    # Names are the ingress's to resolve: a task naming one is refused, not guessed.
    assert not authorize_targets(access, ["prod:shop-api"], []).allowed


def test_no_target_is_every_allowed_account_under_its_prefixes() -> None:
    assert target_log_groups(CONFIG.access, [], []) == ["/aws/lambda/", f"{PROD}:/aws/lambda/shop-"]
    query = with_default_targets(SearchQuery(RID), CONFIG)
    assert query.log_groups == ("/aws/lambda/", f"{PROD}:/aws/lambda/shop-")
    single = with_default_targets(SearchQuery(RID), from_mapping({}, env={}))
    assert single.log_groups == ("/aws/lambda/",)
