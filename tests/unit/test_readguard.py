"""The read guard's rules, on the parameters a Logs call would send."""

from __future__ import annotations

from typing import Any

import pytest

from logthread.config import from_mapping
from logthread.readguard import LINKED_TTL_S, ReadGuard, ReadRefused

OWN = "123456789012"
PROD = "210987654321"
OTHER = "999999999999"
REGION = "eu-west-1"


def arn(account: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


def guard(document: dict[str, Any] | None = None, **kwargs: Any) -> ReadGuard:
    config = from_mapping(document or {}, env={})
    return ReadGuard(config.access, REGION, lambda: OWN, **kwargs)


SOURCES = {"access": {"accounts": [PROD]}}


def test_single_account_reads_pass_as_before_without_the_own_id() -> None:
    asked: list[str] = []
    g = ReadGuard(from_mapping({}, env={}).access, REGION, lambda: asked.append("sts") or OWN)
    g.check("FilterLogEvents", {"logGroupName": "/aws/lambda/a", "filterPattern": '"x"'})
    g.check("GetLogEvents", {"logGroupName": "/aws/lambda/a", "logStreamName": "s"})
    g.check("StartQuery", {"logGroupNames": ["/aws/lambda/a"], "queryString": "fields @message"})
    g.check("DescribeLogGroups", {"logGroupNamePrefix": "/aws/lambda/"})
    g.check("GetQueryResults", {"queryId": "q"})
    g.check("DescribeMetricFilters", {"metricName": "m"})
    assert asked == []  # no ARN, no STS


@pytest.mark.parametrize(
    ("operation", "params", "reason"),
    [
        ("FilterLogEvents", {"logGroupName": "/ecs/web"}, "outside the allowed"),
        ("FilterLogEvents", {}, "exactly one"),
        (
            "FilterLogEvents",
            {"logGroupIdentifier": arn(PROD, "/aws/lambda/a")},
            f"account {PROD} may not",
        ),
        (
            "StartQuery",
            {"logGroupIdentifiers": ["/aws/lambda/a", arn(OTHER, "/aws/lambda/b")]},
            f"account {OTHER}",
        ),
        ("StartQuery", {"queryString": "fields @message"}, "must name its log groups"),
        (
            "StartQuery",
            {"logGroupNames": ["/aws/lambda/a"], "queryString": " source logGroups()"},
            "SOURCE",
        ),
        (
            "StartQuery",
            {"logGroupNames": ["/aws/lambda/a"], "queryString": "# c\nSOURCE logGroups()"},
            "SOURCE",
        ),
        (
            "StartQuery",
            {"logGroupNames": ["/aws/lambda/a"], "queryString": "fields @m | SOURCE logGroups()"},
            "SOURCE",
        ),
        (
            "StartQuery",
            {"logGroupNames": ["/aws/lambda/a"], "queryString": "SELECT 1", "queryLanguage": "SQL"},
            "query language",
        ),
        ("DescribeLogGroups", {"includeLinkedAccounts": True}, "accountIdentifiers"),
        (
            "DescribeLogGroups",
            {"includeLinkedAccounts": True, "accountIdentifiers": [OTHER]},
            f"account {OTHER}",
        ),
        (
            "DescribeLogGroups",
            {"logGroupIdentifiers": [arn(OTHER, "/aws/lambda/a")]},
            f"account {OTHER}",
        ),
        ("GetLogRecord", {"logRecordPointer": "p"}, "not a read logthread makes"),
        ("StartLiveTail", {"logGroupIdentifiers": ["/aws/lambda/a"]}, "not a read"),
    ],
)
def test_refused_in_a_single_account_deployment(
    operation: str, params: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ReadRefused, match=reason) as refused:
        guard().check(operation, params)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_an_allowed_source_account_is_read_by_arn_under_its_prefixes() -> None:
    g = guard(SOURCES)
    g.check("FilterLogEvents", {"logGroupIdentifier": arn(PROD, "/aws/lambda/a")})
    g.check("StartQuery", {"logGroupIdentifiers": [arn(PROD, "/aws/lambda/a"), "/aws/lambda/b"]})
    g.check("DescribeLogGroups", {"includeLinkedAccounts": True, "accountIdentifiers": [PROD, OWN]})
    with pytest.raises(ReadRefused, match="outside the allowed"):
        g.check("FilterLogEvents", {"logGroupIdentifier": arn(PROD, "/ecs/web")})
    with pytest.raises(ReadRefused, match="not in this region"):
        g.check("FilterLogEvents", {"logGroupIdentifier": arn(PROD, "/aws/lambda/a", "us-east-1")})


def test_the_own_account_by_arn_is_the_own_account() -> None:
    guard().check("GetLogEvents", {"logGroupIdentifier": arn(OWN, "/aws/lambda/a") + ":*"})


def test_an_unlinked_account_is_refused_and_the_answer_is_remembered() -> None:
    probes: list[str] = []
    now = [0.0]

    def probe(account: str) -> bool:
        probes.append(account)
        return False

    g = guard(SOURCES, probe_linked=probe, clock=lambda: now[0])
    params = {"logGroupIdentifier": arn(PROD, "/aws/lambda/a")}
    for _ in range(2):
        with pytest.raises(ReadRefused, match="not linked"):
            g.check("FilterLogEvents", params)
    assert probes == [PROD]
    # A listing that shows one of its groups says it is linked now.
    g.seen(
        {
            "logGroups": [
                {"logGroupName": "/aws/lambda/a", "logGroupArn": arn(PROD, "/aws/lambda/a")}
            ]
        }
    )
    g.check("FilterLogEvents", params)
    now[0] += LINKED_TTL_S + 1
    with pytest.raises(ReadRefused, match="not linked"):
        g.check("FilterLogEvents", params)
    assert probes == [PROD, PROD]


def test_a_probe_that_could_not_tell_is_asked_again() -> None:
    answers: list[bool | None] = [None, True]
    g = guard(SOURCES, probe_linked=lambda account: answers.pop(0))
    params = {"logGroupIdentifier": arn(PROD, "/aws/lambda/a")}
    with pytest.raises(ReadRefused, match="not linked"):
        g.check("FilterLogEvents", params)
    g.check("FilterLogEvents", params)  # asked again, linked
    assert answers == []
