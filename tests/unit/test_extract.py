"""Request ids from payloads: ordered jmespath rules with Powertools' functions."""

from __future__ import annotations

import json

import pytest

from logthread.alarms.extract import evaluate, extract_ids
from logthread.alarms.parse import parse
from logthread.config import from_mapping
from tests.conftest import load_fixture

REQUEST_ID = "12345678-aaaa-bbbb-cccc-1234567890ab"


def _custom():
    env = load_fixture("alarms/custom_json_id_in_string.json")
    return parse(env["Message"], env["Subject"])


def test_id_inside_a_json_string() -> None:
    config = from_mapping(
        {
            "request_id_rules": [
                {"alarm": "Checkout*", "expression": "powertools_json(detail).requestId"}
            ]
        },
        env={},
    )
    found = extract_ids(_custom(), config)
    assert found.ids == (REQUEST_ID,)
    assert found.rule == "powertools_json(detail).requestId"


def test_rules_apply_in_order_and_the_first_that_yields_wins() -> None:
    config = from_mapping(
        {
            "request_id_rules": [
                {"alarm": "*", "expression": "requestId"},  # absent: yields nothing
                {"alarm": "*", "expression": "powertools_json(detail).requestId"},
                {"alarm": "*", "expression": "app"},  # would be rejected anyway
            ]
        },
        env={},
    )
    assert extract_ids(_custom(), config).ids == (REQUEST_ID,)


def test_rules_for_other_alarms_are_ignored() -> None:
    config = from_mapping(
        {
            "request_id_rules": [
                {"alarm": "Other*", "expression": "powertools_json(detail).requestId"}
            ]
        },
        env={},
    )
    assert extract_ids(_custom(), config).ids == ()


def test_a_failing_rule_is_noted_and_skipped() -> None:
    config = from_mapping(
        {
            "request_id_rules": [
                {"alarm": "*", "expression": "powertools_json(message).requestId"},  # not JSON
                {"alarm": "*", "expression": "powertools_json(detail).requestId"},
            ]
        },
        env={},
    )
    found = extract_ids(_custom(), config)
    assert found.ids == (REQUEST_ID,)
    assert found.notes and found.notes[0].startswith("rule failed: powertools_json(message)")


def test_values_that_are_not_ids_are_rejected() -> None:
    alarm = parse(json.dumps({"title": "x", "ids": ['"; drop', "short", REQUEST_ID, REQUEST_ID]}))
    config = from_mapping({"request_id_rules": [{"expression": "ids"}]}, env={})
    found = extract_ids(alarm, config)
    assert found.ids == (REQUEST_ID,)
    assert len(found.notes) == 2


def test_lists_and_nested_lists_are_flattened() -> None:
    doc = {"batch": [{"ctx": {"requestId": "aaaaaaaa-1111-2222-3333-444444444444"}}, {"ctx": {}}]}
    assert evaluate("batch[].ctx.requestId", doc) == ["aaaaaaaa-1111-2222-3333-444444444444"]
    assert evaluate("[batch[0].ctx.requestId, ['bbbbbbbb']]", doc) == [
        "aaaaaaaa-1111-2222-3333-444444444444",
        "bbbbbbbb",
    ]


def test_base64_gzip_functions_are_available() -> None:
    import base64
    import gzip

    inner = base64.b64encode(gzip.compress(json.dumps({"requestId": REQUEST_ID}).encode())).decode()
    assert evaluate("powertools_json(powertools_base64_gzip(data)).requestId", {"data": inner}) == [
        REQUEST_ID
    ]


def test_plain_text_payload_is_reachable_with_at() -> None:
    alarm = parse(f"job failed {REQUEST_ID}", "x")
    config = from_mapping({"request_id_rules": [{"expression": "@"}]}, env={})
    # The whole text is not an id: rejected, never interpolated.
    assert extract_ids(alarm, config).ids == ()


def test_eventbridge_event_with_an_id_in_detail() -> None:
    doc = {
        "detail-type": "Order Failed",
        "source": "hoge.orders",
        "detail": {"requestContext": {"requestId": REQUEST_ID}},
    }
    alarm = parse(json.dumps(doc))
    config = from_mapping(
        {"request_id_rules": [{"expression": "detail.requestContext.requestId"}]}, env={}
    )
    assert extract_ids(alarm, config).ids == (REQUEST_ID,)


@pytest.mark.parametrize("expression", ["powertools_json(`1`)", "length(`1`)"])
def test_type_errors_become_value_errors(expression: str) -> None:
    with pytest.raises(ValueError):
        evaluate(expression, {})


def test_the_example_config_is_valid_and_complete() -> None:
    """config.example.yaml documents every key, and loads."""
    from dataclasses import fields
    from pathlib import Path

    from logthread.config import Access, Limits, parse_document

    path = Path(__file__).resolve().parents[2] / "config.example.yaml"
    document = parse_document(path.read_text(encoding="utf-8"), str(path))
    config = from_mapping(document, env={})
    assert set(document) == {f.name for f in fields(type(config))}
    assert set(document["limits"]) == {f.name for f in fields(Limits)}
    assert set(document["access"]) == {f.name for f in fields(Access)}
    assert config.limits == Limits()  # the example spells out the defaults
    assert config.channel_for("PaymentService-PaymentFailures") == "C0PAYMENTS1"
    assert extract_ids(_custom(), config).ids == (REQUEST_ID,)
