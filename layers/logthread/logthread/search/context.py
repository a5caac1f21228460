"""Reading a stream around the request's lines with GetLogEvents.

Two reads, both in one stream:

- **The span.** A Lambda execution environment runs one request at a time, and
  its stream holds its lines in order, so everything between a request's START
  and its REPORT (or END) line belongs to that request, including lines that
  do not carry the id: ``print()`` output, an unhandled exception's traceback.
  Those are read with one forward GetLogEvents from START to REPORT.
- **Context.** ``N`` lines before the first and after the last line of the
  request in that stream, marked ``context`` (they belong to other requests or
  to the environment's init).

GetLogEvents reads backward unless ``startFromHead=True``; it returns the same
forward token at the end of the range, which is how the end is recognised.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from logthread.loggroups import group_params
from logthread.query import TimeWindow
from logthread.search.calls import ApiCalls

PAGE_LIMIT = 10_000
MAX_SPAN_EVENTS = 20_000  # beyond this a span is cut (and the result marked partial)


def read_range(
    logs: Any,
    log_group: str,
    log_stream: str,
    window: TimeWindow,
    *,
    deadline: float,
    calls: ApiCalls,
    max_events: int = MAX_SPAN_EVENTS,
    until: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Events of one stream in ``window`` (inclusive), oldest first.

    ``until`` names the last event wanted: reading stops at the page holding
    it, which saves the extra call that only confirms the end of the range.

    Returns
    -------
    tuple
        The events (``logGroupName`` and ``logStreamName`` added) and whether the
        range was read to its end.
    """
    params: dict[str, Any] = {
        **group_params(log_group),
        "logStreamName": log_stream,
        "startTime": window.start_ms,
        # GetLogEvents excludes endTime itself.
        "endTime": window.end_ms + 1,
        "startFromHead": True,
        "limit": PAGE_LIMIT,
    }
    events: list[dict[str, Any]] = []
    while True:
        if time.monotonic() >= deadline:
            return events, False
        page = calls.call("GetLogEvents", logs.get_log_events, **params)
        reached = False
        for e in page.get("events", ()):
            # moto includes endTime itself; the window is the contract here.
            if window.start_ms <= e["timestamp"] <= window.end_ms:
                events.append({**e, "logGroupName": log_group, "logStreamName": log_stream})
                reached = reached or (until is not None and until(e))
        token = page.get("nextForwardToken")
        # The end is the token coming back unchanged: a page may be empty mid-stream.
        if reached or not token or token == params.get("nextToken"):
            return events, True
        if len(events) >= max_events:
            return events[:max_events], False
        params["nextToken"] = token


def read_before(
    logs: Any,
    log_group: str,
    log_stream: str,
    before_ms: int,
    count: int,
    *,
    deadline: float,
    calls: ApiCalls,
) -> list[dict[str, Any]]:
    """Up to ``count`` events at or before ``before_ms``, oldest first.

    Reads backward from ``before_ms`` (inclusive, so lines sharing the first
    line's millisecond are seen; the caller drops the request's own lines).
    """
    if count <= 0 or time.monotonic() >= deadline:
        return []
    page = calls.call(
        "GetLogEvents",
        logs.get_log_events,
        **group_params(log_group),
        logStreamName=log_stream,
        endTime=before_ms + 1,
        startFromHead=False,
        limit=min(count, PAGE_LIMIT),
    )
    return [
        {**e, "logGroupName": log_group, "logStreamName": log_stream}
        for e in page.get("events", ())
        if e["timestamp"] <= before_ms
    ]


def read_after(
    logs: Any,
    log_group: str,
    log_stream: str,
    after_ms: int,
    count: int,
    *,
    deadline: float,
    calls: ApiCalls,
) -> list[dict[str, Any]]:
    """Up to ``count`` events at or after ``after_ms``, oldest first."""
    if count <= 0 or time.monotonic() >= deadline:
        return []
    page = calls.call(
        "GetLogEvents",
        logs.get_log_events,
        **group_params(log_group),
        logStreamName=log_stream,
        startTime=after_ms,
        startFromHead=True,
        limit=min(count, PAGE_LIMIT),
    )
    return [
        {**e, "logGroupName": log_group, "logStreamName": log_stream}
        for e in page.get("events", ())
    ]
