"""The ``/logsearch`` command grammar.

::

    /logsearch <requestId> [in <function-or-log-group>[,…]]
               [last <duration> | from <time> to <time>] [context <n>]
    /logsearch help

* ``<requestId>``: a full Lambda request id or a prefix of at least 8 characters
  (checked by :func:`logthread.ids.validate_request_id`).
* Targets: a leading ``/`` makes a log group name (or name prefix, or ``/prefix*``
  for every group under it); anything else
  is a Lambda function name, searched in ``/aws/lambda/<name>``. ``<account>:`` before
  a target (an id, or a name from ``accounts``) searches a linked source account. No
  target means every log group the caller may read, in every allowed account
  (``access.log_group_prefixes``, ``access.accounts``).
* ``last``: ``30s``, ``15m``, ``2h``, ``3d``, ``1w`` (or ``15 min``, ``2 hours``).
* ``from … to …``: ISO 8601 (``2024-05-01T12:00:00Z``, ``2024-05-01 12:00``),
  ``HH:MM[:SS]`` (today, or yesterday if that is still ahead), or epoch seconds or
  milliseconds. Times without a zone are UTC.
* ``context <n>``: neighbouring lines around each line of the request.

Parsing is pure (the clock is an argument) and strict: anything it does not
understand is refused with a message that says what was wrong, so nothing a
user types ever reaches a filter pattern unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from logthread.bounds import MAX_CONTEXT, MAX_WINDOW_MS
from logthread.loggroups import is_account_id, join_target, split_target
from logthread.mrkdwn import escape
from logthread.query import TimeWindow

USAGE = (
    "*Usage:* `/logsearch <requestId> [in <function-or-log-group>[,…]] "
    "[last <duration> | from <time> to <time>] [context <n>]`\n"
    "• `<requestId>`: the full id, or its first 8+ characters\n"
    "• `in`: Lambda function names, or log groups starting with `/` (comma separated); "
    "`prod:checkout-api` searches the account *prod*\n"
    "• `last 30m` · `last 2h` · `last 3d` — or `from 2024-05-01T12:00Z to 2024-05-01T12:30Z` "
    "(times without a zone are UTC)\n"
    "• `context 5`: add 5 neighbouring lines around each line\n"
    "Example: `/logsearch 3f2a9c1e in checkout-api last 2h`"
)

MAX_TEXT = 1000
MAX_TARGETS = 10
KEYWORDS = frozenset({"in", "last", "from", "to", "context"})

# Lambda function names: letters, digits, hyphens, underscores, at most 64 chars.
_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
# CloudWatch Logs group names: [.-_/#A-Za-z0-9], at most 512 chars; a trailing
# ``*`` asks for every group under that prefix.
_LOG_GROUP = re.compile(r"/[A-Za-z0-9_./#-]{0,510}\*?")
# An account before a target: a 12-digit id or a configured name (``prod``, ``eu-staging``).
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DURATION = re.compile(r"(\d{1,6})\s*([a-z]+)")
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1_000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60_000),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600_000),
    **dict.fromkeys(("d", "day", "days"), 86_400_000),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86_400_000),
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?Z?", re.IGNORECASE)


class CommandError(ValueError):
    """The command text does not parse; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class HelpCommand:
    """``/logsearch help`` (or no text at all)."""


@dataclass(frozen=True, slots=True)
class SearchCommand:
    """A parsed ``/logsearch`` search."""

    request_id: str
    functions: tuple[str, ...] = ()
    log_groups: tuple[str, ...] = ()
    window: TimeWindow | None = None
    context_lines: int | None = None  # None = the configured default


def quote(text: str, limit: int = 40) -> str:
    """``text`` made safe to echo back in Slack mrkdwn: escaped and shortened.

    Slack reads ``<!channel>``, ``<@U…>`` and links from ``<…>``; escaping ``&``,
    ``<`` and ``>`` (as Slack itself asks) makes an echoed token inert.
    """
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return "`" + escape(short).replace("`", "'") + "`"


