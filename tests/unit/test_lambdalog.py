"""The ingress's logs and metrics in Powertools' shapes, and its lean import graph.

``logthread.lambdalog`` stands in for Powertools on the ack path; these tests
print the same things through both and want the same keys and EMF documents.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger as PowertoolsLogger
from aws_lambda_powertools import Metrics as PowertoolsMetrics
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.metrics.provider import cold_start

from logthread import lambdalog, telemetry

ROOT = Path(__file__).resolve().parents[2]


class Context:
    function_name = "logthread-ingress"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:logthread-ingress"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def _log_through(make_logger: Any, service: str) -> list[dict[str, Any]]:
    stream = io.StringIO()
    logger = make_logger(service, stream)

    @logger.inject_lambda_context
    def handler(event: Any, context: Any) -> None:
        logger.append_keys(slack_user="U1")
        logging.getLogger(f"{service}.ingress").info("search accepted", extra={"outcome": "ok"})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger(f"{service}.ingress").exception("publish failed")

    handler({}, Context())
    return _lines(stream)


def test_log_lines_carry_powertools_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    theirs = _log_through(lambda s, out: PowertoolsLogger(service=s, stream=out), "pt-shape")
    ours = _log_through(lambda s, out: lambdalog.Logger(s, stream=out), "lean-shape")
    assert [line["message"] for line in ours] == ["search accepted", "publish failed"]
    for mine, powertools in zip(ours, theirs, strict=True):
        # Powertools adds a structured stack trace beside the text one; the rest is the same.
        assert set(mine) == set(powertools) - {"stack_trace"}
        same = {"level", "message", "cold_start", "function_arn", "slack_user", "xray_trace_id"}
        assert {k: mine[k] for k in same} == {k: powertools[k] for k in same}
    assert ours[1]["exception_name"] == "ValueError" and "boom" in ours[1]["exception"]


def test_a_later_powertools_logger_shares_the_handler() -> None:
    lean = lambdalog.Logger("shared-svc", stream=io.StringIO())
    PowertoolsLogger(service="shared-svc")
    assert logging.getLogger("shared-svc").handlers == [lean.handler]
    again = lambdalog.Logger("shared-svc")
    assert again.handler is lean.handler


def _emf(out: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    for doc in docs:
        doc["_aws"].pop("Timestamp")
    return docs


def _record(metrics: Any) -> None:
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> None:
        with telemetry.recording(metrics):
            telemetry.count(telemetry.ACCEPTED, dimension=("Kind", "command"))
            telemetry.count(telemetry.SEARCHES, 2)

    handler({}, Context())


def test_emf_documents_match_powertools(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    # Powertools keeps "cold" process-wide: an earlier test in this process may have spent it.
    monkeypatch.setattr(cold_start, "is_cold_start", True)
    _record(PowertoolsMetrics(namespace="Shape", service="logthread"))
    theirs = _emf(capsys.readouterr().out)
    _record(lambdalog.Metrics(namespace="Shape", service="logthread"))
    ours = _emf(capsys.readouterr().out)
    key = json.dumps
    assert sorted(map(key, ours)) == sorted(map(key, theirs))
    assert EphemeralMetrics  # the worker's path for counts by a dimension, unchanged


def test_metrics_can_be_silenced(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    _record(lambdalog.Metrics(namespace="Shape", service="logthread"))
    assert _emf(capsys.readouterr().out) == []


def test_the_ingress_handler_imports_none_of_the_heavy_sdks() -> None:
    """The ack's cold start: no boto3 session, slack_sdk, X-Ray SDK, Powertools or YAML."""
    code = """
import importlib.util, json, os, sys
os.environ.update(SLACK_SIGNING_SECRET="s", TASK_TOPIC_ARN="arn:aws:sns:us-east-1:1:t",
                  AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s", AWS_REGION="us-east-1",
                  AWS_ENDPOINT_URL="http://127.0.0.1:9", LOGTHREAD_CONFIG_JSON="{}")
spec = importlib.util.spec_from_file_location("ingress_app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
app.deps()
from logthread.http import HttpRequest
from logthread.ingress import handle
handle(HttpRequest("POST", "/slack/events", {}, "command=%2Flogsearch"), app.deps())
print(json.dumps(sorted(sys.modules)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "functions/ingress/app.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(out.stdout.splitlines()[-1])
    heavy = ("boto3", "botocore.session", "slack_sdk", "aws_xray_sdk", "aws_lambda_powertools")
    assert [m for m in modules if m.split(".")[0] in heavy or m in heavy] == []
    assert "yaml" not in modules and "jmespath" not in modules


def test_the_level_comes_from_the_environment_even_on_a_shared_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
    lambdalog.Logger("level-svc", stream=io.StringIO())
    assert logging.getLogger("level-svc.ingress").getEffectiveLevel() == logging.ERROR
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    lambdalog.Logger("level-svc")  # a second handler load, as the tests and local stack do
    assert logging.getLogger("level-svc.ingress").getEffectiveLevel() == logging.INFO
