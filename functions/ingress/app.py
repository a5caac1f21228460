"""Ingress Lambda: API Gateway HTTP API (payload v2) in, Slack's ack out.

Thin on purpose: the work is in :mod:`logthread.ingress`. Slack gives 3 seconds,
cold start included, so the import path stays lean (no Parameters unless
SLACK_SECRET_ARN is set) and the SNS client is built once per process.

The Tracer costs the cold start its X-Ray SDK import (about 150-250 ms measured
with ``python -m bench ingress``: ours/Bolt went from ~0.95 to ~1.2); it stays
because the one call worth a subsegment here, the SNS publish, is on the ack
path. ``auto_patch=False`` and botocore alone keep it to that import.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import (
    APIGatewayProxyEventV2,
)

from logthread import telemetry
from logthread.http import HttpRequest, HttpResponse
from logthread.ingress import IngressDeps, handle

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "logthread"))
tracer = Tracer(auto_patch=False)
tracer.patch(["botocore"])  # the SNS publish; nothing else is worth importing a patcher for
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "logthread")
# Counts by a dimension are written as their own EMF documents, so an invocation may
# leave the shared set empty: nothing to warn about (as Powertools' docs suggest).
warnings.filterwarnings("ignore", "No application metrics to publish*")
_deps: IngressDeps | None = None


def build_deps() -> IngressDeps:
    """Verifier, SNS task bus and config from the environment."""
    from logthread import config
    from logthread.aws import client
    from logthread.bus import SnsTaskBus
    from logthread.secrets import signing_secret
    from logthread.verify import RequestVerifier

    return IngressDeps(
        verifier=RequestVerifier(signing_secret()),
        bus=SnsTaskBus(client("sns"), os.environ.get("TASK_TOPIC_ARN", "")),
        config=config.load(),
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


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for ``POST /slack/events``."""
    ev = APIGatewayProxyEventV2(event)
    try:
        body = ev.decoded_body or ""
    except (ValueError, UnicodeDecodeError):
        return HttpResponse.empty(400).to_api_gateway()
    request = HttpRequest(
        method=ev.request_context.http.method,
        path=ev.raw_path,
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        body=body,
    )
    with telemetry.recording(metrics), telemetry.log_scope():
        return handle(request, deps()).to_api_gateway()
