"""Find every log line of one request: the search behind Slack and the terminal.

How a search runs
-----------------
1. The id is validated (:mod:`logthread.ids`); nothing else reaches a pattern.
2. Targets become log groups: a function ``F`` is ``/aws/lambda/F``; a log
   group name is used as is when it exists, else as a name prefix
   (DescribeLogGroups); ``name*`` is always a prefix; no target at all means
   every ``/aws/lambda/`` group.
3. The window: the query's own; for an X-Ray trace id, an hour either side of
   the trace's start; otherwise the default look-back, walked newest UTC day
   first (:func:`logthread.window.day_slices`), stopping, per group, at the
   first day that holds the request.
4. One of two paths (the rule, :func:`choose_path`):

   - **FilterLogEvents** (the default): up to 10 groups and a window of at
     most 3 days. Groups are searched concurrently by a pool of 4 threads;
     each call is a quoted term, paginated to the end.
   - **Logs Insights**: more than 10 groups, or an explicit window longer
     than 3 days. One StartQuery per 50 groups; no FilterLogEvents at all,
     which keeps the account's ~5 TPS FilterLogEvents budget for others.

5. Every returned line is checked to really contain the id
   (:func:`logthread.ids.line_matcher`); the server's filter is never trusted.
6. In each stream, the lines between the request's START and REPORT are read
   (GetLogEvents) so untagged output (``print()``, an unhandled traceback) is
   part of the story; then ``context_lines`` before and after.
7. One timeline: sorted by time, de-duplicated by eventId, capped at
   ``max_lines`` (head and tail kept, the gap counted in ``omitted_lines``).
   At the deadline the search returns what it has, marked ``partial``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from logthread.ids import (
    filter_term,
    function_log_group,
    id_kind,
    ids_in_line,
    line_matcher,
    trace_time_ms,
    validate_request_id,
)
from logthread.loggroups import split_resolved
from logthread.query import SearchQuery, SearchResult, TimeWindow
from logthread.search.calls import ApiCalls, error_code
from logthread.search.deadline import DeadlineReached, deadline_reason, guard
from logthread.search.insights import insights_events
from logthread.search.targets import MAX_GROUPS, resolve_log_groups, verify_groups
from logthread.search.timeline import build_timeline, cap
from logthread.search.walk import (
    FilterPlan,
    SearchError,
    describe_error,
    mark_partial,
    run_filter,
)
from logthread.window import (
    DAY_MS,
    default_window,
    trace_window,
)

FILTER_MAX_GROUPS = 10
FILTER_MAX_WINDOW_MS = 3 * DAY_MS + 60 * 60_000  # "3 days" (plus slack for --since 3d)
TRACE_MAX_REQUESTS = 5
INSIGHTS_FALLBACK_MAX_GROUPS = 50

Progress = Callable[[str], None]


def choose_path(query: SearchQuery, n_groups: int, window: TimeWindow, walking: bool) -> str:
    """``"filter"`` or ``"insights"``; see the module notes for the rule."""
    if query.strategy in ("filter", "insights"):
        return query.strategy
    if n_groups > FILTER_MAX_GROUPS:
        return "insights"
    if not walking and window.duration_ms > FILTER_MAX_WINDOW_MS:
        return "insights"
    return "filter"


def _trace_request_ids(events: list[dict[str, Any]]) -> list[str]:
    from logthread.logparse import parse_event

    found: list[str] = []
    for e in sorted(events, key=lambda e: int(e.get("timestamp", 0))):
        rid = parse_event(e, str(e.get("logGroupName", ""))).request_id
        if rid and id_kind(rid) == "uuid" and rid not in found:
            found.append(rid)
    return found[:TRACE_MAX_REQUESTS]


def search(
    logs: Any,
    query: SearchQuery,
    *,
    on_progress: Progress | None = None,
    now_ms: int | None = None,
) -> SearchResult:
    """Find every log line of ``query.request_id``.

    Parameters
    ----------
    logs:
        A boto3 CloudWatch Logs client (see :func:`logthread.aws.client`).
    query:
        What to find, where, and within which limits.
    on_progress:
        Called with a short human message as the search advances (from worker
        threads: it must be thread-safe).
    now_ms:
        "Now" in epoch ms, for the default look-back (tests pin it).

    Returns
    -------
    SearchResult
        The merged timeline, oldest first, with the API calls it cost.

    Raises
    ------
    logthread.ids.InvalidRequestId
        For an id that cannot be searched safely.
    ValueError
        For a function or log group name that is not one.
    SearchError
        When no log group could be searched at all (credentials, permissions).
    botocore.exceptions.ClientError
        When the log groups could not be listed.
    """
    run = _begin(logs, query, on_progress, now_ms)
    groups = _plan_groups(run)
    if groups:
        hits = _find_hits(run, groups)
        hits = _resolve_request_ids(run, hits)
        _assemble_timeline(run, hits)
    run.result.api_calls = run.calls.snapshot()
    return run.result


def _no_progress(_message: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class _SearchRun:
    """One search under way: what each of its steps needs.

    ``result`` is filled in step by step; everything else is fixed at the start.
    """

    logs: Any
    query: SearchQuery
    request_id: str  # validated
    kind: str  # "uuid" | "trace" | "prefix" (logthread.ids.id_kind)
    now_ms: int
    window: TimeWindow
    walking: bool  # the default look-back, walked newest UTC day first
    deadline: float
    calls: ApiCalls
    progress: Progress
    result: SearchResult

    def mark(self, reason: str) -> None:
        mark_partial(self.result, reason)

    def filter_plan(self, request_id: str, *, walking: bool) -> FilterPlan:
        """The FilterLogEvents search for ``request_id`` within this run's window and limits."""
        return FilterPlan(
            logs=self.logs,
            term=filter_term(request_id),
            matches=line_matcher(request_id),
            window=self.window,
            walking=walking,
            now_ms=self.now_ms,
            deadline=self.deadline,
            calls=self.calls,
            progress=self.progress,
        )


