"""Counting an alarm window's failing requests per kind of error, beside reading every line.

Data (generated, deterministic): ``/aws/lambda/bench-sig``, 200,000 lines in 100
streams, all inside one alarm's evaluation window (5 minutes): 10,000 failing
requests of 5 kinds (4,000 DB resets, 3,000 unhandled ``KeyError``s whose
traceback line carries no request id, 1,500 declined payments, 1,000 timeouts,
500 throttled AWS calls; hosts, ids and numbers differ in each) among 40,000
healthy requests.

Three ways over the same window, on moto over real HTTP (moto runs in its own
process, so the memory figures are the reader's alone):

* baseline, measured in the same run: read every line of the window
  (:func:`logthread.search.filter.filter_events`), keep them, group the failing
  lines by request and take each request's signature;
* logthread: :func:`logthread.alarms.count.count_failures`, page by page,
  keeping per request only that it was seen and per kind a count;
* before this counting: discovery as it was (:func:`~logthread.alarms.discover.find_failures`,
  at most 2,000 lines per group): how many of the requests and kinds it saw.

moto ignores the OR filter pattern and returns every line of the window, so
both readers fetch all 200,000 lines here; CloudWatch would return only the
error (and START) lines, which changes the API calls, not the memory comparison.
Wall time includes moto's answering (slow: seconds per 10,000-event page); CPU
is this process's alone (the reader's own work). Peak memory is tracemalloc's
peak during the read (Python allocations; tracemalloc also slows both readers).
"""

from __future__ import annotations

import logging
import multiprocessing
import random
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from logthread.alarms.count import count_failures
from logthread.alarms.discover import ERROR_PATTERN, Plan, Target, find_failures, is_failure_line
from logthread.logparse import parse_event
from logthread.query import TimeWindow
from logthread.search.calls import ApiCalls
from logthread.search.filter import filter_events
from logthread.signatures import Tally, signature_of
from logthread_local.aws import moto_server, use_endpoint
from logthread_local.seed import iso, put_events

GROUP = "/aws/lambda/bench-sig"
STREAMS = 100
LINES = 200_000
KINDS = (("db", 4000), ("key", 3000), ("pay", 1500), ("timeout", 1000), ("throttle", 500))
FAILING = sum(n for _, n in KINDS)
WINDOW_MS = 300_000


def _failing_lines(kind: str, rid: str, t: int, rng: random.Random) -> list[tuple[int, str]]:
    n = rng.randint(1, 99_999)
    if kind == "db":
        text = (
            f"DB fetch failed: connection to 10.{n % 250}.{n % 199}.{n % 97}:5432 reset by peer "
            f"after {n % 5000} ms (order {n})"
        )
        return [(t + 5, f"[ERROR]\t{iso(t + 5)}\t{rid}\t{text}")]
    if kind == "key":
        return [
            (
                t + 5,
                f"[ERROR] KeyError: 'field_{n}'\nTraceback (most recent call last):\n"
                f'  File "/var/task/app.py", line {n % 300}, in handler\n    x = event[k]\n',
            )
        ]
    if kind == "pay":
        text = f"payment declined by api-{n % 9}.payments.example.com for card ending {n % 9999}"
        return [(t + 5, f"[ERROR]\t{iso(t + 5)}\t{rid}\t{text}")]
    if kind == "timeout":
        return [(t + 3000, f"{iso(t + 3000)} {rid} Task timed out after 3.00 seconds")]
    text = (
        f"put failed\nTraceback (most recent call last):\n"
        f'  File "/var/task/store.py", line {n % 90}, in put\n    ddb.put_item(**item)\n'
        "botocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling "
        f"the PutItem operation (reached max retries: {n % 9}): Rate exceeded"
    )
    return [(t + 5, f"[ERROR]\t{iso(t + 5)}\t{rid}\t{text}")]


def generate(end_ms: int) -> list[dict[str, Any]]:
    """200,000 lines over the 5 minutes before ``end_ms``: healthy and failing requests."""
    rng = random.Random(11)
    day = time.strftime("%Y/%m/%d/", time.gmtime(end_ms / 1000))
    streams = [f"{day}[$LATEST]{rng.getrandbits(128):032x}" for _ in range(STREAMS)]
    kinds = [k for k, n in KINDS for _ in range(n)]
    rng.shuffle(kinds)
    healthy = (LINES - FAILING * 4) // 4  # a failing request writes 4 lines, a healthy one 4
    plan = kinds + ["ok"] * healthy
    rng.shuffle(plan)
    step = (WINDOW_MS - 20_000) / len(plan)
    events: list[dict[str, Any]] = []
    start = end_ms - WINDOW_MS + 5_000
    for i, kind in enumerate(plan):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        t = int(start + i * step)
        stream = streams[i % STREAMS]
        lines = [(t, f"START RequestId: {rid} Version: $LATEST")]
        if kind == "ok":
            lines.append(
                (t + 2, f"[INFO]\t{iso(t + 2)}\t{rid}\tGET /orders/{rng.randint(1, 9999)}")
            )
        else:
            lines += _failing_lines(kind, rid, t, rng)
        lines.append((t + 3001, f"END RequestId: {rid}"))
        lines.append(
            (t + 3002, f"REPORT RequestId: {rid}\tDuration: 19.20 ms\tBilled Duration: 20 ms")
        )
        for ts, message in lines:
            events.append(
                {
                    "logGroupName": GROUP,
                    "logStreamName": stream,
                    "timestamp": ts,
                    "message": message,
                }
            )
    return events


