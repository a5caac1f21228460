"""From matched events to one timeline: de-duplicate, fill spans, add context, sort, cap."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from logthread.ids import is_full_request_id
from logthread.logparse import parse_event
from logthread.query import TimeWindow
from logthread.records import LogRecord
from logthread.search.calls import ApiCalls, error_code
from logthread.search.context import read_after, read_before, read_range

StreamKey = tuple[str, str]


def dedupe(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats: by eventId where CloudWatch gave one, else by time and text."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for e in events:
        group, stream = e.get("logGroupName", ""), e.get("logStreamName", "")
        key: tuple[Any, ...]
        if e.get("eventId"):
            key = (group, stream, e["eventId"])
        else:
            key = (group, stream, e.get("timestamp"), e.get("message"))
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _key(r: LogRecord) -> tuple[int, str]:
    return (r.timestamp, r.raw)


class _Pool:
    """A multiset of records by (time, text), to match re-read lines to known ones."""

    def __init__(self, records: list[LogRecord]) -> None:
        self._by_key: dict[tuple[int, str], list[LogRecord]] = defaultdict(list)
        for r in records:
            self._by_key[_key(r)].append(r)

    def take(self, r: LogRecord) -> LogRecord | None:
        bucket = self._by_key.get(_key(r))
        return bucket.pop(0) if bucket else None


def _fill_span(
    logs: Any,
    key: StreamKey,
    records: list[LogRecord],
    request_id: str,
    *,
    deadline: float,
    calls: ApiCalls,
    mark_partial: Callable[[str], None],
) -> list[LogRecord]:
    starts = [r for r in records if r.kind == "start" and r.request_id == request_id]
    ends = [r for r in records if r.kind in ("report", "end") and r.request_id == request_id]
    if not starts or not ends or ends[-1].timestamp < starts[0].timestamp:
        return records
    first, last = starts[0], ends[-1]
    group, stream = key
    events, complete = read_range(
        logs,
        group,
        stream,
        TimeWindow(first.timestamp, last.timestamp),
        deadline=deadline,
        calls=calls,
        until=lambda e: e["timestamp"] == last.timestamp and e.get("message") == last.raw,
    )
    if not complete:
        mark_partial("deadline while reading a stream")
    parsed = [parse_event(e, group) for e in events]
    begin = next(
        (i for i, p in enumerate(parsed) if p.kind == "start" and p.request_id == request_id), None
    )
    stop = next(
        (
            i
            for i in range(len(parsed) - 1, -1, -1)
            if parsed[i].kind in ("report", "end") and parsed[i].request_id == request_id
        ),
        None,
    )
    if begin is None or stop is None or stop < begin:
        return records
    pool = _Pool(records)
    span: list[LogRecord] = []
    for p in parsed[begin : stop + 1]:
        known = pool.take(p)
        if known is not None:
            span.append(known)
        elif not p.request_id:
            extra = {**p.extra, "attributed": True}
            span.append(dataclasses.replace(p, request_id=request_id, extra=extra))
        # A line naming another request is not this one's, whatever the stream says.
    taken = {id(r) for r in span}
    before = [r for r in records if id(r) not in taken and r.timestamp < first.timestamp]
    rest = [r for r in records if id(r) not in taken and r.timestamp >= first.timestamp]
    return before + span + rest


def _with_context(
    logs: Any,
    key: StreamKey,
    records: list[LogRecord],
    count: int,
    *,
    deadline: float,
    calls: ApiCalls,
) -> list[LogRecord]:
    group, stream = key
    own = [r for r in records if not r.context]
    if not own:
        return records
    first, last = own[0].timestamp, own[-1].timestamp
    same_first = sum(1 for r in own if r.timestamp == first)
    same_last = sum(1 for r in own if r.timestamp == last)
    pool = _Pool(own)

    def strangers(events: list[dict[str, Any]]) -> list[LogRecord]:
        out = []
        for e in events:
            p = parse_event(e, group)
            if pool.take(p) is None:
                out.append(dataclasses.replace(p, context=True))
        return out

    before = strangers(
        read_before(logs, group, stream, first, count + same_first, deadline=deadline, calls=calls)
    )
    after = strangers(
        read_after(logs, group, stream, last, count + same_last, deadline=deadline, calls=calls)
    )
    before = [r for r in before if r.timestamp <= first][-count:]
    after = [r for r in after if r.timestamp >= last][:count]
    return before + records + after


def build_timeline(
    logs: Any,
    events: Iterable[dict[str, Any]],
    *,
    request_ids: list[str],
    context_lines: int,
    deadline: float,
    calls: ApiCalls,
    mark_partial: Callable[[str], None],
    read_spans: bool = True,
) -> list[LogRecord]:
    """The request's records, oldest first, with its spans filled and context added.

    Parameters
    ----------
    events:
        Matched events (already checked to contain the id), from any groups.
    request_ids:
        Full request ids whose START..REPORT spans are read.
    context_lines:
        Lines of context before and after, per stream.
    """
    by_stream: dict[StreamKey, list[LogRecord]] = defaultdict(list)
    for e in dedupe(events):
        r = parse_event(e, str(e.get("logGroupName", "")))
        by_stream[(r.log_group, r.log_stream)].append(r)
    full_ids = [rid for rid in request_ids if is_full_request_id(rid)]
    timeline: list[LogRecord] = []
    for key, records in by_stream.items():
        records.sort(key=lambda r: r.timestamp)
        # Reading around the lines only adds to them: a refusal here keeps what was found.
        try:
            if read_spans:
                for rid in full_ids:
                    records = _fill_span(
                        logs,
                        key,
                        records,
                        rid,
                        deadline=deadline,
                        calls=calls,
                        mark_partial=mark_partial,
                    )
            if context_lines > 0:
                records = _with_context(
                    logs, key, records, context_lines, deadline=deadline, calls=calls
                )
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc) or type(exc).__name__
            mark_partial(f"could not read {key[1]} in {key[0]} ({code})")
        timeline.extend(records)
    # Stable: lines of one stream sharing a millisecond keep the stream's order.
    timeline.sort(key=lambda r: r.timestamp)
    return timeline


def cap(records: list[LogRecord], max_lines: int) -> tuple[list[LogRecord], int, int]:
    """Keep ``max_lines``: the head and (a fifth of the budget) the tail.

    Returns
    -------
    tuple
        The kept records, how many were omitted, and the index in the kept
        list where the omitted lines were (-1 if none).
    """
    limit = max(1, int(max_lines))
    if len(records) <= limit:
        return records, 0, -1
    tail = limit // 5 if limit >= 10 else 0
    head = limit - tail
    kept = records[:head] + (records[-tail:] if tail else [])
    return kept, len(records) - limit, head
