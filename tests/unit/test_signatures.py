"""Error signatures: normalization, kinds and frames, and the tally."""

from __future__ import annotations

import json

import pytest

from logthread.logparse import parse_line
from logthread.signatures import Signature, Tally, normalize, signature_of, signature_of_line

RID = "12345678-aaaa-bbbb-cccc-1234567890ab"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("order 42 took 5000 ms", "order <n> took <n> ms"),
        (f"request {RID} failed", "request <id> failed"),
        ("trace 1-5759e988-bd862e3fe1be46a994272793", "trace <id>"),
        ("bad pointer 0xDEADbeef, sha 9f86d081884c7d65", "bad pointer <hex>, sha <hex>"),
        (
            "connection to orders-db.cluster-abc123.us-east-1.rds.amazonaws.com:5432 reset",
            "connection to <host> reset",
        ),
        ("api.example.com refused", "<host> refused"),
        ("from 203.0.113.10:443 and 10.0.0.7", "from <ip> and <ip>"),
        ("peer fe80::1ff:fe23:4567:890a gone", "peer <ip> gone"),
        ("KeyError: 'user'", "KeyError: '<val>'"),
        ('field "email" is required', 'field "<val>" is required'),
        ("at 2024-05-14T03:21:07.123Z then 2024-05-14 03:21:07", "at <time> then <time>"),
        ("datapoint (14/05/24 03:15:00) at 12:01:02.5", "datapoint (<time>) at <time>"),
        ("card ord_8f3k2j9 declined for cus_N1x2y3z", "card <id> declined for <id>"),
        ("mail bob@example.com bounced", "mail <email> bounced"),
        # What is not noise stays: files, dotted exception names, words.
        (
            "app.py raised requests.exceptions.ConnectionError",
            "app.py raised requests.exceptions.ConnectionError",
        ),
        ("  many   spaces\n here ", "many spaces here"),
    ],
)
def test_normalize_replaces_the_noise(message: str, expected: str) -> None:
    assert normalize(message) == expected


def test_the_same_error_with_other_ids_has_the_same_key() -> None:
    one = signature_of_line(
        parse_line(
            f"[ERROR]\t2024-05-14T03:21:07.123Z\t{RID}\tDB fetch failed: connection to "
            "10.0.4.17:5432 reset after 5001 ms (order 42)"
        )
    )
    two = signature_of_line(
        parse_line(
            "[ERROR]\t2024-05-14T04:00:00.000Z\t9f0e8d7c-1111-2222-3333-444455556666\t"
            "DB fetch failed: connection to 10.0.9.3:5432 reset after 12 ms (order 977)"
        )
    )
    assert one == two
    assert one.key == two.key and len(one.key) == 16
    assert one.message == "DB fetch failed: connection to <ip> reset after <n> ms (order <n>)"


def test_python_unhandled_exception_kind_message_and_top_frame() -> None:
    line = (
        "[ERROR] KeyError: 'user'\nTraceback (most recent call last):\n"
        '  File "/var/runtime/bootstrap.py", line 60, in handle\n    x()\n'
        '  File "/var/task/app.py", line 9, in handler\n    return event["user"]\n'
    )
    sig = signature_of_line(parse_line(line))
    assert sig == Signature("KeyError", "'<val>'", "/var/task/app.py in handler")
    assert sig.label == "KeyError: '<val>'"
    # Another line number (a deploy) is the same signature.
    moved = signature_of_line(parse_line(line.replace("line 9", "line 12")))
    assert moved.key == sig.key


def test_python_logger_exception_takes_the_last_exception_line() -> None:
    line = (
        f"[ERROR]\t2024-05-14T03:21:07.123Z\t{RID}\tcharge failed\n"
        "Traceback (most recent call last):\n"
        '  File "/var/task/pay.py", line 31, in charge\n    stripe.charge(amount)\n'
        "stripe.error.CardError: Your card was declined (charge ch_3Nx8yZ2eZvKYlo2C)\n"
    )
    sig = signature_of_line(parse_line(line))
    assert sig.kind == "stripe.error.CardError"
    assert sig.message == "Your card was declined (charge <id>)"
    assert sig.frame == "/var/task/pay.py in charge"


def test_node_invoke_error_json() -> None:
    body = {
        "errorType": "TypeError",
        "errorMessage": "Cannot read properties of undefined (reading 'id')",
        "stack": [
            "TypeError: Cannot read properties of undefined (reading 'id')",
            "    at Runtime.handler (file:///var/task/index.mjs:5:20)",
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
        ],
    }
    line = f"2024-05-14T03:21:07.123Z\t{RID}\tERROR\tInvoke Error \t{json.dumps(body)}"
    record = parse_line(line)
    assert record.request_id == RID
    sig = signature_of_line(record)
    assert sig == Signature(
        "TypeError",
        "Cannot read properties of undefined (reading '<val>')",
        "/var/task/index.mjs in Runtime.handler",
    )


def test_node_console_error_stack() -> None:
    line = (
        f"2024-05-14T03:21:07.123Z\t{RID}\tERROR\tError: upstream 502 from api.example.com\n"
        "    at fetchOrder (/var/task/orders.js:44:11)\n    at async handler (/var/task/index.js:9:3)"
    )
    sig = signature_of_line(parse_line(line))
    assert sig.kind == "" or sig.kind == "ERROR" or sig.kind == "Error"
    assert sig.message.endswith("upstream <n> from <host>")
    assert sig.frame == "/var/task/orders.js in fetchOrder"


