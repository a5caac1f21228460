"""No live Slack markup from outside text (security review, item 2).

Slack gives ``<`` … ``>`` its meaning: ``<!channel>``, ``<!here>``, ``<!subteam^…>``,
``<@U…>``, ``<#C…>``, ``<!date^…>`` and labelled links ``<url|label>`` all start
with a raw ``<``. Outside text (alarm payloads, SNS subjects, log lines, log
group names) must reach Slack with ``&``, ``<`` and ``>`` escaped, in the
fallback ``text`` as in the blocks. The only raw ``<`` the bot may send are its
own: the link to the alarm in the CloudWatch console (built from a validated
region code and the URL-quoted name) and the mention of the user who asked.
Button URLs are built only from validated parts: the console host of a valid
region.

:func:`live_markup` and :func:`bad_urls` are the checker; the functional test
``tests/functional/test_markup_worker.py`` runs it over every recorded Slack call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logthread.alarms.alarm_render import Message, alarm_message, alarm_url
from logthread.alarms.discover import Discovery, Failure, Plan, Target
from logthread.alarms.parse import Alarm, parse
from logthread.alarms.replies import (
    already_threaded_reply,
    nothing_found_reply,
    raw_reply,
    summary_reply,
    transition_reply,
)
from logthread.query import SearchQuery, SearchResult, TimeWindow
from logthread.records import LogRecord
from logthread.slack import console_links
from logthread.slack.blocks import as_dicts, block_errors
from logthread.slack.chat import ChatError
from logthread.slack.format import asked_by_text, escape
from logthread.slack.publish import post_search
from logthread.slack.search_render import render_search
from logthread.tasks import ReplyTo

WINDOW = TimeWindow(1_715_656_507_123, 1_715_656_927_123)
CHANGE = "2024-05-14T03:21:07.123+0000"
RID = "12345678-aaaa-bbbb-cccc-1234567890ab"
ASKER = "U0ASKER01"  # the user who asked: the one mention the bot makes on purpose

# -- the checker ------------------------------------------------------------------------------

# An AWS region code, as the bot accepts it (an independent copy: the test must not trust
# the code under test to say what is valid).
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}")
# RFC 3986's characters: no space, quote, backtick, <, >, |, backslash, braces or non-ASCII.
URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
ANGLE = re.compile(r"<[^<>]*>?")
BOT_LINK = re.compile(r"<(?P<url>[^|<>\s]+)\|(?P<label>[^<>]*) in the CloudWatch console>")


def bot_url(url: str) -> bool:
    """A console URL the bot may build: https, a valid region's console host, nothing else."""
    if not URL_CHARS.fullmatch(url):
        return False
    parts = urlsplit(url)
    host = parts.netloc
    region = host.removesuffix(".console.aws.amazon.com")
    return (
        parts.scheme == "https"
        and host.endswith(".console.aws.amazon.com")
        and REGION.fullmatch(region) is not None
        and parts.path == "/cloudwatch/home"
        and parse_qs(parts.query) == {"region": [region]}
        and parts.fragment.startswith(("alarmsV2:alarm/", "logsV2:logs-insights"))
    )


def live_markup(text: str, *, mentions: Iterable[str] = ()) -> list[str]:
    """The ``<…>`` forms in mrkdwn ``text`` that the bot did not make itself.

    Every raw ``<`` counts (an unclosed one too: it means something was left
    unescaped); the bot's own console link (one per text) and one mention of each
    of ``mentions`` don't.
    """
    allowed = [f"<@{m}>" for m in mentions]
    links = 0
    out = []
    for m in ANGLE.finditer(text):
        seg = m.group()
        link = BOT_LINK.fullmatch(seg)
        if link and bot_url(link["url"]) and not links:
            links += 1
        elif seg in allowed:
            allowed.remove(seg)
        else:
            out.append(seg)
    return out


