"""The ingress routes an alarm's "Search logs again" to the task topic as a rescan body."""

from __future__ import annotations

import json

from test_ingress import NOW, Harness

from logthread import ingress, tasks
from logthread.alarms import rescan
from logthread.bounds import widen_rescan
from logthread.bus import TaskBus
from logthread.query import TimeWindow
from logthread.slack import search_render
from logthread.tasks import SearchTask

KEY = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HogeService-Errors"
WINDOW = TimeWindow(int(NOW * 1000) - 600_000, int(NOW * 1000) - 300_000)


def value() -> str:
    button = rescan.button(KEY, WINDOW)
    assert button is not None
    return str(button.value)


def test_the_action_ids_are_the_ones_the_renderers_put_on_buttons() -> None:
    assert ingress.ALARM_SEARCH_AGAIN == rescan.ACTION_ID
    assert ingress.OPEN_CLOUDWATCH == search_render.OPEN_CLOUDWATCH


def test_a_click_publishes_the_rescan_body_for_the_alarms_thread() -> None:
    h = Harness()
    container = {"type": "message", "message_ts": "1714564800.000200", "channel_id": "C2147483705"}
    container["thread_ts"] = "1714564800.000100"
    response = h.click(value(), ingress.ALARM_SEARCH_AGAIN, container=container)
    assert (response.status, response.body) == (200, "")
    assert h.tasks == [] and h.told == []
    [(kind, body)] = h.bus.bodies  # type: ignore[attr-defined]
    assert kind == "alarm_rescan"
    again = tasks.parse_rescan(body)
    assert again is not None
    assert (again.episode_key, again.channel, again.thread_ts, again.user_id) == (
        KEY,
        "C2147483705",
        "1714564800.000100",
        "U2147483697",
    )
    assert again.window == widen_rescan(WINDOW, int(NOW * 1000))
    assert json.loads(body)["type"] == tasks.RESCAN_MARKER


def test_refusals_publish_nothing_and_tell_the_clicker() -> None:
    h = Harness()
    stranger = {"id": "U0STRANGER", "username": "x", "team_id": "T0001"}
    assert h.click(value(), ingress.ALARM_SEARCH_AGAIN, user=stranger).status == 200
    assert h.click('{"v":1,"k":"","w":[1,2]}', ingress.ALARM_SEARCH_AGAIN).status == 200
    assert h.bus.bodies == []  # type: ignore[attr-defined]
    [(_, refused), (_, broken)] = h.told
    assert refused.startswith("Sorry, you're not on the list")
    assert broken == "Sorry, that button no longer works."


class TasksOnly(TaskBus):
    def publish(self, task: SearchTask) -> str:
        return "x"


def test_a_bus_that_cannot_carry_it_is_reported_to_the_clicker() -> None:
    h = Harness(bus=TasksOnly())
    assert h.click(value(), ingress.ALARM_SEARCH_AGAIN).status == 200
    [(_, text)] = h.told
    assert text.startswith("Sorry, I couldn't start the search")


def test_the_url_button_click_is_acked_with_nothing_else() -> None:
    h = Harness()
    response = h.click("", ingress.OPEN_CLOUDWATCH)
    assert (response.status, response.body) == (200, "")
    assert h.tasks == [] and h.bus.bodies == [] and h.told == []  # type: ignore[attr-defined]
