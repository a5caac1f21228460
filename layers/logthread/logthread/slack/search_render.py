"""Search results as Slack Block Kit messages, always within Slack's limits.

A result becomes two messages: a short parent (who asked, which id, where it
looked, the summary, buttons) and a thread reply holding the timeline. The
timeline is preformatted text, one line per record (UTC time, level, message),
packed into sections of at most 3,000 characters; when it doesn't fit, the
reply says how many lines were left out and ``full_log`` carries the whole
timeline for a file upload in the thread.

The timeline helpers (:func:`timeline_text`, :func:`timeline_lines`,
:func:`preformatted_sections`, :func:`summary_line`) are public so the alarm flow
renders its requests the same way. Every piece of log text passes through the
optional redactor before it reaches a block or a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from logthread.loggroups import account_of, join_target, split_target
from logthread.query import SearchQuery, SearchResult
from logthread.records import LogRecord
from logthread.redact import Redactor
from logthread.slack import blocks as limits
from logthread.slack.account_render import accounts_note, missing_block, plain_label
from logthread.slack.console_links import insights_link
from logthread.slack.format import (
    asked_by_text,
    code,
    escape,
    format_duration,
    format_time,
    format_window,
    group_label,
    named_ids,
)
from logthread.tasks import button_value

__all__ = [
    "MORE_CONTEXT",
    "OPEN_CLOUDWATCH",
    "SEARCH_AGAIN",
    "RenderedSearch",
    "Timeline",
    "button_query",
    "insights_link",
    "named_ids",
    "preformatted_sections",
    "render_search",
    "summary_line",
    "timeline_lines",
    "timeline_text",
]

SEARCH_AGAIN = "logthread.search_again"
MORE_CONTEXT = "logthread.more_context"
OPEN_CLOUDWATCH = "logthread.open_cloudwatch"  # a URL button: Slack still sends an action

TIMELINE_SECTIONS = 8  # 8 x 3,000 chars keeps a reply far below Slack's 40,000
LINE_CHARS = 500  # one physical line in Slack; the file keeps it whole
RECORD_LINES = 20  # physical lines of one record (a stack trace) shown in Slack
_FENCE = "```"
_SECTION_BODY = limits.SECTION_TEXT - 2 * len(_FENCE) - 2  # the fences and their newlines
_INDENT = " " * 21  # continuation lines line up under the message column


@dataclass(slots=True)
class Timeline:
    """Log records as plain text lines, each line tagged with the record it shows."""

    lines: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # record index of each line
    records: int = 0
    hidden: int = 0  # values the redactor hid

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(slots=True)
class RenderedSearch:
    """What :func:`render_search` produces; :mod:`logthread.slack.publish` posts it."""

    parent_text: str
    parent_blocks: list[Block]
    thread_text: str
    thread_blocks: list[Block]
    full_log: str | None = None  # set when Slack shows less than the whole timeline
    filename: str = "logthread.log"
    shown_lines: int = 0
    total_lines: int = 0
    hidden_values: int = 0


def _level(record: LogRecord) -> str:
    level = record.level if record.level != "PLATFORM" else ""
    return {"WARNING": "WARN", "CRITICAL": "CRIT"}.get(level, level)[:5]


def timeline_lines(
    records: Sequence[LogRecord],
    *,
    redactor: Redactor | None = None,
    account_names: Callable[[str], str] | None = None,
    own_account: str = "",
) -> Timeline:
    """Plain text lines for ``records`` (unescaped, untruncated: the file's content).

    Each record is ``HH:MM:SS.mmm LEVEL message`` in UTC; context lines (other
    requests' neighbours) start with ``·``; a ``── group  stream`` line appears
    whenever the log group or stream changes; continuation lines of a multi-line
    message are indented. When any record is from a source account, every group line
    names its account (``account_names`` gives names; ``own_account`` is the label of
    the bot's own account, else "this account").
    """
    across = any(account_of(r.log_group) for r in records)
    own = own_account or "this account"
    messages = [r.message or r.raw for r in records]
    hidden = 0
    if redactor is not None:
        # redact_lines also hides a private key logged over several events.
        many = getattr(redactor, "redact_lines", None)
        if callable(many):
            messages, hidden = many(messages)
        else:
            pairs = [redactor.redact(m) for m in messages]
            messages, hidden = [p[0] for p in pairs], sum(p[1] for p in pairs)
    out = Timeline(records=len(records), hidden=hidden)
    place: tuple[str, str] | None = None
    for i, (record, message) in enumerate(zip(records, messages, strict=True)):
        if (record.log_group, record.log_stream) != place:
            place = (record.log_group, record.log_stream)
            label = group_label(record.log_group, account_names)
            if across and not account_of(record.log_group):
                label = f"{own} {label}"
            out.lines.append(f"── {label}  {record.log_stream}".rstrip())
            out.owners.append(i)
        mark = "·" if record.context else " "
        head = f"{mark}{format_time(record.timestamp)} {_level(record):<5}  "
        first, *rest = message.rstrip("\n").split("\n") or [""]
        out.lines.append(head + first)
        out.lines.extend(_INDENT + line for line in rest)
        out.owners.extend([i] * (1 + len(rest)))
    return out


def timeline_text(records: Sequence[LogRecord], *, redactor: Redactor | None = None) -> str:
    """The whole timeline as plain text (what the uploaded file holds)."""
    return timeline_lines(records, redactor=redactor).text()


def _slack_line(line: str) -> str:
    if len(line) > LINE_CHARS:
        line = line[: LINE_CHARS - 1] + "…"
    # Slack wants &, < and > escaped even in code; ``` would close the block early.
    return escape(line).replace(_FENCE, "`\u200b`\u200b`")


def preformatted_sections(
    timeline: Timeline, *, max_sections: int = TIMELINE_SECTIONS
) -> tuple[list[Block], int, bool]:
    """Pack ``timeline`` into ```-fenced sections of at most 3,000 characters.

    Returns
    -------
    tuple[list[Block], int, bool]
        The sections, how many records are shown in full, and whether any
        shown line had to be shortened (the full text then belongs in a file).
    """
    sections: list[Block] = []
    chunk: list[str] = []
    size = 0
    shortened = False
    complete = 0  # records whose every line made it
    per_record: dict[int, int] = {}
    owners = timeline.owners
    for n, (line, owner) in enumerate(zip(timeline.lines, owners, strict=True)):
        last_of_record = n + 1 == len(owners) or owners[n + 1] != owner
        seen = per_record.get(owner, 0)
        per_record[owner] = seen + 1
        if seen >= RECORD_LINES:
            # A long stack trace: the first lines in Slack, a pointer, the rest in the file.
            shortened = True
            if seen > RECORD_LINES:
                complete = owner + 1 if last_of_record else complete
                continue
            line = _INDENT + "… more in the full log"
        shortened = shortened or len(line) > LINE_CHARS
        text = _slack_line(line)
        if size + len(text) + 1 > _SECTION_BODY and chunk:
            if len(sections) + 1 == max_sections:
                break
            sections.append(_code_section(chunk))
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
        if last_of_record:
            complete = owner + 1
    if chunk:
        sections.append(_code_section(chunk))
    return sections, complete, shortened


def _code_section(lines: list[str]) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=f"{_FENCE}\n" + "\n".join(lines) + f"\n{_FENCE}")
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary_line(result: SearchResult) -> str:
    """Errors first, then lines, groups and time span, e.g. ``:red_circle: *2 errors* · 37 lines…``."""
    records = result.records
    if not records:
        return ":white_circle: nothing found"
    errors = result.error_count
    head = (
        f":red_circle: *{_plural(errors, 'error')}*" if errors else ":large_green_circle: no errors"
    )
    own = sum(1 for r in records if not r.context)
    lines = _plural(own, "line") + (
        f" (+{len(records) - own} context)" if own < len(records) else ""
    )
    groups = _plural(len({r.log_group for r in records}), "group")
    first, last = records[0].timestamp, records[-1].timestamp
    span = f"{format_time(first)} → {format_time(last)} UTC ({format_duration(last - first)})"
    return " · ".join([head, lines, groups, span])


def _first_error(result: SearchResult, redactor: Redactor | None) -> str:
    error = next((r for r in result.records if r.is_error and not r.context), None)
    if error is None:
        return ""
    text = (error.message or error.raw).strip().split("\n", 1)[0]
    if redactor is not None:
        text = redactor.redact(text)[0]
    if len(text) > 300:
        text = text[:299] + "…"
    return f"\n>*First error:* {code(text)}"


def _where(result: SearchResult, account_names: Callable[[str], str] | None = None) -> str:
    groups = result.log_groups_searched or [
        *result.query.log_groups,
        *(join_target(a, f"/aws/lambda/{f}") for a, f in map(split_target, result.query.functions)),
    ]
    shown = ", ".join(code(group_label(g, account_names)) for g in groups[:10])
    more = f" and {len(groups) - 10} more" if len(groups) > 10 else ""
    where = (shown + more) or "the default log groups"
    return f"{where} · {format_window(result.window or result.query.window)}"


def button_query(result: SearchResult) -> SearchQuery:
    """The query the result's buttons carry: the window actually searched, pinned.

    A default look-back (no window typed) is pinned to the window it covered, so
    "Search again (wider window)" widens what was searched, and a click hours
    later still looks where the request was found.
    """
    query = result.query
    if query.window is None and result.window is not None:
        query = replace(query, window=result.window)
    return query


def _actions(result: SearchResult) -> ActionsBlock | None:
    elements: list[ButtonElement] = []
    try:
        value: str | None = button_value(button_query(result))
    except ValueError:  # over 2,000 chars: a button that can't carry its query is left out
        value = None
    if value is not None:
        elements.append(
            ButtonElement(text="Search again (wider window)", action_id=SEARCH_AGAIN, value=value)
        )
        if result.found:
            elements.append(ButtonElement(text="More context", action_id=MORE_CONTEXT, value=value))
    link = insights_link(result)
    if link is not None and len(link) <= limits.BUTTON_URL:
        elements.append(
            ButtonElement(text="Open in CloudWatch", action_id=OPEN_CLOUDWATCH, url=link)
        )
    return ActionsBlock(elements=elements) if elements else None


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[: limits.SECTION_TEXT])])


def _partial(result: SearchResult) -> SectionBlock | None:
    if not result.partial:
        return None
    reason = escape(result.partial_reason or "the search stopped early")
    return SectionBlock(
        text=f":warning: *Partial result* — {reason}. More lines may exist: search again."
    )


def _nothing_found(
    result: SearchResult, who: str, title: str, names: Callable[[str], str] | None
) -> list[Block]:
    rid = code(result.query.request_id)
    blocks: list[Block | None] = [
        SectionBlock(text=f":mag: *{escape(title)}*: no log lines found for {rid}{who}"),
        SectionBlock(text=f"*Where I looked:* {_where(result, names)}"),
        missing_block(result, names),
        _partial(result),
        SectionBlock(
            text="*What to try next*\n"
            "• *Search again (wider window)*: the request may be older than the window.\n"
            f"• Name the function: `/logsearch {escape(result.query.request_id)} in &lt;function&gt;`.\n"
            "• A prefix needs at least 8 characters; check the id for typos.\n"
            "• Lines take a few seconds to reach CloudWatch: a very recent request may not be there yet."
        ),
        _actions(result),
    ]
    return [b for b in blocks if b is not None]


def render_search(
    result: SearchResult,
    *,
    asked_by: str = "",
    title: str | None = None,
    redactor: Redactor | None = None,
    max_sections: int = TIMELINE_SECTIONS,
    account: str = "",
    account_names: Callable[[str], str] | None = None,
) -> RenderedSearch:
    """Render ``result`` as a parent message and a thread reply.

    Parameters
    ----------
    result:
        What the search found (possibly nothing, possibly partial).
    asked_by:
        A Slack user id (shown as a mention) or a name.
    title:
        Overrides "Log search" in the headline.
    redactor:
        Applied to every piece of log text before it goes into blocks or the file
        (None: :func:`logthread.redact.default`, the built-in patterns).
    max_sections:
        Timeline sections in the reply (each up to 3,000 characters).
    account:
        mrkdwn naming the account searched (``""``: not shown), after the log groups.
    account_names:
        Account id → name (``""``: none), for the source accounts' groups: every line of
        a result that spans accounts is under a group line naming its account.
    """
    if redactor is None:
        # Slack-bound text is never left unredacted: no redactor means the built-ins.
        from logthread.redact import default

        redactor = default()
    title = title or "Log search"
    who = f" (asked by {asked_by_text(asked_by)})" if asked_by else ""
    rid = result.query.request_id
    if not result.found:
        filename = f"logthread-{re.sub(r'[^A-Za-z0-9_-]', '_', rid)[:64]}.log"
        blocks = _nothing_found(result, who, title, account_names)
        text = escape(f"{title}: no log lines found for {rid}")
        return RenderedSearch(text, blocks, text, list(blocks), None, filename)
    named, plain_ids = named_ids(result)
    ids = result.request_ids or [rid]
    one = ids[0] if len(ids) == 1 else rid
    filename = f"logthread-{re.sub(r'[^A-Za-z0-9_-]', '_', one)[:64]}.log"

    timeline = timeline_lines(
        result.records,
        redactor=redactor,
        account_names=account_names,
        own_account=plain_label(account),
    )
    sections, shown, shortened = preformatted_sections(timeline, max_sections=max_sections)
    summary = summary_line(result)
    parent: list[Block | None] = [
        SectionBlock(
            text=f":mag: *{escape(title)}* for {named}{who}\n{summary}"[: limits.SECTION_TEXT]
        ),
        _context(f"Looked in {_where(result, account_names)}" + accounts_note(result, account)),
        _partial(result),
        _actions(result),
    ]
    footer = [
        f"{_plural(len(result.log_groups_searched), 'log group')} searched ({escape(result.path)})"
    ]
    if result.omitted_lines:
        footer.append(f"{result.omitted_lines:,} lines beyond the search limit not fetched")
    if timeline.hidden:
        footer.append(f"{_plural(timeline.hidden, 'value')} hidden")
    if any(r.context for r in result.records):
        footer.append("`·` marks context lines")
    left = timeline.records - shown
    thread: list[Block | None] = [
        HeaderBlock(
            text=(f"Request {one}" if len(ids) == 1 else f"Requests {plain_ids}")[
                : limits.HEADER_TEXT
            ]
        ),
        SectionBlock(text=(summary + _first_error(result, redactor))[: limits.SECTION_TEXT]),
        _partial(result),
        *sections,
        _context(f"_{_plural(left, 'more line')} — full log attached_") if left else None,
        _context(" · ".join(footer)),
        _actions(result),
    ]
    full_log = None
    if left or shortened:
        header = (
            f"# logthread: request {plain_ids}\n"
            f"# looked in {_where(result, account_names).replace('`', '')}\n"
        )
        full_log = header + timeline.text() + "\n"
    plain = summary.replace("*", "")
    # Fallback texts are mrkdwn too: the ids (as found in the logs) are escaped like the blocks.
    return RenderedSearch(
        parent_text=escape(f"{title} for {plain_ids}: {plain}"),
        parent_blocks=[b for b in parent if b is not None],
        thread_text=escape(f"Log timeline of {plain_ids}: {plain}"),
        thread_blocks=[b for b in thread if b is not None],
        full_log=full_log,
        filename=filename,
        shown_lines=shown,
        total_lines=timeline.records,
        hidden_values=timeline.hidden,
    )
