"""The alarm message as Slack Block Kit, and the pieces its thread replies share.

The alarm message shows the state, name, description and reason; the metric and
its dimensions, the threshold and the evaluation window; the account and region
(from the ARN); a link to the alarm in the console; and the buttons "Search logs
again" and "Open in CloudWatch". Once resolved, the same message says how long
the alarm lasted. The replies in its thread are in :mod:`logthread.alarms.replies`;
each request's story is rendered as ``/logsearch`` renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from logthread.alarms import rescan
from logthread.alarms.discover import Discovery, Failure, Plan
from logthread.alarms.parse import CLOUDWATCH_SOURCES, Alarm, MetricRef
from logthread.query import SearchQuery, TimeWindow
from logthread.redact import Redactor
from logthread.signatures import Tally
from logthread.slack import blocks as limits
from logthread.slack.console_links import alarm_console_url, console_url, region_of, valid_region
from logthread.slack.format import (
    account_label,
    code,
    escape,
    format_duration,
    format_window,
)
from logthread.slack.search_render import OPEN_CLOUDWATCH, SEARCH_AGAIN
from logthread.tasks import BUTTON_VALUE_LIMIT, CLAIM_ACTION_ID, button_value, claim_value

ICONS = {
    "ALARM": ":rotating_light:",
    "OK": ":white_check_mark:",
    "INSUFFICIENT_DATA": ":grey_question:",
}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band",
    "GreaterThanUpperThreshold": "above the band",
}
ERRORS_QUERY = (
    "fields @timestamp, @logStream, @message\n"
    "| filter @message like /ERROR|Task timed out|Status: (timeout|error)/\n"
    "| sort @timestamp desc\n"
    "| limit 1000"
)


@dataclass(slots=True)
class Message:
    """One Slack message: fallback text and blocks."""

    text: str
    blocks: list[Block]


def hide(text: str, redactor: Redactor | None) -> str:
    """``text`` with secrets hidden (the built-in patterns when no redactor is given)."""
    if not text:
        return text
    if redactor is None:
        from logthread.redact import default

        redactor = default()
    return redactor.redact(text)[0]


def cut(text: str, limit: int = limits.SECTION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut(text)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=cut(text))])


def utc_text(ms: int | None) -> str:
    if not ms:
        return "unknown time"
    window = format_window(TimeWindow(ms, ms))
    return window.split(" → ")[0] + " UTC"


def alarm_url(alarm: Alarm) -> str | None:
    """The alarm's page in the CloudWatch console (needs a valid region code and the name)."""
    if alarm.source not in CLOUDWATCH_SOURCES:
        return None
    return alarm_console_url(alarm.region, alarm.name)


def cloudwatch_url(alarm: Alarm, the_plan: Plan | None) -> str | None:
    """Logs Insights over the alarm's log groups and window, else the alarm's page.

    The region is the alarm's (a validated code) or the worker's own; never payload text.
    """
    if the_plan is not None and the_plan.log_groups:
        groups = list(the_plan.log_groups)[:50]
        region = valid_region(alarm.region) or region_of(groups)
        url = console_url(region, groups, ERRORS_QUERY, the_plan.window)
        if len(url) <= limits.BUTTON_URL:
            return url
    return alarm_url(alarm)


def search_again_query(failure: Failure, window: TimeWindow) -> SearchQuery:
    """The query a "Search logs again" button re-runs: the request, in its log group."""
    return SearchQuery(
        request_id=failure.request_id, log_groups=(failure.log_group,), window=window
    )


def _metric_text(metric: MetricRef) -> str:
    if metric.expression:
        label = f" ({escape(metric.label)})" if metric.label else ""
        return f"{code(metric.id or 'expr')} = {code(metric.expression)}{label}"
    dims = hide(", ".join(f"{k}={v}" for k, v in metric.dimensions), None)
    name = f"{metric.namespace} {metric.name}".strip()
    stat = f" ({escape(metric.stat.title())})" if metric.stat else ""
    head = f"{code(metric.id)}: " if metric.id else ""
    # A source account's metric (cross-account observability) says whose it is.
    where = f" in account {code(metric.account)}" if metric.account else ""
    return f"{head}{code(name)}{stat}" + (f" {code(dims)}" if dims else "") + where


def _threshold_text(alarm: Alarm) -> str:
    if alarm.threshold is None and not alarm.comparison:
        return ""
    op = COMPARISONS.get(alarm.comparison, alarm.comparison)
    value = "" if alarm.threshold is None else f"{alarm.threshold:g}"
    return f"{op} {value}".strip()


