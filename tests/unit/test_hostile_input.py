"""Hostile input at the edges, as properties (issue 7, item 6).

Whatever arrives (command text, button values, request bodies and headers,
alarm payloads), the answer is a clear refusal or a bounded, allowed task;
never an exception that loses the request, never a search outside the allowed
log groups, and the reply always goes where Slack's signed request says.
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import FIXTURES, load_fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logthread import commands
from logthread import config as config_module
from logthread.alarms.alarm_render import alarm_message
from logthread.alarms.parse import parse
from logthread.alarms.replies import raw_reply
from logthread.authz import target_log_groups
from logthread.bus import MemoryTaskBus
from logthread.http import HttpRequest, HttpResponse
from logthread.ids import filter_term, insights_term, validate_request_id
from logthread.ingress import IngressDeps, handle
from logthread.query import SearchQuery
from logthread.slack.blocks import MESSAGE_TEXT, as_dicts, block_errors
from logthread.tasks import SearchTask, button_value, parse_task
from logthread.verify import RequestVerifier

SECRET = "hostile-test-signing-secret"
NOW = 1_714_564_900.0
RID = "3f2a9c1e-7b4d-4e21-9a0c-5d8e6f1a2b3c"
CONFIG = config_module.from_mapping(
    {
        "access": {"log_group_prefixes": ["/aws/lambda/", "/app/shop/"]},
        "limits": {"max_lines": 300},
    },
    env={},
)
COMMAND = load_fixture("slack/slash_command.json")
CLICK = load_fixture("slack/block_actions_search_again.json")


class Edge:
    """The ingress with a memory bus, a fixed clock and a recorded response_url."""

    def __init__(self) -> None:
        self.bus = MemoryTaskBus()
        self.told: list[tuple[str, str]] = []
        self.deps = IngressDeps(
            verifier=RequestVerifier(SECRET, now=lambda: NOW),
            bus=self.bus,
            config=CONFIG,
            now=lambda: NOW,
            respond=lambda url, text: self.told.append((url, text)),
        )

    def send(
        self, body: str, headers: dict[str, str] | None = None, *, ts: float = NOW
    ) -> HttpResponse:
        signed = RequestVerifier(SECRET).sign(body, int(ts))
        signed["content-type"] = "application/x-www-form-urlencoded"
        return handle(
            HttpRequest("POST", "/slack/events", {**signed, **(headers or {})}, body), self.deps
        )

    def command(self, text: str) -> HttpResponse:
        return self.send(urlencode({**COMMAND, "text": text}))

    def click(self, value: str) -> HttpResponse:
        payload = json.loads(json.dumps(CLICK))
        payload["actions"][0]["value"] = value
        return self.send(urlencode({"payload": json.dumps(payload)}))


def assert_bounded(task: SearchTask, channel: str) -> None:
    """A task the worker may run: allowed groups, a safe id, limits kept, reply unmoved."""
    q = task.query
    groups = target_log_groups(CONFIG.access, q.functions, q.log_groups)
    assert groups and all(CONFIG.access.may_read(g) for g in groups), groups
    # What reaches CloudWatch is built from the validated id: one quoted term, nothing to escape.
    assert filter_term(q.request_id).count('"') == insights_term(q.request_id).count('"') == 2
    assert 0 <= q.context_lines <= commands.MAX_CONTEXT
    assert q.max_lines <= CONFIG.limits.max_lines
    assert q.window is None or 0 < q.window.duration_ms <= commands.MAX_WINDOW_MS
    assert len(q.functions) + len(q.log_groups) <= max(
        commands.MAX_TARGETS, len(CONFIG.access.log_group_prefixes)
    )
    assert task.reply.channel == channel
    assert parse_task(task.to_json()).query == q


# --- slash command text ----------------------------------------------------------------------

FRAGMENTS = [
    RID,
    RID[:8],
    "in",
    "orders",
    "/aws/lambda/orders",
    "/aws/rds/prod",
    "/aws/lambda/*",
    "*",
    "/app/shop/../../aws/rds",
    "last",
    "2h",
    "90d",
    "from",
    "to",
    "context",
    "50",
    "51",
    "9" * 30,
    '"',
    "'",
    "|",
    "\\",
    '{ $.level = "ERROR" }',
    "| stats count(*) by @logStream",
    "fields @message",
    "filter",
    "?ERROR",
    "-",
    ",",
    ";",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "\u202e",
    "<!channel>",
    "<@U0ADMIN>",
    "&lt;",
    "🙂",
    "ǅ",
    "١٢٣٤٥٦٧٨",
    "%",
    "$(id)",
    "`",
    "\ufeff",
]
command_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=25).map(" ".join),
    st.text(min_size=1, max_size=40).map(lambda s: (s * (10_240 // len(s) + 1))[:10_240]),
)


@given(command_texts)
def test_any_command_text_is_refused_or_becomes_an_allowed_bounded_task(text: str) -> None:
    edge = Edge()
    response = edge.command(text)
    assert response.status == 200
    answer = json.loads(response.body)
    assert answer["response_type"] == "ephemeral" and answer["text"]
    assert len(edge.bus.tasks) <= 1
    for task in edge.bus.tasks:
        assert_bounded(task, COMMAND["channel_id"])


# --- button values -----------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
)
names = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30))
shaped_values = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 1, 1, 2, "1", None]),
        "id": st.one_of(st.just(RID), names, json_values),
    },
    optional={
        "f": st.one_of(st.lists(names, max_size=12), json_values),
        "g": st.one_of(st.lists(names, max_size=12), json_values),
        "w": st.one_of(st.none(), st.lists(st.integers(), max_size=3), json_values),
        "c": st.one_of(st.integers(), json_values),
    },
).map(lambda d: json.dumps(d, allow_nan=False))
VALID = button_value(SearchQuery(RID, functions=("checkout-api",), context_lines=2))


@st.composite
def edited_values(draw: st.DrawFn) -> str:
    chars = list(VALID)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(chars) - 1))
        chars[at : at + draw(st.integers(0, 3))] = draw(st.text(string.printable, max_size=4))
    return "".join(chars)


@given(st.one_of(shaped_values, edited_values(), st.text(max_size=300)))
def test_tampered_button_values_are_refused_or_stay_within_access(value: str) -> None:
    edge = Edge()
    response = edge.click(value)
    assert response.status == 200
    for task in edge.bus.tasks:
        assert_bounded(task, CLICK["channel"]["id"])
    if not edge.bus.tasks:
        [(url, text)] = edge.told
        assert url == CLICK["response_url"] and text.startswith("Sorry")


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_a_button_value_are_refused(number: str) -> None:
    edge = Edge()
    assert edge.click('{"v":1,"id":"%s","w":[%s,1],"c":%s}' % (RID, number, number)).status == 200  # noqa: UP031
    assert edge.bus.tasks == [] and edge.told[0][1].startswith("Sorry")


def test_a_button_id_is_canonicalised_like_a_typed_one() -> None:
    edge = Edge()
    edge.click('{"v":1,"id":"%s\'"}' % RID)  # noqa: UP031
    [task] = edge.bus.tasks
    assert task.query.request_id == validate_request_id(task.query.request_id) == RID


# --- request bodies and headers ----------------------------------------------------------------

header_names = st.sampled_from(
    [
        "x-slack-signature",
        "x-slack-request-timestamp",
        "content-type",
        "X-Slack-Signature",
        "x-slack-retry-num",
    ]
)
header_values = st.one_of(
    st.text(max_size=80),
    st.integers(-(10**12), 10**12).map(str),
    st.builds(lambda h: "v0=" + h, st.text("0123456789abcdef", min_size=64, max_size=64)),
)


@given(
    st.dictionaries(header_names, header_values, max_size=5),
    st.sampled_from(["command", "click", "garbage"]),
)
def test_unsigned_and_forged_requests_get_an_empty_401(headers: dict[str, str], kind: str) -> None:
    body = {
        "command": urlencode({**COMMAND, "text": RID}),
        "click": urlencode({"payload": json.dumps(CLICK)}),
        "garbage": "\x00{]",
    }[kind]
    edge = Edge()
    response = handle(HttpRequest("POST", "/slack/events", headers, body), edge.deps)
    assert response.status == 401 and not response.body
    assert edge.bus.tasks == [] and edge.told == []


@given(st.integers(-(10**6), 10**6))
def test_replays_outside_five_minutes_are_refused(offset: int) -> None:
    edge = Edge()
    response = edge.send(urlencode({**COMMAND, "text": RID}), ts=NOW + offset)
    assert response.status == (200 if abs(offset) <= 300 else 401)
    assert len(edge.bus.tasks) == (1 if abs(offset) <= 300 else 0)


@given(
    st.one_of(
        st.text(max_size=300),
        st.dictionaries(st.text(max_size=10), st.text(max_size=30)).map(urlencode),
    ),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "multipart/form-data",
            "",
        ]
    ),
)
def test_signed_bodies_of_any_shape_never_crash(body: str, content_type: str) -> None:
    edge = Edge()
    response = edge.send(body, {"content-type": content_type})
    assert response.status in {200, 400}
    for task in edge.bus.tasks:
        assert_bounded(task, task.reply.channel)


# --- alarm payloads ----------------------------------------------------------------------------

ALARM_FIXTURES = sorted(p.name for p in (FIXTURES / "alarms").glob("*.json"))


def _sns(name: str) -> tuple[str, str]:
    envelope = load_fixture(f"alarms/{name}")
    return str(envelope.get("Message", "")), str(envelope.get("Subject") or "")


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def hostile_alarms(draw: st.DrawFn) -> tuple[str, str]:
    message, subject = _sns(draw(st.sampled_from(ALARM_FIXTURES)))
    try:
        doc = json.loads(message)
    except ValueError:
        doc = None
    how = draw(st.sampled_from(["retype", "truncate", "huge"]))
    if how == "truncate" or not isinstance(doc, dict):
        return message[: draw(st.integers(0, len(message)))], subject
    if how == "huge":
        many = [{"name": "FunctionName", "value": f"fn-{i}-" + "x" * 200} for i in range(2000)]
        doc.setdefault("Trigger", {})
        if isinstance(doc["Trigger"], dict):
            doc["Trigger"]["Dimensions"] = many
        doc["AlarmDescription"] = "d" * 50_000
        return json.dumps(doc), subject
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(doc)[1:] or [("AlarmName",)]))
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = draw(json_values)
    return json.dumps(doc), subject


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(hostile_alarms())
def test_any_alarm_payload_parses_and_renders_within_slack_limits(payload: tuple[str, str]) -> None:
    body, subject = payload
    alarm = parse(body, subject)
    assert alarm.name
    for message in (alarm_message(alarm), raw_reply(alarm)):
        if message is None:  # the raw text goes out as a file instead
            continue
        assert block_errors(as_dicts(message.blocks)) == []
        assert 0 < len(message.text) <= MESSAGE_TEXT
