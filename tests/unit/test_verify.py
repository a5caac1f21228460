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


# ---- the same answers as slack_sdk's SignatureVerifier ------------------------------------
# verify.py checks signatures on hmac alone (importing slack_sdk.signature costs the ack's cold
# start the whole Web API client); these hold it to slack_sdk's verifier on the same inputs.


def slack_sdk_answer(body: str | bytes, headers: dict[str, str], now: float) -> bool:
    from slack_sdk.signature import Clock, SignatureVerifier

    class At(Clock):
        def now(self) -> float:
            return now

    try:
        return SignatureVerifier(SECRET, clock=At()).is_valid_request(body, headers)
    except (ValueError, TypeError):  # slack_sdk raises on a non-numeric or non-ASCII header
        return False


def _cases() -> list[tuple[str, str | bytes, dict[str, str], float]]:
    good = slack_headers()
    sig = good["X-Slack-Signature"]
    return [
        ("valid", BODY, good, TS),
        ("valid bytes", BODY.encode(), good, TS),
        ("edge of the window", BODY, good, TS + 300),
        ("stale", BODY, good, TS + 301),
        ("from the future", BODY, good, TS - 301),
        ("tampered body", BODY + "&x=1", good, TS),
        ("tampered timestamp", BODY, {**good, "X-Slack-Request-Timestamp": str(TS + 1)}, TS),
        ("forged (other secret)", BODY, slack_headers(secret="forged"), TS),
        ("signature upper-cased", BODY, {**good, "X-Slack-Signature": sig.upper()}, TS),
        ("signature truncated", BODY, {**good, "X-Slack-Signature": sig[:-1]}, TS),
        ("v1 scheme", BODY, {**good, "X-Slack-Signature": "v1" + sig[2:]}, TS),
        ("non-ASCII signature", BODY, {**good, "X-Slack-Signature": sig[:-1] + "é"}, TS),
        ("no signature", BODY, {"X-Slack-Request-Timestamp": str(TS)}, TS),
        ("no timestamp", BODY, {"X-Slack-Signature": sig}, TS),
        ("word timestamp", BODY, {**good, "X-Slack-Request-Timestamp": "soon"}, TS),
        ("negative timestamp", BODY, {**good, "X-Slack-Request-Timestamp": "-1"}, TS),
        ("unicode body", "text=caf\u00e9", slack_headers("text=caf\u00e9"), TS),
        ("empty body", "", slack_headers(""), TS),
    ]


@pytest.mark.parametrize(
    ("body", "headers", "now"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()]
)
def test_same_answer_as_slack_sdk(body: str | bytes, headers: dict[str, str], now: float) -> None:
    assert verifier(now).is_valid(body, headers) == slack_sdk_answer(body, headers, now)


def test_same_signature_as_slack_sdk() -> None:
    from slack_sdk.signature import SignatureVerifier

    for body in (BODY, BODY.encode(), "", "payload=%7B%22a%22%3A1%7D", "text=caf\u00e9"):
        ours = verifier().sign(body, TS)["x-slack-signature"]
        assert ours == SignatureVerifier(SECRET).generate_signature(timestamp=str(TS), body=body)


def test_an_empty_secret_is_refused_at_construction() -> None:
    with pytest.raises(ValueError):
        RequestVerifier("  ")


def test_verifying_does_not_import_slack_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from logthread.verify import RequestVerifier\n"
        "v = RequestVerifier('s', now=lambda: 1)\n"
        "v.is_valid('b', v.sign('b', 1))\n"
        "print(sorted(m for m in sys.modules if m.startswith('slack_sdk')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
