"""How the bot reports on itself: metrics and log keys, behind a seam the CLI never opens.

The core records what happened (:func:`count`, :func:`record_search`) and says
who and what it is working for (:func:`log_keys`); neither knows of Lambda.

- **Metrics** go nowhere unless a Lambda handler is :func:`recording` into a
  Powertools ``Metrics`` instance (EMF, namespace from
  ``POWERTOOLS_METRICS_NAMESPACE``). So the terminal and the tests of the core
  never print EMF. Counts are summed during the invocation, from its own thread and
  the threads it starts with its context (the search's, :func:`in_context`), never
  from another invocation's or a stray thread of the process, and written when it ends: plain counts into the handler's
  ``Metrics`` (flushed by its ``log_metrics``), counts by one low-cardinality
  dimension (the AWS API, the Slack operation) as one EMF document per value.
  Alarm names, users and request ids are never dimensions: they go in the logs.
- **Log keys** are appended to the formatter of the ``logthread`` logger the
  Lambda handlers set up (Powertools' on the worker, :mod:`logthread.lambdalog`'s
  on the ingress, which keeps Powertools off the ack path); with none (the CLI)
  they are a no-op.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

__all__ = ["count", "in_context", "log_keys", "log_scope", "record_search", "recording"]

P = ParamSpec("P")
T = TypeVar("T")

# Metric names (EMF, unit Count).
SEARCHES = "Searches"
LINES_FOUND = "LinesFound"
PARTIAL_RESULTS = "PartialResults"
API_CALLS = "ApiCalls"  # dimension Api
SLACK_POSTS = "SlackPosts"  # dimension Operation
SLACK_ERRORS = "SlackErrors"  # dimension Operation
FAILURES = "Failures"  # dimension Stage: delivery (raised: retried, then the DLQ), search, publish
DEAD_LETTERS = "DeadLetters"
ACCEPTED = "RequestsAccepted"  # dimension Kind: command, button
REFUSED = "RequestsRefused"  # dimension Kind

# The keys the core appends; removed when a message's handling ends.
KEYS = ("slack_user", "slack_team", "slack_channel", "request_id", "alarm")


@dataclass(eq=False)
class _Tally:
    """One invocation's counts, (name, dimension, value) -> count, until it ends."""

    metrics: Any
    depth: int = 0
    counts: dict[tuple[str, str, str], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_tally: contextvars.ContextVar[_Tally | None] = contextvars.ContextVar(
    "logthread_metrics", default=None
)

# The service logger the handlers configure (POWERTOOLS_SERVICE_NAME, "logthread" in the template).
SERVICE_LOGGER = "logthread"


def _formatters() -> list[Any]:
    """The formatters that take appended keys: Powertools' or lambdalog's, if a handler set one."""
    handlers = logging.getLogger(SERVICE_LOGGER).handlers
    return [h.formatter for h in handlers if hasattr(h.formatter, "append_keys")]


@contextmanager
def recording(metrics: Any) -> Iterator[None]:
    """Record the core's metrics into ``metrics`` (a Powertools ``Metrics``) meanwhile.

    Lambda handlers wrap an invocation in it, inside ``@metrics.log_metrics``.
    Nested use with the same instance writes once, at the outermost exit.
    """
    tally = _tally.get()
    if tally is None or tally.metrics is not metrics:
        tally = _Tally(metrics)
    token = _tally.set(tally)
    tally.depth += 1
    try:
        yield
    finally:
        tally.depth -= 1
        _tally.reset(token)
        if tally.depth == 0:
            with tally.lock:
                counts, tally.counts = dict(tally.counts), {}
            _write(metrics, counts)


def in_context(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn``, to run in a thread this invocation starts: it counts into its metrics.

    Each call copies the context once: one wrapped function per thread.
    """
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return context.run(fn, *args, **kwargs)

    return run


def count(name: str, value: float = 1, *, dimension: tuple[str, str] | None = None) -> None:
    """Add ``value`` to the metric ``name`` (a no-op unless a handler is recording).

    Parameters
    ----------
    name:
        The metric (unit Count).
    value:
        How many.
    dimension:
        ``(name, value)`` of one low-cardinality dimension, e.g. ``("Api", "FilterLogEvents")``.
    """
    tally = _tally.get()
    if tally is None or not value:
        return
    dim, dim_value = dimension or ("", "")
    key = (name, dim, dim_value)
    with tally.lock:
        tally.counts[key] = tally.counts.get(key, 0) + value


def record_search(result: Any) -> None:
    """The metrics of one search: a search, its lines, partial or not.

    Its API calls are counted as they are made (:class:`logthread.search.calls.ApiCalls`).

    Parameters
    ----------
    result:
        A :class:`logthread.query.SearchResult`.
    """
    count(SEARCHES)
    count(LINES_FOUND, len(result.records))
    if result.partial:
        count(PARTIAL_RESULTS)


def _write(metrics: Any, counts: Mapping[tuple[str, str, str], float]) -> None:
    if not counts:
        return
    single_count = getattr(metrics, "single_count", None)  # logthread.lambdalog.Metrics
    if single_count is None:
        from aws_lambda_powertools.metrics.functions import is_metrics_disabled

        if is_metrics_disabled():
            # Powertools neither prints nor clears a disabled instance's metrics: added
            # here, they would come out in the next invocation that prints (a test's).
            return
    provider = getattr(metrics, "provider", metrics)
    for (name, dim, dim_value), value in sorted(counts.items()):
        if not dim:
            metrics.add_metric(name=name, unit="Count", value=value)
            continue
        if single_count is not None:
            single_count(name, dim, dim_value, value)
            continue
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        # One document per dimension value: EMF dimensions apply to a whole document.
        single = EphemeralMetrics(
            namespace=getattr(provider, "namespace", None),
            service=getattr(provider, "service", None),
        )
        single.add_dimension(name=dim, value=dim_value)
        single.add_metric(name=name, unit=MetricUnit.Count, value=value)
        single.flush_metrics()


def log_keys(**keys: object) -> None:
    """Append ``keys`` (empty values skipped) to every log line of this message's handling.

    The handlers clear them when the message is done (:func:`log_scope`).
    """
    values = {k: v for k, v in keys.items() if v not in (None, "")}
    if not values:
        return
    for formatter in _formatters():
        formatter.append_keys(**values)


@contextmanager
def log_scope() -> Iterator[None]:
    """Remove the core's keys when one message's (or request's) handling ends."""
    try:
        yield
    finally:
        for formatter in _formatters():
            with suppress(Exception):
                formatter.remove_keys(list(KEYS))
