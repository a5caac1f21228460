"""Keeping botocore's retries inside the search's deadline.

The clients retry in botocore's adaptive mode (:mod:`logthread.aws`): up to 8
attempts, backing off up to 20 s between them, and waiting on a client-side
rate limiter once throttled. That is right for a terminal and wrong for a Lambda
that has a few seconds left: one throttled FilterLogEvents could sleep past the
invocation's end, and the worker would be killed with nothing posted.

So while a search calls AWS (inside :func:`bounded`, per thread), two hooks on
the client's event system hold botocore to the deadline:

- ``before-send``: no request is sent once the deadline has passed;
- ``needs-retry``: a response botocore would retry (the same conditions as
  botocore's standard retry mode) is given up when the longest backoff it could
  sleep would end past the deadline.

Both raise :class:`DeadlineReached` (a ``BotoCoreError``), which the search turns
into a partial result. Outside :func:`bounded` the hooks do nothing, so other
users of the same process-wide client keep botocore's behaviour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError
from botocore.retries.standard import (
    ModeledRetryableChecker,
    OrRetryChecker,
    RetryEventAdapter,
    ThrottledRetryableChecker,
    ThrottlingErrorDetector,
    TransientRetryableChecker,
)

# botocore's backoff: rand(0, 1) * min(base * 2 ** (attempt - 1), 20) seconds, with a
# base of 1 s after a throttle and 50 ms otherwise (botocore.retries.standard).
THROTTLE_BASE_S = 1.0
OTHER_BASE_S = 0.05
MAX_BACKOFF_S = 20.0
_HOOK_ID = "logthread-deadline"

_local = threading.local()
_adapter = RetryEventAdapter()
# The error conditions of botocore's standard mode, without its MaxAttemptsChecker
# (which writes its own limit into the request's retries context).
_retryable = OrRetryChecker(
    [
        TransientRetryableChecker(),
        ThrottledRetryableChecker(),
        ModeledRetryableChecker(),
    ]
)
_throttling = ThrottlingErrorDetector(_adapter)


class DeadlineReached(BotoCoreError):
    """The search's deadline passed while botocore was sending or retrying a call."""

    fmt = "deadline reached {detail}"

    @property
    def cause(self) -> str:
        """The error code botocore would have retried ("" when nothing was sent)."""
        return str(self.kwargs.get("cause", ""))

    @property
    def attempts(self) -> int:
        """Requests sent for the call before it was given up."""
        return int(self.kwargs.get("attempts", 0))


def current() -> float | None:
    """This thread's deadline (a :func:`time.monotonic` instant), or None."""
    return getattr(_local, "deadline", None)


@contextmanager
def bounded(deadline: float | None) -> Iterator[None]:
    """Hold this thread's AWS calls to ``deadline`` (None: no bound)."""
    previous = current()
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


def guard(client: Any) -> Any:
    """Install the deadline hooks on a boto3 client (idempotent); return the client."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:  # not a botocore client (a test double): nothing to hold
        return client
    # On the service's own event names, first: botocore runs the most specific handlers
    # first, so this one decides before the standard retry handler takes retry quota
    # (and before the adaptive limiter waits for a token).
    service = client.meta.service_model.service_id.hyphenize()
    events.register_first(
        f"before-send.{service}", _before_send, unique_id=f"{_HOOK_ID}-send-{service}"
    )
    events.register_first(
        f"needs-retry.{service}", _needs_retry, unique_id=f"{_HOOK_ID}-retry-{service}"
    )
    return client


def deadline_reason(exc: DeadlineReached) -> str:
    """A result's partial reason: ``"deadline"``, with the error that kept coming back."""
    return f"deadline ({exc.cause})" if exc.cause else "deadline"


def max_backoff(attempt: int, *, throttled: bool) -> float:
    """The longest sleep botocore may take before retry number ``attempt`` (1-based)."""
    base = THROTTLE_BASE_S if throttled else OTHER_BASE_S
    return min(base * 2 ** max(0, attempt - 1), MAX_BACKOFF_S)


def _before_send(**kwargs: Any) -> None:
    deadline = current()
    if deadline is not None and time.monotonic() >= deadline:
        raise DeadlineReached(detail="before sending", cause="", attempts=0)


def _needs_retry(**kwargs: Any) -> None:
    deadline = current()
    if deadline is None or kwargs.get("attempts") is None:
        return None
    context = _adapter.create_retry_context(**kwargs)
    # The client's own attempt limit (seeded into the request's retries context):
    # past it botocore raises the error itself, which says more than a deadline would.
    limit = context.request_context.get("retries", {}).get("max")
    if isinstance(limit, int) and context.attempt_number >= limit:
        return None
    if not _retryable.is_retryable(context):
        return None
    throttled = _throttling.is_throttling_error(**kwargs)
    if time.monotonic() + max_backoff(context.attempt_number, throttled=throttled) < deadline:
        return None  # botocore's own handler sleeps and retries
    code = context.get_error_code() or type(kwargs.get("caught_exception")).__name__
    operation = getattr(kwargs.get("operation"), "name", "a call")
    raise DeadlineReached(
        detail=f"retrying {operation} ({code})", cause=code, attempts=context.attempt_number
    )
