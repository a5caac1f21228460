"""The worker's search path: run the task's search, post the result to Slack.

The ingress has already authorized the request; the worker checks the log
groups once more against the config (the task topic is only as trustworthy as
its policy) and applies its own limits, so a task cannot ask for more than the
configuration allows.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger

from logthread import telemetry
from logthread.authz import Requester, authorize_requester, authorize_targets
from logthread.bounds import bound_query
from logthread.config import Config
from logthread.query import SearchQuery
from logthread.redact import Redactor
from logthread.search.timebox import search_in_time
from logthread.slack.chat import ChatError
from logthread.slack.format import code, escape
from logthread.tasks import SearchTask
from logthread.worker.deps import WorkerDeps

logger = Logger(service="logthread", child=True)

KEY_PREFIX = "logthread.task"
# Outside Lambda, an in-progress task record expires after the search budget plus this.
LOCAL_SLACK_SECONDS = 120


def run_search_task(task: SearchTask, deps: WorkerDeps) -> str:
    """Search and post; return the Slack thread ts ("" when nothing was posted).

    Parameters
    ----------
    task:
        The parsed task message.
    deps:
        Logs client, chat, config, store (for de-duplicating a re-delivered
        task), clock and remaining time.

    Raises
    ------
    logthread.slack.chat.ChatError
        When Slack can't be told anything at all (the delivery is then retried).
    IdempotencyAlreadyInProgressError
        Another delivery of the same task is running right now; the retry of
        this delivery returns that run's answer without posting.
    """
    task_id = str(task.extra.get("task_id") or "")
    who = {
        "task_id": task_id,
        "origin": task.origin,
        "user_id": task.reply.user_id,
        "team_id": task.reply.team_id,
        "channel_id": task.reply.channel,
        "request_id": task.query.request_id,
    }
    telemetry.log_keys(
        slack_user=task.reply.user_id,
        slack_team=task.reply.team_id,
        slack_channel=task.reply.channel,
        request_id=task.query.request_id,
    )
    if not task_id or deps.store is None:
        return _answer(task, deps, who)
    from logthread.once import run_once

    # Keyed on the task's id (set once by the ingress): every delivery of it, even two
    # running at once in two invocations, posts at most once.
    return run_once(
        KEY_PREFIX,
        task_id,
        lambda: _answer(task, deps, who),
        table=deps.store,
        remaining_ms=deps.remaining_ms,
        budget_seconds=deps.config.limits.search_deadline_seconds + LOCAL_SLACK_SECONDS,
        outbox=deps.outbox,
    )


def _answer(task: SearchTask, deps: WorkerDeps, who: dict[str, str]) -> str:
    from logthread.alarms.naming import account_names
    from logthread.slack.format import account_label
    from logthread.slack.publish import post_search

    # Defence in depth: the ingress checked the requester, but whoever can publish to the
    # task topic could name any user, channel or team. Such a task is dropped unanswered:
    # only a forged task can fail this, and its reply address is the forger's choice.
    requester = Requester(task.reply.team_id, task.reply.channel, task.reply.user_id)
    decision = authorize_requester(deps.config.access, requester)
    if not decision.allowed:
        logger.error(
            "task dropped: requester not allowed", extra={**who, "reason": decision.reason}
        )
        return ""
    decision = authorize_targets(deps.config.access, task.query.functions, task.query.log_groups)
    if not decision.allowed:
        logger.error("task refused by the worker", extra={**who, "reason": decision.reason})
        _tell(deps, task, decision.message)
        return ""

    query = bounded_query(task.query, deps)
    try:
        # Always a result to post, before the invocation ends: partial when AWS kept
        # failing or time ran out (it then carries the button to search again).
        result = search_in_time(
            deps.logs, query, now_ms=deps.now_ms(), remaining_ms=deps.remaining_ms
        )
        telemetry.record_search(result)
    except ValueError as exc:
        # A query that can never run (an invalid id or name): only the requester is told.
        telemetry.count(telemetry.FAILURES, dimension=("Stage", "search"))
        logger.exception("search refused", extra=who)
        failed = f"Sorry, the search for {code(query.request_id)} failed: {escape(_short(exc))}"
        _tell(deps, task, failed)
        return ""

    asked_by = task.reply.user_id or str(task.extra.get("asked_by") or "")
    names = account_names(deps)
    ts = post_search(
        deps.chat,
        result,
        task.reply,
        asked_by=asked_by,
        redactor=_redactor(deps.config),
        account=account_label(*names.own_named()),
        account_names=names.name,
    )
    logger.info(
        "search answered",
        extra={
            **who,
            "thread_ts": ts,
            "found": result.found,
            "lines": len(result.records),
            "partial": result.partial,
            "log_groups_searched": len(result.log_groups_searched),
            "api_calls": result.api_calls,
        },
    )
    return ts


def bounded_query(query: SearchQuery, deps: WorkerDeps) -> SearchQuery:
    """The query within the configured limits and this invocation's remaining time."""
    return bound_query(
        query,
        deps.config,
        now_ms=deps.now_ms(),
        deadline_seconds=deps.deadline_seconds(deps.config.limits.search_deadline_seconds),
    )


@functools.lru_cache(maxsize=4)
def _redactor(config: Config) -> Redactor:
    # Compiling the patterns once per config, not once per task.
    return Redactor.from_config(config)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _tell(deps: WorkerDeps, task: SearchTask, text: str) -> None:
    """Tell only the requester: through response_url, else an ephemeral message."""
    reply = task.reply
    if reply.response_url:
        try:
            deps.chat.respond(reply.response_url, text=text)
            return
        except ChatError as exc:
            # response_url expires after 30 minutes or 5 uses.
            logger.warning("response_url failed; trying an ephemeral", extra={"code": exc.code})
    if reply.channel and reply.user_id:
        deps.chat.post_ephemeral(reply.channel, reply.user_id, text=text)
