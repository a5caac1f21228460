"""Slack credentials: the bot token and the signing secret.

* In AWS, ``SLACK_SECRET_ARN`` names a Secrets Manager secret holding JSON
  ``{"bot_token": "xoxb-…", "signing_secret": "…"}``, read through Powertools
  Parameters and cached for ``max_age`` seconds (so a warm function does not call
  Secrets Manager per request, and a rotated secret is picked up within minutes).
* Locally and in tests, ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET``, as
  Slack's own tools name them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_AGE = 300


class CredentialsError(RuntimeError):
    """Credentials are missing or malformed; the message names what is missing."""


@dataclass(frozen=True, slots=True)
class SlackCredentials:
    bot_token: str
    signing_secret: str

    def __repr__(self) -> str:  # never print secrets in logs or tracebacks
        return "SlackCredentials(bot_token=***, signing_secret=***)"


def slack_credentials(
    env: Mapping[str, str] | None = None, *, max_age: int = DEFAULT_MAX_AGE, lean: bool = False
) -> SlackCredentials:
    """Read the Slack credentials from Secrets Manager or the environment.

    Parameters
    ----------
    env:
        The environment to read (default ``os.environ``).
    max_age:
        Seconds Powertools Parameters caches the secret.
    lean:
        Read the secret once through :mod:`logthread.sigv4` (no boto3) when the
        environment holds keys, as Lambda's does: the ingress, which reads it once
        per process at init, on the cold path Slack waits for.

    Raises
    ------
    CredentialsError
        When the secret or a variable is missing or lacks a key.
    """
    env = os.environ if env is None else env
    arn = env.get("SLACK_SECRET_ARN", "")
    if not arn:
        return SlackCredentials(env.get("SLACK_BOT_TOKEN", ""), env.get("SLACK_SIGNING_SECRET", ""))
    data = _lean_document(arn, env) if lean else None
    if data is None:
        data = _document(arn, max_age)
    if not isinstance(data, dict):
        raise CredentialsError("SLACK_SECRET_ARN: the secret must be a JSON object")
    missing = [k for k in ("bot_token", "signing_secret") if not data.get(k)]
    if missing:
        raise CredentialsError(f"SLACK_SECRET_ARN: the secret lacks {', '.join(missing)}")
    return SlackCredentials(str(data["bot_token"]), str(data["signing_secret"]))


def _document(arn: str, max_age: int) -> object:
    # Imported here: Parameters costs ~100 ms of import that local runs never need.
    from aws_lambda_powertools.utilities import parameters

    try:
        return parameters.get_secret(arn, transform="json", max_age=max_age)
    except parameters.GetParameterError as exc:
        raise CredentialsError(f"SLACK_SECRET_ARN: cannot read the secret: {exc}") from None
    except parameters.TransformParameterError:
        raise CredentialsError("SLACK_SECRET_ARN: the secret is not JSON") from None


def _lean_document(arn: str, env: Mapping[str, str]) -> object | None:
    """The secret's JSON through SigV4 alone; ``None`` without keys in ``env``."""
    import json

    from logthread import sigv4

    target = sigv4.from_env("secretsmanager", env)
    if target is None:
        return None
    try:
        text = sigv4.get_secret_string(target, arn)
    except (sigv4.AwsError, OSError) as exc:
        raise CredentialsError(f"SLACK_SECRET_ARN: cannot read the secret: {exc}") from None
    try:
        return json.loads(text)
    except ValueError:
        raise CredentialsError("SLACK_SECRET_ARN: the secret is not JSON") from None


def signing_secret(env: Mapping[str, str] | None = None, *, lean: bool = False) -> str:
    """The signing secret (the ingress needs nothing else; ``lean`` as for slack_credentials)."""
    secret = slack_credentials(env, lean=lean).signing_secret
    if not secret:
        raise CredentialsError("set SLACK_SIGNING_SECRET (or SLACK_SECRET_ARN)")
    return secret


def bot_token(env: Mapping[str, str] | None = None) -> str:
    """The bot token (the worker needs nothing else)."""
    token = slack_credentials(env).bot_token
    if not token:
        raise CredentialsError("set SLACK_BOT_TOKEN (or SLACK_SECRET_ARN)")
    return token