def _begin(
    logs: Any, query: SearchQuery, on_progress: Progress | None, now_ms: int | None
) -> _SearchRun:
    """Validate the id, start the clock, plan the window."""
    deadline = time.monotonic() + max(0.0, float(query.deadline_seconds))
    rid = validate_request_id(query.request_id)
    kind = id_kind(rid)
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    # Every AWS call of this search is held to its deadline, botocore's retries included.
    guard(logs)
    window, walking = _plan_window(query, rid, kind, now)
    return _SearchRun(
        logs=logs,
        query=query,
        request_id=rid,
        kind=kind,
        now_ms=now,
        window=window,
        walking=walking,
        deadline=deadline,
        calls=ApiCalls(deadline),
        progress=on_progress or _no_progress,
        result=SearchResult(query=query, window=window),
    )


def _plan_window(query: SearchQuery, rid: str, kind: str, now: int) -> tuple[TimeWindow, bool]:
    """The window to search, and whether it is the default look-back (walked day by day)."""
    if query.window is not None:
        return query.window, False
    if kind == "trace":
        return trace_window(trace_time_ms(rid) or now), False
    return default_window(now, query.lookback_days), True


def _plan_groups(run: _SearchRun) -> list[str]:
    """The log groups to search, and the path to search them by (set on the result).

    Empty when none exists, or when the deadline came while listing them.
    """
    query, result = run.query, run.result
    run.progress("finding log groups")
    try:
        groups, missing = resolve_log_groups(
            run.logs, query.functions, query.log_groups, calls=run.calls, deadline=run.deadline
        )
    except DeadlineReached as exc:
        run.mark(f"{deadline_reason(exc)} while listing log groups")
        return []
    result.missing_log_groups.extend(missing)
    if len(groups) > MAX_GROUPS:
        run.mark(f"{len(groups)} log groups match; searched the first {MAX_GROUPS}")
        groups = groups[:MAX_GROUPS]
    path = choose_path(query, len(groups), run.window, run.walking)
    if path == "insights" and query.functions:
        # StartQuery refuses a whole query naming one missing group.
        # A source account's function was looked up when resolved (targets.py).
        unverified = [function_log_group(f) for f in query.functions if not split_resolved(f)[0]]
        try:
            _, gone = verify_groups(run.logs, unverified, run.calls, run.deadline)
        except DeadlineReached as exc:
            run.mark(f"{deadline_reason(exc)} while listing log groups")
            gone = []
        groups = [g for g in groups if g not in gone]
        result.missing_log_groups.extend(gone)
    result.log_groups_searched = list(groups)
    result.path = path
    return groups


