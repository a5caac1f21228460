"""The ingress core, pure: signed form bodies in, acks and published tasks out."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import load_fixture

from logthread import config as config_module
from logthread.bounds import widen_search as widen
from logthread.bus import MemoryTaskBus, TaskBus
from logthread.http import HttpRequest, HttpResponse
from logthread.ingress import IngressDeps, handle
from logthread.query import SearchQuery, TimeWindow
from logthread.tasks import SearchTask, button_value
from logthread.verify import RequestVerifier

SECRET = "unit-test-signing-secret"
NOW = 1_714_564_900.0  # the fixtures' moment (2024-05-01T12:01:40Z)
RID = "3f2a9c1e-7b4d-4e21-9a0c-5d8e6f1a2b3c"
CONFIG = {
    "access": {
        "teams": ["T0001"],
        "users": ["U2147483697", "U0OTHER"],
        "log_group_prefixes": ["/aws/lambda/", "/app/shop/"],
    },
    "limits": {"max_lines": 300, "context_lines": 2},
}


class Harness:
    def __init__(self, config: dict[str, Any] | None = None, bus: TaskBus | None = None) -> None:
        self.bus = bus or MemoryTaskBus()
        self.told: list[tuple[str, str]] = []
        self.deps = IngressDeps(
            verifier=RequestVerifier(SECRET, now=lambda: NOW),
            bus=self.bus,
            config=config_module.from_mapping(CONFIG if config is None else config, env={}),
            now=lambda: NOW,
            respond=lambda url, text: self.told.append((url, text)),
        )

    @property
    def tasks(self) -> list[SearchTask]:
        assert isinstance(self.bus, MemoryTaskBus)
        return self.bus.tasks

    def send(self, body: str, *, ts: float = NOW, **headers: str) -> HttpResponse:
        signed = RequestVerifier(SECRET).sign(body, int(ts))
        signed["content-type"] = "application/x-www-form-urlencoded"
        signed.update({k.replace("_", "-"): v for k, v in headers.items()})
        return handle(HttpRequest("POST", "/slack/events", signed, body), self.deps)

    def command(self, text: str, **fields: str) -> HttpResponse:
        form = {**load_fixture("slack/slash_command.json"), "text": text, **fields}
        return self.send(urlencode(form))

    def click(self, value: str | None = None, action_id: str = "", **changes: Any) -> HttpResponse:
        payload = load_fixture("slack/block_actions_search_again.json")
        action = payload["actions"][0]
        if value is not None:
            action["value"] = value
        if action_id:
            action["action_id"] = action_id
        payload.update(changes)
        return self.send(urlencode({"payload": json.dumps(payload)}))


def text_of(response: HttpResponse) -> str:
    data = json.loads(response.body)
    assert data["response_type"] == "ephemeral"
    return str(data["text"])


def test_slash_command_publishes_a_task_and_acks_searching() -> None:
    h = Harness()
    response = h.command(f"{RID} in checkout-api last 2h context 4")
    assert response.status == 200
    assert text_of(response).startswith(f"Searching for `{RID}` in `checkout-api`")
    [task] = h.tasks
    assert task.origin == "command"
    assert task.query == SearchQuery(
        request_id=RID,
        functions=("checkout-api",),
        window=TimeWindow(int(NOW * 1000) - 7_200_000, int(NOW * 1000)),
        context_lines=4,
        max_lines=300,
        deadline_seconds=20.0,
    )
    assert task.reply.channel == "C2147483705"
    assert task.reply.thread_ts == ""
    assert task.reply.response_url.startswith("https://hooks.slack.com/commands/")
    assert (task.reply.user_id, task.reply.team_id) == ("U2147483697", "T0001")
    assert task.extra["asked_by"] == "steve" and len(task.extra["task_id"]) == 32


def test_no_target_searches_every_allowed_prefix_with_default_context() -> None:
    h = Harness()
    assert "`/aws/lambda/`, `/app/shop/`" in text_of(h.command(RID))
    [task] = h.tasks
    assert task.query.log_groups == ("/aws/lambda/", "/app/shop/")
    assert (task.query.functions, task.query.window, task.query.context_lines) == ((), None, 2)


def test_help_and_bad_input_answer_with_usage_and_publish_nothing() -> None:
    h = Harness()
    assert text_of(h.command("help")).startswith("*Usage:*")
    bad = text_of(h.command(f"{RID} last forever"))
    assert bad.startswith("Sorry, I couldn't read that: `last` needs a duration")
    assert "*Usage:*" in bad
    assert h.tasks == []


@pytest.mark.parametrize(
    "text",
    [
        '3f2a9c1e" OR "x',
        f"{RID} in checkout|stats count(*)",
        f"{RID} in <!channel>",
        f'{RID} in /aws/lambda/a" | filter @message like /x/',
    ],
)
def test_injection_attempts_publish_nothing(text: str) -> None:
    h = Harness()
    assert text_of(h.command(text)).startswith("Sorry")
    assert h.tasks == []


def test_forged_stale_and_unsigned_requests_get_an_empty_401() -> None:
    h = Harness()
    body = urlencode({**load_fixture("slack/slash_command.json")})
    forged = RequestVerifier("not-the-secret").sign(body, int(NOW))
    responses = [
        handle(HttpRequest("POST", "/slack/events", forged, body), h.deps),
        h.send(body, ts=NOW - 301),
        handle(HttpRequest("POST", "/slack/events", {}, body), h.deps),
    ]
    for response in responses:
        assert (response.status, response.body, response.headers) == (401, "", {})
    assert h.tasks == []


def test_replayed_body_with_a_fresh_timestamp_is_refused() -> None:
    h = Harness()
    body = urlencode(load_fixture("slack/slash_command.json"))
    old = RequestVerifier(SECRET).sign(body, int(NOW) - 600)
    old["x-slack-request-timestamp"] = str(int(NOW))
    assert handle(HttpRequest("POST", "/slack/events", old, body), h.deps).status == 401


def test_slack_retries_are_acked_and_dropped() -> None:
    h = Harness()
    response = h.send(
        urlencode(load_fixture("slack/slash_command.json")),
        x_slack_retry_num="1",
        x_slack_retry_reason="http_timeout",
    )
    assert (response.status, response.body) == (200, "")
    assert h.tasks == []


def test_refused_user_gets_a_polite_refusal_and_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    with caplog.at_level(logging.INFO):
        response = h.command(RID, user_id="U0MALLORY", user_name="mallory")
    assert text_of(response).startswith("Sorry, you're not on the list")
    assert h.tasks == []
    [record] = [r for r in caplog.records if getattr(r, "outcome", "") == "refused"]
    assert (record.user_id, record.user_name, record.text) == ("U0MALLORY", "mallory", RID)  # type: ignore[attr-defined]
    assert record.reason == "user U0MALLORY not allowed"  # type: ignore[attr-defined]


def test_accepted_request_is_logged_with_who_and_what(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        Harness().command(f"{RID} in checkout-api")
    [record] = [r for r in caplog.records if getattr(r, "outcome", "") == "accepted"]
    assert record.user_id == "U2147483697"  # type: ignore[attr-defined]
    assert record.functions == ["checkout-api"]  # type: ignore[attr-defined]
    assert record.request_id == RID  # type: ignore[attr-defined]


def test_forbidden_log_group_is_refused() -> None:
    h = Harness()
    text = text_of(h.command(f"{RID} in /aws/rds/instance/prod/error"))
    assert text.startswith("Sorry, you may not search `/aws/rds/instance/prod/error`")
    assert h.tasks == []


class BrokenBus(TaskBus):
    def publish(self, task: SearchTask) -> str:
        raise ConnectionError("SNS is down")


def test_publish_failure_apologises() -> None:
    h = Harness(bus=BrokenBus())
    assert (
        text_of(h.command(RID)) == "Sorry, I couldn't start the search just now. Please try again."
    )


def test_routing_and_non_slack_bodies() -> None:
    h = Harness()
    assert handle(HttpRequest("GET", "/slack/events"), h.deps).status == 405
    assert handle(HttpRequest("POST", "/other"), h.deps).status == 404
    assert h.send("ssl_check=1&token=x").status == 200
    assert h.send("hello=world").status == 400
    body = json.dumps({"type": "url_verification", "challenge": "c4ll"})
    signed = {**RequestVerifier(SECRET).sign(body, int(NOW)), "content-type": "application/json"}
    answer = handle(HttpRequest("POST", "/slack/events", signed, body), h.deps)
    assert json.loads(answer.body) == {"challenge": "c4ll"}


# ---- buttons ----------------------------------------------------------------


def test_search_again_widens_the_window_and_replies_in_the_thread() -> None:
    h = Harness()
    response = h.click()
    assert (response.status, response.body) == (200, "")
    [task] = h.tasks
    assert task.origin == "button"
    assert task.reply.thread_ts == "1714564800.000100"
    assert task.reply.channel == "C2147483705"
    assert task.query.request_id == RID
    assert task.query.functions == ("checkout-api",)
    # One hour ending 12:00 becomes four hours ending now (12:01:40), no later.
    assert task.query.window == TimeWindow(int(NOW * 1000) - 4 * 3_600_000, int(NOW * 1000))
    assert task.query.max_lines == 300


def test_more_context_adds_ten_lines_and_stays_capped() -> None:
    h = Harness()
    h.click(action_id="logthread.more_context")
    h.click(
        value=button_value(SearchQuery(RID, functions=("checkout-api",), context_lines=45)),
        action_id="logthread.more_context",
    )
    assert [t.query.context_lines for t in h.tasks] == [10, 50]
    assert h.tasks[0].query.window == TimeWindow(1714561200000, 1714564800000)


def test_click_on_a_top_level_message_threads_under_it() -> None:
    h = Harness()
    payload = load_fixture("slack/block_actions_search_again.json")
    message = {k: v for k, v in payload["message"].items() if k != "thread_ts"}
    container = {k: v for k, v in payload["container"].items() if k != "thread_ts"}
    h.click(message=message, container=container)
    assert h.tasks[0].reply.thread_ts == "1714564860.000200"


def test_url_button_and_other_interactions_are_just_acked() -> None:
    h = Harness()
    assert h.click(action_id="logthread.open_insights").status == 200
    assert h.click(type="view_submission").status == 200
    assert h.tasks == [] and h.told == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (button_value(SearchQuery(RID, log_groups=("/aws/rds/prod",))), "log groups not allowed"),
        (button_value(SearchQuery(RID, functions=('x" | stats',))), "bad button value"),
        (button_value(SearchQuery('3f2a9c1e" OR "')), "bad button value"),
        ('{"v":1,"id":"' + RID + '","c":-5}', "bad button value"),
        ("not json", "bad button value"),
        ('{"v":99,"id":"' + RID + '"}', "bad button value"),
    ],
)
def test_tampered_button_values_are_refused(
    value: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness()
    with caplog.at_level(logging.INFO):
        assert h.click(value=value).status == 200
    assert h.tasks == []
    [(url, text)] = h.told
    assert url.startswith("https://hooks.slack.com/actions/") and text.startswith("Sorry")
    [record] = [r for r in caplog.records if getattr(r, "outcome", "") == "refused"]
    assert record.reason.startswith(reason)  # type: ignore[attr-defined]


def test_button_click_by_an_unlisted_user_is_refused() -> None:
    h = Harness()
    user = {"id": "U0MALLORY", "username": "mallory", "team_id": "T0001"}
    h.click(user=user)
    assert h.tasks == []
    assert h.told[0][1].startswith("Sorry, you're not on the list")


def test_widen() -> None:
    config = config_module.from_mapping({}, env={})
    hour = TimeWindow(0, 3_600_000)
    assert widen(hour, 10**12, config) == TimeWindow(-5_400_000, 9_000_000)
    assert widen(hour, 4_000_000, config) == TimeWindow(4_000_000 - 14_400_000, 4_000_000)
    assert widen(None, 10**12, config) == TimeWindow(10**12 - 12 * 86_400_000, 10**12)
    tiny = widen(TimeWindow(1_000, 1_000), 10**12, config)
    assert tiny.duration_ms == 240_000
