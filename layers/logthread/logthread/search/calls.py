"""Counting what a search costs, per CloudWatch Logs API.

FilterLogEvents allows about 5 requests per second per account and region, so
the number of requests is the figure that matters during an incident. Counts
are HTTP requests sent, botocore's own retries included (a throttled call that
succeeds on its third attempt costs three).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from logthread import telemetry
from logthread.readguard import ReadRefused
from logthread.search.deadline import DeadlineReached, bounded


class ApiCalls:
    """A thread-safe counter of requests per API operation.

    With a ``deadline`` (a :func:`time.monotonic` instant), every call is held to
    it: botocore sends nothing after it and gives up a retry that would sleep
    past it (:mod:`logthread.search.deadline`; the client must be guarded).
    """

    def __init__(self, deadline: float | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.deadline = deadline

    def add(self, operation: str, count: int = 1) -> None:
        with self._lock:
            self._counts[operation] = self._counts.get(operation, 0) + count
        # Every counter (search and alarm discovery) feeds the ApiCalls metric once.
        telemetry.count(telemetry.API_CALLS, count, dimension=("Api", operation))

    def call(self, operation: str, method: Callable[..., Any], **params: Any) -> Any:
        """Call ``method(**params)`` and count it (with its retries) under ``operation``."""
        return self.call_until(self.deadline, operation, method, **params)

    def call_until(
        self, deadline: float | None, operation: str, method: Callable[..., Any], **params: Any
    ) -> Any:
        """:meth:`call` held to another ``deadline`` (e.g. a short grace for StopQuery)."""
        try:
            with bounded(deadline):
                response = method(**params)
        except DeadlineReached as exc:
            self.add(operation, exc.attempts)
            raise
        except ReadRefused:
            raise  # refused by the read guard before anything was sent: nothing to count
        except ClientError as exc:
            retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            self.add(operation, 1 + int(retries or 0))
            raise
        except Exception:
            self.add(operation)
            raise
        retries = (response or {}).get("ResponseMetadata", {}).get("RetryAttempts", 0)
        self.add(operation, 1 + int(retries or 0))
        return response

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""
