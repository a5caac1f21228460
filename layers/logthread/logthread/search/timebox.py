"""A search that always ends in something to post, before Lambda ends the invocation.

The worker runs every search through it: a task's, and each failing request of an alarm.

The search holds its own AWS calls to its deadline (:mod:`logthread.search.deadline`),
but one HTTP request already in flight can still hang until botocore's read
timeout, and an invocation that is killed posts nothing. So, inside Lambda, the
search runs in a helper thread and the worker waits only until
``POST_RESERVE_S`` before the end of the invocation; then it posts what it has:
the result if the search finished, else an empty result marked partial
("ran out of time"), which carries the button to search again.

A search that fails on AWS (throttled or 5xx until botocore gave up, every
group refused) is also posted as a partial result with that button, so the
requester sees why and can retry; only a query that can never run (an invalid
id or name, a ``ValueError``) is answered with an error to the requester alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from logthread.query import SearchQuery, SearchResult
from logthread.search.walk import describe_error, mark_partial
from logthread.telemetry import in_context

logger = Logger(service="logthread", child=True)

# Time kept to post the result (parent, thread reply, maybe a file) once the wait ends.
POST_RESERVE_S = 4.0
OUT_OF_TIME = "ran out of time before the search finished"


def search_in_time(
    logs: Any,
    query: SearchQuery,
    *,
    now_ms: int,
    remaining_ms: Callable[[], int] | None = None,
) -> SearchResult:
    """Run :func:`logthread.search.search`; always return a result to post.

    Parameters
    ----------
    logs:
        The CloudWatch Logs client.
    query:
        The bounded query (its ``deadline_seconds`` already fits the invocation).
    now_ms:
        The clock, in epoch milliseconds.
    remaining_ms:
        The invocation's time left (Lambda's context); None outside Lambda: no
        helper thread, the search's own deadline is trusted.

    Returns
    -------
    SearchResult
        The search's result; or, when it failed on AWS or could not finish
        before the invocation's end, an empty result marked partial.

    Raises
    ------
    ValueError
        For a query that can never run (``InvalidRequestId``, a bad name).
    """
    from logthread.search import search

    remaining = remaining_ms
    if remaining is None:
        return _guarded(lambda: search(logs, query, now_ms=now_ms), query)

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = _guarded(lambda: search(logs, query, now_ms=now_ms), query)
        except BaseException as exc:  # handed to the waiting thread, raised there
            box["error"] = exc

    # A daemon thread: if it is still stuck when the result is posted, Lambda freezes
    # it, and on thaw its calls are refused at once (its deadline has passed).
    worker = threading.Thread(target=in_context(run), name="logthread-search", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(max(0.0, remaining() / 1000 - POST_RESERVE_S))
    if "error" in box:
        raise box["error"]
    if "result" in box:
        return box["result"]
    logger.warning(
        "search still running near the end of the invocation; posting a partial result",
        extra={"waited_s": round(time.monotonic() - started, 3), "remaining_ms": remaining()},
    )
    result = SearchResult(query=query)
    mark_partial(result, OUT_OF_TIME)
    return result


def _guarded(run: Any, query: SearchQuery) -> SearchResult:
    try:
        return run()
    except ValueError:
        raise
    except Exception as exc:
        # botocore already retried; a re-delivery would most likely fail the same way,
        # so the requester gets the reason and the button to try again later.
        logger.exception("search failed; posting it as a partial result")
        result = SearchResult(query=query)
        mark_partial(result, f"the search failed: {describe_error(exc)[:200]}")
        return result
