"""Hostile input through the worker's real path (issue 7, item 6).

- Alarm payloads (truncated JSON, wrong types, huge dimensions) delivered to
  ``functions/worker/app.py`` end in a post in the channel, never a crash that
  loses the notification.
- Whatever log groups a task names, no CloudWatch Logs call of the worker
  names a group outside ``access.log_group_prefixes`` (checked on the real
  boto3 client, by a ``before-parameter-build`` listener on its event system).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slash_pipeline import CHANNEL, TEAM, USER, Context, Pipeline
from test_worker_tasks import sns_event

# The hostile-input strategies live with the unit properties; share them, don't copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_hostile_input import FRAGMENTS, RID, hostile_alarms

from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread_local.slack_standin import SlackStandin

ALLOWED = ("/aws/lambda/", "/app/shop/")
CONFIG: dict[str, Any] = {
    "access": {"teams": [TEAM], "log_group_prefixes": list(ALLOWED)},
    "default_channel": CHANNEL,
    "limits": {"search_deadline_seconds": 5},
}
SLOW = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    p = Pipeline(aws, slack, monkeypatch, config=CONFIG)
    for group in ("/aws/lambda/checkout-api", "/app/shop/orders", "/aws/rds/prod"):
        p.logs.create_log_group(logGroupName=group)
    yield p


@SLOW
@given(payload=hostile_alarms())
def test_hostile_alarm_payloads_are_posted_not_lost(
    pipeline: Pipeline, slack: SlackStandin, payload: tuple[str, str]
) -> None:
    body, subject = payload
    seen = _delivered.setdefault(id(pipeline), set())
    before = len(slack.calls_to("chat.postMessage")) + len(slack.calls_to("chat.update"))
    pipeline.worker.handler(sns_event(pipeline, body, subject or "ALARM"), Context("w"))
    after = len(slack.calls_to("chat.postMessage")) + len(slack.calls_to("chat.update"))
    # Hypothesis replays examples: a notification delivered again is rightly not re-posted.
    assert after > before or (body, subject) in seen
    seen.add((body, subject))


_delivered: dict[int, set[tuple[str, str]]] = {}


def _names(params: dict[str, Any]) -> list[str]:
    out = [str(params[k]) for k in ("logGroupName", "logGroupNamePrefix") if k in params]
    out += [str(g) for g in params.get("logGroupNames", [])]
    return out


targets = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=4)


@SLOW
@given(functions=targets, log_groups=targets)
@example(functions=[], log_groups=[])  # every allowed prefix
@example(functions=["checkout-api"], log_groups=["/app/shop/orders"])
@example(functions=["checkout-api"], log_groups=["/aws/rds/prod"])
def test_no_logs_call_names_a_group_outside_access(
    pipeline: Pipeline, slack: SlackStandin, functions: list[str], log_groups: list[str]
) -> None:
    deps = pipeline.worker.deps()
    named: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        named.extend(_names(params))

    deps.logs.meta.events.register(
        "before-parameter-build.cloudwatch-logs", record, unique_id="spy"
    )
    try:
        task = SearchTask(
            SearchQuery(RID, functions=tuple(functions), log_groups=tuple(log_groups)),
            ReplyTo(channel=CHANNEL, user_id=USER, team_id=TEAM),
            extra={"task_id": uuid.uuid4().hex},
        )
        pipeline.worker.handler(sns_event(pipeline, task.to_json()), Context("w"))
    finally:
        deps.logs.meta.events.unregister("before-parameter-build.cloudwatch-logs", unique_id="spy")
    assert all(name.startswith(ALLOWED) for name in named), named
    if not functions and not log_groups:
        assert named  # the property is not vacuous: searches do reach CloudWatch
