"""Allowlists: who may ask, and which log groups they may read."""

from __future__ import annotations

from logthread.authz import (
    Requester,
    authorize,
    authorize_requester,
    authorize_targets,
    target_log_groups,
)
from logthread.config import Access

ALICE = Requester("T1", "C1", "U1", "alice")
OPEN = Access()
LOCKED = Access(
    teams=("T1",),
    channels=("C1", "C2"),
    users=("U1",),
    log_group_prefixes=("/aws/lambda/shop-", "/app/"),
)


def test_empty_lists_let_anyone_in() -> None:
    assert authorize_requester(OPEN, Requester("T9", "C9", "U9")).allowed


def test_listed_requester_is_allowed() -> None:
    assert authorize_requester(LOCKED, ALICE).allowed


def test_each_list_refuses_politely_and_logs_why() -> None:
    team = authorize_requester(LOCKED, Requester("T2", "C1", "U1"))
    channel = authorize_requester(LOCKED, Requester("T1", "C9", "U1"))
    user = authorize_requester(LOCKED, Requester("T1", "C1", "U2"))
    assert not (team.allowed or channel.allowed or user.allowed)
    assert team.reason == "team T2 not allowed" and "workspace" in team.message
    assert channel.reason == "channel C9 not allowed" and "channel" in channel.message
    assert user.reason == "user U2 not allowed" and user.message.startswith("Sorry")


def test_functions_map_to_lambda_log_groups() -> None:
    assert target_log_groups(OPEN, ["a"], ["/x"]) == ["/aws/lambda/a", "/x"]


def test_no_target_means_the_allowed_prefixes() -> None:
    assert target_log_groups(LOCKED, [], []) == ["/aws/lambda/shop-", "/app/"]
    assert authorize_targets(LOCKED, [], []).allowed


def test_targets_inside_the_prefixes_are_allowed() -> None:
    assert authorize_targets(LOCKED, ["shop-cart"], ["/app/orders", "/aws/lambda/shop-"]).allowed


def test_any_target_outside_refuses_the_whole_search() -> None:
    decision = authorize_targets(LOCKED, ["shop-cart", "billing"], ["/aws/rds/x"])
    assert not decision.allowed
    assert "/aws/lambda/billing" in decision.reason and "/aws/rds/x" in decision.reason
    assert "`/aws/lambda/shop-`" in decision.message


def test_a_shorter_prefix_than_allowed_is_refused() -> None:
    # "/aws/lambda/" would reach groups beyond "/aws/lambda/shop-".
    assert not authorize_targets(LOCKED, [], ["/aws/lambda/"]).allowed
    assert not authorize_targets(LOCKED, [], ["/aws/lambda/sh*"]).allowed
    assert authorize_targets(LOCKED, [], ["/aws/lambda/shop-*"]).allowed


def test_default_access_reads_only_lambda_groups() -> None:
    assert authorize_targets(OPEN, ["anything"], []).allowed
    assert not authorize_targets(OPEN, [], ["/aws/ecs/cluster"]).allowed


def test_authorize_checks_requester_before_targets() -> None:
    decision = authorize(LOCKED, Requester("T1", "C1", "U2"), ["billing"])
    assert decision.reason == "user U2 not allowed"
    assert authorize(LOCKED, ALICE, ["shop-cart"]).allowed
