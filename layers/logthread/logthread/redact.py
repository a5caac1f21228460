"""Redaction: hide secrets in log text before any of it leaves for Slack.

Every log line logthread posts passes through :meth:`Redactor.redact` first.
The built-in patterns cover AWS access key ids and secret keys, Slack tokens
and webhook URLs, JWTs, ``Bearer``/``Basic`` credentials, passwords, secrets,
tokens and API keys written as ``key=value``, ``key: value`` or JSON (also
JSON escaped inside another JSON string), PEM private keys and passwords in
connection strings. Configured patterns (``config.redaction``) run on top.

A hidden value is replaced by a marker that keeps its name readable, so the
reader still sees *what* was there::

    password=[REDACTED]            "token": "[REDACTED]"
    AKIA…[REDACTED:aws-access-key]   postgres://app:[REDACTED]@db:5432/orders

Why it is built this way:

- It runs on every posted line. Each built-in is its own compiled regex, run
  only when the line holds a substring that pattern cannot match without
  (``pass``/``token``/``secret``... for key=value, ``eyJ`` for JWTs, ``://``
  for connection strings...), so most lines cost a few substring checks and
  no regex at all. Measured (``make bench``): one combined alternation is
  slower in CPython's ``re`` than separate passes, because it defeats the
  engine's literal-prefix scan; so passes are not combined.
- Log text is attacker-influenced (request bodies get logged), so every
  pattern is written to stay linear: possessive quantifiers, no nested
  unbounded repetition that can backtrack.
- Redaction must never be the reason a notification is lost, and must never
  fail open: :meth:`Redactor.redact` does not raise, and if something inside
  it ever did, the whole text is withheld rather than posted unredacted.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from logthread.config import RedactionPattern

if TYPE_CHECKING:
    from logthread.config import Config

__all__ = ["REDACTED", "Redactor", "from_config", "marker"]

REDACTED = "[REDACTED]"
WITHHELD = "[REDACTED:withheld - redaction failed]"


def marker(name: str) -> str:
    """The text that replaces a value hidden by the pattern ``name``."""
    return f"[REDACTED:{name}]"


# Key names whose value is hidden, matched case-insensitively at the END of
# the key (db_password, clientSecret, X-Api-Key, AWS_SESSION_TOKEN...). An "_"
# stands for any of "_", "-", "." or nothing.
_SENSITIVE_NAMES = (
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "secret",
    "secrets",
    "secret_key",
    "secret_access_key",
    "secret_string",
    "secret_value",
    "private_key",
    "token",
    "api_key",
    "access_key",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "signature",
    "cookie",
)

# Values that hide nothing; leaving them visible keeps lines readable and makes
# redaction idempotent.
_EMPTY_VALUES = frozenset({"", "null", "none", "nil", "true", "false", "undefined"})


def _name_variants(name: str) -> list[str]:
    parts = name.split("_")
    return [
        "".join(itertools.chain.from_iterable(zip(parts, (*seps, ""), strict=True)))
        for seps in itertools.product(("_", "-", ".", ""), repeat=len(parts) - 1)
    ]


def _key_words() -> str:
    """The sensitive names, starting with a plain character class.

    sre checks an alternative's first character cheaply only when it is a
    literal or a class (not a group, a lookbehind or a case-insensitive
    literal), so the class comes first and the rest is chosen by lookbehind.
    """
    by_first: dict[str, set[str]] = {}
    for name in _SENSITIVE_NAMES:
        for v in _name_variants(name):
            by_first.setdefault(v[0], set()).add(v[1:])
    first = "".join(sorted(by_first) + sorted(c.upper() for c in by_first))
    alts = "|".join(
        f"(?<={c})(?:"
        + "|".join(re.escape(t) for t in sorted(tails, key=lambda t: (-len(t), t)))
        + ")"
        for c, tails in sorted(by_first.items())
    )
    return f"[{first}](?ai:{alts})"


# Every pattern below starts with a literal or a plain class, which sre scans
# for quickly (a group, a lookbehind or a case-insensitive first character
# would make it try every position); lookbehinds for "not inside a longer
# word" come after the first character for that reason. Each ends with an
# empty named group: it closes last, so ``lastgroup`` names the pattern.

# A quoted value: ``qb`` is the run of backslashes before the opening quote (0
# for JSON, 1 for JSON escaped inside a JSON string, 3 one level deeper). At
# depth with ``k`` backslashes, a run of ``n`` backslashes before a quote ends
# the string exactly when ``n % (2k + 2) == k``: the run's leading groups of
# 2k + 2 are escaped backslashes (content), the last ``k`` and the quote close.
_GROUPS = r"(?:(?P=kvqb)(?P=kvqb)\\\\)"
_DELIM = r"(?P=kvqb)(?P=kvqc)"
_QUOTED = (
    r"(?P<kvqb>\\*+)(?P<kvqc>[\"'])(?P<kvq>(?:"
    r"[^\\\"'\r\n]++"
    r"|" + _GROUPS + r"++(?=" + _DELIM + r")"
    r"|(?!" + _GROUPS + r"*+" + _DELIM + r")\\*+[^\\\r\n]"
    r"|\\++(?=[\r\n]|\Z)"
    r")*+)(?:" + _DELIM + r"|(?=[\r\n])|\Z)"
)
# An unquoted value ends at whitespace, a separator, a quote, a closing bracket
# or an escape sequence (``\n``, ``\"``: the text is itself inside a string).
_UNQUOTED = (
    r"(?P<kvscheme>(?ai:bearer|basic|token|digest)[ \t]++)?+"
    r"(?P<kvu>(?![\[{(<])(?:[^\s,;&\"'\\)\]}]++|\\(?![nrt\"'\\]|\s|\Z))++)"
)
# The match starts at the sensitive word, so any key that ENDS with it counts
# (db_password, clientSecret, X-Api-Key) and the rest of the key stays as is.
_KV = (
    _key_words() + r"(?=\\*+[\"']?[ \t]*+[:=])"
    # A bare "key:" needs a space or a quote after it, so "get_token:42"
    # (Powertools' location field) and "...:secret:name" (ARNs) stay visible.
    r"(?:\\*+[\"'][ \t]*+[:=]|[ \t]*+=>?+|[ \t]*+:(?=[ \t]|\\*+[\"']))[ \t]*+"
    r"(?:" + _QUOTED + "|" + _UNQUOTED + ")(?P<kv>)"
)
# The body stops only at a complete END line, so the closing alternative can
# never fail after a long body (which would make repeated BEGINs quadratic).
_PEM_END_LINE = r"-----END[A-Z0-9 ]{0,30}PRIVATE KEY[A-Z ]{0,10}-----"
_PEM = (
    r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY[A-Z ]{0,10}-----"
    r"(?:[^-]++|-(?!" + _PEM_END_LINE[1:] + r"))*+(?:" + _PEM_END_LINE + r"|\Z)(?P<pem>)"
)
_AWS_SECRET = (
    r"[AaSs](?ai:(?<=a)ws[_-]?secret|(?<=s)ecret)[_-]?(?ai:access[_-]?key)"
    r"[^A-Za-z0-9/+\r\n]{1,20}+(?P<awssv>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])(?P<awss>)"
)
_AWS_KEY_ID = r"A(?<![A-Za-z0-9]A)[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])(?P<akid>)"
_SLACK_TOKEN = r"x(?<![A-Za-z0-9]x)(?:ox[a-z](?:\.xox[a-z])?|app)-[A-Za-z0-9-]{8,}+(?P<slk>)"
_SLACK_HOOK = (
    r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<hookv>[A-Za-z0-9/_-]++)"
    r"(?P<hook>)"
)
_JWT = (
    r"e(?<![A-Za-z0-9_-]e)yJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]++\.[A-Za-z0-9_-]*+"
    r"(?:\.[A-Za-z0-9_-]++){0,2}+(?P<jwt>)"
)
# "Basic authentication failed" is prose, not a credential: 8-15 lowercase
# letters are left alone; anything with a digit, capital, symbol or length is not.
_AUTH_SCHEME = (
    r"[Bb](?<![A-Za-z0-9][Bb])(?ai:earer|asic)[ \t]++"
    r"(?![a-z]{8,15}(?![A-Za-z0-9._~+/=-]))(?P<authv>[A-Za-z0-9._~+/-]{8,}+=*+)(?P<auth>)"
)
# scheme://user:password@host - anchored on "://": the scheme needs no check.
# The user part has no brackets: "http://[::1]:80" is a host, and a marker is not a user.
_CONN = r"://[^\s:/?#@\"'\\\[\]]*+:(?P<connv>[^\s/\"'\\]+)(?=@)(?P<conn>)"

_KV_NEEDLES = ("pass", "pwd", "secret", "key", "token", "auth", "credential", "signature", "cookie")
# (regex, needles, needles are lower case): a pass runs only when one of its
# needles occurs in the text (lower-cased first when the pattern ignores case).
# Order: whole PEM blocks first, specific markers before the generic key=value.
_PASSES: tuple[tuple[re.Pattern[str], tuple[str, ...], bool], ...] = (
    (re.compile(_PEM), ("PRIVATE KEY",), False),
    (re.compile(_AWS_SECRET), ("secret",), True),
    (re.compile(_KV), _KV_NEEDLES, True),
    (re.compile(_AWS_KEY_ID), ("AKIA", "ASIA"), False),
    (re.compile(_SLACK_TOKEN), ("xox", "xapp"), False),
    (re.compile(_SLACK_HOOK), ("hooks.slack.com",), False),
    (re.compile(_JWT), ("eyJ",), False),
    (re.compile(_AUTH_SCHEME), ("bearer", "basic"), True),
    (re.compile(_CONN), ("://",), False),
)
_PEM_RE = _PASSES[0][0]

# Lines of a PEM block that the log split over several events (print() of a
# key): base64 runs and the RFC 1421 headers.
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Comment):|^\s*$")
_PEM_END = re.compile(_PEM_END_LINE)
_PEM_MAX_LINES = 400


def _already_hidden(value: str) -> bool:
    return value.lower() in _EMPTY_VALUES or (value.startswith("[REDACTED") and value.endswith("]"))


def _swap(m: re.Match[str], group: str, replacement: str) -> str:
    """The match with the span of ``group`` replaced."""
    start = m.start()
    whole = m.group(0)
    return whole[: m.start(group) - start] + replacement + whole[m.end(group) - start :]


def _builtin_replacement(m: re.Match[str]) -> tuple[str, int]:
    kind = m.lastgroup
    if kind == "kv":
        group = "kvq" if m.start("kvq") >= 0 else "kvu"
        value = m.group(group)
        if _already_hidden(value) or set(value) == {"*"}:
            return m.group(0), 0
        if m.start("kvscheme") >= 0 and m.group(0)[:4].lower() != "auth":
            # "Bearer x" is a scheme and a credential only under an Authorization key;
            # elsewhere ("password=Basic x") the first word may be the secret itself.
            whole, start = m.group(0), m.start()
            return whole[: m.start("kvscheme") - start] + REDACTED + whole[m.end() - start :], 1
        return _swap(m, group, REDACTED), 1
    if kind == "pem":
        return marker("private-key"), 1
    if kind == "awss":
        return _swap(m, "awssv", marker("aws-secret-key")), 1
    if kind == "akid":
        return m.group(0)[:4] + "…" + marker("aws-access-key"), 1
    if kind == "slk":
        return m.group(0).partition("-")[0] + "-…" + marker("slack-token"), 1
    if kind == "hook":
        return _swap(m, "hookv", marker("slack-webhook")), 1
    if kind == "jwt":
        return marker("jwt"), 1
    if kind == "auth":
        return _swap(m, "authv", REDACTED), 1
    if kind == "conn":
        if _already_hidden(m.group("connv")):
            return m.group(0), 0
        return _swap(m, "connv", REDACTED), 1
    return m.group(0), 0  # pragma: no cover - every alternative is named


def _touches_marker(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` overlaps a marker an earlier pass wrote."""
    opened = text.rfind("[REDACTED", 0, end - 1 + len("[REDACTED"))
    return opened >= 0 and text.find("]", opened) >= start