def _evaluation_text(alarm: Alarm) -> str:
    seconds = alarm.evaluation_seconds
    if not seconds:
        return ""
    periods = alarm.evaluation_periods or 1
    period = seconds // periods
    points = f"{alarm.datapoints_to_alarm} of " if alarm.datapoints_to_alarm else ""
    return f"{points}{periods} x {_period(period)} ending {utc_text(alarm.state_change_ms)}"


def _period(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _fields(alarm: Alarm) -> list[str]:
    """``*Label*\\nvalue`` pairs for the details section."""
    out: list[str] = []
    if alarm.kind == "composite":
        out.append(f"*Rule*\n{code(alarm.alarm_rule)}" if alarm.alarm_rule else "")
        if alarm.children:
            out.append("*Children*\n" + ", ".join(code(c) for c in alarm.children[:10]))
    else:
        metrics = [m for m in alarm.metrics if m.name or m.expression]
        if metrics:
            out.append("*Metric*\n" + "\n".join(_metric_text(m) for m in metrics[:6]))
    if threshold := _threshold_text(alarm):
        out.append(f"*Threshold*\n{escape(threshold)}")
    if evaluation := _evaluation_text(alarm):
        out.append(f"*Evaluation*\n{evaluation}")
    where = " · ".join(
        p
        for p in (
            alarm.account and f"account {account_label(alarm.account, alarm.account_name)}",
            alarm.region and code(alarm.region),
            alarm.region_label
            and alarm.region_label != alarm.region
            and escape(alarm.region_label),
        )
        if p
    )
    if where:
        out.append(f"*Where*\n{where}")
    return [f for f in out if f][: limits.SECTION_FIELDS]


def alarm_message(
    alarm: Alarm,
    *,
    discovery: Discovery | None = None,
    found_ids: Sequence[str] = (),
    resolved_by: Alarm | None = None,
    started_ms: int | None = None,
    rescan_key: str = "",
    redactor: Redactor | None = None,
    looking: bool = False,
) -> Message:
    """The alarm message itself (also its resolved version, when ``resolved_by`` is given).

    Parameters
    ----------
    alarm:
        The notification that opened the episode (or the only one).
    discovery:
        Where the worker looked and what it found; None when it didn't look.
    found_ids:
        Request ids threaded under the message (from the payload or discovered).
    resolved_by:
        The OK notification: the message then says the alarm is resolved and how
        long it lasted.
    started_ms:
        When the episode began (for the duration), default the alarm's change time.
    redactor:
        Hides secrets in the texts that come from the payload (custom notifications
        are whatever an application wrote).
    rescan_key:
        The episode key, when discovery found nothing: the "Search logs again" button
        then asks for the discovery to run again (:mod:`logthread.alarms.rescan`).
    looking:
        The message as first posted, before the logs are searched: it says the search
        is under way, and is edited with what was found once the search ends.
    """
    state = alarm.state or ""
    name = alarm.name
    title_state = "RESOLVED" if resolved_by is not None else (state or "NOTIFICATION")
    icon = ":white_check_mark:" if resolved_by is not None else ICONS.get(state, ":bell:")
    blocks: list[Block] = [
        HeaderBlock(
            text=cut(
                f"{icon} {title_state}: {name}" if state or resolved_by else f"{icon} {name}",
                limits.HEADER_TEXT,
            )
        )
    ]
    if resolved_by is not None:
        blocks.append(_resolved_section(alarm, resolved_by, started_ms, redactor))
    body = _body(alarm, redactor)
    if body:
        blocks.append(section(body))
    fields = _fields(alarm)
    if fields:
        blocks.append(
            SectionBlock(
                fields=[MarkdownTextObject(text=cut(f, limits.FIELD_TEXT)) for f in fields]
            )
        )
    status = LOOKING if looking else _status_line(alarm, discovery, found_ids)
    if status:
        blocks.append(context(status))
    if alarm.problems:
        blocks.append(
            context(
                ":warning: Parts of this notification could not be read ("
                + escape("; ".join(alarm.problems))
                + "). The raw text is in the thread."
            )
        )
    # While looking, no buttons: they come with the findings (their search, its window).
    # Only the alarm message itself is claimed ("I'm on it"), never a reply in its thread.
    buttons = (
        None if looking else actions(alarm, discovery, rescan_key, claimable=resolved_by is None)
    )
    if buttons is not None:
        blocks.append(buttons)
    text = (f"{title_state}: {name}" if state or resolved_by else name) + (
        # The fallback text shows in notifications: redacted like the blocks.
        f" — {hide(alarm.reason, redactor)}" if alarm.reason and resolved_by is None else ""
    )
    # Slack reads the fallback text as mrkdwn too: escaped like the blocks.
    return Message(cut(escape(text), 3000), blocks)


def _resolved_section(
    alarm: Alarm, resolved_by: Alarm, started_ms: int | None, redactor: Redactor | None
) -> SectionBlock:
    """When the alarm went back to OK, how long it lasted, and the OK's reason."""
    began = started_ms or alarm.state_change_ms
    ended = resolved_by.state_change_ms
    lasted = (
        f" — lasted {format_duration(ended - began)}" if began and ended and ended >= began else ""
    )
    back = f"*Back to OK* at {utc_text(ended)}{lasted}."
    if not resolved_by.reason:
        return section(back)
    reason = escape(hide(resolved_by.reason, redactor))
    return section(f"{back}\nWent into ALARM at {utc_text(began)}.\n>{reason}")


def _body(alarm: Alarm, redactor: Redactor | None) -> str:
    """Description and reason (else an excerpt of the payload), then the console link."""
    lines = []
    if alarm.description:
        lines.append(escape(hide(alarm.description, redactor)))
    if alarm.reason:
        lines.append(f"*Reason:* {escape(hide(alarm.reason, redactor))}")
    if not lines:
        excerpt = _excerpt(alarm, redactor)
        if excerpt:
            lines.append(excerpt)
    body = "\n".join(lines)
    url = alarm_url(alarm)
    link = f"<{url}|{escape(cut(alarm.name, 150))} in the CloudWatch console>" if url else ""
    if link and len(link) <= limits.SECTION_TEXT // 2:
        # The bot's own link, whole: the outside text before it is cut to leave it room.
        body = (cut(body, limits.SECTION_TEXT - len(link) - 1) + "\n" if body else "") + link
    return body


EXCERPT = 1500
_FENCE = "```"


def _excerpt(alarm: Alarm, redactor: Redactor | None) -> str:
    """The start of the raw text, for a notification that shows nothing else.

    Plain text as mrkdwn; JSON only when it could not be read (truncated, nested too
    deep), as a code block. Readable custom JSON shows its name alone.
    """
    if alarm.source not in ("custom", "text") and not alarm.problems:
        return ""
    text = hide(alarm.raw, redactor).strip()
    if not text.startswith(("{", "[")):
        return escape(cut(text, EXCERPT))
    if not alarm.problems:
        return ""
    body = escape(cut(text, EXCERPT)).replace(_FENCE, "`\u200b`\u200b`")
    return f"{_FENCE}\n{body}\n{_FENCE}"


def totals(tally: Tally) -> str:
    """``30 failing requests, 3 kinds of error``: a window's count, all kinds together."""
    n, kinds = tally.total, len(tally)
    return (
        f"{n} failing request{'' if n == 1 else 's'}, "
        f"{kinds} kind{'' if kinds == 1 else 's'} of error"
    )


LOOKING = ":mag: Looking for the failing requests… (this message will show what I find)"


def _status_line(alarm: Alarm, discovery: Discovery | None, found_ids: Sequence[str]) -> str:
    tally = discovery.tally if discovery is not None else None
    if found_ids and tally is not None and tally.total > 1:
        # The window's whole count, all kinds: the thread lists them and threads examples.
        return f":thread: {totals(tally)} — kinds and examples in the thread"
    if found_ids:
        n = len(found_ids)
        return f":thread: {n} failing request{'s' if n != 1 else ''} — logs in the thread"
    if discovery is not None and alarm.state == "ALARM":
        return ":thread: No failing request found — see the thread for where I looked"
    return ""


CLAIM_TAKE = "I'm on it"
CLAIM_TAKE_OVER = "Take over"


def actions(
    alarm: Alarm, discovery: Discovery | None, rescan_key: str = "", *, claimable: bool = False
) -> ActionsBlock | None:
    elements: list[ButtonElement] = []
    if discovery is not None and not discovery.failures and discovery.plan.targets and rescan_key:
        again = rescan.button(rescan_key, discovery.plan.window)
        if again is not None:
            elements.append(again)
    if discovery is not None and discovery.failures:
        try:
            value = button_value(search_again_query(discovery.failures[0], discovery.plan.window))
            elements.append(
                ButtonElement(text="Search logs again", action_id=SEARCH_AGAIN, value=value)
            )
        except ValueError:
            pass  # a query too big for a button: the per-request replies carry their own
    if claimable and rescan_key and alarm.state == "ALARM":
        # An episode in ALARM: someone can say they are on it (alarms.claim does the rest).
        value = claim_value(rescan_key)
        if len(value) <= BUTTON_VALUE_LIMIT:  # Slack's limit; an absurd alarm key gets none
            elements.append(ButtonElement(text=CLAIM_TAKE, action_id=CLAIM_ACTION_ID, value=value))
    url = cloudwatch_url(alarm, discovery.plan if discovery is not None else None)
    if url is not None:
        elements.append(
            ButtonElement(text="Open in CloudWatch", action_id=OPEN_CLOUDWATCH, url=url)
        )
    return ActionsBlock(elements=elements) if elements else None
