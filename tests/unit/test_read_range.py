"""GetLogEvents may answer an empty page with a new token before the stream's end.

moto never does (it pages by index), so a scripted client stands in for CloudWatch's
documented behaviour here; everything else reads moto over HTTP.
"""

from __future__ import annotations

import time
from typing import Any

from logthread.query import TimeWindow
from logthread.search.calls import ApiCalls
from logthread.search.context import read_range


class PagedLogs:
    """Answers GetLogEvents from a list of pages; the token after the last repeats."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages

    def get_log_events(self, **params: Any) -> dict[str, Any]:
        at = int(params.get("nextToken", "f/0")[2:])
        events = self.pages[at] if at < len(self.pages) else []
        following = min(at + 1, len(self.pages))
        return {"events": events, "nextForwardToken": f"f/{following}"}


def event(ms: int, message: str) -> dict[str, Any]:
    return {"timestamp": ms, "message": message, "ingestionTime": ms}


def test_an_empty_page_with_a_new_token_does_not_end_the_stream() -> None:
    logs = PagedLogs([[event(1, "START")], [], [event(3, "Traceback ...")], [event(4, "END")]])
    events, complete = read_range(
        logs,
        "/aws/lambda/x",
        "s",
        TimeWindow(0, 10),
        deadline=time.monotonic() + 5,
        calls=ApiCalls(),
    )
    assert [e["message"] for e in events] == ["START", "Traceback ...", "END"]
    assert complete