def _custom_replacement(m: re.Match[str], name: str) -> tuple[str, int]:
    has_secret = "secret" in m.re.groupindex
    group = "secret" if has_secret else 0
    start, end = m.span(group)
    # A broad pattern (\w+) must not rewrite the markers themselves: idempotence.
    if start < 0 or start == end or _touches_marker(m.string, start, end):
        return m.group(0), 0
    if has_secret:
        return _swap(m, "secret", marker(name)), 1
    return marker(name), 1


class Redactor:
    """Hides secrets in log text.

    Parameters
    ----------
    patterns:
        Extra patterns (``config.redaction``), applied after the built-ins, in
        order. A match is replaced by ``[REDACTED:<name>]``; if the regex has a
        group named ``secret``, only that group is replaced, so
        ``(?i)ssn=(?P<secret>\\d{3}-\\d{2}-\\d{4})`` keeps ``ssn=`` readable.
        Configured regexes are trusted operator input: write them without
        nested unbounded repetition (they run on hostile text).
    builtins:
        Apply the built-in patterns (default). Off only for tests of custom ones.

    Raises
    ------
    ValueError
        When a pattern's regex does not compile (``config.load`` already
        refuses such a config, naming the key).
    """

    def __init__(self, patterns: Iterable[RedactionPattern] = (), *, builtins: bool = True) -> None:
        self.builtins = builtins
        self.patterns = tuple(patterns)
        compiled = []
        for p in self.patterns:
            try:
                compiled.append((re.compile(p.regex), p.name))
            except re.error as exc:
                raise ValueError(f"redaction pattern {p.name!r}: invalid regex: {exc}") from None
        self._custom = tuple(compiled)

    @classmethod
    def from_config(cls, config: Config) -> Redactor:
        """The redactor for a loaded configuration: built-ins plus ``config.redaction``."""
        return cls(config.redaction)

    def redact(self, text: str) -> tuple[str, int]:
        """Hide every secret in ``text``.

        Parameters
        ----------
        text:
            One log line, a multi-line event, or a whole rendered timeline.
            Prefer the whole timeline (or :meth:`redact_lines`) when a PEM key
            may have been logged over several events.

        Returns
        -------
        tuple[str, int]
            The text with each secret replaced by a marker, and how many values
            were hidden. Never raises: if redaction itself failed, the whole
            text is withheld (``[REDACTED:withheld - redaction failed]``, 1).
        """
        try:
            return self._redact(text)
        except Exception:  # fail closed: never post text we could not redact
            return WITHHELD, 1

    def redact_lines(self, texts: Iterable[str]) -> tuple[list[str], int]:
        """Redact a sequence of log messages, hiding PEM keys split across them.

        A ``print()`` of a private key becomes one CloudWatch event per line, so
        no single line holds both BEGIN and END. After a line whose key has no
        END, following lines are hidden while they look like key material (up
        to the END line, or at most 400 lines).

        Returns
        -------
        tuple[list[str], int]
            The redacted texts (same length and order) and the total count.
        """
        out: list[str] = []
        total = 0
        in_key = 0  # lines hidden so far in an unterminated key, 0 when outside
        for text in texts:
            try:
                if in_key:
                    if end := _PEM_END.search(text):
                        rest, n = self._redact(text[end.end() :])
                        out.append(marker("private-key") + rest)
                        total += n
                        in_key = 0
                        continue
                    if in_key < _PEM_MAX_LINES and _PEM_BODY.search(text):
                        out.append(marker("private-key"))
                        in_key += 1
                        continue
                    in_key = 0
                red, n = self._redact(text)
                if n and _opens_key(text):
                    in_key = 1
            except Exception:
                red, n = WITHHELD, 1
            out.append(red)
            total += n
        return out, total

    def _redact(self, text: str) -> tuple[str, int]:
        if not isinstance(text, str):
            text = (
                text.decode("utf-8", "replace")
                if isinstance(text, bytes)
                else ("" if text is None else str(text))
            )
        hidden = 0
        if self.builtins:
            text, hidden = _builtin_passes(text)
        for regex, name in self._custom:
            text, n = _sub(regex, text, functools.partial(_custom_replacement, name=name))
            hidden += n
        return text, hidden


