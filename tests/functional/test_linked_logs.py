"""The local emulation of CloudWatch cross-account observability (issue 15, item 6).

boto3 over real HTTP to :class:`~logthread_local.linkedlogs.LinkedLogsProxy`, in front of
one moto server holding three accounts: the monitoring account, a source account linked to
it, and an account that is not linked.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from logthread_local.linkedlogs import LinkedLogsProxy, log_group_arn
from tests.conftest import (
    MONITORING_ACCOUNT,
    SOURCE_ACCOUNT,
    UNLINKED_ACCOUNT,
    account_logs,
)

GROUP = "/aws/lambda/orders"


def put(logs: Any, group: str, lines: list[str], now_ms: int) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    events = [{"timestamp": now_ms - 1000 + i, "message": m} for i, m in enumerate(lines)]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)


@pytest.fixture
def seeded(aws: str, linked_logs: LinkedLogsProxy) -> int:
    """The same group name in all three accounts, each with lines naming its account."""
    now = int(time.time() * 1000)
    for account in (MONITORING_ACCOUNT, SOURCE_ACCOUNT, UNLINKED_ACCOUNT):
        put(account_logs(aws, account), GROUP, [f"ERROR req-{account} failed"], now)
    put(account_logs(aws, SOURCE_ACCOUNT), "/internal/audit", ["ERROR audit"], now)
    linked_logs.clear()
    return now


def bot_logs(proxy: LinkedLogsProxy) -> Any:
    """The bot's Logs client: no account header, so it acts as the monitoring account."""
    return boto3.client("logs", endpoint_url=proxy.url)


def test_an_arn_reaches_its_source_account(linked_logs: LinkedLogsProxy, seeded: int) -> None:
    logs = bot_logs(linked_logs)
    arn = log_group_arn(SOURCE_ACCOUNT, GROUP)

    found = logs.filter_log_events(logGroupIdentifier=arn, filterPattern="ERROR")
    own = logs.filter_log_events(logGroupName=GROUP, filterPattern="ERROR")
    stream = logs.get_log_events(logGroupIdentifier=arn + ":*", logStreamName="s")

    assert [e["message"] for e in found["events"]] == [f"ERROR req-{SOURCE_ACCOUNT} failed"]
    assert [e["message"] for e in own["events"]] == [f"ERROR req-{MONITORING_ACCOUNT} failed"]
    assert [e["message"] for e in stream["events"]] == [f"ERROR req-{SOURCE_ACCOUNT} failed"]
    assert linked_logs.reached() == [SOURCE_ACCOUNT, MONITORING_ACCOUNT, SOURCE_ACCOUNT]
    assert linked_logs.calls[0].log_groups == (GROUP,)


def test_an_unlinked_account_is_refused_before_moto(
    linked_logs: LinkedLogsProxy, seeded: int
) -> None:
    logs = bot_logs(linked_logs)
    arn = log_group_arn(UNLINKED_ACCOUNT, GROUP)

    with pytest.raises(ClientError) as denied:
        logs.filter_log_events(logGroupIdentifier=arn)
    with pytest.raises(ClientError) as query:
        logs.start_query(
            logGroupIdentifiers=[log_group_arn(SOURCE_ACCOUNT, GROUP), arn],
            startTime=0,
            endTime=int(time.time()) + 60,
            queryString="fields @message",
        )
    # A listing shows nothing of it, as a sink holds nothing of an account not linked.
    listing = logs.describe_log_groups(
        includeLinkedAccounts=True, accountIdentifiers=[UNLINKED_ACCOUNT]
    )

    for refused in (denied, query):
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert listing["logGroups"] == []
    assert UNLINKED_ACCOUNT not in linked_logs.reached()
    assert linked_logs.reached() == []  # the query's linked half did not start either
    assert [(c.account, c.outcome) for c in linked_logs.refused()] == [
        (UNLINKED_ACCOUNT, "AccessDeniedException"),
        (UNLINKED_ACCOUNT, "AccessDeniedException"),
        (UNLINKED_ACCOUNT, "not linked"),
    ]


def test_unlinking_takes_effect_at_once(linked_logs: LinkedLogsProxy, seeded: int) -> None:
    logs = bot_logs(linked_logs)
    linked_logs.unlink(SOURCE_ACCOUNT)
    with pytest.raises(ClientError) as denied:
        logs.filter_log_events(logGroupIdentifier=log_group_arn(SOURCE_ACCOUNT, GROUP))
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_link_shares_only_the_groups_its_filter_names(
    linked_logs: LinkedLogsProxy, seeded: int
) -> None:
    linked_logs.link(SOURCE_ACCOUNT, ["/aws/lambda/"])  # LogGroupName LIKE '/aws/lambda/%'
    logs = bot_logs(linked_logs)
    with pytest.raises(ClientError) as hidden:
        logs.filter_log_events(logGroupIdentifier=log_group_arn(SOURCE_ACCOUNT, "/internal/audit"))
    assert hidden.value.response["Error"]["Code"] == "ResourceNotFoundException"

    listed = logs.describe_log_groups(includeLinkedAccounts=True)["logGroups"]
    arns = sorted(g["logGroupArn"] for g in listed)
    assert arns == sorted(
        [log_group_arn(MONITORING_ACCOUNT, GROUP), log_group_arn(SOURCE_ACCOUNT, GROUP)]
    )


