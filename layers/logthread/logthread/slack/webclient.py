"""logthread's ``WebClient``: slack_sdk's own retry handlers, with its retry policy.

429s honour ``Retry-After`` (bounded, so a worker never sleeps a minute for one
post), 500/503 and dropped connections are retried with slack_sdk's backoff.
"""

from __future__ import annotations

import os
from typing import Any

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler, default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest as RetryRequest
from slack_sdk.http_retry.response import HttpResponse as RetryResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient

from logthread.slack import pacing

SLACK_API_URL = "https://slack.com/api/"


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (it sleeps ``Retry-After``), but gives up on long waits.

    A worker Lambda can't sleep a minute for one post: past ``max_wait`` seconds the
    429 surfaces as a :class:`ChatError` with ``retry_after`` for a later replay.
    """

    def __init__(self, max_retry_count: int = 3, max_wait: float = 30.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = retry_after(response.headers) if response is not None else None
        return wait is None or wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        # Inside a paced post the pacer rests the channel (for every instance, when
        # shared) and waits for the retry's slot instead of a bare Retry-After sleep.
        wait = retry_after(response.headers) if response is not None else None
        if response is not None and pacing.rate_limited(wait if wait is not None else 1):
            state.next_attempt_requested = True
            state.increment_current_attempt()
            return
        super().prepare_for_next_attempt(
            state=state, request=request, response=response, error=error
        )


def retry_handlers(
    *,
    max_retries: int = 3,
    max_rate_limit_wait: float = 30.0,
    interval: RetryIntervalCalculator | None = None,
    max_rate_limit_retries: int | None = None,
) -> list[RetryHandler]:
    """slack_sdk retry handlers for 429 (honouring ``Retry-After``), 500/503 and resets.

    ``max_rate_limit_retries`` (default: ``max_retries`` + 5) is separate because
    in an alarm storm several workers share one channel's ~1 message/s, and a post
    may draw a few 429s in a row before its turn; each wait is Slack's own.
    """
    pace = interval or default_interval_calculator
    rate_retries = max_retries + 5 if max_rate_limit_retries is None else max_rate_limit_retries
    return [
        BoundedRateLimitRetryHandler(max_retry_count=rate_retries, max_wait=max_rate_limit_wait),
        ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=pace),
        ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=pace),
    ]


def make_web_client(
    token: str,
    base_url: str | None = None,
    *,
    timeout: int = 10,
    max_retries: int = 3,
    max_rate_limit_wait: float = 30.0,
    interval: RetryIntervalCalculator | None = None,
    max_rate_limit_retries: int | None = None,
) -> WebClient:
    """A ``WebClient`` for ``token`` with logthread's retry policy.

    Parameters
    ----------
    token:
        The bot token (``xoxb-…``).
    base_url:
        Web API base; defaults to ``$SLACK_API_URL``, else Slack's own.
    timeout:
        Seconds per HTTP attempt.
    max_retries, max_rate_limit_wait, interval, max_rate_limit_retries:
        See :func:`retry_handlers`; ``interval`` paces 5xx/connection retries
        (slack_sdk's exponential backoff with jitter by default).
    """
    url = base_url or os.environ.get("SLACK_API_URL") or SLACK_API_URL
    return WebClient(
        token=token,
        base_url=url if url.endswith("/") else url + "/",
        timeout=timeout,
        retry_handlers=retry_handlers(
            max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait,
            interval=interval,
            max_rate_limit_retries=max_rate_limit_retries,
        ),
    )


def retry_after(headers: Any) -> int | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return int(raw)
            except (TypeError, ValueError):
                return None
    return None