def mrkdwn_texts(blocks: Any) -> Iterator[str]:
    """Every mrkdwn text in ``blocks`` (wire dicts or slack_sdk models)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                yield node["text"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(as_dicts(blocks) if isinstance(blocks, list) else blocks)


def urls(blocks: Any) -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("url"), str):
                yield node["url"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(as_dicts(blocks) if isinstance(blocks, list) else blocks)


def bad_urls(blocks: Any) -> list[str]:
    return [u for u in urls(blocks) if not bot_url(u)]


def assert_inert(text: str, blocks: Any = None, *, mentions: Iterable[str] = ()) -> None:
    """Fallback text and blocks carry no outside markup; button URLs are the bot's own."""
    found = live_markup(text, mentions=mentions)
    for t in mrkdwn_texts(blocks or []):
        found += live_markup(t, mentions=mentions)
    assert found == [], found
    assert bad_urls(blocks or []) == []


def assert_message(message: Message | None) -> None:
    if message is None:
        return
    assert_inert(message.text, message.blocks)
    assert block_errors(as_dicts(message.blocks)) == []


def test_the_checker_sees_every_form() -> None:
    for form in LIVE:
        assert live_markup(f"x {form} y"), form
    assert live_markup("a < b")
    assert not live_markup(escape(" ".join(LIVE)))
    ok = (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/a"
    )
    assert not live_markup(f"<{ok}|x in the CloudWatch console>")
    assert live_markup(f"<{ok}|x in the CloudWatch console> <{ok}|x in the CloudWatch console>")
    assert not live_markup(f"<@{ASKER}>", mentions=[ASKER])
    assert live_markup(f"<@{ASKER}> <@{ASKER}>", mentions=[ASKER])
    assert live_markup(f"<{ok}|click here>")
    assert live_markup(f"<{ok.replace('eu-west-1.', 'evil.example/')}|x in the CloudWatch console>")
    assert bot_url(ok) and not bot_url(ok.replace("eu-west-1", "evil.example/aws-login#", 1))


# -- hostile text -----------------------------------------------------------------------------

LIVE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|here>",
    "<!subteam^S0EVIL>",
    "<!subteam^S0EVIL|@oncall>",
    "<@U0EVIL>",
    "<@W0EVIL|the boss>",
    "<#C0EVIL>",
    "<#C0EVIL|general>",
    "<!date^1392734382^{date_num}|Feb 18>",
    "<https://evil.example|AWS console>",
    "<https://evil.example>",
    "<http://evil.example/aws-login#|Open in CloudWatch>",
    "<mailto:x@evil.example|support>",
    "<https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#x"
    "|x in the CloudWatch console>",
    f"<@{ASKER}>",
]
PIECES = [
    "<",
    ">",
    "|",
    "&",
    "&lt;",
    "&gt;",
    "&amp;",
    "&lt;!channel&gt;",
    "&#60;!here&#62;",
    "\u200b",
    "\u2060",
    "\ufeff",
    "\u202e",
    "`",
    "```",
    "*",
    "_",
    "~",
    "\n",
    "\n>",
    "@channel",
    "evil.example/aws-login#",
    "us-east-1",
    "us-east-1.evil.example/",
    "arn:aws:cloudwatch:",
    "%3C",
    "\\u003c",
    "\uff1c!channel\uff1e",  # fullwidth look-alikes,
]
hostile = st.lists(
    st.one_of(st.sampled_from(LIVE + PIECES), st.text(max_size=6)), min_size=1, max_size=6
).map("".join)
regions = st.one_of(
    hostile, st.sampled_from(["us-east-1", "eu-west-1", "us-gov-west-1", "US East (N. Virginia)"])
)
states = st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA", ""])


