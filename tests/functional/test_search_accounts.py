"""The search engine across accounts, through the local cross-account proxy: Logs Insights
with logGroupIdentifiers (50 a query), FilterLogEvents by ARN, and the read guard on the way."""

from __future__ import annotations

import time
from typing import Any

import boto3

from logthread.config import from_mapping
from logthread.readguard import install
from logthread.search import SearchQuery, search
from logthread_local.linkedlogs import LinkedLogsProxy, log_group_arn
from tests.conftest import MONITORING_ACCOUNT, SOURCE_ACCOUNT, account_logs

RID = "9a8b7c6d-1111-2222-3333-444455556666"


def seed(aws: str, account: str, groups: list[str], now_ms: int) -> None:
    logs = account_logs(aws, account)
    for group in groups:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(
        logGroupName=groups[-1],
        logStreamName="s",
        logEvents=[{"timestamp": now_ms - 5_000, "message": f"{RID} ERROR boom in {account}"}],
    )


def bot_logs(proxy: LinkedLogsProxy) -> Any:
    logs = boto3.client("logs", endpoint_url=proxy.url, region_name="us-east-1")
    access = from_mapping({"access": {"accounts": [SOURCE_ACCOUNT]}}, env={}).access
    install(logs, access, lambda: MONITORING_ACCOUNT)
    return logs


def test_insights_reads_both_accounts_fifty_groups_a_query(
    aws: str, linked_logs: LinkedLogsProxy
) -> None:
    now = int(time.time() * 1000)
    seed(aws, MONITORING_ACCOUNT, ["/aws/lambda/own"], now)
    seed(aws, SOURCE_ACCOUNT, [f"/aws/lambda/fn-{i:02d}" for i in range(55)], now)
    linked_logs.clear()
    logs = bot_logs(linked_logs)

    query = SearchQuery(
        RID,
        log_groups=("/aws/lambda/", f"{SOURCE_ACCOUNT}:/aws/lambda/"),
        strategy="insights",
        deadline_seconds=20,
    )
    result = search(logs, query)

    assert result.path == "insights" and not result.partial, result.partial_reason
    assert {r.message for r in result.records} == {
        f"{RID} ERROR boom in {MONITORING_ACCOUNT}",
        f"{RID} ERROR boom in {SOURCE_ACCOUNT}",
    }
    assert {r.log_group for r in result.records} == {
        "/aws/lambda/own",
        log_group_arn(SOURCE_ACCOUNT, "/aws/lambda/fn-54"),
    }
    assert len(result.log_groups_searched) == 56
    assert result.api_calls["StartQuery"] == 2  # 56 groups: 50 + 6
    assert set(linked_logs.reached("StartQuery")) == {MONITORING_ACCOUNT, SOURCE_ACCOUNT}


def test_filter_reads_a_source_group_by_arn(aws: str, linked_logs: LinkedLogsProxy) -> None:
    now = int(time.time() * 1000)
    seed(aws, SOURCE_ACCOUNT, ["/aws/lambda/charge"], now)
    linked_logs.clear()
    result = search(
        bot_logs(linked_logs),
        SearchQuery(RID, functions=(f"{SOURCE_ACCOUNT}:charge",), strategy="filter"),
    )
    [record] = result.records
    assert record.log_group == log_group_arn(SOURCE_ACCOUNT, "/aws/lambda/charge")
    assert [
        (c.operation, c.account) for c in linked_logs.calls if c.operation != "DescribeLogGroups"
    ] == [
        ("FilterLogEvents", SOURCE_ACCOUNT),
    ]


def test_the_terminal_reads_a_source_account_by_id(
    aws: str, linked_logs: LinkedLogsProxy, capsys: Any
) -> None:
    from logthread import aws as core_aws
    from logthread.cli import main

    seed(aws, SOURCE_ACCOUNT, ["/aws/lambda/charge"], int(time.time() * 1000))
    core_aws.client.cache_clear()  # the process-wide client must go through the proxy
    try:
        code = main(["search", RID, "-f", f"{SOURCE_ACCOUNT}:charge", "--since", "1h"])
    finally:
        core_aws.client.cache_clear()
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"ERROR boom in {SOURCE_ACCOUNT}" in out
    assert f"{SOURCE_ACCOUNT} /aws/lambda/charge" in out  # the group line names the account