def parse_command(text: str, *, now_ms: int) -> HelpCommand | SearchCommand:
    """Parse the text after ``/logsearch``.

    Parameters
    ----------
    text:
        The slash command's ``text`` field.
    now_ms:
        The current time in epoch milliseconds (``last`` and ``HH:MM`` use it).

    Returns
    -------
    HelpCommand | SearchCommand

    Raises
    ------
    CommandError
        With a message meant for the user.
    """
    from logthread.ids import validate_request_id

    if len(text) > MAX_TEXT:
        raise CommandError(f"the command is too long (over {MAX_TEXT} characters).")
    tokens = text.split()
    if not tokens or (len(tokens) == 1 and tokens[0].lower() in {"help", "-h", "--help", "?"}):
        return HelpCommand()
    first = tokens[0]
    if first.lower() in KEYWORDS:
        raise CommandError(f"the request id comes first, before {quote(first)}.")
    try:
        request_id = validate_request_id(first)
    except ValueError as exc:
        raise CommandError(f"{quote(first)} is not a request id: {exc}") from None

    targets: list[str] | None = None
    window: TimeWindow | None = None
    context: int | None = None
    seen: set[str] = set()
    i = 1
    while i < len(tokens):
        word = tokens[i].lower()
        if word == "to":
            raise CommandError("`to` needs a `from <time>` before it.")
        if word not in KEYWORDS:
            raise CommandError(f"I don't understand {quote(tokens[i])} here.")
        if word in seen:
            raise CommandError(f"`{word}` is given twice.")
        seen.add(word)
        args, i = _args(tokens, i + 1)
        if word == "in":
            targets = _targets(args)
        elif word == "last":
            if "from" in seen:
                raise CommandError("use either `last` or `from … to …`, not both.")
            span = _duration(args)
            window = TimeWindow(now_ms - span, now_ms)
        elif word == "from":
            if "last" in seen:
                raise CommandError("use either `last` or `from … to …`, not both.")
            if i >= len(tokens) or tokens[i].lower() != "to":
                raise CommandError("`from <time>` needs `to <time>` after it.")
            end_args, i = _args(tokens, i + 1)
            window = _range(args, end_args, now_ms)
        else:
            context = _context(args)

    functions = tuple(t for t in targets or () if not split_target(t)[1].startswith("/"))
    log_groups = tuple(t for t in targets or () if split_target(t)[1].startswith("/"))
    return SearchCommand(request_id, functions, log_groups, window, context)


def _args(tokens: list[str], i: int) -> tuple[list[str], int]:
    """Tokens up to the next keyword."""
    args = []
    while i < len(tokens):
        if tokens[i].lower() in KEYWORDS:
            break
        args.append(tokens[i])
        i += 1
    return args, i


def _targets(args: list[str]) -> list[str]:
    names = [n for n in ",".join(args).split(",") if n]
    if not names:
        raise CommandError("`in` needs a function name or a log group (starting with `/`).")
    return validate_targets(names)


def validate_targets(names: list[str], most: int = MAX_TARGETS) -> list[str]:
    """Check function names and log groups (``/…``), each optionally preceded by an
    account (``<account>:``, an id or a name); return them de-duplicated.

    Also used on button values, which a client could have edited; ``most`` is
    higher there, for a search without a target carries every allowed prefix of
    every allowed account.

    Raises
    ------
    CommandError
        Naming the first bad target.
    """
    if len(names) > most:
        raise CommandError(f"at most {most} functions or log groups per search.")
    out: list[str] = []
    for target in names:
        account, name = split_target(target)
        if (account or target.startswith(":")) and not _ACCOUNT.fullmatch(account):
            raise CommandError(
                f"{quote(account)} is not an account: its 12-digit id, or its name "
                "(letters, digits, `_ - .`)."
            )
        if name.startswith("/"):
            if not _LOG_GROUP.fullmatch(name):
                raise CommandError(
                    f"{quote(name)} is not a log group name (letters, digits and `_ - . / #` only)."
                )
        elif not _FUNCTION.fullmatch(name):
            raise CommandError(
                f"{quote(name)} is not a Lambda function name (letters, digits, `-` and `_`, "
                "at most 64); log groups start with `/`."
            )
        if target not in out:
            out.append(target)
    return out