def _serve(queue: Any, stop: Any) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    with moto_server() as endpoint:
        queue.put(endpoint)
        stop.wait()


def _every_line(logs: Any, the_plan: Plan) -> tuple[Tally, int, int, dict[str, int]]:
    """The baseline: every line of the window kept, grouped by request, then signed."""
    calls = ApiCalls()
    target = the_plan.targets[0]
    events = filter_events(
        logs, GROUP, the_plan.window, target.pattern, deadline=time.monotonic() + 600, calls=calls
    )
    records = [parse_event(e, GROUP) for e in events]
    owner: dict[str, str] = {}
    by_request: dict[str, list[Any]] = {}
    for record in sorted(records, key=lambda r: r.timestamp):
        if record.kind == "start":
            owner[record.log_stream] = record.request_id
            continue
        if is_failure_line(target, record):
            rid = record.request_id or owner.get(record.log_stream, "")
            if rid:
                by_request.setdefault(rid, []).append(record)
    tally = Tally()
    for rid, lines in by_request.items():
        tally.add(signature_of(lines), lines[0].timestamp, rid, GROUP)
    return tally, len(by_request), len(events), calls.snapshot()


@dataclass(frozen=True, slots=True)
class Cost:
    wall: float  # seconds, moto's answering included
    cpu: float  # seconds of this process's CPU: the reader's own work, moto's excluded
    peak: int  # bytes, tracemalloc's peak


def _measure(work: Callable[[], Any]) -> tuple[Any, Cost]:
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = work()
        peak = tracemalloc.get_traced_memory()[1]
        return result, Cost(time.perf_counter() - t0, time.process_time() - c0, peak)
    finally:
        tracemalloc.stop()


def _row(name: str, cost: Cost, calls: dict[str, int], what: str) -> str:
    api = ", ".join(f"{k} {v}" for k, v in calls.items()) or "-"
    return (
        f"{name:<32}{cost.wall:7.1f} s{cost.cpu:7.1f} s{cost.peak / 1e6:8.1f} MB   {api:<20} {what}"
    )


def run() -> list[str]:
    end = int(time.time() * 1000) - 60_000
    events = generate(end)
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(queue, stop), daemon=True)
    server.start()
    out: list[str] = []
    try:
        endpoint = queue.get(timeout=60)
        use_endpoint(endpoint)
        logs = boto3.client("logs")
        t0 = time.perf_counter()
        puts = put_events(logs, events)
        seeded = time.perf_counter() - t0
        del events
        window = TimeWindow(end - WINDOW_MS - 60_000, end + 60_000)
        target = Target(GROUP, ERROR_PATTERN, "errors", "Errors of bench-sig")
        the_plan = Plan((target,), window)
        out.append(
            f"data: {GROUP}: {LINES:,} lines in {STREAMS} streams in one 5-minute alarm window, "
            f"{FAILING:,} failing requests of {len(KINDS)} kinds; seeded in {seeded:.1f} s "
            f"({puts} PutLogEvents)"
        )
        out.append(f"{'':<32}{'wall':>9}{'CPU':>9}{'peak mem':>11}   {'API calls':<20} found")

        (tally, requests, read, calls), cost = _measure(lambda: _every_line(logs, the_plan))
        out.append(
            _row(
                "baseline: keep every line",
                cost,
                calls,
                f"{requests:,} requests, {len(tally)} kinds ({read:,} lines read)",
            )
        )
        counted, cost = _measure(
            lambda: count_failures(logs, the_plan, keep=3, deadline=time.monotonic() + 600)
        )
        out.append(
            _row(
                "logthread: stream and count",
                cost,
                counted.calls,
                f"{counted.discovery.total:,} requests, {len(counted.tally)} kinds "
                f"({counted.lines_read:,} lines read)",
            )
        )
        same = tally.ranked() == counted.tally.ranked()
        out.append(f"{'':<32}same kinds and counts as the baseline: {'yes' if same else 'NO'}")
        sent: dict[str, int] = {}

        def count_call(model: Any, **_: Any) -> None:
            sent[model.name] = sent.get(model.name, 0) + 1

        logs.meta.events.register("before-call.logs", count_call)
        before, cost = _measure(
            lambda: find_failures(logs, the_plan, limit=3, deadline=time.monotonic() + 600)
        )
        seen = len({f.request_id for f in before.failures})
        out.append(
            _row(
                "before: discovery (2,000 lines)",
                cost,
                sent,
                f"{before.total:,} of {FAILING:,} requests seen, {seen} threaded",
            )
        )
        for entry in counted.tally.ranked():
            out.append(f"   {entry.count:>6,}  {entry.signature.label[:90]}")
    finally:
        stop.set()
        server.join(timeout=10)
    return out
