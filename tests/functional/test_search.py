"""The search engine against moto server over real HTTP, on the seeded log fixtures."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from logthread.ids import InvalidRequestId
from logthread.search import (
    SearchError,
    SearchQuery,
    TimeWindow,
    filter_events,
    search,
)
from logthread.search import filter as filter_module
from logthread.search.calls import ApiCalls
from logthread.search.insights import insights_events
from logthread.window import DAY_MS
from logthread_local.aws import reset_moto
from logthread_local.seed import SEED_REQUEST_ID, seed

HOUR = 3_600_000
# Inventory, orders and payments requests from the fixtures.
MIDNIGHT_ID = "c0ffee00-1111-4222-8333-444455556666"
TWO_DAYS_AGO_ID = "e7a1c2b3-5d6e-4f70-8192-a3b4c5d6e7f8"
ORDER_ID = "5d2c4e6f-8a0b-4c1d-9e2f-3a4b5c6d7e8f"
PAYMENT_ID = "3c4d5e6f-7081-4923-a4b5-c6d7e8f90a1b"
INVENTORY_ID = "8f14e45f-ceea-467a-9af0-2c4f6a8b0d1e"


def _now() -> int:
    # Late enough in the UTC day that every "today" fixture stream sits in today,
    # never more than an hour ahead of the clock (moto refuses events 2 h ahead).
    real = int(time.time() * 1000)
    day = real - real % DAY_MS
    return day + max(real - day, HOUR)


@pytest.fixture(scope="module")
def seeded(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    """The fixtures, loaded once for this module: every test here only reads them."""
    reset_moto(moto_endpoint)
    yield seed(_client(moto_endpoint), now_ms=_now())
    reset_moto(moto_endpoint)


def _client(endpoint: str) -> Any:
    return boto3.client("logs", endpoint_url=endpoint, config=Config(retries={"mode": "adaptive"}))


@pytest.fixture
def logs_client(moto_endpoint: str) -> Any:
    """A fresh client per test (hooks registered on it end with the test)."""
    return _client(moto_endpoint)


def _run(logs: Any, seeded: dict[str, Any], request_id: str, **kw: Any) -> Any:
    return search(logs, SearchQuery(request_id, **kw), now_ms=seeded["now_ms"])


def _lines_of(seeded: dict[str, Any], request_id: str) -> list[str]:
    return [e["message"] for e in seeded["events"] if request_id in e["message"]]


def test_seed_case_prefix_finds_the_whole_request_in_order(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, "12345678", functions=("HogeService",))
    assert result.request_ids == [SEED_REQUEST_ID]
    kinds = [r.kind for r in result.records]
    assert kinds[0] == "start" and kinds[-1] == "report"
    assert [r.timestamp for r in result.records] == sorted(r.timestamp for r in result.records)
    messages = [r.message for r in result.records]
    assert "DB fetch failed" in messages
    # Every line carrying the id is there...
    assert {r.raw for r in result.records} >= set(_lines_of(seeded, SEED_REQUEST_ID))
    # ...and so are the untagged lines between START and REPORT (print, unhandled traceback).
    attributed = [r for r in result.records if r.extra.get("attributed")]
    assert [r.message.splitlines()[0] for r in attributed] == [
        "connecting to db-primary.internal:5432",
        "RuntimeError: DB fetch failed",
    ]
    assert all(r.request_id == SEED_REQUEST_ID for r in result.records)
    assert result.error_count == 2
    assert not result.partial and result.path == "filter"
    # Found today: one FilterLogEvents, one GetLogEvents for the span.
    assert result.api_calls == {"FilterLogEvents": 1, "GetLogEvents": 1}
    assert result.log_groups_searched == ["/aws/lambda/HogeService"]


def test_full_id_and_prefix_give_the_same_story(logs_client: Any, seeded: Any) -> None:
    by_prefix = _run(logs_client, seeded, "12345678", functions=("HogeService",))
    by_full = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",))
    assert [r.raw for r in by_full.records] == [r.raw for r in by_prefix.records]


def test_a_number_that_starts_like_the_prefix_is_not_a_match(logs_client: Any, seeded: Any) -> None:
    # "order 123456789" is in another request's lines: it is not a request id.
    result = _run(logs_client, seeded, "12345678", functions=("HogeService",))
    assert not any("order 123456789" in r.raw for r in result.records)


def test_day_walk_goes_back_until_the_request_appears(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, TWO_DAYS_AGO_ID, functions=("HogeService",))
    assert [r.kind for r in result.records] == ["start", "text", "text", "end", "report"]
    assert result.api_calls["FilterLogEvents"] == 3  # today, yesterday, the day before


def test_request_in_a_stream_that_crossed_midnight_is_whole(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, MIDNIGHT_ID, functions=("HogeService",))
    raws = {r.raw for r in result.records}
    assert raws == set(_lines_of(seeded, MIDNIGHT_ID))
    assert result.records[0].kind == "start"
    day = seeded["now_ms"] - seeded["now_ms"] % DAY_MS
    assert result.records[0].timestamp < day <= result.records[-1].timestamp


def test_not_found_is_empty_not_partial(logs_client: Any, seeded: Any) -> None:
    result = _run(
        logs_client, seeded, "deadbeef-0000-4000-8000-000000000000", functions=("HogeService",)
    )
    assert not result.found and not result.partial and result.request_ids == []
    assert result.api_calls == {"FilterLogEvents": 3}


def test_one_story_over_two_groups_interleaved_by_time(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, ORDER_ID, functions=("OrderApi", "PaymentJson"))
    groups = [r.log_group for r in result.records]
    assert set(groups) == {"/aws/lambda/OrderApi", "/aws/lambda/PaymentJson"}
    assert groups.index("/aws/lambda/PaymentJson") < max(
        i for i, g in enumerate(groups) if g == "/aws/lambda/OrderApi"
    )
    assert {r.raw for r in result.records} == set(_lines_of(seeded, ORDER_ID))


def test_trace_id_finds_the_requests_on_the_trace(logs_client: Any, seeded: Any) -> None:
    trace = seeded["traces"]["O1"]
    result = _run(logs_client, seeded, trace, functions=("OrderApi", "PaymentJson"))
    assert result.request_ids == [ORDER_ID, PAYMENT_ID]
    ids = {r.request_id for r in result.records}
    assert {ORDER_ID, PAYMENT_ID} <= ids
    assert next(r.kind for r in result.records if r.request_id == PAYMENT_ID) == "start"
    assert result.window is not None and result.window.duration_ms == 2 * HOUR


def test_trace_id_in_powertools_lines(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, seeded["traces"]["T1"], functions=("InventoryService",))
    assert result.request_ids == [INVENTORY_ID]
    assert [r.kind for r in result.records] == [
        "start",
        "powertools",
        "powertools",
        "end",
        "report",
    ]
    assert result.records[2].is_error


def test_context_lines_are_marked(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",), context_lines=2)
    context = [r for r in result.records if r.context]
    own = [r for r in result.records if not r.context]
    assert [r.kind for r in context] == [
        "platform",
        "start",
        "text",
    ]  # INIT_START, then the next request
    assert context[0].timestamp < own[0].timestamp and context[-1].timestamp > own[-1].timestamp
    assert result.error_count == 2


def test_log_group_name_prefix_and_missing(logs_client: Any, seeded: Any) -> None:
    exact = _run(logs_client, seeded, SEED_REQUEST_ID, log_groups=("/aws/lambda/HogeService",))
    assert exact.log_groups_searched == ["/aws/lambda/HogeService"] and exact.found
    prefix = _run(logs_client, seeded, SEED_REQUEST_ID, log_groups=("/aws/lambda/Hoge",))
    assert prefix.log_groups_searched == ["/aws/lambda/HogeService"] and prefix.found
    star = _run(logs_client, seeded, SEED_REQUEST_ID, log_groups=("/aws/lambda/*",))
    assert len(star.log_groups_searched) == 4
    gone = _run(logs_client, seeded, SEED_REQUEST_ID, log_groups=("/nope",), functions=("Nope",))
    assert not gone.found and sorted(gone.missing_log_groups) == ["/aws/lambda/Nope", "/nope"]


def test_no_target_searches_every_lambda_group(logs_client: Any, seeded: Any) -> None:
    result = _run(logs_client, seeded, "12345678")
    assert len(result.log_groups_searched) == 4
    assert result.request_ids == [SEED_REQUEST_ID]


def test_insights_path_checks_every_row(logs_client: Any, seeded: Any) -> None:
    by_filter = _run(logs_client, seeded, "12345678", functions=("HogeService",))
    by_insights = _run(
        logs_client, seeded, "12345678", functions=("HogeService",), strategy="insights"
    )
    # moto's Insights ignores the filter and returns every row: the client check keeps the story exact.
    assert [r.raw for r in by_insights.records] == [r.raw for r in by_filter.records]
    assert by_insights.path == "insights"
    assert (
        by_insights.api_calls["StartQuery"] == 1 and "FilterLogEvents" not in by_insights.api_calls
    )


def test_insights_drops_missing_function_groups(logs_client: Any, seeded: Any) -> None:
    result = _run(
        logs_client, seeded, "12345678", functions=("HogeService", "Nope"), strategy="insights"
    )
    assert result.found and result.missing_log_groups == ["/aws/lambda/Nope"]


def test_wide_window_or_many_groups_choose_insights(logs_client: Any, seeded: Any) -> None:
    now = seeded["now_ms"]
    wide = _run(
        logs_client,
        seeded,
        SEED_REQUEST_ID,
        functions=("HogeService",),
        window=TimeWindow(now - 7 * DAY_MS, now),
    )
    assert wide.path == "insights" and wide.found


def test_line_cap_keeps_head_and_tail(logs_client: Any, seeded: Any) -> None:
    full = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",))
    capped = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",), max_lines=5)
    assert capped.omitted_lines == len(full.records) - 5
    assert capped.records == full.records[:5]
    capped = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",), max_lines=10)
    assert capped.omitted_lines == 0 and capped.omitted_at == -1
    ten = _run(
        logs_client,
        seeded,
        SEED_REQUEST_ID,
        functions=("HogeService",),
        context_lines=3,
        max_lines=10,
    )
    assert ten.omitted_lines > 0 and ten.omitted_at == 8
    assert ten.records[-1].context and ten.records[0].context


def test_deadline_returns_what_it_has_marked_partial(logs_client: Any, seeded: Any) -> None:
    result = _run(
        logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",), deadline_seconds=0
    )
    assert result.partial and "deadline" in result.partial_reason
    assert "FilterLogEvents" not in result.api_calls


def test_invalid_id_is_refused_before_any_call(logs_client: Any) -> None:
    with pytest.raises(InvalidRequestId):
        search(logs_client, SearchQuery('x" OR "y', functions=("HogeService",)))


# --- FilterLogEvents as AWS answers and moto does not -------------------------


class _Inject:
    """Answer some FilterLogEvents calls locally, through botocore's own event hooks.

    moto never returns an empty page with a nextToken, nor a line its filter
    should not have matched; AWS can. Every other call goes to moto over HTTP.
    (Each test has its own client, so the hooks end with the test.)
    """

    TOKEN = "injected-page"

    def __init__(
        self, logs: Any, pages: list[dict[str, Any]], operation: str = "FilterLogEvents"
    ) -> None:
        self.pages = list(pages)
        self.calls = 0
        events = logs.meta.events
        events.register(f"provide-client-params.logs.{operation}", self._params)
        events.register(f"before-call.logs.{operation}", self._before)

    def _params(self, params: dict[str, Any], **_: Any) -> None:
        if params.get("nextToken") == self.TOKEN:
            del params["nextToken"]

    def _before(self, **_: Any) -> Any:
        self.calls += 1
        if not self.pages:
            return None
        page = self.pages.pop(0)
        status = 400 if "Error" in page else 200
        return AWSResponse("http://injected", status, {}, None), page


def test_empty_page_with_token_is_followed(logs_client: Any, seeded: Any) -> None:
    _Inject(logs_client, [{"events": [], "nextToken": _Inject.TOKEN}])
    result = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",))
    assert result.found and result.records[0].kind == "start"
    assert result.api_calls["FilterLogEvents"] == 2


def test_lines_without_the_id_are_dropped(logs_client: Any, seeded: Any) -> None:
    stray = {
        "logStreamName": "2024/01/01/[$LATEST]x",
        "timestamp": seeded["now_ms"] - 1000,
        "message": "a line the server matched loosely: 12345678-aaaa-bbbb-cccc-1234567890abc",
        "eventId": "1",
    }
    _Inject(logs_client, [{"events": [stray], "nextToken": _Inject.TOKEN}])
    result = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",))
    assert all("1234567890abc" not in r.raw for r in result.records)
    assert result.found


def test_every_group_refused_is_an_error(logs_client: Any, seeded: Any) -> None:
    denied = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
    _Inject(logs_client, [denied])
    with pytest.raises(SearchError, match="AccessDenied"):
        _run(
            logs_client,
            seeded,
            SEED_REQUEST_ID,
            functions=("HogeService",),
            window=TimeWindow(0, 1),
        )


def test_insights_refused_falls_back_to_filter(logs_client: Any, seeded: Any) -> None:
    limit = {"Error": {"Code": "LimitExceededException", "Message": "too many queries"}}
    _Inject(logs_client, [limit], operation="StartQuery")
    result = _run(logs_client, seeded, "12345678", functions=("HogeService",), strategy="insights")
    assert result.found and result.path == "filter"
    assert result.partial and "LimitExceededException" in result.partial_reason


def test_stream_read_refused_keeps_the_lines_found(logs_client: Any, seeded: Any) -> None:
    denied = {"Error": {"Code": "AccessDeniedException", "Message": "no GetLogEvents"}}
    _Inject(logs_client, [denied], operation="GetLogEvents")
    result = _run(logs_client, seeded, SEED_REQUEST_ID, functions=("HogeService",))
    assert {r.raw for r in result.records} == set(_lines_of(seeded, SEED_REQUEST_ID))
    assert result.partial and "AccessDeniedException" in result.partial_reason


def test_filter_events_paginates_to_the_end(
    logs_client: Any, seeded: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(filter_module, "PAGE_LIMIT", 3)
    calls = ApiCalls()
    now = seeded["now_ms"]
    events = filter_events(
        logs_client,
        "/aws/lambda/HogeService",
        TimeWindow(now - DAY_MS, now),
        f'"{SEED_REQUEST_ID}"',
        deadline=time.monotonic() + 30,
        calls=calls,
    )
    assert events.complete and len(events) == len(_lines_of(seeded, SEED_REQUEST_ID)) == 8
    assert calls.snapshot() == {"FilterLogEvents": 3}
    assert all(e["logGroupName"] == "/aws/lambda/HogeService" for e in events)


def test_filter_events_limit_and_deadline(logs_client: Any, seeded: Any) -> None:
    now = seeded["now_ms"]
    window = TimeWindow(now - DAY_MS, now)
    few = filter_events(
        logs_client,
        "/aws/lambda/HogeService",
        window,
        '"RequestId"',
        deadline=time.monotonic() + 30,
        limit=2,
    )
    assert len(few) == 2 and not few.complete and few.reason == "limit"
    calls = ApiCalls()
    late = filter_events(
        logs_client,
        "/aws/lambda/HogeService",
        window,
        '"x"',
        deadline=time.monotonic() - 1,
        calls=calls,
    )
    assert late == [] and not late.complete and late.reason == "deadline" and calls.total == 0


def test_insights_stops_queries_at_the_deadline(logs_client: Any, seeded: Any) -> None:
    stop = _Inject(logs_client, [{}], operation="StopQuery")  # moto has no StopQuery
    calls = ApiCalls()
    now = seeded["now_ms"]
    events = insights_events(
        logs_client,
        ["/aws/lambda/HogeService"],
        TimeWindow(now - DAY_MS, now),
        SEED_REQUEST_ID,
        deadline=time.monotonic(),
        calls=calls,
    )
    assert not events.complete and events.reason == "deadline"
    assert calls.snapshot() == {"StartQuery": 1, "StopQuery": 1} and stop.calls == 1


def test_insights_rows_as_cloudwatch_writes_them() -> None:
    from logthread.search.insights import _row_to_event

    row = [
        {"field": "@timestamp", "value": "2024-05-01 12:00:00.123"},
        {"field": "@message", "value": "END RequestId: x\n"},
        {"field": "@logStream", "value": "2024/05/01/[$LATEST]abc"},
        {"field": "@log", "value": "123456789012:/aws/lambda/HogeService"},
        {"field": "@ptr", "value": "CmAKJwoj"},
    ]
    assert _row_to_event(row) == {
        "logGroupName": "/aws/lambda/HogeService",
        "logStreamName": "2024/05/01/[$LATEST]abc",
        "timestamp": 1714564800123,
        "message": "END RequestId: x\n",
        "eventId": "CmAKJwoj",
    }
    # A source account's group is known by the ARN it was queried with.
    arn = "arn:aws:logs:us-east-1:210987654321:log-group:/aws/lambda/HogeService"
    row[3] = {"field": "@log", "value": "210987654321:/aws/lambda/HogeService"}
    assert _row_to_event(row, {"210987654321:/aws/lambda/HogeService": arn})["logGroupName"] == arn


@pytest.mark.parametrize(
    "target", ["charge", "charge:live", "arn:aws:lambda:us-east-1:123456789012:function:charge"]
)
def test_a_function_with_its_alias_or_as_an_arn_is_that_functions_group(
    logs_client: Any, target: str
) -> None:
    # Only a 12-digit id before ":" names another account: "charge:live" is an alias.
    rid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    now, group = int(time.time() * 1000), "/aws/lambda/charge"
    stream = target.replace(":", "-")  # the module's moto keeps the group between cases
    with contextlib.suppress(logs_client.exceptions.ResourceAlreadyExistsException):
        logs_client.create_log_group(logGroupName=group)
    logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
    logs_client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now - 60_000, "message": f"START RequestId: {rid} Version: 1"}],
    )
    assert search(logs_client, SearchQuery(rid, functions=(target,))).found
