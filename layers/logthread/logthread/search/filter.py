"""FilterLogEvents, paginated to the very end.

CloudWatch may answer a page with no events and a ``nextToken``: it searched a
slice of the group and has more to search. Stopping at the first empty page
(or at the first page, as a ``limit: 20`` call does) silently loses lines, so
this follows ``nextToken`` until CloudWatch stops returning one, or until the
deadline, in which case the list says it is incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from logthread.loggroups import group_params
from logthread.query import TimeWindow
from logthread.search.calls import ApiCalls
from logthread.search.deadline import DeadlineReached, deadline_reason

PAGE_LIMIT = 10_000  # FilterLogEvents' own maximum per page


class EventList(list[dict[str, Any]]):
    """Raw CloudWatch event dicts, plus whether the listing reached the end.

    Attributes
    ----------
    complete:
        False when the deadline (or ``limit``) stopped pagination early.
    reason:
        Why it is incomplete: ``"deadline"`` (with the error CloudWatch kept
        answering, if any, e.g. ``"deadline (ThrottlingException)"``) or ``"limit"``.
    pages:
        How many pages were read.
    """

    complete: bool = True
    reason: str = ""
    pages: int = 0


def filter_events(
    logs: Any,
    log_group: str,
    window: TimeWindow,
    filter_pattern: str,
    *,
    deadline: float,
    stream_prefix: str | None = None,
    limit: int | None = None,
    calls: ApiCalls | None = None,
) -> EventList:
    """Every event of ``log_group`` in ``window`` that CloudWatch says matches.

    Parameters
    ----------
    logs:
        A boto3 CloudWatch Logs client.
    log_group:
        The group's name.
    window:
        Inclusive epoch-ms bounds (``startTime`` / ``endTime``).
    filter_pattern:
        A CloudWatch filter pattern, e.g. a quoted term from
        :func:`logthread.ids.filter_term`. The server's matching is treated as
        an optimisation: callers check every returned line themselves.
    deadline:
        A :func:`time.monotonic` instant after which no further page is asked for.
    stream_prefix:
        ``logStreamNamePrefix``, e.g. Lambda's ``2024/05/01/``.
    limit:
        Stop after this many events (``complete`` is then False, ``reason`` "limit").
    calls:
        Counts the requests made.

    Returns
    -------
    EventList
        Events as CloudWatch returned them, each with ``logGroupName`` added.

    Raises
    ------
    botocore.exceptions.ClientError
        As CloudWatch raised it (``ResourceNotFoundException`` for a missing group).
    """
    out = EventList()
    for page in event_pages(
        logs,
        log_group,
        window,
        filter_pattern,
        deadline=deadline,
        stream_prefix=stream_prefix,
        page_limit=limit,
        calls=calls,
        outcome=out,
    ):
        out.extend(page)
        if limit and len(out) >= limit:
            truncated = len(out) > limit or not out.complete
            del out[limit:]
            out.complete, out.reason = (False, "limit") if truncated else (True, "")
            return out
    return out


def event_pages(
    logs: Any,
    log_group: str,
    window: TimeWindow,
    filter_pattern: str,
    *,
    deadline: float,
    stream_prefix: str | None = None,
    page_limit: int | None = None,
    calls: ApiCalls | None = None,
    outcome: EventList | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """FilterLogEvents page by page, for callers that count without keeping every line.

    Parameters are those of :func:`filter_events` (``page_limit`` caps one page).
    ``outcome``, when given, gets ``pages``, and ``complete``/``reason`` as
    :func:`filter_events` sets them (``complete`` stays False while more pages
    remain: a caller that stops early has not read everything).
    """
    counter = calls if calls is not None else ApiCalls()
    status = outcome if outcome is not None else EventList()
    params = _first_page_params(log_group, window, filter_pattern, stream_prefix, page_limit)
    seen_tokens: set[str] = set()
    while True:
        if time.monotonic() >= deadline:
            status.complete, status.reason = False, "deadline"
            return
        try:
            page = counter.call("FilterLogEvents", logs.filter_log_events, **params)
        except DeadlineReached as exc:
            # Throttled (or failing) up to the deadline: what was read so far stands.
            status.complete, status.reason = False, deadline_reason(exc)
            return
        status.pages += 1
        token = page.get("nextToken")
        # A token seen before would loop forever; CloudWatch never does that,
        # but a stand-in might.
        more = bool(token) and token not in seen_tokens
        status.complete = not more
        yield [{**event, "logGroupName": log_group} for event in page.get("events", ())]
        if not more:
            return
        seen_tokens.add(token)
        params["nextToken"] = token


def _first_page_params(
    log_group: str,
    window: TimeWindow,
    filter_pattern: str,
    stream_prefix: str | None,
    limit: int | None,
) -> dict[str, Any]:
    """The first page's FilterLogEvents parameters (later pages add ``nextToken``)."""
    params: dict[str, Any] = {
        **group_params(log_group),
        "startTime": int(window.start_ms),
        "endTime": int(window.end_ms),
        "filterPattern": filter_pattern,
        "limit": min(limit, PAGE_LIMIT) if limit else PAGE_LIMIT,
    }
    if stream_prefix:
        params["logStreamNamePrefix"] = stream_prefix
    return params
