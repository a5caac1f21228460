"""``logthread redrive``: the worker's dead-letter queue (SQS on moto) handed back to the worker.

The queue holds what Lambda's on-failure destination writes, in AWS's shape
(``requestContext``, ``requestPayload`` = the SNS event, ``responseContext``,
``responsePayload``). Lambda is moto's: without Docker its simple backend accepts an
invocation (202) without running it, and its default backend refuses a function that
does not exist. To see the re-driven event reach the worker, a small stand-in of
Lambda's Invoke API runs the real worker handler (``functions/worker/app.py``) on
what it is sent, against moto and the Slack stand-in. The local stack's own shape
(an SQS copy of an SNS envelope) goes back through its topic and is delivered by
the stack.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest

from logthread import aws as core_aws
from logthread import cli
from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
from logthread_local import seed as seeding
from logthread_local.lambdas import ACCOUNT_ID, REGION, Handler, LambdaContext, load_handler
from logthread_local.slack_standin import SlackStandin
from logthread_local.stack import LocalStack
from tests.conftest import load_fixture

ROOT = Path(__file__).resolve().parents[2]
ALARM_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:logthread-alarms"
TASK_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:logthread-tasks"
CHANNEL = "C0REDRIVE"
HOGE = load_fixture("alarms/lambda_errors_hoge.json")
PLAIN = load_fixture("alarms/plain_text.json")


# -- what Lambda writes to the queue --------------------------------------------------------


def sns_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda hands a function subscribed to a topic, for one SNS message."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{envelope['TopicArn']}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": envelope.get("MessageId") or str(uuid.uuid4()),
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope.get("Timestamp", "2024-05-14T03:20:01.000Z"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def destination_record(
    function_arn: str,
    envelope: dict[str, Any],
    *,
    condition: str = "RetriesExhausted",
    attempts: int = 3,
    error: tuple[str, str] | None = ("RuntimeError", "Slack is down"),
) -> dict[str, Any]:
    """What Lambda sends its on-failure destination for an async invocation it gave up on."""
    request_id = str(uuid.uuid4())
    doc: dict[str, Any] = {
        "version": "1.0",
        "timestamp": "2024-05-14T03:21:07.568Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": sns_event(envelope),
    }
    if error is not None:
        doc["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        doc["responsePayload"] = {
            "errorType": error[0],
            "errorMessage": error[1],
            "requestId": request_id,
            "stackTrace": ['  File "/var/task/app.py", line 90, in handler\n'],
        }
    return doc


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def task_envelope(request_id: str = seeding.SEED_REQUEST_ID) -> dict[str, Any]:
    query = SearchQuery(request_id, functions=(seeding.SEED_FUNCTION,))
    reply = ReplyTo(channel=CHANNEL, user_id="U0ASKER", team_id="T0")
    task = SearchTask(query, reply, extra={"task_id": uuid.uuid4().hex})
    return {"TopicArn": TASK_TOPIC, "Subject": "logthread task", "Message": task.to_json()}


# -- the queue, Lambda and the command --------------------------------------------------------


@dataclass
class Queue:
    sqs: Any
    url: str

    def put(self, body: dict[str, Any] | str) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        return str(self.sqs.send_message(QueueUrl=self.url, MessageBody=text)["MessageId"])

    def visible(self) -> dict[str, str]:
        """MessageId -> body of every message another reader could take right now."""
        got = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return {m["MessageId"]: m["Body"] for m in got.get("Messages", [])}


@pytest.fixture(autouse=True)
def _fresh_core_clients() -> Iterator[None]:
    # The CLI's clients are cached per process; each test's endpoint differs.
    core_aws.client.cache_clear()
    core_aws._session.cache_clear()
    yield
    core_aws.client.cache_clear()
    core_aws._session.cache_clear()


@pytest.fixture
def dlq(aws: str) -> Queue:
    sqs = boto3.client("sqs", endpoint_url=aws)
    name = f"logthread-worker-dlq-{uuid.uuid4().hex[:8]}"
    return Queue(sqs, sqs.create_queue(QueueName=name)["QueueUrl"])


def _moto_config(endpoint: str, config: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture
def worker_function(aws: str) -> Iterator[str]:
    """A worker function in moto's Lambda, on its Docker-less backend; yields its ARN."""
    _moto_config(aws, {"lambda": {"use_docker": False}})
    try:
        iam = boto3.client("iam", endpoint_url=aws)
        role = iam.create_role(
            RoleName=f"worker-{uuid.uuid4().hex[:8]}",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("app.py", "def handler(event, context):\n    return None\n")
        created = boto3.client("lambda", endpoint_url=aws).create_function(
            FunctionName=f"logthread-WorkerFunction-{uuid.uuid4().hex[:8]}",
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
        )
        yield str(created["FunctionArn"])
    finally:
        _moto_config(aws, {"lambda": {"use_docker": True}})


def redrive(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["redrive", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# -- listing, dry run, re-drive, failure ------------------------------------------------------


def test_the_list_says_when_why_what_and_how_many_attempts(
    dlq: Queue, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = function_arn("logthread-WorkerFunction-AbC123")
    ids = {
        dlq.put(destination_record(worker, HOGE)),
        dlq.put(destination_record(worker, task_envelope(), error=("TimeoutError", "slow"))),
        dlq.put(
            destination_record(worker, PLAIN, condition="EventAgeExceeded", attempts=1, error=None)
        ),
    }

    code, out = redrive(capsys, "--queue-url", dlq.url, "--list")

    assert code == 1, out
    assert (
        "failed 2024-05-14 03:21:07 UTC after 3 attempts (RetriesExhausted): "
        "alarm 'HogeService-Errors' from topic logthread-alarms"
    ) in out
    assert "    error: RuntimeError: Slack is down" in out
    assert (
        f"search task, request id {seeding.SEED_REQUEST_ID} for channel {CHANNEL} "
        "from topic logthread-tasks"
    ) in out
    assert "    error: TimeoutError: slow" in out
    assert "after 1 attempt (EventAgeExceeded): alarm 'Nightly export failed'" in out
    assert "3 waiting: 3 can be re-driven, 0 cannot" in out
    assert "would" not in out and "invoked" not in out
    # Listed, not taken: all three are there for the next reader at once.
    assert set(dlq.visible()) == ids


def test_the_queue_comes_from_the_environment_and_an_empty_queue_exits_0(
    dlq: Queue, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_DEAD_LETTER_QUEUE_URL", dlq.url)
    code, out = redrive(capsys)
    assert (code, out.strip()) == (0, "nothing waiting in the worker's dead-letter queue")

    monkeypatch.delenv("WORKER_DEAD_LETTER_QUEUE_URL")
    code, out = redrive(capsys)
    assert code == 2
    assert out.strip() == (
        "logthread redrive: no queue (--queue-url or WORKER_DEAD_LETTER_QUEUE_URL)"
    )


def test_a_queue_aws_refuses_is_an_error_in_one_line(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"{aws}/{ACCOUNT_ID}/no-such-queue"
    code, out = redrive(capsys, "--queue-url", missing, "--list")
    assert code == 2
    assert out.startswith("logthread redrive: AWS refused: ")
    assert out.count("\n") == 1


def test_dry_run_says_what_it_would_do_and_changes_nothing(
    dlq: Queue, worker_function: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record = destination_record(worker_function, HOGE)
    message_id = dlq.put(record)
    name = worker_function.rsplit(":", 1)[-1]

    code, out = redrive(capsys, "--queue-url", dlq.url, "--dry-run")

    assert code == 1, out
    assert f"    would invoke {name} asynchronously with the original event" in out
    assert "would re-drive 1 of 1; nothing changed" in out
    assert dlq.visible() == {message_id: json.dumps(record)}


def test_a_redrive_invokes_the_function_and_deletes_the_record(
    dlq: Queue, worker_function: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dlq.put(destination_record(worker_function, HOGE))
    dlq.put(destination_record(worker_function, task_envelope()))
    name = worker_function.rsplit(":", 1)[-1]

    code, out = redrive(capsys, "--queue-url", dlq.url)

    assert code == 0, out
    assert out.count(f"    invoked {name} (accepted); deleted from the queue") == 2
    assert "re-drove 2 of 2; 0 left in the queue" in out
    assert dlq.visible() == {}


def test_a_redrive_lambda_refuses_leaves_the_record_visible_again(
    dlq: Queue, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto's default Lambda backend knows no such function (the stack was deleted, a typo).
    record = destination_record(function_arn("logthread-WorkerFunction-Gone"), HOGE)
    message_id = dlq.put(record)

    code, out = redrive(capsys, "--queue-url", dlq.url)

    assert code == 1, out
    assert "    failed, left in the queue: AWS refused: ResourceNotFoundException" in out
    assert "re-drove 0 of 1; 1 left in the queue" in out
    # Visible again at once, not after the 5 minutes the run hid it for.
    assert dlq.visible() == {message_id: json.dumps(record)}


def test_malformed_messages_are_listed_and_left_alone(
    dlq: Queue, worker_function: str, capsys: pytest.CaptureFixture[str]
) -> None:
    not_sns = destination_record(worker_function, HOGE)
    not_sns["requestPayload"] = {"detail-type": "Scheduled Event", "detail": {}}
    success = destination_record(worker_function, HOGE)
    success["requestContext"]["condition"] = "Success"
    bad = {
        dlq.put("not json at all \x1b[31m"): "unreadable, left in the queue: not JSON",
        dlq.put("[1, 2, 3]"): "unreadable, left in the queue: not a JSON object",
        dlq.put({"hello": "world"}): "neither a Lambda destination record nor an SNS message",
        dlq.put(not_sns): "a destination record whose event is not an SNS event",
        dlq.put(success): "a destination record of 'Success', not of a failure",
    }
    good = dlq.put(destination_record(worker_function, HOGE))

    code, out = redrive(capsys, "--queue-url", dlq.url)

    assert code == 1, out
    for reason in bad.values():
        assert reason in out
    assert "\x1b" not in out
    assert "re-drove 1 of 6; 5 left in the queue" in out
    left = dlq.visible()
    assert set(left) == set(bad) and good not in left


def test_with_function_only_that_functions_records_are_redriven(
    dlq: Queue, worker_function: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = worker_function.rsplit(":", 1)[-1]
    ours = dlq.put(destination_record(worker_function, HOGE))
    theirs = dlq.put(destination_record(function_arn("someone-elses-function"), HOGE))

    code, out = redrive(capsys, "--queue-url", dlq.url, "--function", name)

    assert code == 1, out
    assert f"left in the queue: a record of 'someone-elses-function', not of '{name}'" in out
    left = dlq.visible()
    assert theirs in left and ours not in left


def test_limit_takes_only_that_many(
    dlq: Queue, worker_function: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        dlq.put(destination_record(worker_function, HOGE))
    code, out = redrive(capsys, "--queue-url", dlq.url, "--limit", "2")
    assert code == 0, out
    assert "re-drove 2 of 2; 0 left in the queue" in out
    assert len(dlq.visible()) == 1


# -- the re-driven event reaches the worker ---------------------------------------------------


@dataclass
class Invocation:
    function: str
    invocation_type: str
    event: dict[str, Any]
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)


class InvokeStandin:
    """Lambda's Invoke API for one function, running ``handler`` on what it is sent.

    ``POST /2015-03-31/functions/{FunctionName}/invocations``: the named function's
    invocations are answered 202 (an Event invocation) and handed to the handler on a
    thread of their own, as Lambda's async queue does; any other name is answered 404
    ResourceNotFoundException.
    """

    PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")

    def __init__(self, name: str, handler: Handler) -> None:
        self.name, self.handler = name, handler
        self.invocations: list[Invocation] = []
        standin = self

        class Handler_(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler_)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> InvokeStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float = 60) -> list[Invocation]:
        deadline = time.monotonic() + timeout
        for invocation in self.invocations:
            assert invocation.done.wait(max(0.0, deadline - time.monotonic())), "still running"
        return self.invocations

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        match = self.PATH.fullmatch(urlsplit(request.path).path)
        named = unquote(match["name"]) if match else ""
        if named.split(":")[6 if named.startswith("arn:") else 0] != self.name:
            answer = json.dumps({"Type": "User", "message": f"Function not found: {named}"})
            request.send_response(404)
            request.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer.encode())
            return
        invocation = Invocation(
            named, str(request.headers.get("X-Amz-Invocation-Type")), json.loads(body)
        )
        self.invocations.append(invocation)
        request.send_response(202)
        request.send_header("Content-Length", "0")
        request.end_headers()
        threading.Thread(target=self._run, args=(invocation,), daemon=True).start()

    def _run(self, invocation: Invocation) -> None:
        try:
            self.handler(invocation.event, LambdaContext(self.name, timeout_seconds=120))
        except Exception as exc:  # Lambda would retry, then write a new record
            invocation.error = f"{type(exc).__name__}: {exc}"
        finally:
            invocation.done.set()


def test_the_redriven_event_reaches_the_worker_as_sns_delivered_it(
    aws: str,
    dlq: Queue,
    slack: SlackStandin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An alarm and a search task (from the task topic, which no operator may publish to)
    go back to the real worker handler, which posts both."""
    seeding.seed(boto3.client("logs", endpoint_url=aws))
    for key, value in {
        "LOGTHREAD_CONFIG_JSON": json.dumps({"default_channel": CHANNEL}),
        "TASK_TOPIC_ARN": TASK_TOPIC,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    for key in (
        "TABLE_NAME",
        "SLACK_SECRET_ARN",
        "SLACK_DEAD_LETTER_QUEUE_URL",
        "LOGTHREAD_CONFIG",
    ):
        monkeypatch.delenv(key, raising=False)
    name = "logthread-WorkerFunction-E2e"
    worker = load_handler(ROOT / "functions/worker/app.py", f"_redrive_worker_{uuid.uuid4().hex}")
    alarm = destination_record(function_arn(name), PLAIN)
    task = destination_record(function_arn(name), task_envelope())
    dlq.put(alarm)
    dlq.put(task)

    with InvokeStandin(name, worker) as lambda_api:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_api.url)
        code, out = redrive(capsys, "--queue-url", dlq.url, "--dry-run")
        assert code == 1, out
        assert lambda_api.invocations == []

        code, out = redrive(capsys, "--queue-url", dlq.url)
        assert code == 0, out
        invocations = lambda_api.wait()

    # Exactly the events Lambda had given the worker, as asynchronous invocations of the
    # function itself (unqualified: its current code).
    assert sorted(json.dumps(i.event, sort_keys=True) for i in invocations) == sorted(
        json.dumps(r["requestPayload"], sort_keys=True) for r in (alarm, task)
    )
    assert {i.invocation_type for i in invocations} == {"Event"}
    assert {i.function for i in invocations} == {function_arn(name)}
    assert [i.error for i in invocations] == ["", ""]
    posted = json.dumps(slack.messages(CHANNEL))
    assert "Nightly export" in posted
    assert seeding.SEED_REQUEST_ID in posted
    assert dlq.visible() == {}


def test_an_sns_envelope_from_the_local_stack_goes_back_through_its_topic(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    real = load_handler(ROOT / "functions/worker/app.py", f"_redrive_local_{uuid.uuid4().hex}")
    failing = threading.Event()
    failing.set()

    def worker(event: dict[str, Any], context: Any) -> Any:
        if failing.is_set():
            raise RuntimeError("worker failed on purpose")
        return real(event, context)

    with LocalStack(aws_endpoint=aws, worker_handler=worker, default_channel=CHANNEL) as stack:
        stack.publish_alarm(PLAIN["Message"], subject=PLAIN["Subject"])
        assert stack.wait_idle(timeout=30)
        (dead,) = stack.dead_letters()
        assert dead["Type"] == "Notification" and dead["TopicArn"] == stack.alarm_topic_arn

        failing.clear()
        code, out = redrive(capsys, "--queue-url", stack.queues["dlq"])

        assert code == 0, out
        assert "alarm 'Nightly export failed' from topic logthread-alarms" in out
        assert "    published again to topic logthread-alarms; deleted from the queue" in out
        assert stack.wait_idle(timeout=30)
        assert stack.dead_letters() == []
        assert "Nightly export" in json.dumps(stack.slack.messages(CHANNEL))
