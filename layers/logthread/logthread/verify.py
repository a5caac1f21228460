"""Slack request verification: the signature and its 5-minute window.

A thin layer over :class:`slack_sdk.signature.SignatureVerifier` (HMAC-SHA256
over ``v0:{timestamp}:{body}``). Its clock is injectable so tests are exact.
The only answer is yes or no: callers refuse with an empty 401 and never say why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from slack_sdk.signature import Clock, SignatureVerifier

# Slack refuses requests older than 5 minutes; SignatureVerifier applies the same window.
WINDOW_SECONDS = 300


class _FnClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class RequestVerifier:
    """Checks Slack's signature headers on a raw request body.

    Parameters
    ----------
    signing_secret:
        The app's signing secret.
    now:
        Clock returning epoch seconds; defaults to the wall clock.
    """

    def __init__(self, signing_secret: str, now: Callable[[], float] | None = None) -> None:
        clock = Clock() if now is None else _FnClock(now)
        self._verifier = SignatureVerifier(signing_secret, clock=clock)

    def is_valid(self, body: str | bytes, headers: Mapping[str, str]) -> bool:
        """True when the signature matches and the timestamp is within 5 minutes.

        Missing, non-numeric or stale timestamps and missing signatures are all
        simply invalid (SignatureVerifier itself would raise on a non-numeric one).
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        timestamp = lowered.get("x-slack-request-timestamp", "")
        signature = lowered.get("x-slack-signature", "")
        if not timestamp or not signature or not timestamp.strip().isdigit():
            return False
        try:
            return self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        except (ValueError, TypeError):
            return False

    def sign(self, body: str | bytes, timestamp: int | str) -> dict[str, str]:
        """Headers Slack would send for ``body`` at ``timestamp`` (tests, bench, demo)."""
        ts = str(timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        return {"x-slack-request-timestamp": ts, "x-slack-signature": signature or ""}
