"""The bot reporting on itself: EMF metrics and structured log keys from real runs.

Both handlers run for real (ingress → SNS → SQS → worker, moto and the Slack
stand-in over HTTP); what they print to stdout is what CloudWatch would ingest:
Powertools EMF documents and Powertools Logger JSON lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from slash_pipeline import CHANNEL, CONFIG, TEAM, USER, Pipeline, message_text

from logthread import aws, telemetry
from logthread.cli import main as cli_main
from logthread_local import seed as seeding
from logthread_local.slack_standin import SlackStandin
from tests.functional.test_alarm_flow import HOGE_GROUP, notification, put_lines, python_request

RID = seeding.SEED_REQUEST_ID
ALARM = "HogeService-Errors"
FAILED = "eeeeeeee-1111-4222-8333-444444444444"


def emf(out: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every EMF document printed: ``{(metric, ((dimension, value), ...)): value}``."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for doc in _json_lines(out):
        meta = doc.get("_aws")
        if not isinstance(meta, dict):
            continue
        [directive] = meta["CloudWatchMetrics"]
        assert directive["Namespace"] == "LogthreadTest"
        dims = tuple(sorted((d, str(doc[d])) for d in directive["Dimensions"][0] if d != "service"))
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]
            total = sum(value) if isinstance(value, list) else value
            key = (metric["Name"], dims)
            found[key] = found.get(key, 0) + total
    return found


def logs(out: str) -> list[dict[str, Any]]:
    """The Powertools Logger lines printed."""
    return [d for d in _json_lines(out) if "level" in d and "message" in d]


def _json_lines(out: str) -> Iterator[dict[str, Any]]:
    for line in out.splitlines():
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                yield doc


def by(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> dict:
    return {dims: v for (n, dims), v in metrics.items() if n == name}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LogthreadTest")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")


@pytest.fixture
def pipeline(
    env: None, aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Iterator[Pipeline]:
    config = {
        **CONFIG,
        "default_channel": CHANNEL,
        "log_groups": [{"alarm": ALARM, "log_groups": [HOGE_GROUP]}],
    }
    p = Pipeline(aws, slack, monkeypatch, config=config)
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    with logs_to_stdout(p):
        yield p


class _CurrentStdout:
    """Whatever ``sys.stdout`` is when a line is written (capsys swaps it per phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@contextmanager
def logs_to_stdout(p: Pipeline) -> Iterator[None]:
    """Point the handlers' Logger at this test's stdout (it keeps the stream it first got)."""
    # The process-wide "logthread" logger keeps the handler the first Logger attached.
    [handler] = logging.getLogger(p.worker.logger.service).handlers
    assert isinstance(handler, logging.StreamHandler)
    # Not setStream: it flushes the old stream, which may be an earlier test's, closed.
    previous, handler.stream = handler.stream, _CurrentStdout()
    try:
        yield
    finally:
        handler.stream = previous


def test_a_search_through_both_handlers_prints_its_metrics_and_keys(
    pipeline: Pipeline, slack: SlackStandin, capsys: Any
) -> None:
    capsys.readouterr()
    pipeline.command(f"{RID} in {seeding.SEED_FUNCTION} last 2h")
    ingress_out = capsys.readouterr().out
    assert by(emf(ingress_out), "RequestsAccepted") == {(("Kind", "command"),): 1}
    [accepted] = [line for line in logs(ingress_out) if line["message"] == "search accepted"]
    assert (accepted["slack_user"], accepted["slack_team"], accepted["slack_channel"]) == (
        USER,
        TEAM,
        CHANNEL,
    )
    assert accepted["request_id"] == RID

    assert pipeline.deliver() == {"batchItemFailures": []}
    worker_out = capsys.readouterr().out
    metrics = emf(worker_out)
    [parent] = slack.messages(CHANNEL)
    [reply] = slack.replies(CHANNEL, parent["ts"])
    shown = re.search(r"(\d+) lines?", message_text(reply))
    assert shown is not None
    assert by(metrics, "Searches") == {(): 1}
    assert by(metrics, "LinesFound") == {(): int(shown[1])}
    assert "PartialResults" not in {name for name, _ in metrics}
    apis = by(metrics, "ApiCalls")
    assert (("Api", "FilterLogEvents"),) in apis and all(v >= 1 for v in apis.values())
    posted = [c for c in slack.calls_to("chat.postMessage") if c.status == 200]
    assert by(metrics, "SlackPosts") == {(("Operation", "post"),): len(posted)}
    assert "Failures" not in {name for name, _ in metrics}

    [answered] = [line for line in logs(worker_out) if line["message"] == "search answered"]
    assert answered["slack_user"] == USER and answered["slack_channel"] == CHANNEL
    assert answered["slack_team"] == TEAM and answered["request_id"] == RID
    # The keys belong to that message: the invocation's last lines don't carry them.
    assert all("slack_user" not in line for line in logs(capsys.readouterr().out))


def test_an_alarm_is_logged_by_name_but_never_a_metric_dimension(
    pipeline: Pipeline, slack: SlackStandin, capsys: Any
) -> None:
    change = int(time.time() * 1000) - 10_000
    put_lines(
        pipeline.logs,
        HOGE_GROUP,
        python_request(FAILED, change - 30_000, [(3, "ERROR", "DB fetch failed: boom")]),
    )
    body, subject = notification("lambda_errors_hoge.json", change)
    pipeline.sns.publish(TopicArn=pipeline.topic, Message=body, Subject=subject)
    capsys.readouterr()
    assert pipeline.deliver() == {"batchItemFailures": []}
    out = capsys.readouterr().out

    metrics = emf(out)
    [parent] = slack.messages(CHANNEL)
    requests = [
        r for r in slack.replies(CHANNEL, parent["ts"]) if message_text(r).startswith("Request ")
    ]
    assert any(FAILED in message_text(r) for r in requests)
    assert by(metrics, "Searches") == {(): len(requests)}  # one per failing request threaded
    assert by(metrics, "LinesFound")[()] >= 5 * len(requests)
    assert by(metrics, "SlackPosts")[(("Operation", "post"),)] == len(
        slack.calls_to("chat.postMessage")
    )
    everything = json.dumps([doc for doc in _json_lines(out) if "_aws" in doc])
    assert ALARM not in everything and FAILED not in everything  # no high-cardinality dims
    named = [line for line in logs(out) if line.get("alarm") == ALARM]
    assert {"notification"} <= {line["message"] for line in named}


def test_a_delivery_that_fails_counts_a_failure(
    env: None, aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    p = Pipeline(aws, slack, monkeypatch)  # no default channel: an alarm has nowhere to go
    body, subject = notification("lambda_errors_hoge.json", int(time.time() * 1000))
    p.sns.publish(TopicArn=p.topic, Message=body, Subject=subject)
    capsys.readouterr()
    with pytest.raises(Exception, match="All records failed"):
        p.deliver()
    assert by(emf(capsys.readouterr().out), "Failures") == {(("Stage", "delivery"),): 1}


def test_a_dead_lettered_reply_counts_a_dead_letter_and_a_slack_error(
    pipeline: Pipeline, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    sqs = boto3.client("sqs", endpoint_url=pipeline.sqs.meta.endpoint_url)
    queue = sqs.create_queue(QueueName="slack-dead-letters")["QueueUrl"]
    monkeypatch.setenv("SLACK_DEAD_LETTER_QUEUE_URL", queue)  # read when the worker builds deps
    slack.fail_next(
        "chat.postMessage",
        status=200,
        error="msg_too_long",
        match=lambda p: bool(p.get("thread_ts")),
    )
    pipeline.command(f"{RID} in {seeding.SEED_FUNCTION} last 2h")
    capsys.readouterr()
    assert pipeline.deliver() == {"batchItemFailures": []}
    metrics = emf(capsys.readouterr().out)
    assert by(metrics, "DeadLetters") == {(): 1}
    assert by(metrics, "SlackErrors") == {(("Operation", "post"),): 1}
    assert by(metrics, "SlackPosts") == {(("Operation", "post"),): 1}  # the parent
    assert len(sqs.receive_message(QueueUrl=queue).get("Messages", [])) == 1


def test_the_cli_prints_no_emf_even_beside_loaded_handlers(
    pipeline: Pipeline, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", pipeline.sqs.meta.endpoint_url)
    aws.client.cache_clear()
    capsys.readouterr()
    code = cli_main(["search", RID, "-f", seeding.SEED_FUNCTION])
    out = capsys.readouterr().out
    assert code == 0 and RID in out
    assert "_aws" not in out and "CloudWatchMetrics" not in out
    telemetry.count(telemetry.SEARCHES)  # outside an invocation: recorded nowhere
    assert capsys.readouterr().out == ""
