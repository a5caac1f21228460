"""Ingress: cold start and warm ack, ours beside a Bolt for Python app doing the same job.

Both apps get the same signed slash command, as an API Gateway HTTP API v2 event
(base64 form body), with AWS on a moto server over real HTTP:

* ours: ``functions/ingress/app.py``: verify, authorize, parse, publish the task
  to SNS, answer "Searching …" (the publish is on the ack path);
* Bolt: ``App(process_before_response=True)`` with ``ack`` + ``lazy=[publish]``
  behind ``slack_bolt.adapter.aws_lambda.SlackRequestHandler``: verify, parse and
  authorize with the same code, ack, and hand the publish to a second, async
  invocation of itself (``lambda:Invoke``), which Bolt calls the lazy listener.

Cold = a fresh interpreter: import + init + the first request, timed inside the
child and broken down into those three (interpreter start-up is the same for both
and left out). Ours runs as the template deploys it: the signing secret read from
Secrets Manager (``SLACK_SECRET_ARN``) at init; Bolt is given its secret in the
environment, which spares it that call. Warm = the following requests in that
process. Bolt's lazy leg (the publish, run as Lambda
would run the second invocation) is reported on its own. Bolt's first request
also calls ``auth.test`` (its single-team authorization), here on the Slack
stand-in over loopback; in production that is a round trip to Slack: Slack doesn't wait for
it, but it is work Bolt does and ours doesn't.

The worker's cold start (import + init + its first message, the task ours published,
delivered as SNS delivers it) is printed beside them: it is on the alarm → thread path.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.ingress_children import BOLT, OURS, WORKER

ROOT = Path(__file__).resolve().parents[1]
COLD_RUNS = int(os.environ.get("BENCH_INGRESS_COLD_RUNS", "5"))
WARM_REQUESTS = int(os.environ.get("BENCH_INGRESS_WARM_REQUESTS", "40"))
IN_PROCESS_REQUESTS = int(os.environ.get("BENCH_INGRESS_IN_PROCESS_REQUESTS", "200"))
SECRET = "bench-signing-secret"
RID = "3f2a9c1e-7b4d-4e21-9a0c-5d8e6f1a2b3c"


def signed_event(text: str = f"{RID} in checkout-api last 2h") -> dict[str, Any]:
    """A slash command as API Gateway (HTTP API, v2) hands it over, signed as Slack signs it."""
    from logthread.verify import RequestVerifier

    form = json.loads((ROOT / "fixtures/slack/slash_command.json").read_text())
    form["text"] = text
    body = urlencode(form)
    event = json.loads((ROOT / "fixtures/slack/apigw_v2_slash_command.json").read_text())
    event["headers"].update(RequestVerifier(SECRET).sign(body, int(time.time())))
    event["headers"]["content-length"] = str(len(body))
    event["body"] = base64.b64encode(body.encode()).decode()
    return event


def _child(code: str, env: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if set(result.get("statuses", [200])) != {200}:
        raise RuntimeError(f"bench child got statuses {result['statuses']}: {result['first_body']}")
    return result


def _lambda_function(endpoint: str) -> str:
    """A function in moto for Bolt's lazy runner to ``Invoke`` (moto answers 202).

    moto's simple Lambda backend accepts the invocation without running it (the
    default backend would try Docker on every Invoke, which real Lambda doesn't
    make the caller wait for).
    """
    import urllib.request

    import boto3

    urllib.request.urlopen(
        urllib.request.Request(
            f"{endpoint}/moto-api/config",
            data=json.dumps({"lambda": {"use_docker": False}}).encode(),
            method="POST",
        ),
        timeout=10,
    ).read()

    iam = boto3.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName="bench-bolt", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    fn = boto3.client("lambda", endpoint_url=endpoint).create_function(
        FunctionName="bench-bolt",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    return str(fn["FunctionArn"])


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} ms"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# What the ingress must not import: the costs the lean ack path exists to avoid. (botocore's
# package __init__ alone is cheap, and Powertools imports it to tag botocore's user agent.)
HEAVY = ("boto3", "botocore.session", "slack_sdk", "aws_xray_sdk", "aws_lambda_powertools", "yaml")


def _breakdown(results: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    """Medians of (import, init, first request, total) over the cold runs."""
    marks = [r["marks"] for r in results]
    return (
        statistics.median(m["import"] for m in marks),
        statistics.median(m["init"] - m["import"] for m in marks),
        statistics.median(m["first"] - m["init"] for m in marks),
        statistics.median(r["cold_ms"] for r in results),
    )


def _row(name: str, results: list[dict[str, Any]]) -> str:
    imp, init, first, total = _breakdown(results)
    return f"  {name:<22}{imp:8.1f}{init:8.1f}{first:8.1f}{total:9.1f} ms"


def _worker_event(topic: str, env: dict[str, str]) -> dict[str, Any]:
    """The task ours publishes for :func:`signed_event`, as SNS hands it to the worker.

    Made by the ingress core itself, with the bus in memory: subscribing a queue to
    the topic instead would make moto deliver inside every timed publish.
    """
    from logthread import config
    from logthread.bus import MemoryTaskBus
    from logthread.http import HttpRequest
    from logthread.ingress import IngressDeps, handle
    from logthread.verify import RequestVerifier

    event = signed_event()
    bus = MemoryTaskBus()
    deps = IngressDeps(RequestVerifier(SECRET), bus, config.load(env))
    body = base64.b64decode(event["body"]).decode()
    handle(HttpRequest("POST", event["rawPath"], event["headers"], body), deps)
    [task] = bus.tasks
    sns = {
        "Type": "Notification",
        "MessageId": "bench-task",
        "TopicArn": topic,
        "Subject": "logthread task",
        "Message": task.to_json(),
        "MessageAttributes": {"logthread_kind": {"Type": "String", "Value": "task"}},
    }
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns}]}


def run() -> list[str]:
    """Measure both apps and the worker; return the lines to print."""
    import boto3

    from logthread_local.aws import LOCAL_ENV, create_table, moto_server
    from logthread_local.slack_standin import SlackStandin

    # moto's werkzeug access log would bury the figures.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_server() as endpoint, SlackStandin() as slack:
        env = {**os.environ, **LOCAL_ENV}
        for name in ("AWS_PROFILE", "SLACK_SECRET_ARN", "LOGTHREAD_CONFIG"):
            env.pop(name, None)
        env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
        env.pop("POWERTOOLS_TRACE_DISABLED", None)
        os.environ.update(LOCAL_ENV)
        sns = boto3.client("sns", endpoint_url=endpoint)
        sqs = boto3.client("sqs", endpoint_url=endpoint)
        topic = sns.create_topic(Name="bench-tasks")["TopicArn"]
        queue = sqs.create_queue(QueueName="bench-tasks")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        secret_arn = boto3.client("secretsmanager", endpoint_url=endpoint).create_secret(
            Name="bench/slack",
            SecretString=json.dumps({"bot_token": slack.token, "signing_secret": SECRET}),
        )["ARN"]
        create_table(boto3.client("dynamodb", endpoint_url=endpoint), "bench-episodes")
        logs = boto3.client("logs", endpoint_url=endpoint)
        logs.create_log_group(logGroupName="/aws/lambda/checkout-api")
        function_arn = _lambda_function(endpoint)
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            TASK_TOPIC_ARN=topic,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_BOT_TOKEN=slack.token,
            SLACK_API_URL=slack.url,
            POWERTOOLS_SERVICE_NAME="logthread",
            POWERTOOLS_LOG_LEVEL="WARNING",
            LOGTHREAD_CONFIG_JSON=json.dumps(
                {
                    "default_channel": "C2147483705",
                    "access": {"users": ["U2147483697"], "log_group_prefixes": ["/aws/lambda/"]},
                }
            ),
            PYTHONPATH=os.pathsep.join(
                [str(ROOT / "layers/logthread"), str(ROOT / "devstack"), env.get("PYTHONPATH", "")]
            ),
        )
        # Ours as deployed: the secret from Secrets Manager, read at init.
        ours_env = {**env, "SLACK_SECRET_ARN": secret_arn}
        ours_env.pop("SLACK_SIGNING_SECRET")
        ours_env.pop("SLACK_BOT_TOKEN")
        worker_env = {**ours_env, "TABLE_NAME": "bench-episodes"}
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "bolt": [], "worker": []}
        for _ in range(COLD_RUNS):
            for name, code, child_env in (("ours", OURS, ours_env), ("bolt", BOLT, env)):
                spec = {
                    "app_path": str(ROOT / "functions/ingress/app.py"),
                    "function_name": "bench-bolt",
                    "function_arn": function_arn,
                    "events": [signed_event() for _ in range(WARM_REQUESTS + 1)],
                    "more_events": [signed_event() for _ in range(IN_PROCESS_REQUESTS)],
                }
                runs[name].append(_child(code, child_env, spec))
            spec = {
                "app_path": str(ROOT / "functions/worker/app.py"),
                "function_name": "bench-worker",
                "function_arn": function_arn,
                "events": [_worker_event(topic, env)],
            }
            runs["worker"].append(_child(WORKER, worker_env, spec))

    def warm(name: str) -> list[float]:
        return [ms for r in runs[name] for ms in r["warm_ms"]]

    in_process = [ms for r in runs["ours"] for ms in r["in_process_ms"]]
    in_process_cpu = [ms for r in runs["ours"] for ms in r["in_process_cpu_ms"]]
    published = sum(r["published"] for r in runs["bolt"])
    expected = COLD_RUNS * (WARM_REQUESTS + 1)
    ratio = _breakdown(runs["ours"])[3] / _breakdown(runs["bolt"])[3]
    imported = {m for r in runs["ours"] for m in r["modules"]}
    heavy = [h for h in HEAVY if h in imported]
    return [
        f"ingress ack, API Gateway v2 event -> response "
        f"({COLD_RUNS} fresh processes, {WARM_REQUESTS} warm requests each; "
        "AWS = moto over HTTP)",
        "  cold start, medians     import    init   first    total",
        _row("logthread ingress", runs["ours"]),
        _row("bolt lazy listener", runs["bolt"]),
        f"  ratio logthread/bolt    {ratio:.2f}  (goal <= 0.50)",
        f"  warm ack p50 / p99      logthread {_median(warm('ours'))} / {_p99(warm('ours')):.1f} ms"
        f"   | bolt {_median(warm('bolt'))} / {_p99(warm('bolt')):.1f} ms",
        f"  warm ack in process     logthread {_median(in_process)} / {_p99(in_process):.2f} ms"
        f" wall, p99 CPU {_p99(in_process_cpu):.2f} ms  (p50 / p99; the same handler, the bus",
        "                          in memory; goal p99 <= 2 ms; wall includes this machine's load)",
        f"  the ingress imported    {', '.join(heavy) or 'none'} of {', '.join(HEAVY)}",
        "  (ours reads its signing secret from Secrets Manager at init and publishes to SNS",
        "   before acking; bolt has its secret in the environment and acks after lambda:Invoke",
        "   of itself; its first request also calls auth.test (on the loopback Slack stand-in),",
        f"   then its lazy leg publishes: first {_median([r['lazy_cold_ms'] for r in runs['bolt']])},"
        f" warm {_median([ms for r in runs['bolt'] for ms in r['lazy_ms']])};"
        f" {published}/{expected} published)",
        "  worker (task -> search -> Slack), import + init + first message:",
        _row("logthread worker", runs["worker"]),
    ]


if __name__ == "__main__":
    print("\n".join(run()))
