"""Search under CloudWatch Logs faults: recall, API calls and time beside a fault-free run.

moto behind :class:`logthread_local.faultproxy.FaultProxy` (seeded, so every run
injects the same faults), a boto3 client in botocore's adaptive mode as in
Lambda (``logthread.aws.RETRY_CONFIG``), the log fixtures as data. Each request
is searched once without faults (the baseline, and the truth for recall) and
then under each fault: 20 % of every Logs call throttled, 20 % answered 503,
every FilterLogEvents throttled (the search then stops at its 5 s deadline),
and a Logs Insights query that never completes (stopped at the deadline).

Recall is the baseline's lines found again under the fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3

from logthread.aws import RETRY_CONFIG
from logthread.search import SearchQuery, search
from logthread_local.aws import moto_server, use_endpoint
from logthread_local.faultproxy import FaultProxy
from logthread_local.seed import SEED_FUNCTION, SEED_REQUEST_ID, seed

# Requests of the fixtures (see tests/functional/test_search.py), with their functions.
REQUESTS = {
    "seed (HogeService)": (SEED_REQUEST_ID, (SEED_FUNCTION,)),
    "order (3 groups)": ("5d2c4e6f-8a0b-4c1d-9e2f-3a4b5c6d7e8f", ()),
    "payment": ("3c4d5e6f-7081-4923-a4b5-c6d7e8f90a1b", ()),
}
Fault = Callable[[FaultProxy], None]
FAULTS: dict[str, tuple[Fault, dict[str, Any]]] = {
    "20% throttled": (lambda p: p.throttle("*", rate=0.2), {}),
    "20% 503": (lambda p: p.fail("*", status=503, rate=0.2), {}),
    "all FilterLogEvents throttled": (
        lambda p: p.throttle("FilterLogEvents", rate=1.0),
        {"deadline_seconds": 5.0},
    ),
    "Insights never completes": (
        lambda p: p.never_complete(),
        {"deadline_seconds": 5.0, "strategy": "insights"},
    ),
}


def _lines(result: Any) -> set[tuple[str, str, int, str]]:
    return {(r.log_group, r.log_stream, r.timestamp, r.raw) for r in result.records}


def _timed(logs: Any, query: SearchQuery) -> tuple[Any, float]:
    started = time.perf_counter()
    result = search(logs, query)
    return result, time.perf_counter() - started


def run() -> list[str]:
    """Seed moto, search each request clean and under each fault; return the report."""
    out: list[str] = []
    with moto_server() as endpoint, FaultProxy(endpoint, seed=20) as proxy:
        use_endpoint(endpoint)
        seed(boto3.client("logs"))
        logs = boto3.client("logs", endpoint_url=proxy.url, config=RETRY_CONFIG)
        header = (
            f"{'request':<20}{'fault':<31}{'recall':>8}{'partial':>9}"
            f"{'calls':>7}{'faults':>8}{'time':>8} | {'no faults: calls':>16}{'time':>8}"
        )
        out += [header, "-" * len(header)]
        for name, (rid, functions) in REQUESTS.items():
            base_query = SearchQuery(rid, functions=functions, deadline_seconds=20.0)
            proxy.clear()
            clean, clean_s = _timed(logs, base_query)
            truth = _lines(clean)
            clean_calls = sum(clean.api_calls.values())
            for fault_name, (inject, overrides) in FAULTS.items():
                proxy.clear()
                inject(proxy)
                query = SearchQuery(
                    rid, functions=functions, **{"deadline_seconds": 20.0, **overrides}
                )
                result, seconds = _timed(logs, query)
                found = _lines(result)
                recall = len(found & truth) / len(truth) if truth else 1.0
                faults = sum(
                    n
                    for counts in proxy.summary().values()
                    for outcome, n in counts.items()
                    if outcome in ("throttle", "500", "503", "running")
                )
                out.append(
                    f"{name:<20}{fault_name:<31}{recall:>8.0%}"
                    f"{'yes' if result.partial else 'no':>9}{sum(result.api_calls.values()):>7}"
                    f"{faults:>8}{seconds:>7.1f}s | {clean_calls:>16}{clean_s:>7.1f}s"
                )
    out.append(
        "recall 100% under transient faults (botocore adaptive retries); at the deadline the "
        "search returns what it has, marked partial"
    )
    return out


if __name__ == "__main__":
    print("\n".join(run()))
