"""The Logs Insights path: one query over many groups or a wide window.

StartQuery takes up to 50 log groups, so groups are queried in chunks of 50,
all started at once. Results are polled with GetQueryResults, backing off, and
every query still running at the deadline is stopped with StopQuery (its rows
so far are kept and the result is marked partial).

The query's ``filter`` is an optimisation only: every row is checked again on
the client, as for FilterLogEvents (moto's Insights ignores ``filter`` entirely).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from logthread.ids import insights_term
from logthread.loggroups import LogGroupRef, is_arn, query_params
from logthread.logparse import iso_to_ms
from logthread.query import TimeWindow
from logthread.search.calls import ApiCalls
from logthread.search.deadline import DeadlineReached, deadline_reason
from logthread.search.filter import EventList

MAX_GROUPS_PER_QUERY = 50
ROW_LIMIT = 10_000  # Insights' own maximum
FIRST_POLL_S = 0.25
MAX_POLL_S = 2.5
STOP_GRACE_S = 1.0  # a query left running costs the account scan time and a concurrency slot
_DONE = {"Complete", "Failed", "Cancelled", "Timeout", "Unknown"}


def query_string(request_id: str) -> str:
    """The Insights query for one (validated) id; the id is allowlisted, never escaped."""
    return (
        "fields @timestamp, @message, @logStream, @log"
        f" | filter @message like {insights_term(request_id)}"
        f" | sort @timestamp asc | limit {ROW_LIMIT}"
    )


def _row_to_event(
    row: list[dict[str, str]], arns: Mapping[str, str] | None = None
) -> dict[str, Any]:
    fields = {f.get("field", ""): f.get("value", "") for f in row}
    stamp = fields.get("@timestamp", "")
    timestamp = int(stamp) if stamp.isdigit() else iso_to_ms(stamp)
    group = fields.get("@log", "")
    # Insights names a group "<account id>:<name>": a source account's group is known by
    # the ARN it was queried with, the own account's by its name (as before).
    if arns and group in arns:
        group = arns[group]
    else:
        head, sep, tail = group.partition(":")
        if sep and head.isdigit() and len(head) == 12:
            group = tail
    return {
        "logGroupName": group,
        "logStreamName": fields.get("@logStream", ""),
        "timestamp": timestamp,
        "message": fields.get("@message", ""),
        "eventId": fields.get("@ptr", ""),
    }


def _stop(logs: Any, pending: dict[str, int], counter: ApiCalls) -> None:
    """StopQuery every running query, each given a short grace past the search's deadline."""
    for query_id in list(pending):
        # It may have finished meanwhile: its rows so far are what we have.
        with contextlib.suppress(ClientError, BotoCoreError):
            counter.call_until(
                time.monotonic() + STOP_GRACE_S, "StopQuery", logs.stop_query, queryId=query_id
            )


def insights_events(
    logs: Any,
    log_groups: list[str],
    window: TimeWindow,
    request_id: str,
    *,
    deadline: float,
    calls: ApiCalls | None = None,
    on_progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> EventList:
    """Rows of a Logs Insights search for ``request_id`` as event dicts.

    Parameters
    ----------
    logs:
        A boto3 CloudWatch Logs client.
    log_groups:
        Existing groups, by name or (a source account's) ARN: StartQuery refuses the
        whole query if one is missing.
    window:
        Epoch-ms bounds; Insights takes seconds, so they are widened to whole seconds.
    request_id:
        A validated id (see :func:`logthread.ids.validate_request_id`).
    deadline:
        A :func:`time.monotonic` instant; running queries are stopped then.

    Returns
    -------
    EventList
        Dicts shaped like FilterLogEvents events (``eventId`` is Insights'
        ``@ptr``); ``complete`` is False when a query was stopped, failed, or
        hit the 10,000-row limit.
    """
    counter = calls if calls is not None else ApiCalls()
    out = EventList()
    pending = _start_queries(logs, log_groups, window, query_string(request_id), counter)
    rows = _poll(logs, pending, out, deadline, counter, on_progress, sleep)
    arns = {str(LogGroupRef.from_arn(g)): g for g in log_groups if is_arn(g)}
    for result_rows in rows.values():
        if len(result_rows) >= ROW_LIMIT:
            out.complete, out.reason = False, "insights row limit"
        out.extend(_row_to_event(row, arns) for row in result_rows)
    out.sort(key=lambda e: e["timestamp"])
    return out


def _start_queries(
    logs: Any, log_groups: list[str], window: TimeWindow, text: str, counter: ApiCalls
) -> dict[str, int]:
    """StartQuery per chunk of MAX_GROUPS_PER_QUERY groups: query id -> number of groups."""
    pending: dict[str, int] = {}
    for i in range(0, len(log_groups), MAX_GROUPS_PER_QUERY):
        chunk = log_groups[i : i + MAX_GROUPS_PER_QUERY]
        started = counter.call(
            "StartQuery",
            logs.start_query,
            **query_params(chunk),
            startTime=window.start_ms // 1000,
            endTime=math.ceil(window.end_ms / 1000),
            queryString=text,
            limit=ROW_LIMIT,
        )
        pending[started["queryId"]] = len(chunk)
    return pending


def _poll(
    logs: Any,
    pending: dict[str, int],
    out: EventList,
    deadline: float,
    counter: ApiCalls,
    on_progress: Callable[[str], None] | None,
    sleep: Callable[[float], None],
) -> dict[str, list[list[dict[str, str]]]]:
    """Poll the ``pending`` queries, backing off, until done or stopped at the deadline.

    Returns the latest rows of each query; ``out`` is marked incomplete when a
    query did not complete.
    """
    delay = FIRST_POLL_S
    rows: dict[str, list[list[dict[str, str]]]] = {}
    while pending:
        if time.monotonic() + delay >= deadline:
            _stop(logs, pending, counter)
            out.complete, out.reason = False, "deadline"
            break
        sleep(delay)
        try:
            for query_id in list(pending):
                answer = counter.call("GetQueryResults", logs.get_query_results, queryId=query_id)
                rows[query_id] = answer.get("results", [])
                status = answer.get("status", "Unknown")
                if status in _DONE:
                    del pending[query_id]
                    if status != "Complete":
                        out.complete, out.reason = False, f"insights query {status.lower()}"
        except DeadlineReached as exc:
            # Polling was throttled up to the deadline: stop what runs, keep the rows seen.
            _stop(logs, pending, counter)
            out.complete, out.reason = False, deadline_reason(exc)
            break
        if on_progress and pending:
            on_progress(
                f"Logs Insights: {len(pending)} quer{'y' if len(pending) == 1 else 'ies'} running"
            )
        delay = min(delay * 2, MAX_POLL_S)
    return rows
