"""Search recall, API calls and wall time: logthread beside the seed's approach.

Data (generated, deterministic): ``/aws/lambda/bench-orders`` with more than
100,000 events in 120 streams over 4 UTC days (one environment after another,
requests one at a time per stream, streams interleaved in time, some crossing
midnight), plus three smaller groups a single request passes through.

Cases: a request of 1 line (in flight: only its START so far), of 3 lines (it
logged nothing itself; two days ago), of 34 lines (32 carry the id, 2 are
``print()`` output that does not) twice: today, and crossing midnight in a
stream named for the day before; the latter found by an 8-character prefix
too; and one request spread over 3 log groups.

The seed's approach, measured on the same data in the same run: one
FilterLogEvents per log group with ``logStreamNamePrefix`` of today's date,
``limit: 20`` and no pagination. moto ignores ``logStreamNamePrefix``, so its
lines from streams outside the prefix are dropped here, as CloudWatch would
never have returned them.

Recall is lines found / lines the request has (its own lines, tagged or not).
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import boto3
from botocore.config import Config

from logthread.search import SearchQuery, search
from logthread_local.aws import moto_server, use_endpoint
from logthread_local.seed import iso, powertools_time, put_events

DAY_MS = 86_400_000
DAYS = 4
STREAMS_PER_DAY = 30
MAIN_GROUP = "/aws/lambda/bench-orders"
SPREAD_GROUPS = ("/aws/lambda/bench-api", "/aws/lambda/bench-worker", "/ecs/bench-billing")


def _rid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stream_name(day_ms: int, rng: random.Random) -> str:
    return (
        time.strftime("%Y/%m/%d/", time.gmtime(day_ms / 1000))
        + f"[$LATEST]{rng.getrandbits(128):032x}"
    )


def _request(rid: str, start: int, rng: random.Random, app_lines: int) -> list[tuple[int, str]]:
    """One Python-runtime invocation: START, app lines, END, REPORT."""
    t = start
    out = [(t, f"START RequestId: {rid} Version: $LATEST\n")]
    for i in range(app_lines):
        t += rng.randint(1, 40)
        level = rng.choice(("INFO", "INFO", "INFO", "DEBUG", "WARNING"))
        out.append(
            (t, f"[{level}]\t{iso(t)}\t{rid}\tstep {i}: order {rng.randint(10**8, 10**9)} ok\n")
        )
    t += rng.randint(1, 5)
    duration = t - start + rng.random()
    out.append((t, f"END RequestId: {rid}\n"))
    out.append(
        (
            t,
            f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: "
            f"{int(duration) + 1} ms\tMemory Size: 512 MB\tMax Memory Used: 97 MB\t\n",
        )
    )
    return out


def _events(group: str, stream: str, pairs: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [
        {"logGroupName": group, "logStreamName": stream, "timestamp": t, "message": m}
        for t, m in pairs
    ]


def generate(now_ms: int, seed: int = 7) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All events, and the cases: name -> (request id, its true lines, groups to search)."""
    rng = random.Random(seed)
    today = now_ms - now_ms % DAY_MS
    events: list[dict[str, Any]] = []
    streams: list[tuple[str, int, int]] = []  # name, first ms, last ms allowed
    for back in range(DAYS):
        day = today - back * DAY_MS
        for i in range(STREAMS_PER_DAY):
            latest = (
                min(day + DAY_MS - 600_000, now_ms - 3_600_000)
                if back == 0
                else day + DAY_MS - 60_000
            )
            begin = rng.randint(day, max(day, latest))
            if back == 1 and i < 3:
                begin = day + DAY_MS - rng.randint(60_000, 300_000)  # these will cross midnight
            streams.append((_stream_name(day, rng), begin, now_ms - 120_000))
    for name, begin, limit in streams:
        t = begin
        pairs: list[tuple[int, str]] = [(t, "INIT_START Runtime Version: python:3.12.v38\n")]
        while len(pairs) < 840 and t < limit - 10_000:
            t += rng.randint(200, 4000)
            block = _request(_rid(rng), t, rng, rng.choice((0, 1, 2, 2, 3, 4, 5)))
            pairs.extend(block)
            t = block[-1][0]
        events.extend(_events(MAIN_GROUP, name, pairs))

    cases: dict[str, Any] = {}
    # 1 line: in flight, the newest line of a stream today.
    name, _, _ = streams[0]
    last = max(e["timestamp"] for e in events if e["logStreamName"] == name)
    rid1 = _rid(rng)
    one = _events(MAIN_GROUP, name, [(last + 500, f"START RequestId: {rid1} Version: $LATEST\n")])
    events.extend(one)
    cases["1 line (in flight, today)"] = (rid1, one, (MAIN_GROUP,))
    # 3 lines: logged nothing itself, two days ago.
    two_ago = today - 2 * DAY_MS
    name = _stream_name(two_ago, rng)
    rid3 = _rid(rng)
    three = _events(MAIN_GROUP, name, _request(rid3, two_ago + 9 * 3_600_000, rng, 0))
    events.extend(three)
    cases["3 lines (2 days ago)"] = (rid3, three, (MAIN_GROUP,))
    # 34 lines, twice: today, and crossing midnight in yesterday's stream; 2 untagged print() lines.
    for label, day, at in (
        ("today", today, now_ms - 600_000),
        ("crossed midnight", today - DAY_MS, today - 9_000),
    ):
        name = _stream_name(day, rng)
        rid30 = _rid(rng)
        pairs = _request(rid30, at, rng, 29)
        pairs.insert(5, (pairs[4][0], "connecting to orders-db.internal:5432\n"))
        pairs.insert(20, (pairs[19][0], "retrying after 250 ms\n"))
        thirty = _events(MAIN_GROUP, name, pairs)
        events.extend(thirty)
        cases[f"30+ lines ({label})"] = (rid30, thirty, (MAIN_GROUP,))
    cases["  same, by 8-char prefix"] = (rid30[:8], thirty, (MAIN_GROUP,))

    # Three more groups with background traffic and one request through all of them.
    spread_rid = _rid(rng)
    spread: list[dict[str, Any]] = []
    for g, group in enumerate(SPREAD_GROUPS):
        for back in range(DAYS):
            day = today - back * DAY_MS
            lambda_group = group.startswith("/aws/lambda/")
            stream = (
                _stream_name(day, rng)
                if lambda_group
                else f"billing/app/{rng.getrandbits(64):016x}"
            )
            t = day + rng.randint(0, 3_600_000)
            pairs = []
            for _ in range(250 if back else 80):
                t += rng.randint(500, 20_000)
                if t > now_ms - 120_000:
                    break
                pairs.extend(_line_block(group, _rid(rng), t, rng))
            events.extend(_events(group, stream, pairs))
        when = now_ms - 1_800_000 + g * 150
        stream = (
            _stream_name(today, rng)
            if group.startswith("/aws/lambda/")
            else f"billing/app/{rng.getrandbits(64):016x}"
        )
        mine = _events(group, stream, _line_block(group, spread_rid, when, rng))
        events.extend(mine)
        # The worker's own START/END carry its Lambda request id, not this one:
        # they are another request's lines, not this request's.
        spread.extend(e for e in mine if spread_rid in e["message"])
    cases["1 request over 3 log groups"] = (spread_rid, spread, SPREAD_GROUPS)
    return events, cases