@st.composite
def cloudwatch_payloads(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(hostile)
    arn_region = draw(regions)
    trigger: dict[str, Any]
    kind = draw(st.sampled_from(["metric", "math", "composite"]))
    doc: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": draw(hostile),
        "AWSAccountId": draw(st.sampled_from(["123456789012", "<!channel>"])),
        "NewStateValue": draw(states),
        "OldStateValue": draw(states),
        "NewStateReason": draw(hostile),
        "StateChangeTime": CHANGE,
        "Region": draw(regions),
        "AlarmArn": f"arn:aws:cloudwatch:{arn_region}:123456789012:alarm:{name}",
    }
    if kind == "metric":
        trigger = {
            "MetricName": draw(hostile),
            "Namespace": draw(hostile),
            "Statistic": draw(hostile),
            "Dimensions": [{"name": draw(hostile), "value": draw(hostile)}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "ComparisonOperator": draw(hostile),
            "Threshold": 1.0,
        }
        doc["Trigger"] = trigger
    elif kind == "math":
        doc["Trigger"] = {
            "Metrics": [
                {"Id": draw(hostile), "Expression": draw(hostile), "Label": draw(hostile)},
                {
                    "Id": "m1",
                    "Label": draw(hostile),
                    "MetricStat": {
                        "Metric": {
                            "Namespace": draw(hostile),
                            "MetricName": draw(hostile),
                            "Dimensions": [{"name": draw(hostile), "value": draw(hostile)}],
                        },
                        "Stat": draw(hostile),
                        "Period": 60,
                    },
                },
            ],
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0,
        }
    else:
        doc["AlarmRule"] = f'ALARM("{draw(hostile)}") OR ALARM({draw(hostile)})'
        doc["TriggeringChildren"] = [{"Arn": draw(hostile)}]
    body = json.dumps(doc)
    if draw(st.booleans()):
        body = body[: draw(st.integers(1, len(body)))]  # truncated
    subject = f'ALARM: "{draw(hostile)}" in {draw(regions)}'
    return body, draw(st.sampled_from([subject, "", draw(hostile)]))


@st.composite
def eventbridge_payloads(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(regions)
    resources = draw(
        st.sampled_from(
            [
                [],
                [draw(hostile)],
                [f"arn:aws:cloudwatch:{draw(regions)}:123456789012:alarm:{draw(hostile)}"],
            ]
        )
    )
    doc = {
        "version": "0",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": draw(st.sampled_from(["123456789012", "<@U0EVIL>"])),
        "time": "2024-05-14T03:21:07Z",
        "region": region,
        "resources": resources,
        "detail": {
            "alarmName": draw(hostile),
            "state": {"value": draw(states), "reason": draw(hostile), "timestamp": CHANGE},
            "previousState": {"value": "OK"},
            "configuration": {
                "description": draw(hostile),
                "alarmRule": draw(st.sampled_from(["", f"ALARM({draw(hostile)})"])),
                "metrics": [
                    {
                        "id": draw(hostile),
                        "label": draw(hostile),
                        "expression": draw(hostile),
                    },
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": draw(hostile),
                                "name": draw(hostile),
                                "dimensions": {draw(hostile): draw(hostile)},
                            },
                            "stat": draw(hostile),
                            "period": 60,
                        },
                    },
                ],
            },
        },
    }
    return json.dumps(doc), draw(st.sampled_from(["", draw(hostile)]))


@st.composite
def other_payloads(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["custom", "text", "list"]))
    if kind == "custom":
        keys = ["AlarmName", "title", "name", "description", "message", "summary", "state"]
        doc: Any = {k: draw(hostile) for k in draw(st.lists(st.sampled_from(keys), max_size=5))}
        doc[draw(hostile)] = draw(hostile)
        body = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    elif kind == "list":
        body = json.dumps([draw(hostile), {"message": draw(hostile)}])
    else:
        body = draw(hostile)
    return body, draw(st.sampled_from(["", draw(hostile), f'OK: "{draw(hostile)}"']))


notifications = st.one_of(cloudwatch_payloads(), eventbridge_payloads(), other_payloads())


