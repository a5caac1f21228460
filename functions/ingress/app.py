"""Ingress Lambda: API Gateway HTTP API (payload v2) in, Slack's ack out.

Thin on purpose: the work is in :mod:`logthread.ingress`. Slack gives 3 seconds,
cold start included, so this path imports only what the ack needs (README,
"The ack path"): no X-Ray SDK (Lambda's active tracing still records the
invocation), no boto3 (:mod:`logthread.sigv4` publishes the task and reads the
signing secret once, at init), no slack_sdk (:mod:`logthread.verify` checks the
signature on ``hmac``), no Powertools (:mod:`logthread.lambdalog` prints the
same JSON log lines and EMF documents; the v2 event is four keys to read).
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from logthread import telemetry
from logthread.http import HttpRequest, HttpResponse
from logthread.ingress import IngressDeps, handle
from logthread.lambdalog import Logger, Metrics

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "logthread"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "logthread")
_deps: IngressDeps | None = None


def build_deps() -> IngressDeps:
    """Verifier, SNS task bus and config from the environment."""
    from logthread import config, sigv4
    from logthread.bus import SnsTaskBus
    from logthread.secrets import signing_secret
    from logthread.verify import RequestVerifier

    target = sigv4.from_env("sns")
    if target is not None:
        sns: Any = sigv4.SnsClient(target)
    else:  # no keys in the environment (a local profile): boto3's provider chain
        from logthread.aws import client

        sns = client("sns")
    topic = os.environ.get("TASK_TOPIC_ARN", "")
    return IngressDeps(
        verifier=RequestVerifier(signing_secret(lean=True)),
        bus=SnsTaskBus(sns, topic),
        config=config.load(),
        # The task topic is the stack's own: its ARN names this account, with no call.
        own_account=topic.split(":")[4] if topic.count(":") >= 5 else "",
    )


def deps() -> IngressDeps:
    """The process-wide deps, built on first use."""
    global _deps
    if _deps is None:
        _deps = build_deps()
    return _deps


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In Lambda, build during init: that phase runs at full CPU before the first
    # request's clock starts. A failure here is retried on the first request.
    try:
        deps()
    except Exception:
        logger.exception("ingress init failed; retrying on the first request")


def request_of(event: dict[str, Any]) -> HttpRequest | None:
    """The request in an HTTP API (payload v2) event; ``None`` if its body does not decode."""
    body = event.get("body") or ""
    try:
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    http = (event.get("requestContext") or {}).get("http") or {}
    return HttpRequest(
        method=str(http.get("method", "")),
        path=str(event.get("rawPath", "")),
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        body=body,
    )


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for ``POST /slack/events``."""
    request = request_of(event)
    if request is None:
        return HttpResponse.empty(400).to_api_gateway()
    with telemetry.recording(metrics), telemetry.log_scope():
        return handle(request, deps()).to_api_gateway()
