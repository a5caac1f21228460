"""The embedded local stack: the whole bot on this machine, no AWS account, no Slack workspace.

One :class:`LocalStack` starts, on free loopback ports:

- moto server as AWS, with the task topic, the alarm topic and the table the SAM
  template declares (names in :data:`RESOURCES`);
- an SQS queue subscribed to each topic with raw delivery off, so the worker is
  handed the real SNS envelope (moto can't deliver SNS to Lambda without Docker),
  and the follow-up queue the worker sends its next looks at an open alarm to;
- a pump thread per queue that hands each message to the worker's Lambda handler
  as the SQS event Lambda would build, and deletes it once handled (a message the
  worker keeps failing moves to a dead-letter queue after three receives);
- the Slack Web API stand-in (or a real workspace, when given a bot token);
- the ingress, served over HTTP as API Gateway's HTTP API calls it (payload v2:
  lower-cased headers, base64 body, ``requestContext.http``);
- CloudWatch cross-account observability in front of moto for the bot's Logs calls
  (:class:`~logthread_local.linkedlogs.LinkedLogsProxy`): the stack's account is the
  monitoring account, ``linked_accounts`` its source accounts (moto keeps them all).

Everything stops on :meth:`LocalStack.stop`, on leaving the ``with`` block, and
(for ``make demo`` and ``logthread dev``) on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from logthread_local import slackreq
from logthread_local.aws import LOCAL_ENV, in_account, moto_server
from logthread_local.delivery import Delivery, Pump
from logthread_local.gateway import Gateway
from logthread_local.lambdas import (
    ACCOUNT_ID,
    REGION,
    Handler,
    LambdaContext,
    load_handler,
)
from logthread_local.linkedlogs import LinkedLogsProxy

ROOT = Path(__file__).resolve().parents[2]

# Mirrors template.yaml: the topics, the table (pk ``id`` S, TTL ``expiration``)
# and the worker's dead-letter queue. Locally the names are fixed so that a
# developer can find them with the AWS CLI pointed at the stack.
RESOURCES = {
    "task_topic": "logthread-tasks",
    "alarm_topic": "logthread-alarms",
    "table": "logthread",
    "dlq": "logthread-worker-dlq",
    "slack_dlq": "logthread-slack-dlq",
    "follow_up": "logthread-follow-ups",
}
MAX_RECEIVES = 3
SLACK_DLQ_ENV = "SLACK_DEAD_LETTER_QUEUE_URL"
# botocore's endpoint for CloudWatch Logs alone: the bot's Logs calls go through the
# cross-account proxy, everything else straight to moto.
LOGS_ENDPOINT_ENV = "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"
POLL_SECONDS = 0.05

log = logging.getLogger("logthread_local.stack")

_session_lock = threading.Lock()
_shared_session: boto3.session.Session | None = None


class LocalStack:
    """The bot, end to end, on loopback. Use as a context manager.

    Parameters
    ----------
    slack_token, signing_secret:
        With a real bot token the worker posts to that Slack workspace (slack_sdk's
        default base URL) and no stand-in starts. Without one, the stand-in serves.
    config:
        The logthread configuration document (as ``LOGTHREAD_CONFIG_JSON`` takes it).
    ingress_handler, worker_handler:
        Override the Lambda handlers (tests); default: functions/*/app.py.
    aws_endpoint:
        Reuse a running moto server instead of starting one.
    workers:
        Concurrent worker "instances" (each its own handler module, clients and
        chat, as separate Lambda instances are) draining each queue.
    retry_delay:
        Seconds before a delivery the worker failed is tried again (Lambda waits a
        minute or more; 0 retries at once).
    quiet:
        Keep the handlers' Powertools logs and moto's access log off the terminal.
    linked_accounts:
        Source accounts linked to the stack's (monitoring) account: the bot reads their log
        groups by ARN. Seed them with :meth:`client` and its ``account`` argument.
    """

    def __init__(
        self,
        *,
        slack_token: str = "",
        signing_secret: str = "",
        default_channel: str = "C0ALERTS",
        config: Mapping[str, Any] | None = None,
        ingress_handler: Handler | None = None,
        worker_handler: Handler | None = None,
        aws_endpoint: str = "",
        quiet: bool = True,
        workers: int = 1,
        retry_delay: int = 0,
        linked_accounts: Iterable[str] = (),
    ) -> None:
        self.real_slack = bool(slack_token)
        self.bot_token = slack_token or "xoxb-local-logthread"
        self.signing_secret = signing_secret or "local-signing-secret"
        self.default_channel = default_channel
        self.config = dict(config or {"default_channel": default_channel})
        self.quiet = quiet
        self._ingress_handler = ingress_handler
        self._worker_handler = worker_handler
        self._given_endpoint = aws_endpoint
        self.workers = max(1, workers)
        self.retry_delay = retry_delay
        self.aws_endpoint = ""
        self.linked_accounts = list(linked_accounts)
        self.logs_proxy: LinkedLogsProxy | None = None
        self.ingress_url = ""
        self.slack: Any = None  # the SlackStandin, when not on real Slack
        self.slack_api_url = ""
        self.task_topic_arn = ""
        self.alarm_topic_arn = ""
        self.table_name = RESOURCES["table"]
        self.queues: dict[str, str] = {}  # "task"/"alarm"/"follow_up"/"dlq"/"slack_dlq" -> URL
        self.pump: Pump | None = None
        self.ingress_calls: list[tuple[dict[str, Any], Any]] = []
        self.ingress_base = ""
        self._cleanups: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start every part; on any failure, stop what had started and re-raise."""
        if self._started:
            return self
        self._started = True
        try:
            self._start_aws()
            self._start_logs_proxy()
            self._start_slack()
            self._set_env()
            self._create_resources()
            self._load_handlers()
            self._start_ingress()
            self._start_pumps()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the pumps, the ingress, the stand-in and moto; restore the environment."""
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception:  # one part failing to stop must not keep the others running
                log.exception("stopping a local stack part failed")
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        _forget_core_clients()

    def _start_aws(self) -> None:
        if self.quiet:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self._given_endpoint:
            self.aws_endpoint = self._given_endpoint
            return
        ctx = moto_server()
        self.aws_endpoint = ctx.__enter__()

        def _stop_moto() -> None:
            ctx.__exit__(None, None, None)

        self._cleanups.append(_stop_moto)

    def _start_logs_proxy(self) -> None:
        self.logs_proxy = LinkedLogsProxy(
            self.aws_endpoint, monitoring=ACCOUNT_ID, linked=self.linked_accounts, region=REGION
        ).start()
        self._cleanups.append(self.logs_proxy.stop)

    def _start_slack(self) -> None:
        if self.real_slack:
            self.slack_api_url = ""
            return
        from logthread_local.slack_standin import SlackStandin

        self.slack = SlackStandin(token=self.bot_token).start()
        self.slack_api_url = self.slack.url
        self._cleanups.append(self.slack.stop)

    def _set_env(self) -> None:
        env = {
            **LOCAL_ENV,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            LOGS_ENDPOINT_ENV: self.logs_proxy.url if self.logs_proxy else self.aws_endpoint,
            "TASK_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{RESOURCES['task_topic']}",
            "TABLE_NAME": self.table_name,
            "DEFAULT_CHANNEL": self.default_channel,
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "LOGTHREAD_CONFIG_JSON": json.dumps(self.config),
            "POWERTOOLS_SERVICE_NAME": "logthread",
            "POWERTOOLS_METRICS_NAMESPACE": "logthread",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # EMF metrics go to stdout; locally they'd only bury the conversation.
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        if self.quiet:
            env["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        if self.slack_api_url:
            env["SLACK_API_URL"] = self.slack_api_url
        unset = ["AWS_PROFILE", "SLACK_SECRET_ARN", "LOGTHREAD_CONFIG"]
        if not self.slack_api_url:
            unset.append("SLACK_API_URL")
        for key in [*env, *unset]:
            self._saved_env.setdefault(key, os.environ.get(key))
        for key in unset:
            os.environ.pop(key, None)
        os.environ.update(env)
        # Process-wide clients built before the stack would point at another endpoint.
        _forget_core_clients()
        self._no_cold_start_metric()

    def _no_cold_start_metric(self) -> None:
        """Keep Powertools' ColdStart EMF line out of stdout while the stack runs.

        The handlers' ``log_metrics(capture_cold_start_metric=True)`` prints it through
        ``single_metric``, which ignores ``POWERTOOLS_METRICS_DISABLED``; it is printed
        only while the process's cold-start flag is up, so the stack lowers the flag
        and puts it back when it stops. The handlers themselves are unchanged.
        """
        from aws_lambda_powertools.metrics.provider import cold_start

        was = cold_start.is_cold_start
        cold_start.is_cold_start = False

        def _restore() -> None:
            cold_start.is_cold_start = was

        self._cleanups.append(_restore)

    def client(self, service: str, account: str = "") -> Any:
        """A boto3 client for ``service`` on the stack's moto server (a new one per call).

        ``account`` makes it act as that account (moto's account header): how a source
        account is seeded. It reaches moto directly, never through the Logs proxy.
        """
        # One session for every stack in the process: a fresh session re-reads botocore's
        # bundled data (~0.1 s of CPU per client); the session holds no endpoint and
        # the client gets everything it uses as an argument. Sessions aren't thread-safe
        # (the pumps build their clients on their own threads), hence the lock.
        global _shared_session
        with _session_lock:
            if _shared_session is None:
                _shared_session = boto3.session.Session()
            session: Any = _shared_session
            made = session.client(
                service,
                endpoint_url=self.aws_endpoint,
                region_name=REGION,
                aws_access_key_id=LOCAL_ENV["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
                config=BotoConfig(retries={"mode": "standard", "max_attempts": 3}),
            )
        return in_account(made, account) if account else made

    def _create_resources(self) -> None:
        sns, sqs, ddb = self.client("sns"), self.client("sqs"), self.client("dynamodb")
        self.task_topic_arn = sns.create_topic(Name=RESOURCES["task_topic"])["TopicArn"]
        self.alarm_topic_arn = sns.create_topic(Name=RESOURCES["alarm_topic"])["TopicArn"]
        existing = ddb.list_tables()["TableNames"]
        if self.table_name not in existing:
            ddb.create_table(
                TableName=self.table_name,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            ddb.update_time_to_live(
                TableName=self.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
            )
        slack_dlq = sqs.create_queue(QueueName=RESOURCES["slack_dlq"])["QueueUrl"]
        self.queues["slack_dlq"] = slack_dlq
        self._saved_env.setdefault(SLACK_DLQ_ENV, os.environ.get(SLACK_DLQ_ENV))
        os.environ[SLACK_DLQ_ENV] = slack_dlq
        dlq_url = sqs.create_queue(QueueName=RESOURCES["dlq"])["QueueUrl"]
        dlq_arn = self._queue_arn(sqs, dlq_url)
        self.queues["dlq"] = dlq_url
        # The worker's follow-ups to itself (SQS delay messages), read by a pump like the rest.
        follow_up = sqs.create_queue(
            QueueName=RESOURCES["follow_up"],
            Attributes={
                "VisibilityTimeout": "120",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
                ),
            },
        )["QueueUrl"]
        self.queues["follow_up"] = follow_up
        for key, value in (
            ("FOLLOW_UP_QUEUE_URL", follow_up),
            ("FOLLOW_UP_QUEUE_ARN", self._queue_arn(sqs, follow_up)),
        ):
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        for topic, arn in (("task", self.task_topic_arn), ("alarm", self.alarm_topic_arn)):
            url = sqs.create_queue(
                QueueName=f"logthread-local-{topic}-delivery",
                Attributes={
                    # As long as a delivery may run (the worker's timeout), as AWS advises:
                    # a shorter one hands a message still being worked on (a worker
                    # sleeping a Slack Retry-After) to a second worker.
                    "VisibilityTimeout": "120",
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
                    ),
                },
            )["QueueUrl"]
            sns.subscribe(
                TopicArn=arn,
                Protocol="sqs",
                Endpoint=self._queue_arn(sqs, url),
                Attributes={"RawMessageDelivery": "false"},
            )
            self.queues[topic] = url

    @staticmethod
    def _queue_arn(sqs: Any, url: str) -> str:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attrs["Attributes"]["QueueArn"])

    def _load_handlers(self) -> None:
        # moto has no GetMetricWidgetImage: the stack draws the alarm graphs itself.
        from logthread import aws as core_aws
        from logthread_local import widget_png

        self._cleanups.append(widget_png.install(core_aws._session(), self.aws_endpoint))
        tag = uuid.uuid4().hex[:8]
        if self._ingress_handler is None:
            self._ingress_handler = load_handler(
                ROOT / "functions/ingress/app.py", f"logthread_local._ingress_app_{tag}"
            )
        if self._worker_handler is None:
            self._worker_handler = load_handler(
                ROOT / "functions/worker/app.py", f"logthread_local._worker_app_{tag}"
            )

    # -- ingress over HTTP -------------------------------------------------------------------

    def _start_ingress(self) -> None:
        gateway = Gateway(self.invoke_ingress, poll=POLL_SECONDS).start()
        self.ingress_base, self.ingress_url = gateway.base_url, gateway.url
        self._cleanups.append(gateway.stop)

    def invoke_ingress(self, event: dict[str, Any]) -> Any:
        """Call the ingress Lambda handler with an API Gateway v2 event."""
        assert self._ingress_handler is not None
        ctx = LambdaContext("logthread-ingress", timeout_seconds=10, memory_limit_in_mb=256)
        result = self._ingress_handler(event, ctx)
        with self._lock:
            self.ingress_calls.append((event, result))
        return result

    # -- SNS -> SQS -> worker ----------------------------------------------------------------

    def _start_pumps(self) -> None:
        assert self._worker_handler is not None
        queues = {topic: self.queues[topic] for topic in ("task", "alarm", "follow_up")}
        handlers = [self._worker_handler]
        for n in range(1, self.workers):
            # A module of its own per instance: its own deps, clients and Slack pacing.
            tag = f"{uuid.uuid4().hex[:8]}_{n}"
            path = ROOT / "functions/worker/app.py"
            handlers.append(load_handler(path, f"logthread_local._worker_app_{tag}"))
        self.pump = Pump(
            self.client, queues, handlers, poll=POLL_SECONDS, retry_delay=self.retry_delay
        ).start()
        self._cleanups.append(self.pump.stop)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every message handed to the worker so far, oldest first."""
        return [] if self.pump is None else self.pump.deliveries

    def wait_idle(self, timeout: float = 30.0, *, settle: float = 0.3) -> bool:
        """Wait until both queues are empty and the worker is idle; False on timeout."""
        return self.pump is not None and self.pump.wait_idle(timeout, settle=settle)

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages the worker kept failing on (peeked, left in the DLQ)."""
        sqs = self.client("sqs")
        got = sqs.receive_message(
            QueueUrl=self.queues["dlq"], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    # -- what a user or AWS does -------------------------------------------------------------

    def publish_alarm(self, message: Mapping[str, Any] | str, subject: str = "") -> str:
        """Publish a notification to the alarm topic as CloudWatch would; return its id."""
        body = message if isinstance(message, str) else json.dumps(message)
        kwargs: dict[str, Any] = {"TopicArn": self.alarm_topic_arn, "Message": body}
        if subject:
            kwargs["Subject"] = subject[:100]
        return str(self.client("sns").publish(**kwargs)["MessageId"])

    def put_log_lines(
        self,
        log_group: str,
        lines: Iterable[tuple[int, str]],
        *,
        log_stream: str = "",
        account: str = "",
    ) -> str:
        """Write ``(timestamp_ms, message)`` lines to a log group (created if missing).

        The stream defaults to a Lambda-style ``YYYY/MM/DD/[$LATEST]<hex>`` named
        for the first line's UTC day. ``account``: a linked source account's group (default:
        the stack's own). Returns the stream name.
        """
        events: list[dict[str, Any]] = sorted(
            ({"timestamp": int(t), "message": m} for t, m in lines), key=_ts
        )
        if not events:
            return log_stream
        logs = self.client("logs", account)
        if not log_stream:
            day = time.strftime("%Y/%m/%d", time.gmtime(events[0]["timestamp"] / 1000))
            log_stream = f"{day}/[$LATEST]{uuid.uuid4().hex}"
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=log_group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=log_group, logStreamName=log_stream)
        for i in range(0, len(events), 1000):
            logs.put_log_events(
                logGroupName=log_group, logStreamName=log_stream, logEvents=events[i : i + 1000]
            )
        return log_stream

    def slash_command(
        self, text: str, *, channel_id: str = "", user_id: str = slackreq.USER["id"], **fields: str
    ) -> dict[str, Any]:
        """Send ``/logsearch <text>`` to the ingress as Slack would; return the HTTP response."""
        channel_id = channel_id or self.default_channel
        response_url = fields.pop("response_url", "") or self._response_url(channel_id, user_id)
        body = slackreq.slash_command_body(
            text, channel_id=channel_id, user_id=user_id, response_url=response_url, **fields
        )
        return self.post_to_ingress(body)

    def click(
        self,
        message: Mapping[str, Any],
        action: Mapping[str, Any],
        *,
        channel_id: str = "",
        user_id: str = slackreq.USER["id"],
        **fields: Any,
    ) -> dict[str, Any]:
        """Click ``action`` (a button of ``message``) as Slack posts it; return the response."""
        channel_id = channel_id or str(message.get("channel") or self.default_channel)
        response_url = fields.pop("response_url", "") or self._response_url(channel_id, user_id)
        body = slackreq.block_actions_body(
            message,
            action,
            channel_id=channel_id,
            user_id=user_id,
            response_url=response_url,
            **fields,
        )
        return self.post_to_ingress(body)

    def shortcut(
        self, message: Mapping[str, Any], callback_id: str, *, channel_id: str, **fields: Any
    ) -> dict[str, Any]:
        """Use the message shortcut ``callback_id`` on ``message``; return the response."""
        user_id = fields.pop("user_id", slackreq.USER["id"])
        body = slackreq.message_action_body(
            message,
            callback_id=callback_id,
            channel_id=channel_id,
            user_id=user_id,
            response_url=self._response_url(channel_id, user_id),
            **fields,
        )
        return self.post_to_ingress(body)

    def post_to_ingress(self, body: str, *, timestamp: int | None = None) -> dict[str, Any]:
        """POST a form body to the local ingress URL, signed with the stack's secret."""
        headers = slackreq.signed_headers(self.signing_secret, body, timestamp=timestamp)
        return slackreq.post(self.ingress_url, body, headers)

    def _response_url(self, channel: str, user: str) -> str:
        # On real Slack the workspace makes response URLs; only the stand-in can here.
        return "" if self.slack is None else str(self.slack.response_url(channel, user))


def _forget_core_clients() -> None:
    """Drop the core's cached boto3 clients: they hold the endpoint they were built for."""
    from logthread import aws as core_aws

    core_aws.client.cache_clear()
    core_aws.quick_client.cache_clear()
    core_aws._session.cache_clear()


def _ts(event: dict[str, Any]) -> int:
    return int(event["timestamp"])
