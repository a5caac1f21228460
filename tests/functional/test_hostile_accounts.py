"""Whatever accounts a task names, the worker's Logs calls reach only the allowed, linked ones.

A task published past the ingress (whoever may publish to the task topic) goes through the
real worker; the local cross-account proxy records the account of every Logs call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slash_pipeline import CHANNEL, TEAM, USER, Context, Pipeline
from test_worker_tasks import sns_event

from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread_local.linkedlogs import LinkedLogsProxy
from logthread_local.slack_standin import SlackStandin
from tests.conftest import MONITORING_ACCOUNT, SOURCE_ACCOUNT, UNLINKED_ACCOUNT, account_logs

RID = "5f0c2a7e-1b2c-4d3e-8f90-0a1b2c3d4e5f"
OTHER = "444444444444"  # linked, but not allowed
CONFIG: dict[str, Any] = {
    "accounts": {SOURCE_ACCOUNT: "payments"},
    "access": {
        "teams": [TEAM],
        "log_group_prefixes": ["/aws/lambda/"],
        "accounts": [SOURCE_ACCOUNT, UNLINKED_ACCOUNT],
    },
    "default_channel": CHANNEL,
    "limits": {"search_deadline_seconds": 5},
}
READS = {"FilterLogEvents", "GetLogEvents", "StartQuery", "GetQueryResults", "StopQuery"}
SLOW = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

accounts = st.sampled_from(
    ["", SOURCE_ACCOUNT, UNLINKED_ACCOUNT, OTHER, MONITORING_ACCOUNT, "payments", "555555555555"]
)
names = st.sampled_from(["charge", "/aws/lambda/charge", "/aws/lambda/", "/internal/audit", "x*"])
targets = st.lists(
    st.tuples(accounts, names).map(lambda t: f"{t[0]}:{t[1]}" if t[0] else t[1]), max_size=4
)


@pytest.fixture
def pipeline(
    linked_logs: LinkedLogsProxy, aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    linked_logs.link(OTHER)
    for account in (MONITORING_ACCOUNT, SOURCE_ACCOUNT, UNLINKED_ACCOUNT, OTHER):
        logs = account_logs(aws, account)
        for group in ("/aws/lambda/charge", "/internal/audit"):
            logs.create_log_group(logGroupName=group)
    yield Pipeline(aws, slack, monkeypatch, CONFIG)


@SLOW
@given(chosen=targets)
@example(chosen=[])  # every allowed account
@example(chosen=[f"{OTHER}:charge", f"{UNLINKED_ACCOUNT}:charge", f"{SOURCE_ACCOUNT}:charge"])
def test_no_logs_call_reaches_an_account_not_allowed_or_not_linked(
    pipeline: Pipeline, linked_logs: LinkedLogsProxy, chosen: list[str]
) -> None:
    linked_logs.clear()
    functions = tuple(t for t in chosen if not t.rpartition(":")[2].startswith("/"))
    groups = tuple(t for t in chosen if t not in functions)
    task = SearchTask(
        SearchQuery(RID, functions=functions, log_groups=groups),
        ReplyTo(channel=CHANNEL, user_id=USER, team_id=TEAM),
        extra={"task_id": uuid.uuid4().hex},
    )
    pipeline.worker.handler(sns_event(pipeline, task.to_json()), Context("w"))

    calls = list(linked_logs.calls)
    assert {c.account for c in calls} <= {MONITORING_ACCOUNT, SOURCE_ACCOUNT, UNLINKED_ACCOUNT}
    assert {c.account for c in calls if c.operation in READS} <= {
        MONITORING_ACCOUNT,
        SOURCE_ACCOUNT,
    }
    assert all(c.outcome in ("ok", "not linked") for c in calls), linked_logs.refused()
    assert all(
        group.startswith("/aws/lambda/") for c in calls for group in c.log_groups if group
    ), calls
    if not chosen:
        assert {c.account for c in calls if c.operation == "FilterLogEvents"} == {
            MONITORING_ACCOUNT,
            SOURCE_ACCOUNT,
        }
