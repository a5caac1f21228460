"""``logthread dev``'s server: what the page may ask, what it never gets, and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logthread_local import story
from logthread_local.devserver import DevServer
from logthread_local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
SECRET = "dev-signing-secret-never-in-the-page"


def _call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


@pytest.fixture
def dev(aws: str) -> Iterator[tuple[LocalStack, str]]:
    with LocalStack(aws_endpoint=aws, signing_secret=SECRET) as stack, DevServer(stack) as d:
        yield stack, d.url


def test_state_lists_the_default_channel_and_never_the_secret(dev: tuple[LocalStack, str]) -> None:
    stack, url = dev
    status, state = _call(url + "api/state")
    assert status == 200
    assert state["mode"] == "standin"
    assert state["ingress_url"] == stack.ingress_url
    assert stack.default_channel in state["channels"]
    assert SECRET not in json.dumps(state)
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    assert "<script" in page and SECRET not in page


def test_a_typed_command_reaches_the_ingress_signed(dev: tuple[LocalStack, str]) -> None:
    stack, url = dev
    status, answer = _call(url + "api/command", {"text": "/logsearch help", "channel": "C0ALERTS"})
    assert status == 200
    # The ingress verified the signature (a bad one gets a bare 401), then answered the help.
    assert answer["status"] == 200
    assert "logsearch" in json.dumps(answer["body"])
    event, _ = stack.ingress_calls[-1]
    assert event["headers"]["x-slack-signature"].startswith("v0=")


def test_pasted_logs_and_an_alarm_from_the_page_make_the_alarm_thread(
    dev: tuple[LocalStack, str],
) -> None:
    stack, url = dev
    request_id, lines = story.fresh_failure()
    text = "\n".join(line for _, line in lines)
    status, added = _call(url + "api/logs", {"log_group": story.LOG_GROUP, "text": text})
    assert status == 200 and added["lines"] == len(lines)
    status, fired = _call(url + "api/alarm", {"function": story.FUNCTION, "state": "ALARM"})
    assert status == 200 and fired["subject"].startswith('ALARM: "HogeService-Errors"')
    assert stack.wait_idle(60)
    _, state = _call(url + "api/state")
    (alarm,) = state["channels"][stack.default_channel]["messages"]
    assert request_id in json.dumps(alarm["replies"])
    assert all(d["error"] == "" for d in state["deliveries"])
    notes = [n["text"] for n in state["notes"]]
    assert any(story.LOG_GROUP in n for n in notes)
    assert any("HogeService-Errors" in n for n in notes)


def test_a_seed_fixture_loads_by_name(dev: tuple[LocalStack, str]) -> None:
    stack, url = dev
    _, state = _call(url + "api/state")
    assert "logs/hoge_service.json" in state["fixtures"]
    status, added = _call(url + "api/logs", {"fixture": "logs/hoge_service.json"})
    assert status == 200 and added["log_groups"] == [story.LOG_GROUP]
    logs = stack.client("logs")
    events = logs.filter_log_events(logGroupName=story.LOG_GROUP)["events"]
    assert len(events) == added["lines"]
    assert any(story.REQUEST_ID in e["message"] for e in events)


def test_the_page_can_only_click_buttons_that_exist(dev: tuple[LocalStack, str]) -> None:
    _, url = dev
    status, answer = _call(
        url + "api/click", {"channel": "C0ALERTS", "ts": "1.000001", "action_id": "x"}
    )
    assert status == 400 and "no message" in answer["error"]


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("api/alarm", {"state": "BROKEN"}, "state must be"),
        ("api/alarm", {"function": "a b*"}, "function must be"),
        ("api/logs", {"log_group": "no-slash", "text": "x"}, "log_group must be"),
        ("api/logs", {"text": "   \n"}, "no log lines"),
        ("api/logs", {"fixture": "../../etc/passwd"}, "no log fixture"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    dev: tuple[LocalStack, str], path: str, body: dict[str, Any], error: str
) -> None:
    status, answer = _call(dev[1] + path, body)
    assert status == 400
    assert error in answer["error"]


def test_static_files_stay_in_their_folder(dev: tuple[LocalStack, str]) -> None:
    _, url = dev
    assert _call(url + "static/app.js")[0] == 200
    assert _call(url + "static/../devserver.py")[0] == 404
    assert _call(url + "static/%2e%2e/devserver.py")[0] == 404


def test_real_slack_mode_leaves_slack_to_slack(aws: str) -> None:
    with (
        LocalStack(aws_endpoint=aws, slack_token="xoxb-real", signing_secret=SECRET) as stack,
        DevServer(stack) as d,
    ):
        assert stack.slack is None
        assert os.environ["SLACK_BOT_TOKEN"] == "xoxb-real"
        assert "SLACK_API_URL" not in os.environ  # slack_sdk's own default: slack.com
        _, state = _call(d.url + "api/state")
        assert state["mode"] == "slack"
        status, answer = _call(d.url + "api/command", {"text": "/logsearch 12345678"})
        assert status == 400 and "in Slack itself" in answer["error"]


def test_dev_refuses_half_a_real_workspace_and_a_bad_config(tmp_path: Path) -> None:
    from logthread import cli

    assert cli.main(["dev", "--slack-token", "xoxb-x"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: [{alarm: '*'}]\n", encoding="utf-8")
    assert cli.main(["dev", "--config", str(bad)]) == 2


def test_logthread_dev_runs_until_ctrl_c_and_stops_cleanly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    # Ctrl-C in a terminal: run from a shell's background job (`make test &`, nohup) the tests
    # ignore SIGINT, and an ignored signal stays ignored across exec, so `logthread dev` would
    # never see it. A handled one is reset to the default in the child, as in a terminal.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "logthread.cli", "dev"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("logthread dev: http://127.0.0.1:")
        url = first.split(": ", 1)[1].strip()
        # It starts with the seed's story: the alarm thread appears without anyone asking.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, state = _call(url + "api/state")
            messages = state["channels"]["C0ALERTS"]["messages"]
            if messages and story.REQUEST_ID in json.dumps(messages[0].get("replies")):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no alarm thread in {state}")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in err
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "api/state", timeout=5)


def test_the_page_fires_the_linked_accounts_alarm_and_its_thread_shows_that_account(
    aws: str,
) -> None:
    config = {"default_channel": "C0ALERTS", **story.linked_config()}
    with (
        LocalStack(
            aws_endpoint=aws,
            signing_secret=SECRET,
            config=config,
            linked_accounts=[story.SOURCE_ACCOUNT],
        ) as stack,
        DevServer(stack) as d,
    ):
        _, state = _call(d.url + "api/state")
        assert state["accounts"] == {
            "monitoring": story.MONITORING_ACCOUNT,
            "linked": [{"id": story.SOURCE_ACCOUNT, "name": story.SOURCE_ACCOUNT_NAME}],
        }
        for via in ("metric", "eventbridge"):
            status, fired = _call(
                d.url + "api/alarm",
                {"account": story.SOURCE_ACCOUNT, "via": via, "with_failure": True},
            )
            assert status == 200, fired
            assert stack.wait_idle(60)
            _, state = _call(d.url + "api/state")
            replies = json.dumps([m["replies"] for m in state["channels"]["C0ALERTS"]["messages"]])
            assert fired["request_id"] in replies
            assert story.SOURCE_ERROR in replies
        assert all(d["error"] == "" for d in state["deliveries"])
        proxy = stack.logs_proxy
        assert proxy is not None and story.SOURCE_ACCOUNT in proxy.reached("FilterLogEvents")
        status, refused = _call(d.url + "api/alarm", {"account": "333333333333"})
        assert status == 400 and "linked source account" in refused["error"]
