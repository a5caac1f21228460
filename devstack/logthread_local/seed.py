"""Load the log fixtures into CloudWatch Logs (moto locally), placed relative to "now".

Fixture files (``fixtures/logs/*.json``) hold log groups, their streams and
events. A stream says where it sits in time, and the seed turns that into
absolute timestamps so the default look-back (today's UTC day first) finds
them:

- ``"day": 0, "ago_s": 300``: today, 300 s before now (never before 00:00 UTC,
  so today's events stay in today's stream);
- ``"day": -1, "at": "23:59:58.000"``: that UTC day at that time.

Its name is ``YYYY/MM/DD/`` of that day plus ``suffix``, as Lambda names
streams. Each event is ``[offset_ms, message]``; in the message ``{iso}``
becomes the event's time as Lambda runtimes write it
(``2024-05-01T12:00:00.123Z``) and ``{pt}`` as Powertools writes it
(``2024-05-01 12:00:00,123+0000``).

X-Ray trace ids encode their start time, so they are placed too: a file's
``"traces": {"T1": {"day": 0, "ago_s": 3600, "offset": 500, "id": "<24 hex>"}}``
makes ``{trace:T1}`` in any message ``1-<hex seconds of that instant>-<24 hex>``.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "logs"
SEED_FUNCTION = "HogeService"
SEED_LOG_GROUP = f"/aws/lambda/{SEED_FUNCTION}"
SEED_REQUEST_ID = "12345678-aaaa-bbbb-cccc-1234567890ab"

DAY_MS = 86_400_000
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26  # PutLogEvents counts 26 bytes per event on top of the message
MAX_BATCH_SPAN_MS = DAY_MS - 1  # a batch may not span 24 hours


def iso(ms: int) -> str:
    """``2024-05-01T12:00:00.123Z``, as Lambda runtimes write times."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def powertools_time(ms: int) -> str:
    """``2024-05-01 12:00:00,123+0000``, as Powertools Logger writes times."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{ms % 1000:03d}+0000"


def _anchor(stream: dict[str, Any], now_ms: int) -> int:
    today = now_ms - now_ms % DAY_MS
    day = int(stream.get("day", 0))
    if "at" in stream:
        hh, mm, rest = str(stream["at"]).split(":")
        seconds = float(rest)
        return today + day * DAY_MS + (int(hh) * 3600 + int(mm) * 60) * 1000 + int(seconds * 1000)
    if day != 0:
        raise ValueError("a stream on an earlier day needs 'at'")
    return max(now_ms - int(float(stream.get("ago_s", 0)) * 1000), today + 1000)


def traces(now_ms: int, files: list[Path] | None = None) -> dict[str, str]:
    """The fixtures' X-Ray trace ids, placed relative to ``now_ms`` (name -> trace id)."""
    found: dict[str, str] = {}
    for path in files or sorted(FIXTURES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for name, spec in data.get("traces", {}).items():
            at = _anchor(spec, now_ms) + int(spec.get("offset", 0))
            found[name] = f"1-{at // 1000:08x}-{spec['id']}"
    return found


def plan(now_ms: int | None = None, files: list[Path] | None = None) -> list[dict[str, Any]]:
    """The events the fixtures describe, with absolute times and stream names.

    Returns
    -------
    list of dict
        CloudWatch-shaped events (``logGroupName``, ``logStreamName``,
        ``timestamp``, ``message``), oldest first within each stream.
    """
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    trace_ids = traces(now, files)
    events: list[dict[str, Any]] = []
    for path in files or sorted(FIXTURES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for group in data["log_groups"]:
            for stream in group["streams"]:
                anchor = _anchor(stream, now)
                name = datetime.fromtimestamp(anchor / 1000, tz=UTC).strftime("%Y/%m/%d/")
                name += stream["suffix"]
                for offset, message in stream["events"]:
                    ts = anchor + int(offset)
                    text = message.replace("{iso}", iso(ts)).replace("{pt}", powertools_time(ts))
                    for trace_name, trace_id in trace_ids.items():
                        text = text.replace(f"{{trace:{trace_name}}}", trace_id)
                    events.append(
                        {
                            "logGroupName": group["name"],
                            "logStreamName": name,
                            "timestamp": ts,
                            "message": text,
                        }
                    )
    return events


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for e in events:
        cost = len(e["message"].encode("utf-8")) + EVENT_OVERHEAD_BYTES
        if current and (
            len(current) >= MAX_BATCH_EVENTS
            or size + cost > MAX_BATCH_BYTES
            or e["timestamp"] - current[0]["timestamp"] > MAX_BATCH_SPAN_MS
        ):
            batches.append(current)
            current, size = [], 0
        current.append({"timestamp": e["timestamp"], "message": e["message"]})
        size += cost
    if current:
        batches.append(current)
    return batches


def put_events(logs: Any, events: list[dict[str, Any]]) -> int:
    """Create the groups and streams ``events`` name and put them, in as few calls as allowed.

    PutLogEvents takes one stream per call, events in time order, at most
    10,000 events or 1 MB, spanning less than 24 hours.

    Returns
    -------
    int
        The number of PutLogEvents calls made.
    """
    by_stream: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in events:
        by_stream.setdefault((e["logGroupName"], e["logStreamName"]), []).append(e)
    groups = {g for g, _ in by_stream}
    for group in sorted(groups):
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
    calls = 0
    for (group, stream), stream_events in by_stream.items():
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        stream_events.sort(key=lambda e: e["timestamp"])
        for batch in _batches(stream_events):
            answer = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            rejected = answer.get("rejectedLogEventsInfo")
            if rejected:
                raise RuntimeError(f"CloudWatch rejected events in {group} {stream}: {rejected}")
            calls += 1
    return calls


def seed(
    logs: Any, now_ms: int | None = None, *, files: list[Path] | None = None
) -> dict[str, Any]:
    """Load every log fixture into the account ``logs`` points at.

    Parameters
    ----------
    logs:
        A boto3 CloudWatch Logs client (moto locally).
    now_ms:
        "Now" for placing the events (default: the clock).
    files:
        Fixture files to load (default: all of ``fixtures/logs/*.json``).

    Returns
    -------
    dict
        ``now_ms``; ``log_groups``: name -> {"streams": [...], "events": n};
        ``events``: every event put (CloudWatch-shaped, oldest first);
        ``traces``: the X-Ray trace ids by fixture name; ``seed``: the seed
        scenario's function, log group and request id.
    """
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    events = plan(now, files)
    put_events(logs, events)
    summary: dict[str, dict[str, Any]] = {}
    for e in events:
        entry = summary.setdefault(e["logGroupName"], {"streams": [], "events": 0})
        if e["logStreamName"] not in entry["streams"]:
            entry["streams"].append(e["logStreamName"])
        entry["events"] += 1
    return {
        "now_ms": now,
        "log_groups": summary,
        "events": sorted(events, key=lambda e: e["timestamp"]),
        "traces": traces(now, files),
        "seed": {
            "function": SEED_FUNCTION,
            "log_group": SEED_LOG_GROUP,
            "request_id": SEED_REQUEST_ID,
        },
    }