def _sub(
    regex: re.Pattern[str], text: str, replace: Callable[[re.Match[str]], tuple[str, int]]
) -> tuple[str, int]:
    hidden = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal hidden
        out, n = replace(m)
        hidden += n
        return out

    return regex.sub(repl, text), hidden


def _builtin_passes(text: str, *, prefilter: bool = True) -> tuple[str, int]:
    hidden = 0
    lower = ""
    for regex, needles, folded in _PASSES:
        if prefilter:
            if folded:
                lower = lower or text.lower()
                haystack = lower
            else:
                haystack = text
            for needle in needles:
                if needle in haystack:
                    break
            else:
                continue
        text, n = _sub(regex, text, _builtin_replacement)
        if n:
            hidden += n
            lower = ""
    return text, hidden


def _opens_key(text: str) -> bool:
    """True when ``text`` starts a PEM private key that it does not end."""
    begins = list(_PEM_RE.finditer(text))
    return bool(begins) and not _PEM_END.search(begins[-1].group(0))


def from_config(config: Config) -> Redactor:
    """The redactor for a loaded configuration: built-ins plus ``config.redaction``."""
    return Redactor.from_config(config)


@functools.cache
def default() -> Redactor:
    """The built-in patterns alone: what Slack-bound text gets when no redactor is given.

    Rendering for Slack never skips redaction: a caller that passes no redactor
    gets this one (the configured patterns need :func:`from_config`).
    """
    return Redactor()