def resolve_accounts(
    targets: Iterable[str], names: Mapping[str, str], own_account: str = ""
) -> tuple[str, ...]:
    """Targets with their account named by id: ``prod:api`` → ``210987654321:api``.

    ``names`` is the configuration's ``accounts`` (id → name). A target in
    ``own_account`` loses its account: the own account's groups go by plain names.
    Whether the account may be read is :mod:`logthread.authz`'s question, not this one's.

    Raises
    ------
    CommandError
        For an account that is neither an id nor a configured name.
    """
    by_name = {name: account_id for account_id, name in names.items()}
    out: list[str] = []
    for target in targets:
        account, rest = split_target(target)
        if account and not is_account_id(account):
            if account not in by_name:
                known = ", ".join(quote(n) for n in sorted(by_name)[:10]) or "none configured"
                raise CommandError(f"I don't know the account {quote(account)} (names: {known}).")
            account = by_name[account]
        out.append(join_target("" if account == own_account else account, rest))
    return tuple(dict.fromkeys(out))


def _duration(args: list[str]) -> int:
    text = " ".join(args).lower()
    match = _DURATION.fullmatch(text)
    if not args or not match or match.group(2) not in _UNITS:
        raise CommandError(
            f"`last` needs a duration such as `30m`, `2h` or `3d`, not {quote(text or 'nothing')}."
        )
    span = int(match.group(1)) * _UNITS[match.group(2)]
    if span <= 0:
        raise CommandError("`last` needs a duration longer than zero.")
    if span > MAX_WINDOW_MS:
        raise CommandError(f"`last` can look back at most {MAX_WINDOW_MS // 86_400_000} days.")
    return span


def _range(start_args: list[str], end_args: list[str], now_ms: int) -> TimeWindow:
    start = _time(start_args, now_ms, "from")
    end = _time(end_args, now_ms, "to")
    if end <= start:
        raise CommandError("the `to` time must come after the `from` time.")
    if start > now_ms:
        raise CommandError("the `from` time is in the future.")
    if end - start > MAX_WINDOW_MS:
        raise CommandError(f"a time range can span at most {MAX_WINDOW_MS // 86_400_000} days.")
    return TimeWindow(start, end)


def _time(args: list[str], now_ms: int, keyword: str) -> int:
    """Epoch milliseconds of a ``from``/``to`` time (see the module docstring)."""
    text = " ".join(args)
    bad = CommandError(
        f"`{keyword}` needs a time such as `2024-05-01T12:00Z`, `12:00` or epoch seconds, "
        f"not {quote(text or 'nothing')}."
    )
    if not text:
        raise bad
    if text.isdigit() and text.isascii():
        value = int(text)
        # 13 digits are milliseconds; 10 are seconds (both cover 2001..2286).
        return value if value >= 100_000_000_000 else value * 1000
    clock = _CLOCK.fullmatch(text)
    if clock:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise bad
        today = datetime.fromtimestamp(now_ms / 1000, UTC).replace(
            hour=hour, minute=minute, second=second, microsecond=0
        )
        if today.timestamp() * 1000 > now_ms:
            today -= timedelta(days=1)
        return int(today.timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _context(args: list[str]) -> int:
    text = " ".join(args)
    if len(args) != 1 or not (text.isdigit() and text.isascii()):
        raise CommandError(
            f"`context` needs a number of lines such as `5`, not {quote(text or 'nothing')}."
        )
    lines = int(text)
    if lines > MAX_CONTEXT:
        raise CommandError(f"`context` can add at most {MAX_CONTEXT} lines.")
    return lines
