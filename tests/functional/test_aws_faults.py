"""CloudWatch Logs faults (issue 7, item 3): throttling, 5xx, an Insights query that never ends.

AWS is moto behind :class:`~logthread_local.faultproxy.FaultProxy`, reached over
real HTTP by a boto3 client in botocore's adaptive retry mode, as in Lambda.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from logthread.aws import RETRY_CONFIG
from logthread.search import SearchQuery, search
from logthread_local import seed as seeding
from logthread_local.faultproxy import FaultProxy

RID = seeding.SEED_REQUEST_ID
FUNCTION = seeding.SEED_FUNCTION


@pytest.fixture
def proxy(aws: str) -> Iterator[FaultProxy]:
    seeding.seed(
        boto3.client("logs", endpoint_url=aws), files=[seeding.FIXTURES_DIR / "hoge_service.json"]
    )
    with FaultProxy(aws, seed=7) as p:
        yield p


def logs_via(proxy: FaultProxy) -> Any:
    return boto3.client("logs", endpoint_url=proxy.url, config=RETRY_CONFIG)


def query(**kwargs: Any) -> SearchQuery:
    return SearchQuery(RID, functions=(FUNCTION,), **{"deadline_seconds": 20.0, **kwargs})


def lines(result: Any) -> list[tuple[int, str]]:
    return [(r.timestamp, r.raw) for r in result.records]


def test_transient_throttles_and_5xx_are_retried_and_nothing_is_lost(proxy: FaultProxy) -> None:
    logs = logs_via(proxy)
    clean = search(logs, query())
    assert clean.found and not clean.partial
    proxy.clear()
    proxy.throttle("FilterLogEvents", count=2)
    proxy.fail("FilterLogEvents", status=503, count=1)
    proxy.fail("GetLogEvents", status=500, count=1)
    proxy.throttle("DescribeLogGroups", count=1)

    faulty = search(logs, query())

    assert lines(faulty) == lines(clean)
    assert not faulty.partial, faulty.partial_reason
    seen = proxy.summary()
    assert seen["FilterLogEvents"]["throttle"] == 2 and seen["FilterLogEvents"]["503"] == 1
    assert seen["GetLogEvents"]["500"] == 1
    # Every request botocore sent, its retries included, is in the search's own count.
    for op in ("FilterLogEvents", "GetLogEvents", "DescribeLogGroups"):
        assert faulty.api_calls.get(op, 0) == sum(seen.get(op, {}).values()), op
    assert faulty.api_calls["FilterLogEvents"] == clean.api_calls["FilterLogEvents"] + 3


def test_a_fixed_rate_of_throttling_is_absorbed(proxy: FaultProxy) -> None:
    logs = logs_via(proxy)
    clean = search(logs, query())
    proxy.clear()
    proxy.throttle("*", rate=0.2)
    faulty = search(logs, query())
    assert lines(faulty) == lines(clean) and not faulty.partial
    assert sum(c["throttle"] for c in proxy.summary().values()) > 0


def test_throttled_past_the_deadline_returns_what_it_has_marked_partial(
    proxy: FaultProxy,
) -> None:
    proxy.throttle("FilterLogEvents", rate=1.0)
    result = search(logs_via(proxy), query(deadline_seconds=3.0))
    assert result.partial
    assert "deadline (ThrottlingException)" in result.partial_reason
    assert not result.found
    # botocore gave up once a backoff would pass the deadline: a few attempts, not 8 per call.
    assert 1 <= proxy.count("FilterLogEvents", "throttle") == result.api_calls["FilterLogEvents"]
    assert proxy.count("FilterLogEvents", "throttle") < 8


def test_5xx_until_botocore_gives_up_is_partial_not_a_crash(proxy: FaultProxy) -> None:
    proxy.fail("GetLogEvents", status=503, rate=1.0)
    result = search(logs_via(proxy), query())
    # The matched lines stand; reading around them failed, and the result says so.
    assert result.found and result.partial
    assert "ServiceUnavailable" in result.partial_reason


@pytest.mark.parametrize("keep_rows", [True, False])
def test_an_insights_query_that_never_completes_is_stopped(
    proxy: FaultProxy, keep_rows: bool
) -> None:
    proxy.never_complete(keep_rows=keep_rows)
    result = search(logs_via(proxy), query(strategy="insights", deadline_seconds=3.0))
    assert result.path == "insights" and result.partial
    assert "deadline" in result.partial_reason
    assert proxy.count("StopQuery") == 1 == result.api_calls["StopQuery"]
    assert proxy.count("GetQueryResults", "running") >= 1
    # Rows seen while it ran are kept (CloudWatch returns them before completion).
    assert result.found == keep_rows


def test_throttled_while_listing_log_groups_is_partial_with_nothing_searched(
    proxy: FaultProxy,
) -> None:
    proxy.throttle("DescribeLogGroups", rate=1.0)
    result = search(
        logs_via(proxy), SearchQuery(RID, log_groups=("/aws/lambda/",), deadline_seconds=3.0)
    )
    assert result.partial and not result.found
    assert result.partial_reason == "deadline (ThrottlingException) while listing log groups"
    assert result.log_groups_searched == [] and result.path == "filter"
    assert result.window is not None
    assert proxy.count("FilterLogEvents") == 0
    assert (
        1 <= proxy.count("DescribeLogGroups", "throttle") == result.api_calls["DescribeLogGroups"]
    )
