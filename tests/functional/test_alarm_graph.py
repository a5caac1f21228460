"""The alarm's metric graph in its thread (issue 13, part 1).

GetMetricWidgetImage is answered the way the local stack answers it (moto has
none: ``logthread_local.widget_png`` draws a PNG from moto's metric data); the
file goes through the real slack_sdk ``files_upload_v2`` to the stand-in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slash_pipeline import CHANNEL, TEAM, Context, Pipeline
from test_alarm_action import _now_delta, action_event
from test_alarm_flow import retimed
from test_worker_tasks import sns_event

from logthread import aws as core_aws
from logthread_local import widget_png
from logthread_local.slack_standin import SlackStandin
from tests.conftest import load_fixture

CONFIG = {"access": {"teams": [TEAM]}, "default_channel": CHANNEL}


@pytest.fixture
def pipeline(aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    core_aws.quick_client.cache_clear()
    yield Pipeline(aws, slack, monkeypatch, config=CONFIG)
    core_aws.quick_client.cache_clear()


def _files(slack: SlackStandin, ts: str) -> list[dict[str, object]]:
    return [f for r in slack.replies(CHANNEL, ts) for f in r.get("files") or []]


def test_the_graph_is_the_first_reply_and_comes_again_on_ok(
    pipeline: Pipeline, slack: SlackStandin, aws: str
) -> None:
    undo = widget_png.install(core_aws._session(), aws)
    try:
        core_aws.quick_client.cache_clear()
        pipeline.worker.handler(action_event(), Context("w"))
        (parent,) = slack.messages(CHANNEL)
        first = slack.replies(CHANNEL, parent["ts"])[0]
        (graph,) = first["files"]
        assert graph["name"] == "graph.png"
        assert slack.file(graph["id"])["content"].startswith(b"\x89PNG")

        env = load_fixture("alarms/eventbridge_alarm_state_change.json")
        ok = json.loads(retimed(env["Message"], _now_delta() + timedelta(minutes=1)))
        ok["detail"]["state"]["value"] = "OK"
        pipeline.worker.handler(sns_event(pipeline, json.dumps(ok), ""), Context("w"))
        names = [f["name"] for f in _files(slack, parent["ts"])]
        assert names == ["graph.png", "graph-ok.png"]
    finally:
        undo()


def test_a_graph_that_fails_costs_the_alarm_nothing(
    pipeline: Pipeline, slack: SlackStandin
) -> None:
    # moto answers GetMetricWidgetImage with a 500: one retry, then the alarm goes on.
    started = time.monotonic()
    pipeline.worker.handler(action_event(), Context("w"))
    (parent,) = slack.messages(CHANNEL)
    assert "FugaService-Errors" in json.dumps(parent)
    assert _files(slack, parent["ts"]) == []
    assert time.monotonic() - started < 8
