"""Under the alarm message: the failing requests found, and their logs in its thread.

:class:`Run` is one notification being handled: its Slack posts are *steps*
recorded in the episode table with their ts, so a retried delivery skips what it
already posted. :func:`investigate` finds the requests (ids from the payload, or
discovered from the alarm's log groups and window) and searches each one under
the same timebox as a task; :func:`thread` posts what goes under the message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from logthread import telemetry
from logthread.alarms.alarm_render import Message, hide
from logthread.alarms.count import count_failures
from logthread.alarms.discover import MAX_INVOCATION_MS, Discovery, plan
from logthread.alarms.extract import extract_ids
from logthread.alarms.naming import own_account
from logthread.alarms.parse import CLOUDWATCH_SOURCES, Alarm
from logthread.alarms.replies import nothing_found_reply, raw_reply, summary_reply
from logthread.loggroups import LogGroupRef, is_arn
from logthread.query import SearchQuery, SearchResult, TimeWindow
from logthread.redact import from_config

logger = Logger(service="logthread", child=True)

# Slack's clock and ours may differ: a lost post is looked for from this much earlier.
CLOCK_MARGIN_SECONDS = 60


@dataclass(slots=True)
class Findings:
    """What the logs said about this alarm (nothing posted yet)."""

    ids: list[str] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)
    discovery: Discovery | None = None
    results: list[SearchResult] = field(default_factory=list)
    looked: bool = False  # whether there was anything to look for
    already_threaded: list[str] = field(default_factory=list)  # seen again in a repeat
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Run:
    """One notification being handled."""

    deps: Any
    alarm: Alarm
    key: str
    store: Any
    started: float = field(default_factory=time.monotonic)
    rescan_key: str = ""  # set for episodes: "Search logs again" re-runs their discovery
    redactor: Any = None

    def __post_init__(self) -> None:
        self.redactor = from_config(self.deps.config)

    def once(
        self, step: str, post: Callable[[], str], *, look_up: Callable[[float], str] | None = None
    ) -> str:
        """Make a Slack post unless this notification already made it; return its ts.

        With ``look_up`` (since → ts or ""), a post begun by an earlier attempt whose
        outcome was lost (a crash or timeout right after it) is looked for in Slack
        before it is made again.
        """
        if self.store is None:
            return post()
        record = self.store.step_record(self.key, step)
        if record is not None and record[0]:
            return record[0]
        if look_up is not None:
            found = look_up(record[1]) if record is not None else ""
            if found:
                self.store.record_step(self.key, step, found)
                return found
            self.store.begin_step(self.key, step)
        ts = post()
        self.store.record_step(self.key, step, ts)
        return ts

    def post(self, step: str, channel: str, message: Message, thread_ts: str | None = None) -> str:
        chat = self.deps.chat
        marker = f"{self.key}:{step}"
        return self.once(
            step,
            lambda: chat.post(
                channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                marker=marker,
            ),
            look_up=lambda since: chat.find(
                channel, marker, thread_ts=thread_ts, oldest=since - CLOCK_MARGIN_SECONDS
            ),
        )

    def deadline(self) -> float:
        budget = self.deps.deadline_seconds(self.deps.config.limits.search_deadline_seconds)
        return self.started + budget


def investigate(
    run: Run, *, known: set[str] | None = None, window: TimeWindow | None = None
) -> Findings:
    """Request ids (from the payload, else discovered) and each one's log story."""

    deps, alarm, known = run.deps, run.alarm, known or set()
    config = deps.config
    out = Findings()
    extraction = extract_ids(alarm, config)
    for note in extraction.notes:
        logger.info("request id rule", extra={"alarm": alarm.name, "note": note})
    try:
        the_plan = plan(
            alarm,
            config,
            logs=deps.logs,
            cloudwatch=deps.cloudwatch,
            now_ms=deps.now_ms(),
            own_account=own_account(deps),
        )
    except Exception as exc:
        logger.exception("planning the log search failed", extra={"alarm": alarm.name})
        out.errors.append(str(exc))
        return out
    if window is not None:
        the_plan = replace(the_plan, window=window)
    limit = config.limits.requests_per_alarm
    if extraction.ids:
        out.looked = True
        out.extracted = list(extraction.ids)
        out.already_threaded = [i for i in extraction.ids if i in known]
        wanted = [(i, the_plan.log_groups) for i in extraction.ids if i not in known][:limit]
    elif the_plan.targets:
        out.looked = True
        found = count_failures(
            deps.logs, the_plan, keep=limit + len(known), deadline=_counting_deadline(run)
        ).discovery
        found.known = _known_signatures(run, found)
        fresh = [f for f in found.failures if f.request_id not in known][:limit]
        out.already_threaded = [f.request_id for f in found.failures if f.request_id in known]
        found.total -= len(out.already_threaded)
        found.failures = fresh
        out.discovery = found
        wanted = _examples_then_recent(found, known, config.limits.examples_per_alarm, limit)
    else:
        out.discovery = Discovery(plan=the_plan)
        return out
    window = TimeWindow(the_plan.window.start_ms - MAX_INVOCATION_MS, the_plan.window.end_ms)
    searched = search_requests(run, wanted, window if alarm.state_change_ms else None)
    out.results, out.ids, out.errors = searched.results, searched.ids, out.errors + searched.errors
    return out


