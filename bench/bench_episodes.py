"""Alarm episodes under chaos: seeded schedules of the episode simulation, and their violations.

:mod:`logthread_local.episodesim` on moto and the Slack stand-in: per seed, 3
alarms and 12 notifications (ALARM, repeats, OK, INSUFFICIENT_DATA with increasing
StateChangeTimes), each delivered 1-3 times in any order through the worker's
``handle_message``, with crashes right after a Slack call or a table write (the
delivery retried, after 3 attempts the worker DLQ, redriven at the end), Slack
faults (429, 500/503, resets, timeouts), races on the table's conditional writes
and a clock that sometimes jumps past the stale-claim delay. The final Slack state
is checked against the invariants (one parent per episode, showing its newest
state; nothing posted twice; nothing lost; never resolved while in ALARM): the
target is 0 violations.

Baseline, measured in the same run on the same seeds: the same deliveries (shuffled
and duplicated) with no crashes, Slack faults or races, i.e. what ordering alone
breaks.

``BENCH_EPISODES_SEEDS`` (default 40) sets the number of seeds. Any violation is
reproduced with ``python -m logthread_local.episodesim --seed N --trace``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import replace

from logthread_local.aws import moto_server, use_endpoint
from logthread_local.episodesim import KINDS, Exploration, SimConfig, explore
from logthread_local.slack_standin import SlackStandin

SEEDS = int(os.environ.get("BENCH_EPISODES_SEEDS", "40"))


def _baseline(found: Exploration) -> str:
    kinds = Counter(v.kind for v in found.violations)
    bad = sum(1 for r in found.runs if r.violations)
    by_kind = ", ".join(f"{k} {kinds[k]}" for k in KINDS if kinds[k]) or "none"
    return (
        f"baseline (no crashes, faults or races): {len(found.violations)} violations "
        f"in {bad} of {len(found.runs)} schedules ({by_kind})"
    )


def run() -> list[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("logthread."):  # the worker's own log lines aren't figures
            logging.getLogger(name).setLevel(logging.ERROR)
    chaos = SimConfig()
    calm = replace(chaos, crash_rate=0.0, fault_rate=0.0, race_rate=0.0)
    with moto_server() as endpoint, SlackStandin() as slack:
        use_endpoint(endpoint)
        found = explore(range(SEEDS), endpoint=endpoint, slack=slack, config=chaos)
        baseline = explore(range(SEEDS), endpoint=endpoint, slack=slack, config=calm)
    seconds = sum(r.seconds for r in found.runs)
    return [
        *found.lines(examples=3),
        _baseline(baseline),
        f"{seconds / max(1, len(found.runs)):.1f} s per schedule",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
