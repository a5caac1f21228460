"""Request-id validation, filter terms and the client-side line check."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logthread.ids import (
    InvalidRequestId,
    filter_term,
    function_log_group,
    id_kind,
    ids_in_line,
    insights_term,
    line_matcher,
    trace_time_ms,
    validate_log_group,
    validate_request_id,
)

SEED_ID = "12345678-aaaa-bbbb-cccc-1234567890ab"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SEED_ID, SEED_ID),
        (f"  {SEED_ID}\n", SEED_ID),
        ("12345678", "12345678"),
        (f"`{SEED_ID}`", SEED_ID),
        (TRACE, TRACE),
        (f"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1", TRACE),
    ],
)
def test_valid_ids_are_canonicalised(text: str, expected: str) -> None:
    assert validate_request_id(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "give a request id"),
        ("1234567", "too short"),
        ('1234567890" OR "', "may only contain"),
        ("12345678 | filter", "may only contain"),
        ("%.*%", "may only contain"),
        ("-12345678", "must start"),
        ("a" * 65, "at most 64"),
        ("1234567\uff18", "may only contain"),  # a full-width digit is not an ASCII digit
    ],
)
def test_invalid_ids_are_refused_with_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(InvalidRequestId, match=words):
        validate_request_id(text)


def test_invalid_request_id_is_a_value_error() -> None:
    assert issubclass(InvalidRequestId, ValueError)


_FORBIDDEN = set("\"'\\ |%/{}[]()$`\t\n;")


@given(st.text(min_size=1, max_size=80))
def test_nothing_that_could_escape_a_term_is_ever_accepted(text: str) -> None:
    try:
        value = validate_request_id(text)
    except InvalidRequestId:
        return
    assert 8 <= len(value) <= 64
    assert not _FORBIDDEN & set(value)
    assert set(value) <= set(string.ascii_letters + string.digits + "-_")
    # What reaches CloudWatch is exactly one quoted term with nothing inside to escape.
    for term in (filter_term(value), insights_term(value)):
        assert term.startswith('"') and term.endswith('"') and term.count('"') == 2


def test_kinds() -> None:
    assert id_kind(SEED_ID) == "uuid"
    assert id_kind(TRACE) == "trace"
    assert id_kind("12345678") == "prefix"
    assert id_kind("abcdefgh-ijk") == "prefix"


def test_trace_time_is_the_hex_epoch_seconds() -> None:
    assert trace_time_ms(TRACE) == 0x5759E988 * 1000
    assert trace_time_ms(SEED_ID) is None


def test_filter_term_quotes_and_cuts_partial_segments() -> None:
    assert filter_term(SEED_ID) == f'"{SEED_ID}"'
    assert filter_term("12345678") == '"12345678"'
    # CloudWatch matches whole terms: the partial last segment is checked client-side.
    assert filter_term("12345678-aaaa-bb") == '"12345678-aaaa"'
    assert filter_term("12345678-a") == '"12345678"'
    assert filter_term(TRACE) == f'"{TRACE}"'


def test_full_id_must_stand_alone() -> None:
    match = line_matcher(SEED_ID)
    assert match(f"START RequestId: {SEED_ID} Version: $LATEST")
    assert match(f'{{"requestId":"{SEED_ID}"}}')
    assert not match(f"x{SEED_ID}")
    assert not match(f"{SEED_ID}0")
    assert not match("12345678-aaaa-bbbb-cccc-1234567890ac")


def test_uuid_prefix_must_start_a_whole_uuid() -> None:
    match = line_matcher("12345678")
    assert match(f"[ERROR]\t2024-05-01T12:00:00.000Z\t{SEED_ID}\tDB fetch failed")
    assert not match("order 123456789 shipped")
    assert not match("retrying 12345678 later")
    assert not match(f"a{SEED_ID}")
    assert line_matcher("12345678-aaaa-bb")(SEED_ID)
    assert not line_matcher("12345678-aaaa-bc")(SEED_ID)


def test_non_uuid_prefix_only_needs_a_token_start() -> None:
    match = line_matcher("req_abcdef")
    assert match("id=req_abcdef1234 done")
    assert not match("xreq_abcdef1234")


def test_ids_in_line_expands_a_prefix() -> None:
    other = "12345678-aaaa-bbbb-cccc-1234567890ac"
    assert ids_in_line("12345678", f"{SEED_ID} then {other}, order 123456789") == [SEED_ID, other]
    assert ids_in_line(SEED_ID, f"see {SEED_ID}") == [SEED_ID]
    assert ids_in_line(SEED_ID, "nothing") == []


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("HogeService", "/aws/lambda/HogeService"),
        ("HogeService:prod", "/aws/lambda/HogeService"),
        ("arn:aws:lambda:us-east-1:123456789012:function:HogeService", "/aws/lambda/HogeService"),
        ("arn:aws:lambda:us-east-1:123456789012:function:HogeService:7", "/aws/lambda/HogeService"),
        ("my_fn-2", "/aws/lambda/my_fn-2"),
    ],
)
def test_function_log_group(name: str, group: str) -> None:
    assert function_log_group(name) == group


@pytest.mark.parametrize("name", ["", "a b", "fn/../x", "arn:aws:s3:::bucket", "x" * 65])
def test_function_log_group_refuses_non_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a Lambda function"):
        function_log_group(name)


def test_validate_log_group() -> None:
    assert validate_log_group("/aws/lambda/HogeService") == "/aws/lambda/HogeService"
    assert validate_log_group("/aws/lambda/Hoge*") == "/aws/lambda/Hoge*"
    with pytest.raises(ValueError, match="not a log group"):
        validate_log_group("/aws/lambda/x y")
    with pytest.raises(ValueError, match="not a log group"):
        validate_log_group("")
