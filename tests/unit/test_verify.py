"""Slack signature verification, with the clock injected."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from logthread.verify import RequestVerifier

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = "token=x&team_id=T1&command=%2Flogsearch&text=3f2a9c1e"
TS = 1_714_564_800


def slack_headers(body: str = BODY, ts: int = TS, secret: str = SECRET) -> dict[str, str]:
    """Signed exactly as Slack's docs describe: v0=hex(HMAC-SHA256(secret, v0:ts:body))."""
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def verifier(now: float = TS) -> RequestVerifier:
    return RequestVerifier(SECRET, now=lambda: now)


def test_valid_signature() -> None:
    assert verifier().is_valid(BODY, slack_headers())


def test_headers_are_case_insensitive() -> None:
    lowered = {k.lower(): v for k, v in slack_headers().items()}
    assert verifier().is_valid(BODY, lowered)


def test_bytes_body() -> None:
    assert verifier().is_valid(BODY.encode(), slack_headers())


def test_within_five_minutes_either_way() -> None:
    assert verifier(TS + 300).is_valid(BODY, slack_headers())
    assert verifier(TS - 300).is_valid(BODY, slack_headers())


def test_stale_and_future_requests_are_refused() -> None:
    assert not verifier(TS + 301).is_valid(BODY, slack_headers())
    assert not verifier(TS - 301).is_valid(BODY, slack_headers())


def test_replay_with_fresh_timestamp_but_old_signature_is_refused() -> None:
    headers = slack_headers()
    headers["X-Slack-Request-Timestamp"] = str(TS + 400)
    assert not verifier(TS + 400).is_valid(BODY, headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(TS)},
        {"X-Slack-Signature": slack_headers()["X-Slack-Signature"]},
        {**slack_headers(), "X-Slack-Request-Timestamp": "soon"},
        {**slack_headers(), "X-Slack-Request-Timestamp": ""},
        {**slack_headers(), "X-Slack-Signature": "v0=00"},
        {**slack_headers(), "X-Slack-Signature": ""},
        slack_headers(secret="another-secret"),
    ],
)
def test_missing_or_forged_headers_are_refused(headers: dict[str, str]) -> None:
    assert not verifier().is_valid(BODY, headers)


def test_tampered_body_is_refused() -> None:
    assert not verifier().is_valid(BODY.replace("3f2a9c1e", "3f2a9c1f"), slack_headers())


def test_sign_matches_slacks_scheme() -> None:
    signed = verifier().sign(BODY, TS)
    assert signed["x-slack-signature"] == slack_headers()["X-Slack-Signature"]


def test_credentials_from_the_environment_and_never_printed() -> None:
    from logthread.secrets import CredentialsError, bot_token, signing_secret, slack_credentials

    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t"}
    creds = slack_credentials(env)
    assert (creds.bot_token, creds.signing_secret) == ("xoxb-1", "s3cr3t")
    assert "s3cr3t" not in repr(creds) and "xoxb-1" not in repr(creds)
    assert (bot_token(env), signing_secret(env)) == ("xoxb-1", "s3cr3t")
    with pytest.raises(CredentialsError, match="SLACK_SIGNING_SECRET"):
        signing_secret({})
    with pytest.raises(CredentialsError, match="SLACK_BOT_TOKEN"):
        bot_token({})