@st.composite
def discoveries(draw: st.DrawFn) -> Discovery:
    group = draw(st.sampled_from(["/aws/lambda/orders", draw(hostile)]))
    match = draw(st.sampled_from(["errors", "filter", "slow"]))
    target = Target(
        group,
        draw(hostile),
        match,
        draw(hostile),
        threshold_ms=1000.0 if match == "slow" else None,
    )
    plan = Plan((target,), WINDOW, (draw(hostile),))
    failures = [
        Failure(
            draw(st.sampled_from([RID, draw(hostile)])),
            draw(st.sampled_from([group, draw(hostile)])),
            WINDOW.end_ms,
            [LogRecord(WINDOW.end_ms, draw(hostile), "ERROR", RID, group)],
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return Discovery(plan, failures, total=len(failures) + 1, unattributed=1, notes=[draw(hostile)])


@st.composite
def results(draw: st.DrawFn) -> SearchResult:
    group = draw(st.sampled_from(["/aws/lambda/orders", draw(hostile)]))
    records = [
        LogRecord(
            WINDOW.start_ms + i,
            draw(hostile),
            draw(st.sampled_from(["ERROR", "INFO", draw(hostile)])),
            RID,
            draw(st.sampled_from([group, draw(hostile)])),
            draw(hostile),
            raw=draw(hostile),
            context=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 4)))
    ]
    groups = draw(
        st.lists(
            st.sampled_from(
                [
                    group,
                    draw(hostile),
                    f"arn:aws:logs:{draw(regions)}:123456789012:log-group:{draw(hostile)}:*",
                ]
            ),
            max_size=3,
        )
    )
    return SearchResult(
        query=SearchQuery(
            draw(st.sampled_from([RID, RID[:8], draw(hostile)])),
            functions=("orders",),
            log_groups=tuple(groups),
        ),
        records=records,
        log_groups_searched=groups,
        window=WINDOW,
        request_ids=draw(st.lists(st.sampled_from([RID, draw(hostile)]), max_size=3)),
        partial=draw(st.booleans()),
        partial_reason=draw(hostile),
        path=draw(st.sampled_from(["filter", "insights", draw(hostile)])),
    )


# -- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _every_alarm_message(alarm: Alarm, discovery: Discovery, ok: Alarm) -> Iterator[Message | None]:
    yield alarm_message(alarm)
    yield alarm_message(
        alarm,
        discovery=discovery,
        found_ids=[f.request_id for f in discovery.failures],
        rescan_key=alarm.episode_key,
    )
    yield alarm_message(alarm, resolved_by=ok, started_ms=WINDOW.start_ms)
    yield transition_reply(alarm, started_ms=WINDOW.start_ms)
    yield transition_reply(ok, started_ms=WINDOW.start_ms)
    yield nothing_found_reply(alarm, None)
    yield nothing_found_reply(
        alarm, discovery, extracted=[RID], rescan_key=alarm.episode_key, again=True
    )
    yield summary_reply(discovery)
    yield already_threaded_reply([RID, *(f.request_id for f in discovery.failures)])
    yield raw_reply(alarm)


@PROPERTY
@given(payload=notifications, ok=notifications, discovery=discoveries())
@example(
    payload=(
        json.dumps(
            {
                "detail-type": "CloudWatch Alarm State Change",
                "source": "aws.cloudwatch",
                "region": "evil.example/aws-login#|<!channel>",
                "resources": [],
                "detail": {"alarmName": "x", "state": {"value": "ALARM", "reason": "r"}},
            }
        ),
        "",
    ),
    ok=("<!here>", '<!channel>: "x"'),
    discovery=Discovery(Plan((Target("/aws/lambda/a", "", "errors", "s"),), WINDOW)),
)
def test_no_outside_text_becomes_live_markup_in_alarm_messages(
    payload: tuple[str, str], ok: tuple[str, str], discovery: Discovery
) -> None:
    alarm = parse(*payload)
    for message in _every_alarm_message(alarm, discovery, parse(*ok)):
        assert_message(message)
    url = alarm_url(alarm)
    assert url is None or bot_url(url)


@PROPERTY
@given(result=results(), title=st.sampled_from(["Log search", "Failing request", "<!here>"]))
def test_no_log_text_becomes_live_markup_in_search_results(
    result: SearchResult, title: str
) -> None:
    rendered = render_search(result, asked_by=ASKER, title=title, max_sections=3)
    for text, blocks in (
        (rendered.parent_text, rendered.parent_blocks),
        (rendered.thread_text, rendered.thread_blocks),
    ):
        assert_inert(text, blocks, mentions=[ASKER])
    hostile_asker = render_search(result, asked_by="<!channel>", title=title, max_sections=1)
    assert_inert(hostile_asker.parent_text, hostile_asker.parent_blocks)


