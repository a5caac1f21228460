"""The worker under a slow, throttled or failing AWS (issue 7, items 3 and 4).

Through ``functions/worker/app.py``'s handler with a Lambda-shaped context whose
remaining time runs down for real; AWS is moto behind the fault proxy. Whatever
AWS does, the requester gets a result in the channel before the invocation's
end: partial, saying why, with the button to search again. Never nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slash_pipeline import CHANNEL, Context, Pipeline, buttons, message_text
from test_worker_tasks import sns_event, task

from logthread.search.timebox import OUT_OF_TIME
from logthread_local import seed as seeding
from logthread_local.faultproxy import FaultProxy
from logthread_local.slack_standin import SlackStandin


class ShortContext(Context):
    """A Lambda context whose remaining time counts down from ``seconds``."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(name)
        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


@pytest.fixture
def stack(
    aws: str, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Pipeline, FaultProxy]]:
    p = Pipeline(aws, slack, monkeypatch)
    seeding.seed(p.logs, files=[seeding.FIXTURES_DIR / "hoge_service.json"])
    with FaultProxy(aws, seed=3) as proxy:
        # The worker builds its clients on first use: all of them go through the proxy.
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield p, proxy


def run(p: Pipeline, seconds: float) -> ShortContext:
    context = ShortContext("logthread-worker", seconds)
    assert p.worker.handler(sns_event(p, task().to_json()), context) is None
    return context


def the_answer(slack: SlackStandin) -> tuple[str, dict[str, dict[str, object]]]:
    [parent] = slack.messages(CHANNEL)
    return message_text(parent), buttons(parent)


def test_throttled_until_the_deadline_posts_partial_with_search_again(
    stack: tuple[Pipeline, FaultProxy], slack: SlackStandin
) -> None:
    p, proxy = stack
    proxy.throttle("FilterLogEvents", rate=1.0)
    context = run(p, 12.0)  # a search budget of 12 - 8 = 4 s
    text, found = the_answer(slack)
    assert "Partial result" in text and "ThrottlingException" in text
    assert "logthread.search_again" in found
    assert proxy.count("FilterLogEvents", "throttle") >= 1
    assert context.get_remaining_time_in_millis() > 0  # posted before the end


def test_a_hung_aws_call_still_gets_a_partial_post_before_the_end(
    stack: tuple[Pipeline, FaultProxy], slack: SlackStandin
) -> None:
    p, proxy = stack
    # Every FilterLogEvents hangs far longer than the invocation has left.
    proxy.delay("FilterLogEvents", 30.0)
    context = run(p, 6.0)
    text, found = the_answer(slack)
    assert OUT_OF_TIME in text and "logthread.search_again" in found
    assert context.get_remaining_time_in_millis() > 0


def test_aws_failing_outright_is_posted_as_partial_not_dropped(
    stack: tuple[Pipeline, FaultProxy], slack: SlackStandin
) -> None:
    p, proxy = stack
    proxy.fail("FilterLogEvents", status=503, rate=1.0)
    run(p, 60.0)
    text, found = the_answer(slack)
    assert "the search failed" in text and "ServiceUnavailable" in text, text
    assert "logthread.search_again" in found
    # botocore's adaptive mode retried each call before giving up (max_attempts 8).
    assert proxy.count("FilterLogEvents", "503") >= 8


def test_transient_faults_find_everything(
    stack: tuple[Pipeline, FaultProxy], slack: SlackStandin
) -> None:
    p, proxy = stack
    proxy.throttle("FilterLogEvents", count=2)
    proxy.fail("GetLogEvents", status=500, count=1)
    run(p, 60.0)
    text, _ = the_answer(slack)
    assert "Partial result" not in text
    [reply] = slack.replies(CHANNEL, slack.messages(CHANNEL)[0]["ts"])
    assert "DB fetch failed" in message_text(reply)
