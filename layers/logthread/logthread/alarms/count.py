"""Every failing request of an alarm's window, counted per error signature, in one pass.

:func:`count_failures` reads the window the way discovery always has (the plan's
targets and patterns, each line checked again by
:func:`~logthread.alarms.discover.is_failure_line`), but page by page, keeping no
line it does not need:

- per request, only that it was seen (requests are de-duplicated by id; the first
  failing line of each decides its signature);
- per signature, a :class:`~logthread.signatures.Tally` entry;
- the lines of the ``keep`` most recent failing requests (what discovery returned
  before), and the failing lines that carry no request id until their owner is
  known.

So memory grows with the failing requests and their kinds, not with the lines
read. For Lambda error targets the pattern also asks for ``START`` lines: a line
without an id (Python's unhandled exception) then belongs to the last START of its
stream, with no further request; any left over are attributed as discovery does
(:func:`~logthread.alarms.discover.attribute_orphans`).

Logs Insights could count server-side (``stats count(*) by …``), but the local
stand-in (moto) answers Insights queries without evaluating ``filter``/``stats``,
so the counting it would give cannot be tested here; this streams instead.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from logthread.alarms.discover import (
    REPORT_PATTERN,
    Discovery,
    Failure,
    Plan,
    Target,
    attribute_orphans,
    is_failure_line,
    read_as,
)
from logthread.logparse import parse_event
from logthread.records import LogRecord
from logthread.search.calls import ApiCalls
from logthread.search.filter import EventList, event_pages
from logthread.signatures import Signature, Tally, signature_of_line

START_TERM = '?"START RequestId"'
# A line that could be a Lambda error line or a START, whatever its format, contains one of
# these (case aside): the rest are not worth parsing. A superset of what
# :func:`~logthread.alarms.discover.is_failure_line` keeps for ``errors`` targets.
_MAYBE = re.compile(r"\berr|fatal|crit|timed out|status|start", re.IGNORECASE)
# Past this many kinds, further ones are counted together: a message the normalization
# misses (every one different) must not grow the tally without end.
MAX_KINDS = 500
OTHER = Signature("other", "kinds beyond the first 500")


@dataclass(slots=True)
class WindowCount:
    """What :func:`count_failures` found.

    Attributes
    ----------
    discovery:
        As :func:`~logthread.alarms.discover.find_failures` returns it: the ``keep``
        most recent failing requests with their lines, ``total``, ``unattributed``,
        ``partial``, notes; its ``tally`` is :attr:`tally`.
    tally:
        Every failing request of the window, per signature.
    lines_read:
        Events CloudWatch returned (what the scan cost, beside the API calls).
    calls:
        Requests made per CloudWatch Logs API.
    """

    discovery: Discovery
    tally: Tally = field(default_factory=Tally)
    lines_read: int = 0
    calls: dict[str, int] = field(default_factory=dict)


def pattern_for(target: Target) -> str:
    """The server-side pattern: the target's own, plus START lines for Lambda error lines."""
    if target.match == "errors" and target.pattern and target.pattern != REPORT_PATTERN:
        return f"{target.pattern} {START_TERM}"
    return target.pattern


class _Counter:
    """The state of one pass: requests seen, the tally, the most recent failures."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.seen: set[str] = set()
        self.tally = Tally()
        self.recent: dict[str, Failure] = {}

    def failing(self, rid: str, record: LogRecord) -> None:
        if rid not in self.seen:
            self.seen.add(rid)
            signature = signature_of_line(record)
            if len(self.tally) >= MAX_KINDS and signature.key not in self.tally:
                signature = OTHER
            self.tally.add(signature, record.timestamp, rid, record.log_group)
        self._remember(rid, record)

    def _remember(self, rid: str, record: LogRecord) -> None:
        failure = self.recent.get(rid)
        if failure is not None:
            failure.lines.append(record)
            failure.last_ms = max(failure.last_ms, record.timestamp)
            return
        if self.keep <= 0:
            return
        if len(self.recent) >= self.keep:
            oldest = min(self.recent.values(), key=lambda f: f.last_ms)
            if oldest.last_ms > record.timestamp:
                return
            del self.recent[oldest.request_id]
        self.recent[rid] = Failure(rid, record.log_group, record.timestamp, [record])


def count_failures(
    logs: Any,
    the_plan: Plan,
    *,
    keep: int,
    deadline: float,
    calls: ApiCalls | None = None,
) -> WindowCount:
    """Count every failing request of the plan's window per error signature.

    Parameters
    ----------
    logs:
        boto3 CloudWatch Logs client.
    the_plan:
        From :func:`logthread.alarms.discover.plan`.
    keep:
        How many of the most recent failing requests to keep with their lines
        (``limits.requests_per_alarm``, plus those a thread already shows).
    deadline:
        ``time.monotonic()`` value by which to stop; what was counted so far stands
        and the discovery is marked partial.
    calls:
        Counts the requests made (a new counter when None).

    Returns
    -------
    WindowCount
    """
    from logthread.search.deadline import guard

    guard(logs)
    calls = calls if calls is not None else ApiCalls(deadline)
    out = Discovery(plan=the_plan)
    counter = _Counter(keep)
    lines_read = 0
    for target in the_plan.targets:
        if time.monotonic() >= deadline:
            out.partial = True
            out.notes.append(f"{target.log_group} not searched: out of time")
            continue
        status = EventList()
        quick = target.match == "errors"
        starts: dict[str, str] = {}  # stream -> the request its last START began
        orphans: list[LogRecord] = []
        try:
            shown, sent = target.log_group, read_as(logs, target.log_group)
            for page in event_pages(
                logs,
                sent,
                the_plan.window,
                pattern_for(target),
                deadline=deadline,
                calls=calls,
                outcome=status,
            ):
                lines_read += len(page)
                for event in page:
                    if quick and not _MAYBE.search(str(event.get("message", ""))):
                        continue
                    if sent != shown:  # a source account's group: named as the plan names it
                        event = {**event, "logGroupName": shown}
                    record = parse_event(event, shown)
                    if record.kind == "start":
                        starts[record.log_stream] = record.request_id
                        continue
                    if record.context or not is_failure_line(target, record):
                        continue
                    rid = record.request_id or starts.get(record.log_stream, "")
                    if rid:
                        counter.failing(rid, record)
                    else:
                        orphans.append(record)
        except Exception as exc:  # one group failing must not lose the others
            out.partial = True
            out.notes.append(f"{target.log_group}: {_why(exc)}")
            continue
        if not status.complete:
            out.partial = True
            out.notes.append(f"{target.log_group}: stopped at the {status.reason}")
        if orphans:
            owners = attribute_orphans(
                logs, target.log_group, orphans, the_plan.window, deadline, calls
            )
            for record in orphans:
                rid = owners.get(record.event_id or id(record), "")
                if rid:
                    counter.failing(rid, record)
                else:
                    out.unattributed += 1
    ranked = sorted(counter.recent.values(), key=lambda f: f.last_ms, reverse=True)
    for failure in ranked:
        failure.lines.sort(key=lambda r: r.timestamp)
    out.total = len(counter.seen)
    out.failures = ranked
    out.tally = counter.tally
    return WindowCount(out, counter.tally, lines_read, calls.snapshot())


def _why(exc: Exception) -> str:
    from logthread.search.calls import error_code

    code = error_code(exc)
    return f"{code}: {exc}" if code else str(exc)
