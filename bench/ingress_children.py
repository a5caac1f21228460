"""The programs bench_ingress runs in fresh interpreters: ours, the Bolt app, the worker.

Each reads its spec (app path, events) as JSON on stdin and prints one JSON line of
timings: ``marks`` (import, init, first, in ms since the child's first line) and what
each measures besides. Kept apart from bench_ingress so the bench itself stays readable.
"""

# The children import nothing before t0 but time and sys; everything after counts.
PRELUDE = """
import time
t0 = time.perf_counter()
import json, sys
spec = json.loads(sys.stdin.read())

class Context:
    function_name = spec["function_name"]
    function_version = "$LATEST"
    invoked_function_arn = spec["function_arn"]
    memory_limit_in_mb = 256
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 3000

marks = {}

def mark(name):
    marks[name] = (time.perf_counter() - t0) * 1000

def timed(handler, event):
    start = time.perf_counter()
    result = handler(event, Context())
    return (time.perf_counter() - start) * 1000, result
"""

OURS = (
    PRELUDE
    + """
import importlib.util
loader = importlib.util.spec_from_file_location("ingress_app", spec["app_path"])
module = importlib.util.module_from_spec(loader)
loader.loader.exec_module(module)
mark("import")
module.deps()  # what Lambda's init runs (AWS_LAMBDA_FUNCTION_NAME is unset here)
mark("init")
first_ms, first = timed(module.handler, spec["events"][0])
mark("first")
cold_ms = (time.perf_counter() - t0) * 1000
warm = [timed(module.handler, e) for e in spec["events"][1:]]
# The ack's own work, in process: the same handler with the bus kept in memory (no network).
from logthread.bus import MemoryTaskBus
module.deps().bus = MemoryTaskBus()
in_process, in_process_cpu = [], []
for event in spec["more_events"]:
    cpu = time.process_time()
    in_process.append(timed(module.handler, event))
    in_process_cpu.append((time.process_time() - cpu) * 1000)
print(json.dumps({
    "cold_ms": cold_ms,
    "marks": marks,
    "modules": sorted(sys.modules),
    "in_process_ms": [ms for ms, _ in in_process],
    "in_process_cpu_ms": in_process_cpu,
    "warm_ms": [ms for ms, _ in warm],
    "statuses": [first["statusCode"], *[r["statusCode"] for _, r in warm]],
    "first_body": first["body"],
}))
"""
)

BOLT = (
    PRELUDE
    + """
import logging, os, uuid
logging.getLogger("slack_bolt").setLevel(logging.ERROR)
import boto3
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_sdk import WebClient
from logthread import commands, config as config_module
from logthread.authz import Requester, authorize
from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask
mark("import")

config = config_module.load()
sns = boto3.client("sns")
token = os.environ["SLACK_BOT_TOKEN"]
app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    token=token,
    client=WebClient(token=token, base_url=os.environ["SLACK_API_URL"]),
    token_verification_enabled=False,
    process_before_response=True,
)

def parsed(body):
    cmd = commands.parse_command(body["text"], now_ms=int(time.time() * 1000))
    who = Requester(body["team_id"], body["channel_id"], body["user_id"], body["user_name"])
    return cmd, who

def ack_search(ack, body):
    cmd, who = parsed(body)
    decision = authorize(config.access, who, cmd.functions, cmd.log_groups)
    if not decision.allowed:
        return ack(text=decision.message, response_type="ephemeral")
    ack(text=f"Searching for `{cmd.request_id}` …", response_type="ephemeral")

published = []

def publish(body):
    cmd, who = parsed(body)
    query = SearchQuery(cmd.request_id, cmd.functions, cmd.log_groups, cmd.window)
    reply = ReplyTo(who.channel_id, "", body["response_url"], who.user_id, who.team_id)
    task = SearchTask(query, reply, extra={"task_id": uuid.uuid4().hex})
    start = time.perf_counter()
    sns.publish(TopicArn=os.environ["TASK_TOPIC_ARN"], Message=task.to_json())
    published.append((time.perf_counter() - start) * 1000)

app.command("/logsearch")(ack=ack_search, lazy=[publish])
handler = SlackRequestHandler(app).handle

# Bolt builds this client on its first lazy start; built here (inside the timed
# cold start all the same) to keep what it sends: Lambda would run that event
# as the second invocation, the lazy leg.
invoked = []
lambda_client = boto3.client("lambda")
lambda_client.meta.events.register(
    "provide-client-params.lambda.Invoke", lambda params, **_: invoked.append(params["Payload"])
)
app.listener_runner.lazy_listener_runner.lambda_client = lambda_client

def lazy_leg():
    return timed(handler, json.loads(invoked.pop()))[0]

mark("init")
first_ms, first = timed(handler, spec["events"][0])
mark("first")
cold_ms = (time.perf_counter() - t0) * 1000
lazy_cold_ms = lazy_leg()
warm, lazy = [], []
for event in spec["events"][1:]:
    warm.append(timed(handler, event))
    lazy.append(lazy_leg())
print(json.dumps({
    "cold_ms": cold_ms,
    "marks": marks,
    "warm_ms": [ms for ms, _ in warm],
    "lazy_cold_ms": lazy_cold_ms,
    "lazy_ms": lazy,
    "statuses": [first["statusCode"], *[r["statusCode"] for _, r in warm]],
    "first_body": first["body"],
    "published": len(published),
}))
"""
)


WORKER = (
    PRELUDE
    + """
import importlib.util
loader = importlib.util.spec_from_file_location("worker_app", spec["app_path"])
module = importlib.util.module_from_spec(loader)
loader.loader.exec_module(module)
mark("import")
module.deps()
mark("init")
first_ms, first = timed(module.handler, spec["events"][0])
mark("first")
print(json.dumps({"cold_ms": (time.perf_counter() - t0) * 1000, "marks": marks}))
"""
)