def test_json_log_format_error_fields() -> None:
    line = json.dumps(
        {
            "timestamp": "2024-05-14T03:21:07Z",
            "level": "ERROR",
            "requestId": RID,
            "errorType": "ValueError",
            "errorMessage": "bad amount -12.50",
            "stackTrace": [
                '  File "/var/task/app.py", line 3, in handler\n    raise ValueError()\n'
            ],
        }
    )
    sig = signature_of_line(parse_line(line))
    assert sig == Signature("ValueError", "bad amount <n>", "/var/task/app.py in handler")


def test_task_timed_out() -> None:
    a = signature_of_line(
        parse_line(f"2024-05-14T03:21:07.123Z {RID} Task timed out after 3.00 seconds")
    )
    b = signature_of_line(
        parse_line(f"2024-05-14T04:21:07.123Z {RID} Task timed out after 15.01 seconds")
    )
    assert a == b == Signature("Task timed out", "Task timed out after <n> seconds")


def test_failed_report_and_plain_error_word() -> None:
    report = parse_line(
        f"REPORT RequestId: {RID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tStatus: timeout"
    )
    assert signature_of_line(report).kind == "Status: timeout"
    plain = parse_line(
        f"[ERROR]\t2024-05-14T03:21:07.123Z\t{RID}\tDB fetch failed: OperationalError: timed out"
    )
    assert signature_of_line(plain).kind == "OperationalError"
    bare = parse_line(f"[ERROR]\t2024-05-14T03:21:07.123Z\t{RID}\tsomething broke")
    assert signature_of_line(bare) == Signature("ERROR", "something broke")


def test_signature_of_a_request_is_its_first_failing_line() -> None:
    lines = [
        parse_line(f"START RequestId: {RID} Version: $LATEST", timestamp=1),
        parse_line(f"[INFO]\t2024-05-14T03:21:07.123Z\t{RID}\tGET /orders/42", timestamp=2),
        parse_line("[ERROR] RuntimeError: boom\nTraceback (most recent call last):\n", timestamp=9),
        parse_line(f"[ERROR]\t2024-05-14T03:21:07.123Z\t{RID}\tDB fetch failed", timestamp=5),
    ]
    assert signature_of(lines) == Signature("ERROR", "DB fetch failed")
    assert signature_of([]).kind == "unknown"


def _sig(n: int) -> Signature:
    return Signature(f"Error{n}", f"message {n}")


def test_tally_counts_ranks_merges_and_round_trips() -> None:
    a = Tally()
    for i in range(5):
        a.add(_sig(1), 100 + i, f"r1-{i}", "/aws/lambda/x")
    a.add(_sig(2), 50, "r2-0")
    b = Tally()
    b.add(_sig(2), 500, "r2-1", "/aws/lambda/y")
    b.add(_sig(2), 40, "r2-2")
    b.add(_sig(3), 60, "r3-0")

    both = a.merge(b)
    assert len(a) == 2 and a.total == 6  # merge leaves its inputs alone
    assert both.total == 9
    ranked = both.ranked()
    assert [e.signature for e in ranked] == [_sig(1), _sig(2), _sig(3)]
    one, two, _ = ranked
    assert (one.count, one.first_ms, one.last_ms, one.example_id) == (5, 100, 104, "r1-4")
    assert (two.count, two.first_ms, two.last_ms) == (3, 40, 500)
    assert (two.example_id, two.example_group) == ("r2-1", "/aws/lambda/y")

    again = Tally.from_json(both.to_json())
    assert again.ranked() == both.ranked()
    assert [e.signature for e in Tally.from_json(both.to_json(limit=1))] == [_sig(1)]
    assert [e.signature for e in b.new_since(a)] == [_sig(3)]


@pytest.mark.parametrize("text", ["", "nope", "[]", '{"v": 2, "s": []}', '{"v":1,"s":[[1]]}'])
def test_unreadable_tally_reads_empty(text: str) -> None:
    assert len(Tally.from_json(text)) == 0


def test_history_tells_earlier_episodes_from_this_one() -> None:
    from logthread.alarms.signature_history import earlier_sightings, with_tally

    first = Tally()
    first.add(_sig(1), 1_000, "a")
    history = with_tally({}, 900, first)
    # This episode again (a repeat): its own kinds are not "known".
    again = Tally()
    again.add(_sig(1), 1_500, "b")
    history = with_tally(history, 900, again)
    assert earlier_sightings(history, 900) == {}
    # The next episode: known, last seen in the first one; recording it keeps that.
    later = Tally()
    later.add(_sig(1), 9_000, "c")
    later.add(_sig(2), 9_100, "d")
    assert earlier_sightings(history, 5_000) == {_sig(1).key: 1_500}
    history = with_tally(history, 5_000, later)
    assert earlier_sightings(history, 5_000) == {_sig(1).key: 1_500}
    assert earlier_sightings(history, 20_000) == {_sig(1).key: 9_000, _sig(2).key: 9_100}
