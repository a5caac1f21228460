"""What a search is asked, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logthread.records import LogRecord

# TimeWindow lives with the window planning (no import cycle with the engine); re-exported here.
from logthread.window import TimeWindow as TimeWindow


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One request's log story to find.

    ``request_id`` is validated before it reaches a filter pattern or a query
    (see :mod:`logthread.ids`). ``functions`` are Lambda function names
    (``/aws/lambda/<name>``); ``log_groups`` are names or name prefixes.
    ``window`` None means the default look-back, newest day first.
    """

    request_id: str
    functions: tuple[str, ...] = ()
    log_groups: tuple[str, ...] = ()
    window: TimeWindow | None = None
    context_lines: int = 0
    max_lines: int = 500
    deadline_seconds: float = 20.0
    lookback_days: int = 3  # default look-back (window None), newest day first
    strategy: str = "auto"  # "auto" | "filter" | "insights" (see logthread.search.engine)


@dataclass(slots=True)
class SearchResult:
    """The merged, de-duplicated timeline of one request, oldest first."""

    query: SearchQuery
    records: list[LogRecord] = field(default_factory=list)
    log_groups_searched: list[str] = field(default_factory=list)
    window: TimeWindow | None = None
    request_ids: list[str] = field(default_factory=list)  # full ids the prefix matched
    omitted_lines: int = 0  # lines found beyond max_lines, not returned
    # Where the omitted lines were, as an index into records (the cap keeps the
    # head and the tail of the timeline); -1 when nothing was omitted.
    omitted_at: int = -1
    missing_log_groups: list[str] = field(default_factory=list)  # named but not found
    partial: bool = False  # deadline hit or an API kept failing: more may exist
    partial_reason: str = ""
    api_calls: dict[str, int] = field(default_factory=dict)
    path: str = "filter"  # "filter" | "insights"

    @property
    def found(self) -> bool:
        return bool(self.records)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.records if r.is_error and not r.context)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.query.request_id,
            "request_ids": self.request_ids,
            "found": self.found,
            "partial": self.partial,
            "partial_reason": self.partial_reason,
            "omitted_lines": self.omitted_lines,
            "omitted_at": self.omitted_at,
            "missing_log_groups": self.missing_log_groups,
            "log_groups_searched": self.log_groups_searched,
            "window": None
            if self.window is None
            else {"start_ms": self.window.start_ms, "end_ms": self.window.end_ms},
            "api_calls": self.api_calls,
            "path": self.path,
            "records": [r.to_dict() for r in self.records],
        }
