"""``logthread search`` end to end: argv in, text or JSON out, exit codes, against moto over HTTP."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from logthread import aws
from logthread.cli import EXIT_ERROR, EXIT_FOUND, EXIT_NOT_FOUND, _Progress, main, use_color
from logthread_local.aws import reset_moto
from logthread_local.seed import SEED_REQUEST_ID, seed

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def seeded(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    """The fixtures, loaded once for this module: every test here only reads them."""
    reset_moto(moto_endpoint)
    # The CLI's "now" is the clock, so the fixtures are placed relative to it too
    # (the seed keeps "today" streams after 00:00 UTC).
    yield seed(boto3.client("logs", endpoint_url=moto_endpoint), now_ms=int(time.time() * 1000))
    reset_moto(moto_endpoint)


@pytest.fixture
def cli(
    moto_endpoint: str, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Iterator[Any]:
    """Run ``logthread ARGS`` as a user would, with AWS_ENDPOINT_URL at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("NO_COLOR", raising=False)
    aws.client.cache_clear()  # the process-wide client must see this endpoint

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    aws.client.cache_clear()


def test_seed_case_prints_start_to_report_in_order(cli: Any) -> None:
    code, out, err = cli("search", "12345678", "-f", "HogeService")
    assert code == EXIT_FOUND
    assert not ANSI.search(out)  # not a terminal: no colour
    rows = [line for line in out.splitlines() if re.match(r"^[ ·]\s+[+-]\d+\.\d{3}s", line)]
    assert rows[0].split()[2] == "START" and rows[-1].split()[2] == "REPORT"
    labels = [row.split()[2] for row in rows]
    assert labels == [
        "START",
        "INFO",
        "INFO",
        "-",
        "WARN",
        "WARN",
        "ERROR",
        "ERROR",
        "END",
        "REPORT",
    ]
    assert "DB fetch failed" in out
    assert SEED_REQUEST_ID in out.splitlines()[0]
    assert "/aws/lambda/HogeService  " in out
    assert "API calls: FilterLogEvents 1, GetLogEvents 1" in out
    assert err == ""


def test_json_output(cli: Any) -> None:
    code, out, _ = cli("search", SEED_REQUEST_ID, "-f", "HogeService", "--json")
    assert code == EXIT_FOUND
    data = json.loads(out)
    assert data["found"] and data["request_ids"] == [SEED_REQUEST_ID]
    assert data["records"][0]["kind"] == "start"
    assert data["api_calls"] == {"FilterLogEvents": 1, "GetLogEvents": 1}


def test_not_found_exits_1(cli: Any) -> None:
    code, out, err = cli("search", "deadbeef-0000-4000-8000-000000000000", "-f", "HogeService")
    assert code == EXIT_NOT_FOUND and out == ""
    assert "no log lines for deadbeef" in err


def test_not_found_json_still_prints_the_result(cli: Any) -> None:
    code, out, _ = cli("search", "deadbeef", "-f", "HogeService", "--json")
    assert code == EXIT_NOT_FOUND and json.loads(out)["found"] is False


def test_explicit_window_that_misses_the_request(cli: Any) -> None:
    code, _, _ = cli(
        "search",
        SEED_REQUEST_ID,
        "-f",
        "HogeService",
        "--start",
        "2020-01-01",
        "--end",
        "2020-01-02",
    )
    assert code == EXIT_NOT_FOUND


def test_since(cli: Any) -> None:
    code, out, _ = cli("search", SEED_REQUEST_ID, "-g", "/aws/lambda/HogeService", "--since", "2h")
    assert code == EXIT_FOUND and "REPORT" in out


def test_missing_group_warns_on_stderr(cli: Any) -> None:
    code, _, err = cli("search", SEED_REQUEST_ID, "-f", "HogeService", "-f", "Nope")
    assert code == EXIT_FOUND
    assert "no such log group: /aws/lambda/Nope" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["search", 'x" OR "y'], "may only contain"),
        (["search", "1234567"], "too short"),
        (["search", "12345678", "--end", "now"], "--end needs --start"),
        (["search", "12345678", "--since", "soon"], "not a duration"),
        (["search", "12345678", "-f", "bad/name"], "not a Lambda function"),
    ],
)
def test_errors_exit_2_with_a_message(cli: Any, argv: list[str], words: str) -> None:
    code, out, err = cli(*argv)
    assert code == EXIT_ERROR and out == ""
    assert err.startswith("logthread: error:") and words in err


def test_usage_errors_exit_2(cli: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("search", "12345678", "--since", "2h", "--start", "-1h")
    assert exc.value.code == EXIT_ERROR
    with pytest.raises(SystemExit) as exc:
        cli()
    assert exc.value.code == EXIT_ERROR


def test_no_credentials_is_an_error(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws._session.cache_clear()
    try:
        code, _, err = cli("search", SEED_REQUEST_ID, "-f", "HogeService")
    finally:
        aws._session.cache_clear()
    assert code == EXIT_ERROR and "credentials" in err.lower()


def test_colour_only_when_asked_or_on_a_terminal(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("search", "12345678", "-f", "HogeService", "--color", "always")
    assert code == EXIT_FOUND and "\x1b[1;31mERROR" in out

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert use_color(Terminal()) and not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Terminal())


def test_context_and_cap_are_shown(cli: Any) -> None:
    code, out, _ = cli(
        "search", "12345678", "-f", "HogeService", "--context", "2", "--max-lines", "8"
    )
    assert code == EXIT_FOUND
    assert "more lines not shown" in out
    assert any(line.startswith("·") for line in out.splitlines())


def test_progress_line_erases_itself() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = _Progress(stream, enabled=True)
    progress.update("/aws/lambda/HogeService: 2024-05-01")
    assert "searching…" in stream.getvalue() and "HogeService" in stream.getvalue()
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K")
    quiet = _Progress(stream := Terminal(), enabled=False)
    quiet.update("x")
    quiet.clear()
    assert stream.getvalue() == ""
