"""Request ids and targets: validated before they go near a filter pattern or a query.

A request id reaches CloudWatch inside a quoted filter term (``"<id>"``) and
inside a Logs Insights query string. Both languages give meaning to quotes,
spaces, slashes, pipes and percent signs, so an id is accepted only when it is
made of letters, digits, ``-`` and ``_`` (an allowlist, not an escape) and is
of bounded length. Nothing else is ever interpolated.

Three kinds of id are understood:

- a full Lambda request id (a UUID), e.g. ``12345678-aaaa-bbbb-cccc-1234567890ab``;
- a prefix of one, at least :data:`MIN_PREFIX` characters, e.g. ``12345678``;
- an X-Ray trace id, ``1-5759e988-bd862e3fe1be46a994272793`` (``Root=`` and the
  ``;Parent=...`` tail of a trace header are accepted and dropped). Its second
  part is the trace's start time in hex epoch seconds, which centres the window.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MIN_PREFIX = 8
MAX_LENGTH = 64

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
TRACE_RE = re.compile(r"^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$")
_ALLOWED_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Any complete prefix of the UUID shape: used to decide whether a prefix must
# extend to a whole UUID in the line (see line_matcher).
_UUID_PREFIX_RE = re.compile(
    r"^[0-9a-fA-F]{1,8}(-[0-9a-fA-F]{0,4}(-[0-9a-fA-F]{0,4}(-[0-9a-fA-F]{0,4}(-[0-9a-fA-F]{0,12})?)?)?)?$"
)
_UUID_IN_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LOG_GROUP_RE = re.compile(r"^[A-Za-z0-9._/#-]{1,512}$")


class InvalidRequestId(ValueError):
    """The text cannot be searched for safely; the message says why."""


def validate_request_id(text: str) -> str:
    """Return the canonical id to search for, or raise :class:`InvalidRequestId`.

    Parameters
    ----------
    text:
        What the user typed: a request id, a prefix of at least 8 characters,
        an X-Ray trace id, or a trace header (``Root=1-...;Parent=...``).

    Returns
    -------
    str
        The id, stripped of surrounding whitespace, quotes and trace-header parts.

    Raises
    ------
    InvalidRequestId
        For anything outside the allowlist ``[A-Za-z0-9_-]``, shorter than 8 or
        longer than 64 characters.
    """
    if not isinstance(text, str):
        raise InvalidRequestId("a request id must be text")
    value = text.strip().strip("`'\"").strip()
    if value.startswith("Root="):
        value = value[len("Root=") :].split(";", 1)[0]
    if not value:
        raise InvalidRequestId("give a request id (or a prefix of at least 8 characters)")
    if len(value) > MAX_LENGTH:
        raise InvalidRequestId(f"a request id is at most {MAX_LENGTH} characters long")
    if not _ALLOWED_RE.match(value):
        raise InvalidRequestId(
            "a request id may only contain letters, digits, '-' and '_' "
            "(and must start with a letter or digit)"
        )
    if len(value) < MIN_PREFIX:
        raise InvalidRequestId(
            f"{value!r} is too short: give the full request id or at least {MIN_PREFIX} characters"
        )
    return value


def is_full_request_id(value: str) -> bool:
    """True for a complete Lambda request id (a UUID)."""
    return bool(UUID_RE.match(value))


def is_trace_id(value: str) -> bool:
    """True for an X-Ray trace id ``1-<8 hex time>-<24 hex>``."""
    return bool(TRACE_RE.match(value))


def id_kind(value: str) -> str:
    """``"uuid"``, ``"trace"`` or ``"prefix"`` for a validated id."""
    if is_full_request_id(value):
        return "uuid"
    if is_trace_id(value):
        return "trace"
    return "prefix"


def trace_time_ms(value: str) -> int | None:
    """The start time encoded in an X-Ray trace id, in epoch ms (None if not a trace id)."""
    m = TRACE_RE.match(value)
    return int(m.group(1), 16) * 1000 if m else None


def filter_term(value: str) -> str:
    """The quoted FilterLogEvents term for a validated id.

    CloudWatch matches unstructured lines term by term, and ``-`` separates
    terms, so a prefix that ends inside a segment (``12345678-aa``) is cut back
    to its complete segments (``"12345678"``) for the server; the whole prefix
    is then checked on each returned line. A term with a hyphen must be quoted.
    """
    value = validate_request_id(value)
    term = value
    if id_kind(value) == "prefix" and "-" in value:
        head, _, _tail = value.rpartition("-")
        if len(head) >= MIN_PREFIX:
            term = head
    return f'"{term}"'


def insights_term(value: str) -> str:
    """The Logs Insights ``filter @message like "..."`` operand for a validated id."""
    return f'"{validate_request_id(value)}"'


def line_matcher(value: str) -> Callable[[str], bool]:
    """A predicate telling whether a raw log line really contains the id.

    Server-side filtering is approximate (and moto's more so), so every line is
    checked here. A full id or trace id must stand alone (no letter or digit on
    either side). A prefix must start a token; when it has the shape of the
    start of a UUID, the token must be a whole UUID, so ``order 123456789``
    does not match the prefix ``12345678``.
    """
    value = validate_request_id(value)
    kind = id_kind(value)
    escaped = re.escape(value)
    if kind in ("uuid", "trace"):
        pattern = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
    elif _UUID_PREFIX_RE.match(value):
        pattern = rf"(?<![A-Za-z0-9])(?={escaped}){_UUID_IN_TEXT}(?![A-Za-z0-9])"
    else:
        pattern = rf"(?<![A-Za-z0-9]){escaped}"
    regex = re.compile(pattern)
    return lambda line: regex.search(line) is not None


def ids_in_line(value: str, line: str) -> list[str]:
    """The full ids in ``line`` that the validated ``value`` designates (for a prefix)."""
    value = validate_request_id(value)
    if id_kind(value) != "prefix":
        return [value] if line_matcher(value)(line) else []
    found = re.findall(rf"(?<![A-Za-z0-9]){re.escape(value)}[A-Za-z0-9-]*", line)
    return [f for f in found if not _UUID_PREFIX_RE.match(value) or UUID_RE.match(f)]


def function_log_group(name: str) -> str:
    """``/aws/lambda/<name>`` for a function name, partial ARN or full ARN.

    A qualifier (``:alias`` or ``:version``) is dropped: every version of a
    function logs to the same group.

    Raises
    ------
    ValueError
        When the name is not a valid Lambda function name.
    """
    text = name.strip()
    if text.startswith("arn:"):
        parts = text.split(":")
        # arn:aws:lambda:region:account:function:name[:qualifier]
        if len(parts) < 7 or parts[5] != "function":
            raise ValueError(f"not a Lambda function ARN: {name!r}")
        text = parts[6]
    else:
        text = text.split(":", 1)[0]
    if not _FUNCTION_NAME_RE.match(text):
        raise ValueError(
            f"not a Lambda function name: {name!r} (letters, digits, '-' and '_', up to 64)"
        )
    return f"/aws/lambda/{text}"


def validate_log_group(name: str) -> str:
    """A log group name or name prefix (``*`` at the end forces prefix matching).

    Raises
    ------
    ValueError
        When the text holds characters CloudWatch does not allow in group names.
    """
    text = name.strip()
    body = text[:-1] if text.endswith("*") else text
    if not _LOG_GROUP_RE.match(body):
        raise ValueError(
            f"not a log group name: {name!r} (letters, digits and . _ / # - only, up to 512)"
        )
    return text
