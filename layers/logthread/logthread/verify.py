"""Slack request verification: the signature and its 5-minute window.

Slack's scheme, as :class:`slack_sdk.signature.SignatureVerifier` implements it:
``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` under the signing secret,
refused when the timestamp is more than 5 minutes from now. Written here on
``hmac`` alone because importing ``slack_sdk.signature`` runs the package's
``__init__``, which imports the whole Web API client (tens of milliseconds of the
ack's cold start). ``tests/unit/test_verify.py`` holds it to SignatureVerifier's
answers on the same inputs. The clock is injectable so tests are exact. The only
answer is yes or no: callers refuse with an empty 401 and never say why.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

# Slack refuses requests older than 5 minutes; so does SignatureVerifier, and so do we.
WINDOW_SECONDS = 300


class RequestVerifier:
    """Checks Slack's signature headers on a raw request body.

    Parameters
    ----------
    signing_secret:
        The app's signing secret (not empty).
    now:
        Clock returning epoch seconds; defaults to the wall clock.
    """

    def __init__(self, signing_secret: str, now: Callable[[], float] | None = None) -> None:
        if not isinstance(signing_secret, str) or not signing_secret.strip():
            raise ValueError("signing_secret must be a non-empty string")
        self._key = signing_secret.encode()
        self._now = time.time if now is None else now

    def is_valid(self, body: str | bytes, headers: Mapping[str, str]) -> bool:
        """True when the signature matches and the timestamp is within 5 minutes.

        Missing, non-numeric or stale timestamps and missing signatures are all
        simply invalid.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        timestamp = lowered.get("x-slack-request-timestamp", "")
        signature = lowered.get("x-slack-signature", "")
        if not timestamp or not signature or not timestamp.strip().isdigit():
            return False
        if not timestamp.strip().isascii():
            return False
        if abs(self._now() - int(timestamp)) > WINDOW_SECONDS:
            return False
        try:
            expected = self._signature(body, timestamp).encode()
            return hmac.compare_digest(expected, signature.encode())
        except UnicodeError:  # a body that is not UTF-8, or a header no signature could be
            return False

    def sign(self, body: str | bytes, timestamp: int | str) -> dict[str, str]:
        """Headers Slack would send for ``body`` at ``timestamp`` (tests, bench, demo)."""
        ts = str(timestamp)
        return {"x-slack-request-timestamp": ts, "x-slack-signature": self._signature(body, ts)}

    def _signature(self, body: str | bytes, timestamp: str) -> str:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        base = f"v0:{timestamp}:{text}".encode()
        return "v0=" + hmac.new(self._key, base, hashlib.sha256).hexdigest()
