"""Worker Lambda: SNS in (the task topic and the alarm topic), the follow-up queue, Slack out.

Thin on purpose: the work is in :mod:`logthread.worker`. Takes SNS events as
Lambda delivers them, a CloudWatch alarm's own event (an alarm whose action
invokes this function: ``alarmData``, no SNS), and SQS events: the follow-up queue's own messages, and
bodies that are SNS envelopes (raw delivery off), which is how the local stack
delivers the topics; it reports partial batch failures so only the failed
messages come back.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEvent, SNSMessage
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from logthread import telemetry
from logthread.worker import WorkerDeps, handle_message
from logthread.worker.deps import from_env

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "logthread"))
tracer = Tracer()
# EMF to stdout; POWERTOOLS_METRICS_NAMESPACE names the namespace (the template sets it).
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "logthread")
# Counts by a dimension are written as their own EMF documents, so an invocation may
# leave the shared set empty: nothing to warn about (as Powertools' docs suggest).
warnings.filterwarnings("ignore", "No application metrics to publish*")
_deps: WorkerDeps | None = None
# What an alarm action's invocation is delivered "from": never the task topic nor the
# follow-up queue, so a forged task inside such an event is dropped like one off the alarm
# topic. A constant, not the event's alarmArn, which whoever invokes the function writes.
ALARM_ACTION = "cloudwatch-alarm-action"


def deps() -> WorkerDeps:
    """The process-wide deps (clients, chat, config, store), built on first use."""
    global _deps
    if _deps is None:
        _deps = from_env()
    return _deps


def envelope(body: str) -> tuple[str, str, str]:
    """``(message, subject, topic ARN)`` from an SQS body: an SNS envelope, or a raw message."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not an envelope: the message as it came
        return body, "", ""
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        sns = SNSMessage(data)
        return sns.message, str(sns.get("Subject") or ""), str(sns.get("TopicArn") or "")
    return body, "", ""


def _handle(message: str, subject: str, d: WorkerDeps, topic_arn: str = "") -> Any:
    # One message's log keys (user, request id, alarm) end with it; a raise is a failure
    # the delivery's retry (then the DLQ) takes care of.
    with telemetry.log_scope():
        try:
            return handle_message(message, subject, d, topic_arn=topic_arn)
        except Exception:
            telemetry.count(telemetry.FAILURES, dimension=("Stage", "delivery"))
            raise


@tracer.capture_method
def _sqs_record(record: SQSRecord) -> Any:
    message, subject, topic_arn = envelope(record.body)
    # A raw SQS message (not an SNS envelope) comes from the queue itself: the follow-ups.
    return _handle(message, subject, deps(), topic_arn or record.event_source_arn)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Mapping[str, object] | None:
    """Lambda entry point: SNS records, an alarm action's event, or an SQS batch."""
    d = deps()
    d.remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    records = event.get("Records") or []
    with telemetry.recording(metrics):
        if isinstance(event.get("alarmData"), dict):
            # The whole event is the notification, read like the EventBridge form. A raise
            # fails the invocation: Lambda retries the async delivery, then the DLQ.
            _handle(json.dumps(event), "", d, ALARM_ACTION)
            return None
        if records and records[0].get("eventSource") == "aws:sqs":
            return process_partial_response(
                event=event,
                record_handler=_sqs_record,
                processor=BatchProcessor(event_type=EventType.SQS),
                context=context,
            )
        for record in SNSEvent(event).records:
            # A raise fails the invocation: Lambda retries the async delivery, then the DLQ.
            _handle(record.sns.message, record.sns.get("Subject") or "", d, record.sns.topic_arn)
        return None
