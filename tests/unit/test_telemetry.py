"""The metrics seam: nothing is printed outside an invocation; counts are summed and written once."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from logthread import telemetry


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    m = Metrics(namespace="SeamTest", service="logthread")
    m.clear_metrics()
    return m


def documents(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_outside_an_invocation_nothing_is_recorded(metrics: Metrics, capsys: Any) -> None:
    telemetry.count(telemetry.SEARCHES)
    telemetry.count(telemetry.API_CALLS, 3, dimension=("Api", "FilterLogEvents"))
    with telemetry.recording(metrics):
        pass
    metrics.flush_metrics()
    assert documents(capsys.readouterr().out) == []


def test_counts_from_the_threads_it_starts_are_summed_and_written_at_the_end(
    metrics: Metrics, capsys: Any
) -> None:
    # A thread of the process that is not the invocation's (a search another test, or the
    # dev stack, left running) counts nothing into it, even while it records.
    counting, stop = threading.Event(), threading.Event()

    def stray() -> None:
        while not stop.is_set():
            telemetry.count(telemetry.SEARCHES)
            counting.set()
            stop.wait(0.001)

    outsider = threading.Thread(target=stray, daemon=True)
    outsider.start()
    with telemetry.recording(metrics):
        counting.clear()
        counting.wait(5)
        workers = [
            threading.Thread(
                target=telemetry.in_context(telemetry.count),
                args=(telemetry.API_CALLS, 2),
                kwargs={"dimension": ("Api", "FilterLogEvents")},
            )
            for _ in range(5)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        telemetry.count(telemetry.SEARCHES)
        telemetry.count(telemetry.SEARCHES)
        telemetry.count(telemetry.LINES_FOUND, 0)  # nothing to say: not written
        assert documents(capsys.readouterr().out) == []  # nothing before the end
    [by_api] = documents(capsys.readouterr().out)
    assert by_api["Api"] == "FilterLogEvents"
    assert by_api["ApiCalls"] == [10.0]
    metrics.flush_metrics()
    [plain] = documents(capsys.readouterr().out)
    assert plain["Searches"] == [2.0] and "LinesFound" not in plain
    assert plain["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SeamTest"
    stop.set()
    outsider.join()


def test_with_metrics_disabled_nothing_is_left_behind_for_the_next_invocation(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # Powertools neither prints nor clears a disabled instance's metrics (the local stack
    # disables them): what a quiet invocation counted must not come out in the next one.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with telemetry.recording(metrics):
        telemetry.count(telemetry.SEARCHES, 5)
    metrics.flush_metrics()
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    with telemetry.recording(metrics):
        telemetry.count(telemetry.SEARCHES)
    metrics.flush_metrics()
    [printed] = documents(capsys.readouterr().out)
    assert printed["Searches"] == [1.0]
