"""Log search: every line of one request, from CloudWatch Logs.

``search(logs, query)`` is the whole engine (see :mod:`logthread.search.engine`
for how it runs and when it uses Logs Insights); ``filter_events`` is its
paginated FilterLogEvents, usable on its own.
"""

from logthread.query import SearchQuery, SearchResult, TimeWindow
from logthread.search.engine import SearchError, choose_path, search
from logthread.search.filter import EventList, filter_events
from logthread.search.targets import resolve_log_groups

__all__ = [
    "EventList",
    "SearchError",
    "SearchQuery",
    "SearchResult",
    "TimeWindow",
    "choose_path",
    "filter_events",
    "resolve_log_groups",
    "search",
]
