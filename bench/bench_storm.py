"""Alarm storm: 200 notifications in a minute across 20 alarms, into one Slack channel.

Through the local stack's real path (SNS on moto → SQS → a pool of 4 concurrent
worker instances → the Slack stand-in over real HTTP), with the stand-in holding
``chat.postMessage`` to a per-channel token bucket (burst 1) and answering 429 +
``Retry-After`` beyond it. The storm is published as fast as possible (the
notifications' StateChangeTimes span a minute). Each alarm has no failing
request in its logs, so an opening posts the alarm message and a "nothing
found" reply, and each repeat posts "Still in ALARM" and the same note: 400
messages for 200 notifications.

- logthread: each post reserves the channel's next slot in the worker table
  (``SharedChannelPacer``, paced at the stand-in's rate) and waits for it, so
  the four instances post together at the channel's pace; its retry policy
  (429 waits ``Retry-After``, up to 8 times, and moves the channel's slots for
  everyone); failed deliveries retried after 2 s.
- per-instance pacing, measured in the same run: the same, but each worker
  paces only its own posts (``ChannelPacer``, what logthread did before), so
  four instances share the channel only through Slack's 429s.
- naive, measured in the same run: the same workers posting through a bare
  slack_sdk ``WebClient`` (its default retry handlers retry no 429).

Slack's rate is about 1 message/s per channel; set ``BENCH_STORM_RATE`` (default
5) to scale it (1 = Slack's own: the 400 messages then need over 400 s). Time
to drain runs from the first publish until the queues are empty and the
workers idle.
"""

from __future__ import annotations

import logging
import os

from logthread_local.storm import StormReport, run_storm, summary


def _line(label: str, r: StormReport) -> str:
    s = summary(r)
    lost = r.notifications - r.delivered
    return (
        f"{label:<12} drain {r.seconds:6.1f} s · chat.postMessage calls {r.posts:4d} "
        f"(429s {r.rate_limited:3d}) · messages landed {r.posted:3d} · threads {s['parents']:2d} "
        f"· repeats threaded {s['repeats']:3d} · notifications lost {lost:3d} "
        f"· failed deliveries {r.failed_deliveries:3d} · worker DLQ {r.worker_dead_letters}"
        f" · Slack DLQ {r.slack_dead_letters}"
    )


def run() -> list[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # The naive baseline fails deliveries by the hundred; their tracebacks aren't figures.
    logging.getLogger("logthread_local.delivery").setLevel(logging.CRITICAL)
    rate = float(os.environ.get("BENCH_STORM_RATE", "5"))
    kwargs = {"alarms": 20, "per_alarm": 10, "workers": 4, "per_second": rate}
    shared = run_storm(**kwargs)  # type: ignore[arg-type]
    alone = run_storm(shared_pacing=False, **kwargs)  # type: ignore[arg-type]
    naive = run_storm(naive=True, **kwargs)  # type: ignore[arg-type]
    floor = 400 / rate
    return [
        f"storm: 200 notifications, 20 alarms, 4 workers, one channel at {rate:g} msg/s "
        f"(Slack: ~1; 400 messages need >= {floor:.0f} s)",
        _line("logthread", shared),
        _line("per-instance", alone),
        _line("naive", naive),
    ]
