"""``logthread dev``'s page in headless Chromium: the alarm thread, a typed /logsearch, a click,
the alarm's graph, "I'm on it", "Find logs" on a message, a follow-up that threads a new kind of error.

The browser is Debian's ``chromium`` (installed by ``make test`` where missing),
driven by Playwright's Python package; Playwright never downloads a browser here.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logthread_local import story
from logthread_local.aws import reset_moto
from logthread_local.devserver import DevServer
from logthread_local.stack import LocalStack

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000

if not Path(CHROMIUM).exists():
    pytest.skip(
        "Debian's chromium is not installed (make test installs it: `make chromium`)",
        allow_module_level=True,
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def dev_url(moto_endpoint: str) -> Iterator[str]:
    config = {"default_channel": "C0ALERTS", "limits": story.FOLLOW_UPS}  # as `logthread dev`
    with LocalStack(aws_endpoint=moto_endpoint, config=config) as stack, DevServer(stack) as dev:
        dev.app.start_story()  # as `logthread dev` starts: fixtures loaded, the alarm fired
        yield dev.url
    reset_moto(moto_endpoint)


@pytest.fixture(scope="module")
def page(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(dev_url)
            yield page
        finally:
            context.close()


def _entry_with(page: Any, text: str) -> Any:
    """The channel entry (message + its thread) whose text includes ``text``."""
    entry = page.locator("#messages .entry", has_text=text).last
    entry.wait_for()
    return entry


def test_the_page_shows_the_alarm_thread(page: Any) -> None:
    entry = _entry_with(page, story.REQUEST_ID)
    thread = entry.locator(".thread")
    thread.locator(".message", has_text=story.ERROR_MESSAGE).wait_for()
    parent = entry.locator(":scope > .message").inner_text()
    assert story.ALARM_NAME in parent
    assert "ALARM" in parent
    text = thread.inner_text()
    assert story.REQUEST_ID in text
    assert story.shows_failing_request(text)
    # Block Kit is drawn, not dumped: preformatted lines and real buttons.
    assert thread.locator("pre.code", has_text=story.ERROR_MESSAGE).count() >= 1
    assert entry.locator("button.bk-button").count() >= 1
    # The metric graph (the local stack's GetMetricWidgetImage) is the first reply, an image
    # the browser really decoded.
    image = thread.locator(".message").first.locator("img.file-image")
    image.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [800, 360]


def test_a_typed_logsearch_shows_its_result(page: Any) -> None:
    before = page.locator("#messages .entry").count()
    page.locator("#command").fill("/logsearch 12345678")
    page.locator("#command").press("Enter")
    page.locator(".message.ephemeral", has_text="Searching").first.wait_for()
    page.wait_for_function(
        "n => document.querySelectorAll('#messages .entry').length > n", arg=before
    )
    entry = page.locator("#messages .entry").nth(before)
    entry.locator(".thread .message", has_text=story.ERROR_MESSAGE).wait_for()
    assert "12345678" in entry.locator(":scope > .message").inner_text()
    assert story.shows_failing_request(entry.inner_text())


def test_search_again_lands_in_the_thread(page: Any) -> None:
    entry = _entry_with(page, story.ALARM_NAME)
    replies = entry.locator(".thread > .message")
    before = replies.count()
    entry.locator("button[data-action-id='logthread.search_again']").last.click()
    page.wait_for_function(
        "([ts, n]) => document.querySelectorAll("
        "`.thread[data-thread-ts='${ts}'] > .message`).length > n",
        arg=[entry.locator(":scope > .message").get_attribute("data-ts"), before],
    )
    # Follow-ups may reply in the same thread meanwhile (the live tally): the search's
    # result is the new reply that shows the request.
    deadline = time.monotonic() + WAIT_MS / 1000
    while not any(
        story.shows_failing_request(replies.nth(i).inner_text())
        for i in range(before, replies.count())
    ):
        assert time.monotonic() < deadline, "the search's result never landed in the thread"
        page.wait_for_timeout(200)
    assert page.locator("#error").inner_text() == ""


def test_im_on_it_shows_who_is_on_the_alarm(page: Any) -> None:
    entry = _entry_with(page, story.ALARM_NAME)
    parent = entry.locator(":scope > .message")
    parent.locator("button[data-action-id='logthread.alarm_claim']").click()
    parent.filter(has_text="is on it since").wait_for()
    assert parent.locator("button[data-action-id='logthread.alarm_claim']").inner_text() == (
        "Take over"
    )
    assert page.locator("#error").inner_text() == ""


def test_find_logs_on_a_message_searches_its_ids_in_its_thread(page: Any) -> None:
    entry = _entry_with(page, story.ALARM_NAME)
    replies = entry.locator(".thread > .message")
    with_id = replies.filter(has_text=story.REQUEST_ID).first
    before = replies.count()
    with_id.locator("[data-shortcut='find-logs']").click()
    page.locator(".message.ephemeral", has_text="Searching the logs for").first.wait_for()
    deadline = time.monotonic() + WAIT_MS / 1000
    while not any(
        story.shows_failing_request(replies.nth(i).inner_text())
        for i in range(before, replies.count())
    ):
        assert time.monotonic() < deadline, "the shortcut's result never landed in the thread"
        page.wait_for_timeout(200)
    assert page.locator("#error").inner_text() == ""


def test_a_new_kind_of_error_reaches_the_thread_through_a_follow_up(page: Any) -> None:
    entry = _entry_with(page, story.ALARM_NAME)
    with page.expect_response("**/api/logs"):
        page.get_by_role("button", name="Start a new kind of error").click()
    thread = entry.locator(".thread")
    new_kind = thread.locator(".message", has_text="A new kind of error since the alarm opened")
    new_kind.wait_for()
    assert "KeyError" in new_kind.inner_text()
    # Its example's timeline follows it in the thread.
    thread.locator(".message", has_text=story.SECOND_KIND).last.wait_for()
    # One live tally, edited in place at each look, counts both kinds.
    tally = thread.locator(".message", has_text="Live tally")
    tally.filter(has_text="2 kinds of error").wait_for()
    assert tally.count() == 1
    tally.locator(".author", has_text="(edited)").wait_for()
    assert page.locator("#error").inner_text() == ""


def test_fire_alarm_logs_a_new_failure_and_threads_it(page: Any) -> None:
    before = page.locator("#messages .message").count()
    with page.expect_response("**/api/alarm") as answer:
        page.get_by_role("button", name="Fire alarm").click()
    request_id = answer.value.json()["request_id"]
    assert request_id
    page.wait_for_function(
        "n => document.querySelectorAll('#messages .message').length > n", arg=before
    )
    page.locator("#messages .message", has_text=request_id).first.wait_for()
    assert page.locator("#error").inner_text() == ""


def test_log_text_is_shown_never_run(page: Any) -> None:
    # Log lines are anyone's text; pasted through the page, searched, drawn: never executed.
    rid = "feedface-0000-4000-8000-00000000beef"
    hostile = [
        f"START RequestId: {rid} Version: $LATEST",
        f'[ERROR]\t2024-05-14T03:20:58.123Z\t{rid}\t<img src=x onerror="window.__xss=1">',
        f"[ERROR]\t2024-05-14T03:20:58.124Z\t{rid}\t<script>window.__xss=2</script> *not bold*",
        f"[INFO]\t2024-05-14T03:20:58.125Z\t{rid}\t<javascript:window.__xss=3|click me>",
        f"END RequestId: {rid}",
    ]
    page.locator("#logs-form textarea").fill("\n".join(hostile))
    with page.expect_response("**/api/logs"):
        page.get_by_role("button", name="Add lines").click()
    page.locator("#command").fill(f"/logsearch {rid}")
    page.locator("#command").press("Enter")
    entry = _entry_with(page, "window.__xss=2")
    text = entry.inner_text()
    assert '<img src=x onerror="window.__xss=1">' in text
    assert "<script>window.__xss=2</script>" in text
    assert page.evaluate("window.__xss") is None
    assert entry.locator("img, script, a[href^='javascript']").count() == 0


def test_a_long_timeline_arrives_as_a_file_shown_in_the_thread(page: Any) -> None:
    rid = "abcdef01-2345-4678-9abc-def012345678"
    lines = [f"START RequestId: {rid} Version: $LATEST"]
    lines += [
        f"[INFO]\t2024-05-14T03:20:58.123Z\t{rid}\tprocessing item {i} of 400, a long line to "
        "fill Slack's section limits"
        for i in range(400)
    ]
    lines.append(f"END RequestId: {rid}")
    page.locator("#logs-form input[name=log_group]").fill("/aws/lambda/BigBatch")
    page.locator("#logs-form textarea").fill("\n".join(lines))
    with page.expect_response("**/api/logs"):
        page.get_by_role("button", name="Add lines").click()
    page.locator("#command").fill(f"/logsearch {rid}")
    page.locator("#command").press("Enter")
    attachment = page.locator("#messages .entry .thread .file", has_text=rid).first
    attachment.wait_for()
    assert ".log" in attachment.inner_text()
    preview = attachment.locator(".file-preview")
    page.wait_for_function(
        "el => el.textContent.includes('processing item 0 of 400')", arg=preview.element_handle()
    )
    assert "more lines" in preview.inner_text()
