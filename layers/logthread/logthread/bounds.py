"""One place for what a search may cover: windows, widening, context and targets.

Every search reaches the engine from one of four doors: a typed ``/logsearch``,
a result's button, a task on the topic (which whoever can publish there could
write) and an alarm's discovery or rescan. Each door applies the same rules,
from here, so no door can ask for more than another:

- a window is at most :data:`MAX_WINDOW_MS` long and ends no later than a few
  minutes past now (:func:`clamp_window`);
- "Search again" widens around the window's centre, never past now
  (:func:`widen_search`, :func:`widen_rescan`);
- "More context" adds :data:`MORE_CONTEXT_STEP` lines, up to :data:`MAX_CONTEXT`;
- a query naming no function and no group reads what the caller may read, the
  allowed prefixes, never the engine's default of every Lambda group;
- lines, context and deadline never exceed the configured limits
  (:func:`bound_query`).
"""

from __future__ import annotations

from dataclasses import replace

from logthread.config import Config
from logthread.query import SearchQuery
from logthread.window import DAY_MS, FUTURE_MARGIN_MS, TimeWindow

MAX_WINDOW_DAYS = 31
MAX_WINDOW_MS = MAX_WINDOW_DAYS * DAY_MS
MAX_CONTEXT = 50
MORE_CONTEXT_STEP = 10
SEARCH_WIDEN_FACTOR = 4
MIN_WIDENED_SPAN_MS = 4 * 60_000  # a window of a few seconds still widens to minutes
RESCAN_WIDEN_FACTOR = 3
RESCAN_MAX_WINDOW_MS = DAY_MS  # one day of an alarm's log group is plenty


def widen(
    window: TimeWindow,
    *,
    factor: float,
    now_ms: int,
    min_span_ms: int = 0,
    max_span_ms: int = MAX_WINDOW_MS,
) -> TimeWindow:
    """``window`` ``factor`` times as long around its centre, within the span limits.

    Logs from the future don't exist yet: a widened window that would end after
    ``now_ms`` keeps its span and ends at ``now_ms`` instead.
    """
    span = int(min(max(window.duration_ms * factor, min_span_ms), max_span_ms))
    centre = (window.start_ms + window.end_ms) // 2
    end = min(centre + span // 2, now_ms)
    return TimeWindow(end - span, end)


def widen_search(window: TimeWindow | None, now_ms: int, config: Config) -> TimeWindow:
    """A result's "Search again": :data:`SEARCH_WIDEN_FACTOR` times the window searched.

    No window (the search used the default look-back): look back that many times
    as far. Never wider than :data:`MAX_WINDOW_MS`.
    """
    if window is None:
        span = min(SEARCH_WIDEN_FACTOR * config.limits.lookback_days * DAY_MS, MAX_WINDOW_MS)
        return TimeWindow(now_ms - span, now_ms)
    return widen(window, factor=SEARCH_WIDEN_FACTOR, now_ms=now_ms, min_span_ms=MIN_WIDENED_SPAN_MS)


def widen_rescan(window: TimeWindow, now_ms: int) -> TimeWindow:
    """An alarm's "Search logs again": :data:`RESCAN_WIDEN_FACTOR` times, at most a day."""
    return widen(
        window, factor=RESCAN_WIDEN_FACTOR, now_ms=now_ms, max_span_ms=RESCAN_MAX_WINDOW_MS
    )


def more_context(lines: int) -> int:
    """The context a "More context" click asks for."""
    return max(0, min(MAX_CONTEXT, lines + MORE_CONTEXT_STEP))


def within_limits(window: TimeWindow) -> bool:
    """Whether a window from outside (a button value) is one a search may cover."""
    return 0 < window.duration_ms <= MAX_WINDOW_MS


def clamp_window(window: TimeWindow, now_ms: int) -> TimeWindow:
    """``window`` cut to end by now (plus a few minutes) and to span at most 31 days.

    What is cut is the old end: the newest logs are the ones an incident needs.
    """
    end = min(window.end_ms, now_ms + FUTURE_MARGIN_MS)
    start = max(window.start_ms, end - MAX_WINDOW_MS)
    if start >= end:  # wholly in the future or empty: the last minute instead
        start = end - 60_000
    return TimeWindow(start, end)


def with_default_targets(query: SearchQuery, config: Config) -> SearchQuery:
    """No function and no group named: the groups the caller may read, in every allowed
    account (a source account's as ``<account>:<prefix>``)."""
    if query.functions or query.log_groups:
        return query
    access = config.access
    sources = tuple(f"{a.account}:{p}" for a in access.accounts for p in a.log_group_prefixes)
    return replace(query, log_groups=access.log_group_prefixes + sources)


def bound_query(
    query: SearchQuery,
    config: Config,
    *,
    now_ms: int,
    deadline_seconds: float | None = None,
) -> SearchQuery:
    """``query`` within the configuration's limits, whichever door it came through.

    Parameters
    ----------
    query:
        The query as asked (typed, decoded from a button or read from a task).
    config:
        Its ``limits`` and ``access`` bound the query.
    now_ms:
        The clock: a window never ends much after it.
    deadline_seconds:
        A tighter budget than the configured one (the invocation's time left).

    Returns
    -------
    SearchQuery
        Default targets filled in; window clamped; lines, context and deadline
        no more than the limits allow.
    """
    limits = config.limits
    deadline = min(query.deadline_seconds, limits.search_deadline_seconds)
    if deadline_seconds is not None:
        deadline = min(deadline, deadline_seconds)
    return replace(
        with_default_targets(query, config),
        window=None if query.window is None else clamp_window(query.window, now_ms),
        lookback_days=limits.lookback_days,
        max_lines=max(1, min(query.max_lines, limits.max_lines)),
        context_lines=max(0, min(query.context_lines, MAX_CONTEXT)),
        deadline_seconds=max(1.0, deadline),
    )