def search_requests(
    run: Run, wanted: list[tuple[str, tuple[str, ...]]], window: TimeWindow | None
) -> Findings:
    """Each wanted request's log story (``(request id, its log groups)``), under the timebox."""
    from logthread.search.timebox import search_in_time

    deps, config, out = run.deps, run.deps.config, Findings()
    for request_id, groups in wanted:
        left = run.deadline() - time.monotonic()
        query = SearchQuery(
            request_id=request_id,
            log_groups=tuple(_as_target(g) for g in groups),
            window=window,
            context_lines=config.limits.context_lines,
            max_lines=config.limits.max_lines,
            deadline_seconds=max(1.0, left),
        )
        try:
            # The same timebox as a task's search: a hung call can't outlive the invocation.
            result = search_in_time(
                deps.logs, query, now_ms=deps.now_ms(), remaining_ms=deps.remaining_ms
            )
        except Exception as exc:
            telemetry.count(telemetry.FAILURES, dimension=("Stage", "search"))
            logger.exception("request search failed", extra={"request_id": request_id})
            out.errors.append(f"{request_id}: {exc}")
            continue
        telemetry.record_search(result)
        out.results.append(result)
        out.ids.append(request_id)
    return out


def _as_target(group: str) -> str:
    """A group as a search names it: a source account's ARN (as its lines were read) becomes
    ``<account>:<name>``, which the search resolves through the link again."""
    return str(LogGroupRef.from_arn(group)) if is_arn(group) else group


def _counting_deadline(run: Run) -> float:
    # Counting the window may take half of what is left: the example requests' searches
    # need the rest.
    now = time.monotonic()
    return now + max(1.0, (run.deadline() - now) / 2)


def _examples_then_recent(
    found: Discovery, known: set[str], examples: int, limit: int
) -> list[tuple[str, tuple[str, ...]]]:
    """One example request per kind of error (most frequent first, up to ``examples``),
    then the most recent others while there are fewer than ``limit``."""
    wanted: dict[str, tuple[str, ...]] = {}
    if found.tally is not None:
        for entry in found.tally.ranked():
            if len(wanted) >= examples:
                break
            if entry.example_id not in known:
                wanted.setdefault(entry.example_id, (entry.example_group,))
    for failure in found.failures:
        if len(wanted) >= limit:
            break
        wanted.setdefault(failure.request_id, (failure.log_group,))
    return list(wanted.items())


def _known_signatures(run: Run, found: Discovery) -> dict[str, int] | None:
    """Mark each kind of error new or known (seen in an earlier episode of this alarm)."""
    from logthread.alarms.signature_history import SignatureHistory

    alarm, store = run.alarm, run.store
    if found.tally is None or store is None or alarm.state != "ALARM":
        return None
    if alarm.source not in CLOUDWATCH_SOURCES or not hasattr(store, "client"):
        return None
    try:
        # The episode this notification belongs to began when the open episode did, unless
        # the notification is older than that (a late delivery of an earlier episode).
        change = alarm.state_change_ms or run.deps.now_ms()
        episode = store.get(alarm.episode_key)
        began = (
            episode.started_ms
            if episode is not None and episode.is_open and 0 < episode.started_ms <= change
            else change
        )
        history = SignatureHistory(
            store.client,
            store.table_name,
            ttl_seconds=run.deps.config.limits.signature_ttl_days * 86400,
            now=store.now,
        )
        return history.note(alarm.episode_key, began, found.tally)
    except Exception:  # the history is a nicety: the alarm goes out without it
        logger.exception("signature history failed", extra={"alarm": alarm.name})
        return None


def _worth_summing_up(discovery: Discovery) -> bool:
    # One request and nothing else to say: its own reply already leads with its error.
    return (
        len(discovery.failures) > 1
        or discovery.total > len(discovery.failures)
        or bool(discovery.unattributed or discovery.partial or discovery.notes)
    )


def thread(run: Run, channel: str, ts: str, findings: Findings, *, again: bool = False) -> None:
    """Everything that goes under the alarm message."""
    from logthread.slack.publish import upload_full_log
    from logthread.slack.search_render import render_search

    chat, alarm = run.deps.chat, run.alarm
    if alarm.problems and not again:
        raw = raw_reply(alarm, redactor=run.redactor)
        if raw is not None:
            run.post("raw", channel, raw, ts)
        else:
            run.once(
                "raw",
                lambda: chat.upload(
                    channel,
                    ts,
                    filename="notification.txt",
                    content=hide(alarm.raw, run.redactor),
                    title="The notification as received",
                ),
            )
    discovery = findings.discovery
    if discovery is not None and findings.results and _worth_summing_up(discovery):
        kinds = run.deps.config.limits.error_kinds_listed
        summary = summary_reply(discovery, redactor=run.redactor, kinds_listed=kinds)
        run.post("summary", channel, summary, ts)
    redactor = run.redactor
    names = getattr(run.deps, "accounts", None)  # a source account's lines say whose they are
    account_names = names.name if names is not None else None
    for result in findings.results:
        rid = result.query.request_id
        rendered = render_search(
            result, title="Failing request", redactor=redactor, account_names=account_names
        )
        message = Message(rendered.thread_text, list(rendered.thread_blocks))
        run.post(f"request#{rid}", channel, message, ts)
        if rendered.full_log is not None:
            run.once(f"file#{rid}", partial(upload_full_log, chat, channel, ts, rendered))
    if findings.results or alarm.state not in ("ALARM", ""):
        return
    # Say so when nothing was found: always for a CloudWatch alarm, and for custom or
    # text notifications only when there was somewhere to look.
    if findings.looked or (discovery is not None and alarm.source in CLOUDWATCH_SOURCES):
        reply = nothing_found_reply(
            alarm,
            discovery,
            extracted=findings.extracted,
            rescan_key=run.rescan_key,
            again=again,
        )
        run.post("nothing", channel, reply, ts)