def _find_hits(run: _SearchRun, groups: list[str]) -> list[dict[str, Any]]:
    """The lines holding the id, by the path chosen (Insights falling back to filter)."""
    if run.result.path == "insights":
        hits = _insights_hits(run, groups)
        if hits is not None:
            return hits
        run.result.path = "filter"
    run.progress(f"searching {len(groups)} log group{'s' if len(groups) != 1 else ''}")
    return run_filter(run.filter_plan(run.request_id, walking=run.walking), groups, run.result)


def _insights_hits(run: _SearchRun, groups: list[str]) -> list[dict[str, Any]] | None:
    """The lines Logs Insights finds; None when FilterLogEvents should be used instead."""
    run.progress(f"Logs Insights over {len(groups)} log groups")
    try:
        events = insights_events(
            run.logs,
            groups,
            run.window,
            run.request_id,
            deadline=run.deadline,
            calls=run.calls,
            on_progress=run.progress,
        )
    except DeadlineReached as exc:
        run.mark(deadline_reason(exc))  # no query could even start: nothing to fall back on
        return []
    except (ClientError, BotoCoreError) as exc:
        # E.g. LimitExceededException (too many concurrent queries): FilterLogEvents
        # still works, within reason for the account's ~5 requests/s.
        if len(groups) > INSIGHTS_FALLBACK_MAX_GROUPS:
            raise SearchError(f"Logs Insights unavailable: {describe_error(exc)}") from exc
        run.mark(f"Logs Insights unavailable ({error_code(exc) or exc}); used FilterLogEvents")
        return None
    if not events.complete:
        run.mark(events.reason)
    matches = line_matcher(run.request_id)
    return [e for e in events if matches(str(e.get("message", "")))]


def _resolve_request_ids(run: _SearchRun, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set the full request ids ``hits`` belong to on the result.

    Returns ``hits``, to which, for a trace id, every line of its requests is added.
    """
    result = run.result
    if run.kind == "trace":
        result.request_ids = _trace_request_ids(hits)
        traced_groups = list(dict.fromkeys(str(e["logGroupName"]) for e in hits))
        for full_id in result.request_ids:
            run.progress(f"reading request {full_id}")
            plan = run.filter_plan(full_id, walking=False)
            hits.extend(run_filter(plan, traced_groups, result))
    elif run.kind == "uuid":
        result.request_ids = [run.request_id] if hits else []
    else:
        seen: dict[str, None] = {}
        for e in sorted(hits, key=lambda e: e.get("timestamp", 0)):
            seen.update(dict.fromkeys(ids_in_line(run.request_id, str(e.get("message", "")))))
        result.request_ids = list(seen)
    return hits


def _assemble_timeline(run: _SearchRun, hits: list[dict[str, Any]]) -> None:
    """Read the requests' streams around ``hits``; merge, order and cap the result's records."""
    result = run.result
    if hits:
        run.progress("reading the request's streams")
    timeline = build_timeline(
        run.logs,
        hits,
        request_ids=result.request_ids,
        context_lines=max(0, int(run.query.context_lines)),
        deadline=run.deadline,
        calls=run.calls,
        mark_partial=run.mark,
    )
    first_seen: dict[str, int] = {}
    for record in timeline:
        first_seen.setdefault(record.request_id, record.timestamp)
    result.request_ids.sort(key=lambda r: first_seen.get(r, 1 << 62))
    result.records, result.omitted_lines, result.omitted_at = cap(timeline, run.query.max_lines)