def _line_block(group: str, rid: str, t: int, rng: random.Random) -> list[tuple[int, str]]:
    if group.endswith("bench-api"):  # Node.js text format
        return [
            (t, f"START RequestId: {rid} Version: 3\n"),
            (t + 2, f"{iso(t + 2)}\t{rid}\tINFO\tPOST /checkout\n"),
            (t + 40, f"{iso(t + 40)}\t{rid}\tINFO\tqueued for worker\n"),
            (t + 41, f"END RequestId: {rid}\n"),
            (
                t + 41,
                f"REPORT RequestId: {rid}\tDuration: 40.10 ms\tBilled Duration: 41 ms\t"
                "Memory Size: 256 MB\tMax Memory Used: 80 MB\t\n",
            ),
        ]
    if group.endswith("bench-worker"):  # Powertools Logger JSON
        pt = (
            '{{"level":"{lvl}","location":"handler:20","message":"{msg}","timestamp":"{ts}",'
            '"service":"worker","cold_start":false,"function_request_id":"{inner}",'
            '"correlation_id":"{rid}"}}\n'
        )
        inner = _rid(rng)
        return [
            (t, f"START RequestId: {inner} Version: $LATEST\n"),
            (
                t + 3,
                pt.format(
                    lvl="INFO", msg="picked up", ts=powertools_time(t + 3), inner=inner, rid=rid
                ),
            ),
            (
                t + 9,
                pt.format(
                    lvl="ERROR", msg="stock low", ts=powertools_time(t + 9), inner=inner, rid=rid
                ),
            ),
            (t + 10, f"END RequestId: {inner}\n"),
        ]
    return [(t + 5, f"{iso(t + 5)} INFO correlation={rid} charged 12.00 EUR\n")]


