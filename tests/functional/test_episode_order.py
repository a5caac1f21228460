"""Episodes follow StateChangeTime, not arrival order (SNS delivers in any order)."""
# ruff: noqa: F811 (the fixtures imported from test_alarm_flow are used by name)

from __future__ import annotations

from typing import Any

from test_alarm_flow import (  # noqa: F401 (fixtures)
    CHANNEL,
    cloudwatch,
    config,
    deps,
    hoge_failure,
    logs,
    notification,
    now_ms,
    table,
    texts,
)

from logthread.alarms.flow import handle_notification
from logthread.worker import WorkerDeps
from logthread_local.slack_standin import SlackStandin

MINUTE = 60_000


def deliver(deps: WorkerDeps, fixture: str, first_ms: int) -> dict[str, Any]:
    body, subject = notification(fixture, first_ms)
    return handle_notification(body, subject, deps)


def test_an_ok_delivered_before_its_alarm_ends_up_as_one_resolved_message(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 30 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge_ok.json", first)  # the ALARM's delivery failed: late
    late = deliver(deps, "lambda_errors_hoge.json", first)

    (parent,) = slack.messages(CHANNEL)
    assert late["ts"] == parent["ts"]
    assert texts(parent).startswith(":white_check_mark: RESOLVED: HogeService-Errors")
    assert "lasted 26 min 0 s" in texts(parent)
    assert slack.replies(CHANNEL, parent["ts"])  # the failing request, in its thread


def test_after_an_early_ok_the_next_alarm_opens_its_own_message(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 90 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge_ok.json", first)
    deliver(deps, "lambda_errors_hoge.json", first)
    hoge_failure(logs, first + 60 * MINUTE)
    again = deliver(deps, "lambda_errors_hoge.json", first + 60 * MINUTE)

    assert again["action"] == "opened"
    old, new = slack.messages(CHANNEL)
    assert again["ts"] == new["ts"]
    assert texts(old).startswith(":white_check_mark: RESOLVED")
    assert not texts(new).startswith(":white_check_mark: RESOLVED")


def test_an_ok_older_than_the_threads_newest_alarm_does_not_resolve_it(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 30 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge.json", first)
    deliver(deps, "lambda_errors_hoge_repeat.json", first)  # fired again at +10 min
    before = len(slack.calls)
    # An OK from +6 min, retried late: the alarm fired again after it.
    deliver(deps, "lambda_errors_hoge_ok.json", first - 20 * MINUTE)

    (parent,) = slack.messages(CHANNEL)
    assert not texts(parent).startswith(":white_check_mark: RESOLVED")
    assert not [c for c in slack.calls[before:] if c.method == "chat.update"]


def test_a_late_alarm_does_not_reopen_what_a_newer_ok_resolved(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 30 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge.json", first)
    deliver(deps, "lambda_errors_hoge_ok.json", first)
    # The repeat (+10 min) was retried and arrives after the OK (+26 min).
    late = deliver(deps, "lambda_errors_hoge_repeat.json", first)

    (parent,) = slack.messages(CHANNEL)
    assert late["action"] == "replied" and late["ts"] == parent["ts"]
    assert texts(parent).startswith(":white_check_mark: RESOLVED")
    # And the next real ALARM opens a new message instead of replying "still in ALARM".
    hoge_failure(logs, first + 60 * MINUTE)
    again = deliver(deps, "lambda_errors_hoge.json", first + 60 * MINUTE)
    assert again["action"] == "opened" and len(slack.messages(CHANNEL)) == 2


def test_insufficient_data_after_the_end_replies_in_the_thread_not_a_new_message(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 60 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge.json", first)
    deliver(deps, "lambda_errors_hoge_ok.json", first)
    # INSUFFICIENT_DATA at +40 min, after the OK (+26 min).
    after = deliver(deps, "lambda_errors_hoge_insufficient.json", first + 121 * MINUTE)

    (parent,) = slack.messages(CHANNEL)
    assert after["ts"] == parent["ts"]
    assert texts(parent).startswith(":white_check_mark: RESOLVED")


def _back_to_ok(slack: SlackStandin, parent: dict[str, Any]) -> list[str]:
    return [texts(r) for r in slack.replies(CHANNEL, parent["ts"]) if "Back to OK" in texts(r)]


def test_an_older_ok_takes_out_the_ok_that_closed_the_episode_too_late(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    # ALARM +0, OK +26 (delivered late), ALARM +40 (from OK, later still), OK +60.
    first = now_ms - 90 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge.json", first)
    deliver(deps, "lambda_errors_hoge_ok.json", first + 34 * MINUTE)  # the OK at +60
    deliver(deps, "lambda_errors_hoge_ok.json", first)  # the OK at +26 ended it

    episode, later = slack.messages(CHANNEL)
    assert texts(episode).startswith(":white_check_mark: RESOLVED")
    assert "lasted 26 min 0 s" in texts(episode)
    # The +60 OK left the thread it had closed, for a message of its own.
    (reply,) = _back_to_ok(slack, episode)
    assert "after 26 min 0 s" in reply
    assert later["text"].startswith("OK")

    hoge_failure(logs, first + 40 * MINUTE)
    adopted = deliver(deps, "lambda_errors_hoge.json", first + 40 * MINUTE)
    assert adopted["action"] == "resolved-late" and adopted["ts"] == later["ts"]
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [episode["ts"], later["ts"]]
    assert "lasted 20 min 0 s" in texts(slack.messages(CHANNEL)[1])


def test_an_alarm_from_ok_splits_the_episode_an_early_ok_had_closed(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 90 * MINUTE
    hoge_failure(logs, first)
    deliver(deps, "lambda_errors_hoge.json", first)
    deliver(deps, "lambda_errors_hoge_ok.json", first + 34 * MINUTE)  # the OK at +60
    hoge_failure(logs, first + 40 * MINUTE)
    split = deliver(deps, "lambda_errors_hoge.json", first + 40 * MINUTE)  # from OK

    episode, later = slack.messages(CHANNEL)
    assert split["ts"] == later["ts"]
    # The first episode's OK is still to come: its message shows the alarm again.
    assert not texts(episode).startswith(":white_check_mark: RESOLVED")
    assert not _back_to_ok(slack, episode)
    assert texts(later).startswith(":white_check_mark: RESOLVED")
    assert "lasted 20 min 0 s" in texts(later)

    deliver(deps, "lambda_errors_hoge_ok.json", first)  # and there it is: +26
    episode = slack.messages(CHANNEL)[0]
    assert texts(episode).startswith(":white_check_mark: RESOLVED")
    assert "lasted 26 min 0 s" in texts(episode)
    assert len(slack.messages(CHANNEL)) == 2


def test_two_oks_before_their_alarms_each_become_their_episode_message(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    first = now_ms - 120 * MINUTE
    deliver(deps, "lambda_errors_hoge_ok.json", first + 60 * MINUTE)  # the OK at +86
    deliver(deps, "lambda_errors_hoge_ok.json", first)  # the OK at +26, an earlier episode
    hoge_failure(logs, first)
    hoge_failure(logs, first + 60 * MINUTE)
    late = deliver(deps, "lambda_errors_hoge.json", first + 60 * MINUTE)
    early = deliver(deps, "lambda_errors_hoge.json", first)

    later_ok, earlier_ok = slack.messages(CHANNEL)
    assert (late["ts"], early["ts"]) == (later_ok["ts"], earlier_ok["ts"])
    for message in slack.messages(CHANNEL):
        assert texts(message).startswith(":white_check_mark: RESOLVED")
        assert "lasted 26 min 0 s" in texts(message)


def test_the_ok_of_an_episode_two_back_still_resolves_its_message(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    # Three episodes (ALARM +0 / OK +26, ALARM +60 / OK +86, ALARM +120): the ALARMs first.
    first = now_ms - 150 * MINUTE
    for start in (first, first + 60 * MINUTE, first + 120 * MINUTE):
        hoge_failure(logs, start)
        deliver(deps, "lambda_errors_hoge.json", start)
    deliver(deps, "lambda_errors_hoge_ok.json", first)
    deliver(deps, "lambda_errors_hoge_ok.json", first + 60 * MINUTE)

    oldest, middle, newest = slack.messages(CHANNEL)
    for resolved in (oldest, middle):
        assert texts(resolved).startswith(":white_check_mark: RESOLVED")
        assert "lasted 26 min 0 s" in texts(resolved)
        assert len(_back_to_ok(slack, resolved)) == 1
    assert not texts(newest).startswith(":white_check_mark: RESOLVED")
    assert not _back_to_ok(slack, newest)


def test_an_ok_that_closed_the_episode_before_too_late_is_taken_out_of_it_too(
    deps: WorkerDeps, logs: Any, slack: SlackStandin, now_ms: int
) -> None:
    # ALARM +0 / OK +26, ALARM +60 / OK +86, ALARM +120: the third ALARM, then the second
    # OK (which closes the first episode "at" +86), then the second ALARM, then the first OK.
    first = now_ms - 150 * MINUTE
    for start in (first, first + 60 * MINUTE, first + 120 * MINUTE):
        hoge_failure(logs, start)
    deliver(deps, "lambda_errors_hoge.json", first)
    deliver(deps, "lambda_errors_hoge.json", first + 120 * MINUTE)
    deliver(deps, "lambda_errors_hoge_ok.json", first + 60 * MINUTE)  # the OK at +86
    middle = deliver(deps, "lambda_errors_hoge.json", first + 60 * MINUTE)
    deliver(deps, "lambda_errors_hoge_ok.json", first)  # the OK at +26

    oldest, newest, taken_out = slack.messages(CHANNEL)
    assert middle["ts"] == taken_out["ts"]
    for resolved in (oldest, taken_out):
        assert texts(resolved).startswith(":white_check_mark: RESOLVED")
        assert "lasted 26 min 0 s" in texts(resolved)
    (reply,) = _back_to_ok(slack, oldest)
    assert "after 26 min 0 s" in reply
    assert not texts(newest).startswith(":white_check_mark: RESOLVED")
