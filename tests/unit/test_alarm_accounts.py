"""Alarms from linked accounts (issue 15, item 1): which account's log groups a plan reads.

An alarm in the monitoring account on a source account's metric (``AccountId`` in a metric
data query, metric math included) and an EventBridge event forwarded from a source account
(its ``account``) plan that account's groups, named ``<account>:<name>``; an account not in
``access.accounts`` is never planned, and the plan says why.
"""

from __future__ import annotations

import json

from logthread.alarms.discover import ERROR_PATTERN, Target, plan
from logthread.alarms.parse import Alarm, parse
from logthread.config import from_mapping
from tests.conftest import load_fixture

OWN = "123456789012"
SOURCE = "210987654321"
ALLOWED = {"access": {"accounts": [SOURCE]}}


class NoLogs:
    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"unexpected call: {name}")


def _read(name: str) -> Alarm:
    env = load_fixture(f"alarms/{name}")
    return parse(env["Message"], env.get("Subject", ""))


def test_metric_math_on_a_source_accounts_metrics_reads_that_account() -> None:
    alarm = _read("cross_account_metric_math.json")
    assert [m.account for m in alarm.metrics] == ["", SOURCE, SOURCE]
    assert alarm.account == OWN  # the alarm lives in the monitoring account

    the_plan = plan(alarm, from_mapping(ALLOWED, env={}), logs=NoLogs(), now_ms=0, own_account=OWN)

    assert the_plan.log_groups == (
        f"{SOURCE}:/aws/lambda/PaymentService",
        f"{SOURCE}:/aws/lambda/RefundService",
    )
    assert the_plan.notes == ()


def test_an_eventbridge_event_forwarded_from_a_source_account_reads_that_account() -> None:
    alarm = _read("eventbridge_from_source_account.json")
    assert alarm.account == SOURCE
    the_plan = plan(alarm, from_mapping(ALLOWED, env={}), logs=NoLogs(), now_ms=0, own_account=OWN)
    assert the_plan.targets == (
        Target(
            f"{SOURCE}:/aws/lambda/PaymentService",
            ERROR_PATTERN,
            "errors",
            "Errors of PaymentService",
        ),
    )


def test_a_disallowed_account_is_never_planned_and_the_plan_says_why() -> None:
    config = from_mapping({"access": {"accounts": ["333333333333"]}}, env={})
    for fixture in ("cross_account_metric_math.json", "eventbridge_from_source_account.json"):
        the_plan = plan(_read(fixture), config, logs=NoLogs(), now_ms=0, own_account=OWN)
        assert the_plan.targets == ()
        assert the_plan.notes == (
            f"logs of account {SOURCE} not read: it is not among the accounts logthread may "
            "read (access.accounts)",
        )


def test_a_disallowed_account_does_not_fall_back_to_the_mapping() -> None:
    """A mapping for the alarm's name must not read the own account's group instead."""
    config = from_mapping(
        {
            "access": {"accounts": ["333333333333"]},
            "log_groups": [{"alarm": "PaymentService-*", "log_groups": ["/aws/lambda/Mapped"]}],
        },
        env={},
    )
    alarm = _read("eventbridge_from_source_account.json")
    doc = json.loads(alarm.raw)
    doc["detail"]["configuration"]["metrics"] = []
    the_plan = plan(parse(json.dumps(doc)), config, logs=NoLogs(), now_ms=0, own_account=OWN)
    assert the_plan.targets == ()
    assert "not among the accounts" in the_plan.notes[0]


def test_a_source_accounts_prefixes_hold() -> None:
    config = from_mapping(
        {"access": {"accounts": [{"account": SOURCE, "log_group_prefixes": ["/aws/lambda/Pay"]}]}},
        env={},
    )
    the_plan = plan(
        _read("cross_account_metric_math.json"), config, logs=NoLogs(), now_ms=0, own_account=OWN
    )
    assert the_plan.log_groups == (f"{SOURCE}:/aws/lambda/PaymentService",)
    assert the_plan.notes == (
        f"{SOURCE}:/aws/lambda/RefundService not searched: outside the allowed log group prefixes",
    )


