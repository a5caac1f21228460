"""The ingress core: Slack request in, ack out, the search handed to the worker.

One route, ``POST /slack/events``, takes both slash commands (a form body) and
interactivity (a form body whose ``payload`` field is JSON), as Bolt apps do.
Every request is answered at once: the ingress verifies, authorizes, parses and
publishes a task to the bus; it never searches (Slack gives it 3 seconds, cold
start included). The worker posts the result.

Knows nothing of Lambda: ``functions/ingress/app.py`` adapts API Gateway events
to :class:`~logthread.http.HttpRequest`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from logthread import commands, telemetry
from logthread.authz import (
    Decision,
    Requester,
    authorize,
    authorize_requester,
    target_log_groups,
)
from logthread.bounds import MAX_CONTEXT, bound_query, more_context, widen_search, within_limits
from logthread.bus import TaskBus
from logthread.config import Config
from logthread.http import HttpRequest, HttpResponse
from logthread.loggroups import join_target, split_target
from logthread.query import SearchQuery
from logthread.tasks import (
    CLAIM_ACTION_ID,
    AlarmClaim,
    ReplyTo,
    SearchTask,
    claim_key,
    query_from_button,
)
from logthread.verify import RequestVerifier

# Plain logging: the handler's logger (lambdalog's, or Powertools' wherever else the core runs)
# formats what propagates to "logthread"; importing Powertools here would cost the ack 50 ms.
logger = logging.getLogger(__name__)

ROUTE = "/slack/events"
SEARCH_AGAIN = "logthread.search_again"
MORE_CONTEXT = "logthread.more_context"
# An alarm that found no failing request: run its discovery again (logthread.alarms.rescan).
ALARM_SEARCH_AGAIN = "logthread.alarm_search_again"
# A URL button: Slack opens the link and still sends the click, which only needs an ack.
OPEN_CLOUDWATCH = "logthread.open_cloudwatch"

Responder = Callable[[str, str], None]


def webhook_responder(response_url: str, text: str) -> None:
    """Send an ephemeral message through ``response_url`` (slack_sdk's WebhookClient)."""
    from slack_sdk.webhook import WebhookClient

    WebhookClient(response_url, timeout=2).send(
        text=text, response_type="ephemeral", replace_original=False
    )


@dataclass(slots=True)
class IngressDeps:
    """What the ingress works with.

    Attributes
    ----------
    verifier:
        Checks Slack's signature (with its own clock).
    bus:
        Where tasks go (:class:`~logthread.bus.SnsTaskBus` in AWS).
    config:
        Access allowlists and search limits.
    now:
        Clock in epoch seconds for ``last 2h`` and button windows.
    respond:
        ``(response_url, text)``: tells a button clicker they were refused
        (a button's HTTP answer is not shown to the user).
    own_account:
        This account's id ("" when unknown): a target naming it (by id or name) is a
        target of the own account, searched by plain name.
    """

    verifier: RequestVerifier
    bus: TaskBus
    config: Config
    now: Callable[[], float] = time.time
    respond: Responder = webhook_responder
    own_account: str = ""


def handle(request: HttpRequest, deps: IngressDeps) -> HttpResponse:
    """Answer one Slack request.

    Parameters
    ----------
    request:
        The request, body exactly as received (after base64 decoding).
    deps:
        Verifier, bus, config, clock.

    Returns
    -------
    HttpResponse
        401 (empty) for a bad, stale or missing signature; 200 (empty) for a
        Slack retry or a button click; an ephemeral JSON message for commands.
    """
    if request.method.upper() != "POST":
        return HttpResponse.empty(405)
    if not request.path.rstrip("/").endswith(ROUTE):
        return HttpResponse.empty(404)
    if not deps.verifier.is_valid(request.body, request.headers):
        logger.warning(
            "refused: bad or stale signature",
            extra={"outcome": "refused", "reason": "signature"},
        )
        return HttpResponse.empty(401)
    if request.header("x-slack-retry-num"):
        # Slack retries when an ack was late; the first delivery already published.
        logger.info(
            "ignored: Slack retry",
            extra={
                "retry_num": request.header("x-slack-retry-num"),
                "retry_reason": request.header("x-slack-retry-reason"),
            },
        )
        return HttpResponse.empty(200)

    if request.header("content-type").startswith("application/json"):
        return _json_body(request.body)
    form = dict(parse_qsl(request.body, keep_blank_values=True))
    if "payload" in form:
        return _interaction(form["payload"], deps)
    if "command" in form:
        return _slash_command(form, deps)
    if form.get("ssl_check"):
        return HttpResponse.empty(200)
    return HttpResponse.empty(400)


def ephemeral(text: str) -> HttpResponse:
    """A slash-command answer only the caller sees."""
    return HttpResponse.json({"response_type": "ephemeral", "text": text})


def _json_body(body: str) -> HttpResponse:
    # Events API URL verification (the route shares Bolt's path); nothing else is JSON.
    try:
        data = json.loads(body)
    except ValueError:
        return HttpResponse.empty(400)
    if isinstance(data, dict) and data.get("type") == "url_verification":
        return HttpResponse.json({"challenge": str(data.get("challenge", ""))})
    return HttpResponse.empty(200)


def _log(outcome: str, message: str, requester: Requester, **fields: Any) -> None:
    _who(requester)
    kind = ("Kind", str(fields.get("kind") or "other"))
    telemetry.count(
        telemetry.ACCEPTED if outcome == "accepted" else telemetry.REFUSED, dimension=kind
    )
    extra = {
        "outcome": outcome,
        "team_id": requester.team_id,
        "channel_id": requester.channel_id,
        "user_id": requester.user_id,
        "user_name": requester.user_name,
        **fields,
    }
    if outcome == "accepted":
        logger.info(message, extra=extra)
    else:
        logger.warning(message, extra=extra)


def _who(requester: Requester, **more: str) -> None:
    telemetry.log_keys(
        slack_user=requester.user_id,
        slack_team=requester.team_id,
        slack_channel=requester.channel_id,
        **more,
    )


def _slash_command(form: Mapping[str, str], deps: IngressDeps) -> HttpResponse:
    requester = Requester(
        team_id=form.get("team_id", ""),
        channel_id=form.get("channel_id", ""),
        user_id=form.get("user_id", ""),
        user_name=form.get("user_name", ""),
    )
    text = form.get("text", "")
    asked = {"kind": "command", "command": form.get("command", ""), "text": text[:300]}

    decision = authorize_requester(deps.config.access, requester)
    if not decision.allowed:
        _log("refused", "refused: requester", requester, reason=decision.reason, **asked)
        return ephemeral(decision.message)
    now_ms = int(deps.now() * 1000)
    try:
        parsed = commands.parse_command(text, now_ms=now_ms)
    except commands.CommandError as exc:
        _log("refused", "refused: unreadable command", requester, reason=str(exc), **asked)
        return ephemeral(f"Sorry, I couldn't read that: {exc}\n\n{commands.USAGE}")
    if isinstance(parsed, commands.HelpCommand):
        _log("accepted", "help shown", requester, **asked)
        return ephemeral(commands.USAGE)

    try:
        query = _query(parsed, deps.config, int(deps.now() * 1000), deps.own_account)
    except commands.CommandError as exc:  # an account name that is not configured
        _log("refused", "refused: unknown account", requester, reason=str(exc), **asked)
        return ephemeral(f"Sorry, I couldn't read that: {exc}")
    decision = authorize(deps.config.access, requester, query.functions, query.log_groups)
    if not decision.allowed:
        _log("refused", "refused: log groups", requester, reason=decision.reason, **asked)
        return ephemeral(decision.message)

    reply = ReplyTo(
        channel=requester.channel_id,
        response_url=form.get("response_url", ""),
        user_id=requester.user_id,
        team_id=requester.team_id,
    )
    task = SearchTask(
        query, reply, origin="command", extra=_extra(requester, form.get("trigger_id", ""))
    )
    if not _publish(task, deps, requester, asked):
        return ephemeral("Sorry, I couldn't start the search just now. Please try again.")
    return ephemeral(
        f"Searching for `{query.request_id}` {_where(query, dict(deps.config.accounts))}… {_window(query)}"
    )


def _query(
    parsed: commands.SearchCommand, config: Config, now_ms: int, own_account: str = ""
) -> SearchQuery:
    """The task's query, within the limits; no target means every group the caller may read.

    Accounts named by name become ids (a task and a button carry ids only); raises
    CommandError for an account name that is not configured.
    """
    context = config.limits.context_lines if parsed.context_lines is None else parsed.context_lines
    names = dict(config.accounts)
    query = SearchQuery(
        request_id=parsed.request_id,
        functions=commands.resolve_accounts(parsed.functions, names, own_account),
        log_groups=commands.resolve_accounts(parsed.log_groups, names, own_account),
        window=parsed.window,
        context_lines=context,
    )
    return bound_query(query, config, now_ms=now_ms)


def _extra(requester: Requester, trigger_id: str = "") -> dict[str, Any]:
    # task_id lets the worker recognise a duplicate delivery of the same task. It comes
    # from Slack's trigger_id, which is inside the signed body and new for every command
    # and click: a replayed request (same body and signature, within its 5 minutes) is
    # then the same task, and the worker answers it once. No write on the ack path.
    task_id = hashlib.sha256(trigger_id.encode()).hexdigest()[:32] if trigger_id else ""
    return {"task_id": task_id or uuid.uuid4().hex, "asked_by": requester.user_name}


def _publish(
    task: SearchTask, deps: IngressDeps, requester: Requester, asked: Mapping[str, Any]
) -> bool:
    q = task.query
    what = {
        "request_id": q.request_id,
        "functions": list(q.functions),
        "log_groups": list(q.log_groups),
        "window": None if q.window is None else [q.window.start_ms, q.window.end_ms],
        "context_lines": q.context_lines,
        "task_id": task.extra.get("task_id", ""),
    }
    _who(requester, request_id=q.request_id)
    try:
        message_id = deps.bus.publish(task)
    except Exception:
        telemetry.count(telemetry.FAILURES, dimension=("Stage", "publish"))
        logger.exception("task publish failed", extra={**asked, **what})
        return False
    _log("accepted", "search accepted", requester, message_id=message_id, **asked, **what)
    return True


def _where(query: SearchQuery, accounts: Mapping[str, str]) -> str:
    # A source account's target by its name when it has one, as the user typed it.
    names = []
    for target in [*query.functions, *query.log_groups]:
        account, rest = split_target(target)
        names.append(join_target(accounts.get(account, account), rest))
    shown = ", ".join(f"`{n}`" for n in names[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f"in {shown}{more}"


def _window(query: SearchQuery) -> str:
    if query.window is None:
        return "(default look-back). The result will be posted in this channel."
    minutes = max(1, query.window.duration_ms // 60_000)
    span = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
    return f"(a {span} window). The result will be posted in this channel."


# ---- interactivity ---------------------------------------------------------


def _interaction(raw: str, deps: IngressDeps) -> HttpResponse:
    try:
        payload = json.loads(raw)
    except ValueError:
        return HttpResponse.empty(400)
    if isinstance(payload, dict) and payload.get("type") == "message_action":
        return _find_logs(payload, deps)
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return HttpResponse.empty(200)
    ours = [
        a
        for a in payload.get("actions") or []
        if isinstance(a, dict)
        and a.get("action_id") in (SEARCH_AGAIN, MORE_CONTEXT, ALARM_SEARCH_AGAIN, CLAIM_ACTION_ID)
    ]
    if not ours:
        # e.g. the "Open in CloudWatch" URL button: Slack still sends a click to ack.
        return HttpResponse.empty(200)
    action = ours[0]
    user = payload.get("user") or {}
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    requester = Requester(
        team_id=str((payload.get("team") or {}).get("id") or user.get("team_id") or ""),
        channel_id=str((payload.get("channel") or {}).get("id") or container.get("channel_id", "")),
        user_id=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("name") or ""),
    )
    response_url = str(payload.get("response_url") or "")
    asked = {"kind": "button", "action_id": action["action_id"]}
    if action["action_id"] == ALARM_SEARCH_AGAIN:
        where = ReplyTo(
            channel=requester.channel_id,
            thread_ts=_thread_ts(container, message),
            response_url=response_url,
            user_id=requester.user_id,
        )
        return _alarm_rescan(str(action.get("value", "")), requester, where, deps, asked)
    if action["action_id"] == CLAIM_ACTION_ID:
        claim = AlarmClaim(
            episode_key="",
            channel=requester.channel_id,
            thread_ts=_thread_ts(container, message),
            user_id=requester.user_id,
            team_id=requester.team_id,
            text=str(message.get("text") or ""),
            blocks=[b for b in message.get("blocks") or [] if isinstance(b, dict)],
        )
        return _alarm_claim(str(action.get("value", "")), claim, requester, response_url, deps)

    query, decision = _button_query(str(action.get("value", "")), requester, deps)
    if query is None or not decision.allowed:
        _log("refused", "refused: button", requester, reason=decision.reason, **asked)
        _tell(deps, response_url, decision.message)
        return HttpResponse.empty(200)

    now_ms = int(deps.now() * 1000)
    if action["action_id"] == SEARCH_AGAIN:
        query = replace(query, window=widen_search(query.window, now_ms, deps.config))
    else:
        query = replace(query, context_lines=more_context(query.context_lines))
    reply = ReplyTo(
        channel=requester.channel_id,
        thread_ts=_thread_ts(container, message),
        response_url=response_url,
        user_id=requester.user_id,
        team_id=requester.team_id,
    )
    trigger = str(payload.get("trigger_id") or "")
    task = SearchTask(query, reply, origin="button", extra=_extra(requester, trigger))
    if not _publish(task, deps, requester, asked):
        _tell(deps, response_url, "Sorry, I couldn't start the search just now. Please try again.")
    return HttpResponse.empty(200)


def _find_logs(payload: Mapping[str, Any], deps: IngressDeps) -> HttpResponse:
    """ "Find logs" on any message: search its ids in its thread, as typed commands would."""
    # Imported on use only: the ack path of commands and buttons never needs it.
    from logthread import shortcut

    if payload.get("callback_id") != shortcut.CALLBACK_ID:
        return HttpResponse.empty(200)
    asked = {"kind": "shortcut", "callback_id": shortcut.CALLBACK_ID}
    found = shortcut.plan(payload, deps.config, now_ms=int(deps.now() * 1000))
    requester, url = found.requester, found.response_url
    # Every search names no target: every group the caller may read, as `/logsearch <id>`.
    decision = authorize(deps.config.access, requester, (), ())
    if not decision.allowed:
        _log("refused", "refused: shortcut", requester, reason=decision.reason, **asked)
        _tell(deps, url, decision.message)
        return HttpResponse.empty(200)
    if not found.tasks:
        _log("refused", "refused: shortcut", requester, reason="no id in the message", **asked)
        _tell(deps, url, shortcut.NO_ID)
        return HttpResponse.empty(200)
    started: list[str] = []
    failed: list[str] = []
    for task in found.tasks:
        rid = task.query.request_id
        (started if _publish(task, deps, requester, asked) else failed).append(rid)
    _tell(deps, url, shortcut.ack_text(started, found.rest, failed))
    return HttpResponse.empty(200)


def _thread_ts(container: Mapping[str, Any], message: Mapping[str, Any]) -> str:
    """The thread a clicked message sits in (its own ts when it is a parent)."""
    return str(
        container.get("thread_ts")
        or message.get("thread_ts")
        or message.get("ts")
        or container.get("message_ts")
        or ""
    )


def _alarm_rescan(
    value: str, requester: Requester, where: ReplyTo, deps: IngressDeps, asked: Mapping[str, Any]
) -> HttpResponse:
    """ "Search logs again" on an alarm: publish the rescan for the worker's alarm path.

    The value names an episode, never a log group (the worker decides what to
    search from its own config), so only the requester is checked here.
    """
    # Imported on click only: the module pulls in Block Kit models the ack path never needs.
    from logthread.alarms.rescan import rescan_body

    decision = authorize_requester(deps.config.access, requester)
    if not decision.allowed:
        _log("refused", "refused: button", requester, reason=decision.reason, **asked)
        _tell(deps, where.response_url, decision.message)
        return HttpResponse.empty(200)
    try:
        body = rescan_body(
            value,
            channel=where.channel,
            thread_ts=where.thread_ts,
            user_id=where.user_id,
            now_ms=int(deps.now() * 1000),
        )
    except ValueError as exc:
        _log("refused", "refused: button", requester, reason=f"bad button value: {exc}", **asked)
        _tell(deps, where.response_url, "Sorry, that button no longer works.")
        return HttpResponse.empty(200)
    if not where.channel or not where.thread_ts:
        _log("refused", "refused: button", requester, reason="no thread to answer in", **asked)
        return HttpResponse.empty(200)
    try:
        message_id = deps.bus.publish_body(body, kind="alarm_rescan", origin="button")
    except Exception:
        telemetry.count(telemetry.FAILURES, dimension=("Stage", "publish"))
        logger.exception("alarm rescan publish failed", extra=dict(asked))
        _tell(
            deps,
            where.response_url,
            "Sorry, I couldn't start the search just now. Please try again.",
        )
        return HttpResponse.empty(200)
    _log("accepted", "alarm search again accepted", requester, message_id=message_id, **asked)
    return HttpResponse.empty(200)


def _alarm_claim(
    value: str, claim: AlarmClaim, requester: Requester, response_url: str, deps: IngressDeps
) -> HttpResponse:
    """ "I'm on it" on an alarm: publish the claim; the worker records it and edits the message."""
    asked = {"kind": "button", "action_id": CLAIM_ACTION_ID}
    decision = authorize_requester(deps.config.access, requester)
    if not decision.allowed:
        _log("refused", "refused: button", requester, reason=decision.reason, **asked)
        _tell(deps, response_url, decision.message)
        return HttpResponse.empty(200)
    try:
        claim = replace(claim, episode_key=claim_key(value))
    except ValueError as exc:
        _log("refused", "refused: button", requester, reason=f"bad button value: {exc}", **asked)
        _tell(deps, response_url, "Sorry, that button no longer works.")
        return HttpResponse.empty(200)
    try:
        message_id = deps.bus.publish_body(claim.to_json(), kind="alarm_claim", origin="button")
    except Exception:
        telemetry.count(telemetry.FAILURES, dimension=("Stage", "publish"))
        logger.exception("alarm claim publish failed", extra=dict(asked))
        _tell(deps, response_url, "Sorry, I couldn't record that just now. Please try again.")
        return HttpResponse.empty(200)
    _log("accepted", "alarm claim accepted", requester, message_id=message_id, **asked)
    return HttpResponse.empty(200)


def _button_query(
    value: str, requester: Requester, deps: IngressDeps
) -> tuple[SearchQuery | None, Decision]:
    """Decode and re-check a button's query: the value came back from a client."""
    from logthread.ids import validate_request_id

    broken = Decision(False, "", "Sorry, that button no longer works. Try `/logsearch` instead.")
    try:
        query = query_from_button(value)
        # The canonical id, as a typed command would carry it, not the value's raw text.
        query = replace(query, request_id=validate_request_id(query.request_id))
        # A search without a target carries every allowed prefix of every allowed account.
        defaults = len(target_log_groups(deps.config.access, (), ()))
        commands.validate_targets(
            [*query.functions, *query.log_groups], most=max(commands.MAX_TARGETS, defaults)
        )
    except ValueError as exc:  # CommandError and InvalidRequestId are ValueErrors
        return None, replace(broken, reason=f"bad button value: {exc}")
    if not 0 <= query.context_lines <= MAX_CONTEXT or (
        query.window is not None and not within_limits(query.window)
    ):
        return None, replace(broken, reason="bad button value: out of range")
    decision = authorize(deps.config.access, requester, query.functions, query.log_groups)
    return bound_query(query, deps.config, now_ms=int(deps.now() * 1000)), decision


def _tell(deps: IngressDeps, response_url: str, text: str) -> None:
    if not response_url or not text:
        return
    try:
        deps.respond(response_url, text)
    except Exception:
        logger.exception("response_url post failed")