def test_describe_log_groups_merges_linked_accounts(
    linked_logs: LinkedLogsProxy, seeded: int
) -> None:
    logs = bot_logs(linked_logs)

    alone = logs.describe_log_groups()["logGroups"]
    every = logs.describe_log_groups(includeLinkedAccounts=True, logGroupNamePrefix="/aws/")
    just_source = logs.describe_log_groups(
        includeLinkedAccounts=True, accountIdentifiers=[SOURCE_ACCOUNT]
    )
    pages = logs.get_paginator("describe_log_groups").paginate(
        includeLinkedAccounts=True, PaginationConfig={"PageSize": 1}
    )
    paged = [g["logGroupArn"] for page in pages for g in page["logGroups"]]
    by_arn = logs.describe_log_groups(
        logGroupIdentifiers=[log_group_arn(SOURCE_ACCOUNT, "/internal/audit")]
    )["logGroups"]

    assert [g["logGroupArn"] for g in alone] == [log_group_arn(MONITORING_ACCOUNT, GROUP)]
    assert sorted(g["logGroupArn"] for g in every["logGroups"]) == sorted(
        [log_group_arn(MONITORING_ACCOUNT, GROUP), log_group_arn(SOURCE_ACCOUNT, GROUP)]
    )
    assert sorted(g["logGroupName"] for g in just_source["logGroups"]) == [
        "/aws/lambda/orders",
        "/internal/audit",
    ]
    assert len(paged) == len(set(paged)) == 3
    assert [g["logGroupArn"] for g in by_arn] == [log_group_arn(SOURCE_ACCOUNT, "/internal/audit")]
    assert UNLINKED_ACCOUNT not in linked_logs.reached()


def test_an_insights_query_spans_accounts_and_names_each_line(
    linked_logs: LinkedLogsProxy, seeded: int
) -> None:
    logs = bot_logs(linked_logs)
    started = logs.start_query(
        logGroupIdentifiers=[
            log_group_arn(MONITORING_ACCOUNT, GROUP),
            log_group_arn(SOURCE_ACCOUNT, GROUP),
            log_group_arn(SOURCE_ACCOUNT, "/internal/audit"),
        ],
        startTime=seeded // 1000 - 60,
        endTime=seeded // 1000 + 60,
        queryString="fields @timestamp, @message, @log | filter @message like /ERROR/"
        " | sort @timestamp asc | limit 10",
    )
    answer = logs.get_query_results(queryId=started["queryId"])
    rows = [{f["field"]: f["value"] for f in row} for row in answer["results"]]
    stopped = logs.stop_query(queryId=started["queryId"])

    assert answer["status"] == "Complete"
    assert sorted(r["@log"] for r in rows) == sorted(
        [
            f"{MONITORING_ACCOUNT}:{GROUP}",
            f"{SOURCE_ACCOUNT}:{GROUP}",
            f"{SOURCE_ACCOUNT}:/internal/audit",
        ]
    )
    assert [int(r["@timestamp"]) for r in rows] == sorted(int(r["@timestamp"]) for r in rows)
    assert stopped["success"] is True
    assert sorted(set(linked_logs.reached("StartQuery"))) == [MONITORING_ACCOUNT, SOURCE_ACCOUNT]
    assert sorted(linked_logs.reached("GetQueryResults")) == [MONITORING_ACCOUNT, SOURCE_ACCOUNT]


def test_a_query_takes_at_most_50_groups(linked_logs: LinkedLogsProxy, seeded: int) -> None:
    logs = bot_logs(linked_logs)
    with pytest.raises(ClientError) as too_many:
        logs.start_query(
            logGroupIdentifiers=[log_group_arn(SOURCE_ACCOUNT, f"/g{i}") for i in range(51)],
            startTime=0,
            endTime=60,
            queryString="fields @message",
        )
    assert too_many.value.response["Error"]["Code"] == "InvalidParameterException"
    assert linked_logs.reached() == []


def test_a_seeding_client_acts_as_its_own_account(
    aws: str, linked_logs: LinkedLogsProxy, seeded: int
) -> None:
    """A source account's own client (the header) reads its own groups, never another's."""
    source = account_logs(linked_logs.url, SOURCE_ACCOUNT)
    own = source.filter_log_events(logGroupIdentifier=log_group_arn(SOURCE_ACCOUNT, GROUP))
    assert [e["message"] for e in own["events"]] == [f"ERROR req-{SOURCE_ACCOUNT} failed"]
    with pytest.raises(ClientError) as denied:
        source.filter_log_events(logGroupIdentifier=log_group_arn(MONITORING_ACCOUNT, GROUP))
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_other_services_pass_through(aws: str, linked_logs: LinkedLogsProxy) -> None:
    sns = boto3.client("sns", endpoint_url=linked_logs.url)
    arn = sns.create_topic(Name="through-the-proxy")["TopicArn"]
    direct = boto3.client("sns", endpoint_url=aws)
    assert arn in [t["TopicArn"] for t in direct.list_topics()["Topics"]]
    assert linked_logs.calls == []