def test_single_account_deployments_plan_as_before() -> None:
    """No access.accounts, own id unknown: every group is the own account's, by name."""
    config = from_mapping({}, env={})
    for fixture in ("cross_account_metric_math.json", "eventbridge_from_source_account.json"):
        the_plan = plan(_read(fixture), config, logs=NoLogs(), now_ms=0)
        assert all(":" not in g for g in the_plan.log_groups), the_plan.log_groups
    own = plan(_read("lambda_errors_hoge.json"), config, logs=NoLogs(), now_ms=0, own_account=OWN)
    assert own.log_groups == ("/aws/lambda/HogeService",)


def test_a_mapping_may_name_a_source_accounts_group() -> None:
    config = from_mapping(
        {
            **ALLOWED,
            "log_groups": [
                {"alarm": "PaymentService-*", "log_groups": [f"{SOURCE}:/aws/lambda/Payments"]}
            ],
        },
        env={},
    )
    doc = json.loads(_read("eventbridge_from_source_account.json").raw)
    doc["detail"]["configuration"]["metrics"] = []
    the_plan = plan(parse(json.dumps(doc)), config, logs=NoLogs(), now_ms=0, own_account=OWN)
    assert the_plan.log_groups == (f"{SOURCE}:/aws/lambda/Payments",)


def test_a_source_accounts_custom_metric_says_to_map_it() -> None:
    alarm = _read("cross_account_metric_math.json")
    doc = json.loads(alarm.raw)
    doc["Trigger"]["Metrics"][1]["MetricStat"]["Metric"] = {
        "Namespace": "Payments",
        "MetricName": "CardDeclines",
        "Dimensions": [],
    }
    doc["Trigger"]["Metrics"] = doc["Trigger"]["Metrics"][:2]
    the_plan = plan(
        parse(json.dumps(doc)), from_mapping(ALLOWED, env={}), logs=NoLogs(), own_account=OWN
    )
    assert the_plan.targets == ()
    assert "metric filters of account 210987654321 cannot be read" in the_plan.notes[0]


def test_an_account_id_that_is_not_one_is_dropped() -> None:
    alarm = _read("cross_account_metric_math.json")
    doc = json.loads(alarm.raw)
    doc["Trigger"]["Metrics"][1]["AccountId"] = "2109876543:log-group:x"
    assert parse(json.dumps(doc)).metrics[1].account == ""


def test_with_accounts_listed_and_the_own_id_unknown_another_account_is_not_read_as_own() -> None:
    # One failed STS call left the own id unknown: an alarm of an account not allowed must
    # not thread the monitoring account's group of the same name as if it were its own.
    env = load_fixture("alarms/eventbridge_from_source_account.json")
    alarm = parse(env["Message"].replace(SOURCE, "444444444444"), env.get("Subject", ""))
    the_plan = plan(alarm, from_mapping(ALLOWED, env={}), logs=NoLogs(), now_ms=0, own_account="")
    assert the_plan.log_groups == ()
    assert any("444444444444" in note for note in the_plan.notes)


def test_the_graph_is_not_drawn_for_a_metric_of_an_account_not_allowed() -> None:
    from types import SimpleNamespace

    from logthread.alarms.graph import _may_draw

    env = load_fixture("alarms/cross_account_metric_math.json")
    allowed = from_mapping(ALLOWED, env={})
    names = SimpleNamespace(own=lambda: (OWN, ""))
    deps = SimpleNamespace(config=allowed, accounts=names)
    assert _may_draw(deps, parse(env["Message"], env.get("Subject", "")))
    other = parse(env["Message"].replace(SOURCE, "444444444444"), env.get("Subject", ""))
    assert not _may_draw(deps, other)