@dataclass
class RecordingChat:
    """The Chat protocol, recording every call (uploads fail when asked to)."""

    upload_error: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post(self, channel: str, *, text: str, blocks: Any = None, thread_ts: Any = None) -> str:
        self.calls.append(("post", {"text": text, "blocks": blocks}))
        return "1.0"

    def update(self, channel: str, ts: str, *, text: str, blocks: Any = None) -> None:
        self.calls.append(("update", {"text": text, "blocks": blocks}))

    def respond(self, url: str, *, text: str, blocks: Any = None, **_: Any) -> None:
        self.calls.append(("respond", {"text": text, "blocks": blocks}))

    def upload(
        self, channel: str, thread_ts: str, *, filename: str, content: str, title: str
    ) -> str:
        if self.upload_error:
            raise ChatError(self.upload_error, operation="upload", arguments={})
        self.calls.append(("upload", {"text": title, "filename": filename}))
        return "F1"


@PROPERTY
@given(result=results(), error=st.sampled_from(["", "<!channel>", "x|<https://evil.example|y>"]))
def test_everything_publish_sends_is_inert(result: SearchResult, error: str) -> None:
    chat = RecordingChat(upload_error=error)
    # Two sections for a long timeline: the full log goes up as a file (or its failure is told).
    result.records = result.records * 40
    post_search(chat, result, ReplyTo(channel="C0OPS", user_id=ASKER), asked_by=ASKER)  # type: ignore[arg-type]
    assert chat.calls
    for _method, call in chat.calls:
        assert_inert(call["text"], as_dicts(call.get("blocks")), mentions=[ASKER])
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", call.get("filename", "x"))


@given(st.text())
def test_escape_is_inert_and_shows_the_text_as_it_was(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    shown = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert shown == text


# -- the examples the review gave, and a few more ---------------------------------------------


def _cloudwatch(**fields: Any) -> str:
    doc = {
        "AlarmName": "HogeService-Errors",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": CHANGE,
        "Region": "US East (N. Virginia)",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors",
        "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "SUM"},
    }
    doc.update(fields)
    return json.dumps(doc)


def _eventbridge(region: str, resources: list[str] | None = None) -> str:
    return json.dumps(
        {
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": "123456789012",
            "region": region,
            "resources": resources or [],
            "detail": {
                "alarmName": "HogeService-Errors",
                "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": CHANGE},
            },
        }
    )


@pytest.mark.parametrize(
    "field_",
    ["AlarmName", "NewStateReason", "AlarmDescription"],
)
@pytest.mark.parametrize(
    "value",
    [
        "<!channel> db down",
        "<!here>",
        "<@U0ADMIN> please look",
        "<https://evil.example|AWS console>",
        "<!subteam^S0ONCALL>",
        "<#C0SECRET>",
        "&lt;!channel&gt;",
    ],
)
def test_fallback_text_of_the_alarm_message_is_escaped(field_: str, value: str) -> None:
    alarm = parse(_cloudwatch(**{field_: value}), "")
    message = alarm_message(alarm)
    assert_message(message)
    if field_ != "AlarmDescription":
        assert escape(value) in message.text
    resolved = alarm_message(alarm, resolved_by=parse(_cloudwatch(NewStateValue="OK"), ""))
    assert_message(resolved)
    assert_message(transition_reply(alarm))


def test_entities_in_outside_text_are_shown_as_written() -> None:
    message = alarm_message(parse(_cloudwatch(NewStateReason="&lt;!channel&gt;"), ""))
    assert "&amp;lt;!channel&amp;gt;" in message.text


def test_sns_subject_and_plain_text_notifications_are_escaped() -> None:
    for body, subject in [
        ("<!channel> disk full on <https://evil.example|prod-db>", ""),
        ("", 'ALARM: "<!here> Billing" in US East (N. Virginia)'),
        ("nightly export failed", "<@U0ADMIN> <!channel>"),
        ('{"title": "<!channel>", "message": "<https://evil.example|login>"}', ""),
    ]:
        alarm = parse(body, subject)
        assert_message(alarm_message(alarm))
        assert_message(transition_reply(alarm))
        assert_message(raw_reply(alarm))


def test_metric_statistic_and_labels_are_escaped() -> None:
    trigger = {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Statistic": "<!channel>",
        "Dimensions": [{"name": "<!here>", "value": "<@U0ADMIN>"}],
        "ComparisonOperator": "<https://evil.example|x>",
        "Threshold": 1,
    }
    assert_message(alarm_message(parse(_cloudwatch(Trigger=trigger), "")))


