"""The FilterLogEvents path: each group walked day by day, groups in a bounded pool."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from logthread.query import SearchResult, TimeWindow
from logthread.search.calls import ApiCalls, error_code
from logthread.search.filter import filter_events
from logthread.telemetry import in_context
from logthread.window import DAY_MS, DaySlice, day_slices, is_lambda_group

POOL_SIZE = 4
MAX_REQUEST_MS = 15 * 60_000  # Lambda's longest invocation

Progress = Callable[[str], None]


class SearchError(RuntimeError):
    """Nothing could be searched at all (e.g. every call was refused)."""


@dataclass(frozen=True, slots=True)
class FilterPlan:
    """What every group of one FilterLogEvents search shares.

    Attributes
    ----------
    logs:
        A boto3 CloudWatch Logs client (guarded: see :func:`logthread.search.deadline.guard`).
    term:
        The filter pattern sent to CloudWatch (:func:`logthread.ids.filter_term`).
    matches:
        The check every returned line must pass (:func:`logthread.ids.line_matcher`):
        the server's filter is never trusted.
    window:
        Epoch-ms bounds of the search.
    walking:
        Walk ``window`` newest UTC day first, stopping per group at the first
        day that holds the request; otherwise search ``window`` in one go.
    now_ms:
        Where the walk starts ("now" in epoch ms).
    deadline:
        A :func:`time.monotonic` instant after which no further call is made.
    calls:
        Counts the requests made.
    progress:
        Called with short human messages, from the pool's threads.
    """

    logs: Any
    term: str
    matches: Callable[[str], bool]
    window: TimeWindow
    walking: bool
    now_ms: int
    deadline: float
    calls: ApiCalls
    progress: Progress


class _GroupOutcome:
    __slots__ = ("error", "events", "missing", "partial_reason")

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.partial_reason = ""
        self.missing = False
        self.error: BaseException | None = None


def _search_group(plan: FilterPlan, group: str) -> _GroupOutcome:
    outcome = _GroupOutcome()
    try:
        _walk_group(plan, group, outcome)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            outcome.missing = True
        else:
            outcome.error = exc
    except BotoCoreError as exc:
        outcome.error = exc
    return outcome


def _walk_group(plan: FilterPlan, group: str, outcome: _GroupOutcome) -> None:
    """Add ``group``'s matching events to ``outcome``, day by day when walking.

    Hits go into ``outcome`` as each step finds them, so that those found
    before a failing call are kept.
    """
    steps: list[DaySlice | None] = [None]  # None: the whole window in one go
    if plan.walking:
        steps = [
            *day_slices(plan.window, lambda_group=is_lambda_group(group), newest_ms=plan.now_ms)
        ]
    found_before: int | None = None  # the walk must reach back to this instant
    for step in steps:
        if step is not None:
            if found_before is not None and step.window.start_ms + DAY_MS <= found_before:
                break
            plan.progress(f"{group}: {step.day}")
        events = filter_events(
            plan.logs,
            group,
            plan.window if step is None else step.window,
            plan.term,
            deadline=plan.deadline,
            stream_prefix=None if step is None else step.stream_prefix,
            calls=plan.calls,
        )
        hits = [e for e in events if plan.matches(str(e.get("message", "")))]
        outcome.events.extend(hits)
        if not events.complete:
            outcome.partial_reason = events.reason
            break
        if hits and step is not None:
            found_before = _walk_reach(hits, step, lambda_group=step.stream_prefix is not None)


def _walk_reach(hits: list[dict[str, Any]], step: DaySlice, *, lambda_group: bool) -> int:
    """How far back the day walk must go once ``hits`` were found in ``step``.

    A request's lines all live in one stream. A Lambda stream is named for the
    day it started, and the step for that day reads it to the window's end, so
    the walk stops once it has read the day of every stream that holds a hit
    (normally the current step's; an older one when the server did not honour
    the stream prefix). A plain group's day slices are disjoint, so a request
    whose first hit is near the slice's start may have begun the day before:
    the walk then takes one more day.
    """
    if lambda_group:
        days = [_stream_day_ms(str(e.get("logStreamName", ""))) for e in hits]
        known = [d for d in days if d is not None]
        return min([step.window.start_ms, *known])
    earliest = min(int(e.get("timestamp", 0)) for e in hits)
    if earliest - step.window.start_ms < MAX_REQUEST_MS:
        return step.window.start_ms - 1
    return step.window.start_ms


def _stream_day_ms(stream: str) -> int | None:
    """00:00 UTC of the day a Lambda stream name starts with (None if it does not)."""
    try:
        day = datetime.strptime(stream[:10], "%Y/%m/%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(day.timestamp() * 1000)


def run_filter(plan: FilterPlan, groups: list[str], result: SearchResult) -> list[dict[str, Any]]:
    """Every matching event of ``groups``, searched concurrently (at most POOL_SIZE at once).

    Parameters
    ----------
    plan:
        What to look for, where in time, and within which limits.
    groups:
        The log groups to search.
    result:
        Where missing groups and partial reasons are recorded.

    Returns
    -------
    list of dict
        The events that passed ``plan.matches``, as CloudWatch returned them.

    Raises
    ------
    SearchError
        When every group failed (not merely missing) and nothing was found.
    """
    events: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    missing = 0
    pool = ThreadPoolExecutor(max_workers=max(1, min(POOL_SIZE, len(groups))))
    try:
        futures = {pool.submit(in_context(_search_group), plan, group): group for group in groups}
        done, not_done = wait(futures, timeout=max(0.0, plan.deadline - time.monotonic()) + 1.0)
        if not_done:
            mark_partial(result, "deadline")
        for future in done:
            group = futures[future]
            outcome = future.result()
            events.extend(outcome.events)
            if outcome.missing:
                missing += 1
                result.missing_log_groups.append(group)
            if outcome.partial_reason:
                mark_partial(result, outcome.partial_reason)
            if outcome.error is not None:
                errors.append(outcome.error)
                mark_partial(result, f"{group}: {describe_error(outcome.error)}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if errors and not events and len(errors) + missing >= len(groups):
        raise SearchError(describe_error(errors[0])) from errors[0]
    return events


def describe_error(exc: BaseException) -> str:
    """``Code: message`` for an AWS error, the message otherwise."""
    code = error_code(exc)
    return f"{code}: {exc}" if code and code not in str(exc) else str(exc)


def mark_partial(result: SearchResult, reason: str) -> None:
    """Mark ``result`` partial, adding ``reason`` once."""
    result.partial = True
    if reason and reason not in result.partial_reason:
        result.partial_reason = (
            f"{result.partial_reason}; {reason}" if result.partial_reason else reason
        )