def _key(e: dict[str, Any]) -> tuple[str, str, int, str]:
    return (e["logGroupName"], e["logStreamName"], int(e["timestamp"]), e["message"])


def _seed_approach(
    logs: Any, rid: str, groups: tuple[str, ...], now_ms: int
) -> tuple[set[Any], int]:
    prefix = time.strftime("%Y/%m/%d/", time.gmtime(now_ms / 1000))
    found: set[Any] = set()
    for group in groups:
        page = logs.filter_log_events(
            logGroupName=group, logStreamNamePrefix=prefix, filterPattern=f'"{rid}"', limit=20
        )
        for e in page.get("events", ()):
            if e["logStreamName"].startswith(prefix):  # what CloudWatch would have returned
                found.add(_key({**e, "logGroupName": group}))
    return found, len(groups)


def run() -> list[str]:
    """Generate, load into moto, search each case both ways; return the report lines."""
    now = int(time.time() * 1000)
    events, cases = generate(now)
    lines: list[str] = []
    with moto_server() as endpoint:
        use_endpoint(endpoint)
        logs = boto3.client("logs")
        # Loading only: botocore's client-side validation of 100k events costs more than moto.
        loader = boto3.client("logs", config=Config(parameter_validation=False))
        started = time.perf_counter()
        put_calls = put_events(loader, events)
        load_s = time.perf_counter() - started
        main_events = [e for e in events if e["logGroupName"] == MAIN_GROUP]
        main_streams = {e["logStreamName"] for e in main_events}
        days = {e["logStreamName"][:10] for e in main_events}
        lines.append(
            f"data: {MAIN_GROUP}: {len(main_events):,} events, {len(main_streams)} streams, "
            f"{len(days)} UTC days; +{len(events) - len(main_events):,} events in "
            f"{len(SPREAD_GROUPS)} more groups; loaded in {load_s:.1f} s ({put_calls} PutLogEvents)"
        )
        header = f"{'case':<30}{'lines':>6} | {'logthread: recall':>17}  {'API calls':<58}{'time':>7} | {'seed approach: recall':>21}  {'calls':>5}{'time':>8}"
        lines.append(header)
        lines.append("-" * len(header))
        for name, (rid, truth, groups) in cases.items():
            truth_keys = {_key(e) for e in truth}
            t0 = time.perf_counter()
            functions = tuple(
                g.removeprefix("/aws/lambda/") for g in groups if g.startswith("/aws/lambda/")
            )
            others = tuple(g for g in groups if not g.startswith("/aws/lambda/"))
            query = SearchQuery(
                rid, functions=functions, log_groups=others, deadline_seconds=120, max_lines=10_000
            )
            result = search(logs, query, now_ms=now)
            ours_s = time.perf_counter() - t0
            found = {
                (r.log_group, r.log_stream, r.timestamp, r.raw)
                for r in result.records
                if not r.context
            }
            t0 = time.perf_counter()
            seed_found, seed_calls = _seed_approach(logs, rid, groups, now)
            seed_s = time.perf_counter() - t0
            recall = len(found & truth_keys) / len(truth_keys)
            seed_recall = len(seed_found & truth_keys) / len(truth_keys)
            extra = len(found - truth_keys)
            calls = " + ".join(f"{k} {v}" for k, v in result.api_calls.items())
            note = f"  ({extra} extra)" if extra else ""
            partial = "  PARTIAL" if result.partial else ""
            lines.append(
                f"{name:<30}{len(truth_keys):>6} | {recall:>16.0%}   {calls:<58}{ours_s:>6.2f}s |"
                f" {seed_recall:>20.0%}   {seed_calls:>5}{seed_s:>7.2f}s{note}{partial}"
            )
    lines.append(
        "logthread: FilterLogEvents walks UTC days newest first (moto answers each step in one page;"
        " CloudWatch may need more pages per step); GetLogEvents reads each request's START..REPORT"
        " span (its untagged lines); DescribeLogGroups resolves -g names."
    )
    lines.append(
        "seed approach: FilterLogEvents, logStreamNamePrefix = today's date, limit 20, no pagination "
        "(moto ignores the prefix: lines outside it are dropped, as CloudWatch would)."
    )
    return lines
