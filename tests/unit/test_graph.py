"""The alarm's metric graph: the MetricWidget document (issue 13, part 1)."""

from __future__ import annotations

import json
from dataclasses import replace

from logthread.alarms.graph import metric_widget
from logthread.alarms.parse import parse
from tests.conftest import load_fixture

CHANGED = 1_715_656_867_123  # the fixtures' StateChangeTime


def _alarm(name: str):  # type: ignore[no-untyped-def]
    env = load_fixture(f"alarms/{name}")
    return parse(env["Message"], env.get("Subject", ""))


def test_single_metric_threshold_window_and_marks() -> None:
    alarm = _alarm("lambda_errors_hoge.json")
    start, end = CHANGED - 3_600_000, CHANGED + 60_000
    widget = metric_widget(
        alarm, start_ms=start, end_ms=end, failures_ms=[CHANGED - 120_000, start - 1]
    )
    assert widget is not None
    assert widget["metrics"] == [
        ["AWS/Lambda", "Errors", "FunctionName", "HogeService", {"stat": "Sum", "period": 300}]
    ]
    assert widget["annotations"]["horizontal"] == [
        {"value": 1.0, "label": "Threshold", "color": "#d62728"}
    ]
    band, mark = widget["annotations"]["vertical"]
    # The evaluation window: one period of 300 s ending at the state change, shaded.
    assert [band[0]["value"], band[1]["value"]] == [
        "2024-05-14T03:16:07.000Z",
        "2024-05-14T03:21:07.000Z",
    ]
    assert mark["value"] == "2024-05-14T03:19:07.000Z"  # a failure inside the span only
    assert (widget["region"], widget["title"]) == ("us-east-1", "HogeService-Errors")
    assert len(json.dumps(widget)) < 100_000  # the API's payload limit


def test_metric_math_draws_the_expression_and_hides_its_terms() -> None:
    alarm = _alarm("metric_math_two_functions.json")
    widget = metric_widget(alarm, start_ms=CHANGED - 3_600_000, end_ms=CHANGED)
    assert widget is not None
    expressions = [row[0] for row in widget["metrics"] if isinstance(row[0], dict)]
    assert expressions and all("expression" in e and "id" in e for e in expressions)
    terms = [row for row in widget["metrics"] if isinstance(row[0], str)]
    assert terms and all(row[-1].get("visible") is False and row[-1]["id"] for row in terms)


def test_the_ok_graph_marks_the_end_and_no_metric_means_no_graph() -> None:
    alarm = _alarm("lambda_errors_hoge.json")
    widget = metric_widget(alarm, start_ms=CHANGED - 60_000, end_ms=CHANGED + 600_000,
                           ended_ms=CHANGED + 300_000)  # fmt: skip
    assert widget is not None
    assert widget["annotations"]["vertical"][-1]["label"] == "OK"
    assert metric_widget(replace(alarm, metrics=()), start_ms=0, end_ms=1) is None


def test_a_source_accounts_metric_is_drawn_with_its_account() -> None:
    alarm = _alarm("cross_account_metric_math.json")
    widget = metric_widget(alarm, start_ms=CHANGED - 3_600_000, end_ms=CHANGED)
    assert widget is not None
    terms = [row for row in widget["metrics"] if isinstance(row[0], str)]
    assert [row[-1].get("accountId") for row in terms] == ["210987654321", "210987654321"]
    expression = next(row[0] for row in widget["metrics"] if isinstance(row[0], dict))
    assert "accountId" not in expression