@pytest.mark.parametrize(
    "region",
    [
        "evil.example/aws-login#",
        "evil.example|<!channel>",
        "us-east-1.evil.example/x#",
        "evil.example>",
        "us-east-1\nx",
        "us-east-\u0661",  # an Arabic-Indic digit is a \d
        "US-EAST-1",
        "us-east-1#",
        "us-east-1/",
        "",
    ],
)
def test_an_eventbridge_region_that_is_no_region_code_makes_no_link(region: str) -> None:
    alarm = parse(_eventbridge(region), "")
    assert alarm.region == ""
    assert alarm_url(alarm) is None
    message = alarm_message(alarm)
    assert_message(message)
    assert not list(urls(message.blocks))
    assert "console.aws.amazon.com" not in json.dumps(as_dicts(message.blocks))
    # With log groups to open, the button goes to the worker's own region, not the payload's.
    plan = Plan((Target("/aws/lambda/a", "", "errors", "s"),), WINDOW)
    with_plan = alarm_message(alarm, discovery=Discovery(plan))
    assert_message(with_plan)
    assert all(bot_url(u) for u in urls(with_plan.blocks))


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "eu-west-1",
        "ap-southeast-4",
        "il-central-1",
        "us-gov-west-1",
        "cn-northwest-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "us-isof-south-1",
    ],
)
def test_a_valid_region_code_makes_the_console_link(region: str) -> None:
    alarm = parse(_eventbridge(region), "")
    assert alarm.region == region
    url = alarm_url(alarm)
    assert url is not None and bot_url(url)
    assert console_links.valid_region(region) == region
    for bad in (region + "\n", " " + region, region.upper(), region + ".evil.example"):
        assert console_links.valid_region(bad) == ""


def test_an_arn_with_no_region_code_makes_no_link() -> None:
    for bad in ("evil_example", "us-east-1x", "\uff55\uff53-east-1"):
        arn = f"arn:aws:cloudwatch:{bad}:123456789012:alarm:HogeService-Errors"
        alarm = parse(_cloudwatch(AlarmArn=arn, Region="evil.example/"), "")
        assert alarm.region == "" and alarm_url(alarm) is None
        assert_message(alarm_message(alarm))
        alarm = parse(_eventbridge("us-east-1", [arn]), "")
        # The ARN is not an alarm ARN of any region: the payload's valid region code still is.
        assert alarm.region in ("", "us-east-1")


def test_console_urls_are_only_built_for_valid_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError):
        console_links.console_url("evil.example/#", ["/a"], "fields @message", None)
    assert console_links.alarm_console_url("evil.example/#", "x") is None
    bad = "arn:aws:logs:evil.example/aws-login#:123456789012:log-group:/aws/lambda/a:*"
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert console_links.region_of([bad]) == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "evil.example/")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert console_links.region_of([bad]) == "us-east-1"
    result = SearchResult(
        query=SearchQuery(RID), records=[LogRecord(1, "x")], log_groups_searched=[bad]
    )
    link = console_links.insights_link(result)
    assert link is not None and bot_url(link)


def test_asked_by_mentions_only_a_whole_user_id() -> None:
    assert asked_by_text("U0ASKER01") == "<@U0ASKER01>"
    for who in ("U0ASKER01\n", "U0ASKER01>", "<!channel>", "U0|x"):
        assert "<" not in asked_by_text(who)


def test_a_failed_upload_code_is_escaped() -> None:
    records = [LogRecord(WINDOW.start_ms + i, f"line {i}", "INFO", RID) for i in range(3000)]
    result = SearchResult(SearchQuery(RID), records, ["/aws/lambda/a"], WINDOW, [RID])
    chat = RecordingChat(upload_error="<!channel>")
    post_search(chat, result, ReplyTo(channel="C0OPS"))  # type: ignore[arg-type]
    told = [c for m, c in chat.calls if "could not be attached" in c["text"]]
    assert told and all(not live_markup(c["text"]) for c in told)
