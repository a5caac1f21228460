"""An alarm storm through the local stack: SNS on moto → SQS → four concurrent workers → Slack.

Compressed to keep ``make test`` quick: 60 notifications (3 rounds of 20 alarms)
published as fast as possible, and the stand-in's per-channel limit (and the
workers' shared pace) raised from Slack's ~1 message/s to 20/s (its 429s still
say ``Retry-After: 1``, which the workers wait for real). ``python -m bench storm`` runs the full 200-notification
storm beside naive posting.
"""

from __future__ import annotations

from logthread_local.storm import alarm_name, run_storm


def test_a_storm_lands_every_notification_in_its_thread(aws: str) -> None:
    report = run_storm(
        alarms=20,
        per_alarm=3,
        workers=4,
        per_second=20,
        # Posts leave at their slots but arrive a little early or late (one process runs
        # moto, the stand-in and four workers); a burst of 2, as Slack allows short bursts,
        # absorbs that, while four instances pacing only themselves still draw 429s.
        burst=2,
        retry_delay=1,
        timeout=240,
        aws_endpoint=aws,
    )

    assert report.drained
    # The four instances share the channel's pace through the table, so Slack seldom
    # pushes back (each instance pacing itself drew a 429 for every few posts); and no
    # 429 reached anyone: every post it refused landed later.
    assert report.rate_limited <= 0.05 * report.posted
    # Every reply is a post, or a file shared in the thread (the alarm's metric graph).
    assert report.uploaded == 20
    assert report.posted + report.uploaded == sum(
        t.parents + t.replies for t in report.threads.values()
    )
    assert report.slack_dead_letters == 0 and report.worker_dead_letters == 0
    # One thread per alarm episode; each repeat is a reply in it; nothing lost or doubled.
    assert report.stray == 0
    for n in range(20):
        thread = report.threads[alarm_name(n)]
        assert thread.parents == 1, alarm_name(n)
        assert len(thread.repeats) == 2 == len(set(thread.repeats)), alarm_name(n)
    assert report.delivered == report.notifications == 60
