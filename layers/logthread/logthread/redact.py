"""Redaction: hide secrets in log text before any of it leaves for Slack.

Every log line logthread posts passes through :meth:`Redactor.redact` first.
The built-in patterns cover:

- AWS access key ids and secret keys: under a key name, and with no name when
  a key id is in the same text (or, through :meth:`Redactor.redact_lines`,
  within 3 events of it);
- Slack tokens and webhook URLs, with "/" written as is, ``\\/``, ``\\u002F`` or
  ``%2F``; JWTs; ``Bearer``/``Basic`` credentials;
- vendor tokens by their prefix: GitHub, GitLab, Stripe, OpenAI, Anthropic,
  SendGrid, Google (API keys, OAuth client secrets and access tokens), npm,
  PyPI, Square, Mailchimp and Telegram;
- values under a key that names a password, passcode, pw, secret, token, API
  or account key, credential, auth, signature or sig (``sig=`` of a SAS URL), cookie:
  ``key=value``, ``key: value``, ``key%3Dvalue``, JSON (also escaped inside
  another JSON string) and ``<key>value</key>``;
- PEM private keys (also printed one line per event, through ``redact_lines``)
  and passwords in connection strings (also with JSON-escaped slashes).

Configured patterns (``config.redaction``) run on top.

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
  engine's literal-prefix scan; so passes are not combined (vendor tokens that
  share a substring check share a pass: it only runs on lines holding it).
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
    "pass_code",
    "pass",
    "pwd",
    "pw",
    "secret",
    "secrets",
    "secret_key",
    "secret_access_key",
    "secret_string",
    "secret_value",
    "private_key",
    "account_key",
    "token",
    "api_key",
    "access_key",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "signature",
    "sig",
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
# "%3D" is "=" percent-encoded: a query string inside another URL's parameter.
_KV = (
    _key_words() + r"(?:(?=\\*+[\"']?[ \t]*+(?:[:=]|%3[Dd]))"
    # A bare "key:" needs a space or a quote after it, so "get_token:42"
    # (Powertools' location field) and "...:secret:name" (ARNs) stay visible.
    r"(?:\\*+[\"'][ \t]*+[:=]|[ \t]*+=>?+|%3[Dd]|[ \t]*+:(?=[ \t]|\\*+[\"']))[ \t]*+"
    r"(?:" + _QUOTED + "|" + _UNQUOTED + ")(?P<kv>)"
    # <password>value</password> (SOAP, XML bodies); "<\/" when JSON escaped the slash.
    # Bounded attributes, and a value that stops at ">": a run of "password>" must not
    # be rescanned from each one.
    r"|(?:[ \t][^<>\r\n]{0,64}+)?+>(?P<xmlv>[^<>\r\n]++)(?=<\\*+/)(?P<xml>))"
)
# The body stops only at a complete END line, so the closing alternative can
# never fail after a long body (which would make repeated BEGINs quadratic).
_PEM_END_LINE = r"-----END[A-Z0-9 ]{0,30}PRIVATE KEY[A-Z ]{0,10}-----"
_PEM = (
    r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY[A-Z ]{0,10}-----"
    r"(?:[^-]++|-(?!" + _PEM_END_LINE[1:] + r"))*+(?:" + _PEM_END_LINE + r"|\Z)(?P<pem>)"
)


def _word_start(first: str, word: str = "A-Za-z0-9") -> str:
    """``first`` (a character or a class) where a token starts: not inside a longer word.

    An escape sequence just before (``\\n``, ``\\t``: the text was a string inside
    JSON) still counts as a boundary, although its letter is a word character.
    """
    return f"{first}(?:(?<![{word}]{first})|(?<=\\\\[nrt]{first}))"


# Access key ids (AKIA), temporary ones (ASIA) and the other credential prefixes
# detect-secrets' AWSKeyDetector lists.
_AWS_KEY_ID = (
    _word_start("A") + r"(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])(?P<akid>)"
)
_AWS_KEY_ID_NEEDLES = ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")
# A secret key beside its key id, with no name of its own ("AKIA…,wJal…" in a CSV
# row, a tuple, two words): exactly 40 characters of [A-Za-z0-9+/], each "/" or
# "+" possibly escaped ("\/", "\u002F", "%2F"). Only run when the text (or, in redact_lines,
# a neighbouring event) holds a key id; the value must mix upper and lower case,
# which hex digests, trace ids and upper-case ids never do.
_B64_ESCAPE = r"\\++/|\\++u002[BbFf]|%(?:25)?+2[BbFf]"
# The character before it is matched (and kept), not looked behind for: sre then
# tries the pattern only at such characters, 2x faster on a long text than a
# lookbehind tried at every position.
_AWS_PAIR = (
    r"(?:\A|[^A-Za-z0-9+/\\%]|\\[nrt]|%(?!2[BbFf]|25)[0-9A-Fa-f]{2})"
    r"(?P<awspv>(?:[A-Za-z0-9+/]|" + _B64_ESCAPE + r"){40}+)"
    r"(?![A-Za-z0-9+/=]|" + _B64_ESCAPE + r"|%(?:25)?+3[Dd])(?P<awsp>)"
)
_B64_ESCAPE_RE = re.compile(_B64_ESCAPE)
# The same 40 characters under a key name (SecretAccessKey | … |, aws_secret_access_key …).
_AWS_SECRET = (
    r"[AaSs](?ai:(?<=a)ws[_-]?secret|(?<=s)ecret)[_-]?(?ai:access[_-]?key)"
    r"[^A-Za-z0-9/+\r\n]{1,20}+(?P<awssv>(?:[A-Za-z0-9+/]|" + _B64_ESCAPE + r"){40}+)"
    r"(?![A-Za-z0-9+/=]|" + _B64_ESCAPE + r")(?P<awss>)"
)
_SLACK_TOKEN = _word_start("x") + r"(?:ox[a-z](?:\.xox[a-z])?|app)-[A-Za-z0-9-]{8,}+(?P<slk>)"
# The webhook's path is its secret. A "/" may be written "\/" (JSON, at any depth),
# "\u002F" or "%2F" (also "%252F"); the host in any case; the scheme may be absent.
_URL_SLASH = r"(?:/|\\++/|\\++u002[Ff]|%(?:25)*+2[Ff])"
_SLACK_HOOK = (
    r"[Hh](?i:ooks\.slack(?:-gov)?+\.com)"
    + _URL_SLASH
    + r"(?i:services|workflows|triggers)"
    + _URL_SLASH
    + r"(?P<hookv>(?:[A-Za-z0-9_-]++|"
    + _URL_SLASH
    + r")++)(?P<hook>)"
)
_JWT = (
    _word_start("e", "A-Za-z0-9_-") + r"yJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]++\.[A-Za-z0-9_-]*+"
    r"(?:\.[A-Za-z0-9_-]++){0,2}+(?P<jwt>)"
)
# "Basic authentication failed" is prose, not a credential: 8-15 lowercase
# letters are left alone; anything with a digit, capital, symbol or length is not.
_AUTH_SCHEME = (
    _word_start("[Bb]") + r"(?ai:earer|asic)[ \t]++"
    r"(?![a-z]{8,15}(?![A-Za-z0-9._~+/=-]))(?P<authv>[A-Za-z0-9._~+/-]{8,}+=*+)(?P<auth>)"
)
# scheme://user:password@host - anchored on "://" (a literal prefix, which sre scans
# for fast; ":\/\/" when JSON escaped the slashes is a pass of its own): the scheme
# needs no check. The user part has no brackets: "http://[::1]:80" is a host, and a
# marker is not a user. The password may hold "@": it ends at the last "@" before
# the host (each "@" looks ahead only to the next one, so this stays linear).
_CONN_REST = (
    r"[^\s:/?#@\"'\\\[\]]*+:"
    r"(?P<connv>(?:[^\s/\"'\\@]++|@(?=[^\s/\"'\\@]*+@))++)(?=@)(?P<conn>)"
)
_CONN = r"://" + _CONN_REST
_CONN_ESCAPED = r":\\++/\\++/" + _CONN_REST

# Vendor tokens, known by their prefix (the rules of detect-secrets 1.5's plugins
# where their prefix is distinctive, widened where its lengths are exact: tokens
# grow; plus the ones it lacks). Group "tkp" is the part of the prefix that stays
# readable; a token with group "mixed" counts only if that part mixes upper and
# lower case and holds a digit. Tokens sharing a substring check share one pass.
_VENDOR_TOKENS: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    # (needles, ((regex, marker name), ...))
    (
        ("gh", "github_pat_"),
        (
            (
                _word_start("g", "A-Za-z0-9_") + r"(?P<tkp>h[pousr]_|ithub_pat_)[A-Za-z0-9_]{30,}+",
                "github-token",
            ),
        ),
    ),
    (
        ("k_live_", "k_test_", "whsec_"),
        (
            (
                _word_start("[rs]", "A-Za-z0-9_") + r"(?P<tkp>k_(?:live|test)_)[A-Za-z0-9]{20,}+",
                "stripe-key",
            ),
            (_word_start("w") + r"(?P<tkp>hsec_)[A-Za-z0-9+/=]{20,}+", "stripe-webhook-secret"),
        ),
    ),
    (
        ("sk-",),
        (
            (
                _word_start("s", "A-Za-z0-9_-")
                + r"(?P<tkp>k-ant-[a-z]++[0-9]*+-)[A-Za-z0-9_-]{20,}+",
                "anthropic-key",
            ),
            (
                _word_start("s", "A-Za-z0-9_-")
                + r"(?P<tkp>k-(?:proj|svcacct|admin|None)-)[A-Za-z0-9_-]{20,}+",
                "openai-key",
            ),
            # The legacy form, "sk-" and 32+ letters and digits: "sk-" words stay.
            (
                _word_start("s", "A-Za-z0-9_-")
                + r"(?P<tkp>k-)(?P<mixed>[A-Za-z0-9]{32,}+)(?![_-])",
                "openai-key",
            ),
        ),
    ),
    (
        ("SG.",),
        (
            (
                _word_start("S", "A-Za-z0-9_.-")
                + r"(?P<tkp>G\.)[A-Za-z0-9_-]{16,}+\.[A-Za-z0-9_-]{16,}+",
                "sendgrid-key",
            ),
        ),
    ),
    (
        ("AIza", "GOCSPX-", "ya29."),
        (
            (
                _word_start("A", "A-Za-z0-9_-") + r"(?P<tkp>Iza)[A-Za-z0-9_-]{30,}+",
                "google-api-key",
            ),
            (
                _word_start("G", "A-Za-z0-9_-") + r"(?P<tkp>OCSPX-)[A-Za-z0-9_-]{20,}+",
                "google-oauth-secret",
            ),
            (
                _word_start("y", "A-Za-z0-9_-") + r"(?P<tkp>a29\.)[A-Za-z0-9_-]{20,}+",
                "google-oauth-token",
            ),
        ),
    ),
    (
        ("gl", "GR1348941"),
        (
            (
                _word_start("g", "A-Za-z0-9_-")
                + r"(?P<tkp>l(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-)[A-Za-z0-9_-]{20,}+",
                "gitlab-token",
            ),
            (_word_start("G") + r"(?P<tkp>R1348941)[A-Za-z0-9_-]{20,}+", "gitlab-token"),
        ),
    ),
    (
        ("npm_", "pypi-"),
        (
            (_word_start("n", "A-Za-z0-9_") + r"(?P<tkp>pm_)[A-Za-z0-9]{36,}+", "npm-token"),
            (_word_start("p") + r"(?P<tkp>ypi-)AgE[A-Za-z0-9_-]{50,}+", "pypi-token"),
        ),
    ),
    (
        ("sq0",),
        (
            (
                _word_start("s", "A-Za-z0-9_-") + r"(?P<tkp>q0(?:csp|atp)-)[A-Za-z0-9_-]{22,}+",
                "square-token",
            ),
        ),
    ),
    (
        ("-us",),
        (
            (
                _word_start("[0-9a-f]", "A-Za-z0-9_-") + r"[0-9a-f]{31}-us[0-9]{1,2}(?![0-9])",
                "mailchimp-key",
            ),
        ),
    ),
    (
        (":AA",),
        (
            # A Telegram bot token: the bot id (kept) and its secret, which starts with "AA".
            (_word_start("[0-9]") + r"(?P<tkp>[0-9]{7,9}:)AA[A-Za-z0-9_-]{31,}+", "telegram-token"),
        ),
    ),
)


def _vendor_passes() -> tuple[list[tuple[str, tuple[str, ...]]], dict[str, str]]:
    """One regex per group (its members as alternatives, groups numbered apart) and
    the marker name of each member's last group ``tk<n>``."""
    passes, kinds = [], {}
    n = 0
    for needles, members in _VENDOR_TOKENS:
        alternatives = []
        for regex, name in members:
            regex = regex.replace("(?P<tkp>", f"(?P<tkp{n}>").replace(
                "(?P<mixed>", f"(?P<mixed{n}>"
            )
            alternatives.append(f"{regex}(?P<tk{n}>)")
            kinds[f"tk{n}"] = name
            n += 1
        passes.append(("|".join(alternatives), needles))
    return passes, kinds


_VENDOR_PASSES, _VENDOR_KIND = _vendor_passes()

_KV_NEEDLES = ("pass", "pw", "secret", "key", "token", "auth", "credential", "sig", "cookie")
# (regex, needles, needles are lower case): a pass runs only when one of its
# needles occurs in the text (lower-cased first when the pattern ignores case).
# Order: whole PEM blocks first, specific markers before the generic key=value;
# the AWS pair before key ids, whose marker it needs to find them.
_PASSES: tuple[tuple[re.Pattern[str], tuple[str, ...], bool], ...] = (
    (re.compile(_PEM), ("PRIVATE KEY",), False),
    (re.compile(_AWS_SECRET), ("secret",), True),
    (re.compile(_KV), _KV_NEEDLES, True),
    (re.compile(_AWS_PAIR), (), False),  # only with a key id nearby: see _builtin_passes
    (re.compile(_AWS_KEY_ID), _AWS_KEY_ID_NEEDLES, False),
    (re.compile(_SLACK_TOKEN), ("xox", "xapp"), False),
    (re.compile(_SLACK_HOOK), ("hooks.slack",), True),
    (re.compile(_JWT), ("eyJ",), False),
    (re.compile(_AUTH_SCHEME), ("bearer", "basic"), True),
    (re.compile(_CONN), ("://",), False),
    (re.compile(_CONN_ESCAPED), (":\\",), False),
    *((re.compile(regex), needles, False) for regex, needles in _VENDOR_PASSES),
)
_PEM_RE = _PASSES[0][0]
_AWS_PAIR_RE = _PASSES[3][0]
_AWS_KEY_ID_RE = _PASSES[4][0]
# The vendor passes come last. Most lines hold none of their substrings; one search
# for all of them at once (one scan in C) is cheaper than checking each in turn.
_FIRST_VENDOR = len(_PASSES) - len(_VENDOR_PASSES)
_VENDOR_GATE = re.compile(
    "|".join(
        re.escape(n)
        for n in sorted(
            {n for _, needles in _VENDOR_PASSES for n in needles}, key=len, reverse=True
        )
    )
)
# How many events before and after one holding a key id redact_lines searches
# for its secret key (printed on a line of its own).
_PAIR_REACH = 3

# Lines of a PEM block that the log split over several events (print() of a
# key): base64 runs and the RFC 1421 / OpenPGP armor headers.
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Comment|Version):|^\s*$")
# The short last line of the body ("VCVPs8==", a PGP checksum "=AbCd"): the whole
# message, or its last tab-separated field (a runtime's prefix), or a JSON
# "message" that is nothing but base64.
_PEM_TAIL = re.compile(
    # After a tab only spaces: "[ \t]*+" there would rescan a run of tabs from each one.
    r"(?:\A[ \t]*+|\t[ ]*+)=?+[A-Za-z0-9+/]++=*+[ \t\r\n]*+\Z"
    r"|\"(?:message|msg)\"[ \t]*+:[ \t]*+\"=?+[A-Za-z0-9+/]++=*+(?:\\[rn])*+\""
)
_PEM_END = re.compile(_PEM_END_LINE)
_PEM_MAX_LINES = 400


def _mixed_case(value: str) -> bool:
    return value.lower() != value and value.upper() != value


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
    if kind == "xml":
        if _already_hidden(m.group("xmlv")) or set(m.group("xmlv")) == {"*"}:
            return m.group(0), 0
        return _swap(m, "xmlv", REDACTED), 1
    if kind == "pem":
        return marker("private-key"), 1
    if kind == "awsp":
        if not _mixed_case(_B64_ESCAPE_RE.sub("/", m.group("awspv"))):
            return m.group(0), 0
        return _swap(m, "awspv", marker("aws-secret-key")), 1
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
    if kind in _VENDOR_KIND:
        n = kind[2:]
        mixed = m.group(f"mixed{n}") if f"mixed{n}" in m.re.groupindex else None
        if mixed is not None and not (_mixed_case(mixed) and any(c.isdigit() for c in mixed)):
            return m.group(0), 0
        prefix = f"tkp{n}"  # what stays readable: up to the end of the vendor's prefix
        if prefix in m.re.groupindex and m.group(prefix):
            return m.group(0)[: m.end(prefix) - m.start()] + "…" + marker(_VENDOR_KIND[kind]), 1
        return marker(_VENDOR_KIND[kind]), 1
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
        """Redact a sequence of log messages, hiding secrets split across them.

        A ``print()`` of a private key becomes one CloudWatch event per line, so
        no single line holds both BEGIN and END. After a line whose key has no
        END, following lines are hidden while they look like key material (up
        to the END line, or at most 400 lines), the short last line included.

        An AWS key id and its secret key printed as separate events: within 3
        events of one holding a key id, a secret key is hidden with no key name.

        Returns
        -------
        tuple[list[str], int]
            The redacted texts (same length and order) and the total count.
        """
        items = list(texts)
        try:
            has: list[bool | None] = [_has_key_id(_as_text(t)) for t in items]
            near = _near(has)
        except Exception:  # fail closed: look for key ids and secret keys everywhere
            has = [None] * len(items)
            near = [True] * len(items)
        out: list[str] = []
        total = 0
        in_key = 0  # lines hidden so far in an unterminated key, 0 when outside
        for text, key_id, near_key_id in zip(items, has, near, strict=True):
            try:
                if in_key:
                    if end := _PEM_END.search(text):
                        rest, n = self._redact(text[end.end() :], near_key_id=near_key_id)
                        out.append(marker("private-key") + rest)
                        total += n
                        in_key = 0
                        continue
                    if in_key < _PEM_MAX_LINES and (
                        _PEM_BODY.search(text) or _PEM_TAIL.search(text)
                    ):
                        out.append(marker("private-key"))
                        in_key += 1
                        continue
                    in_key = 0
                red, n = self._redact(text, key_id=key_id, near_key_id=near_key_id)
                if n and _opens_key(text):
                    in_key = 1
            except Exception:
                red, n = WITHHELD, 1
            out.append(red)
            total += n
        return out, total

    def _redact(
        self, text: str, *, key_id: bool | None = None, near_key_id: bool = False
    ) -> tuple[str, int]:
        text = _as_text(text)
        hidden = 0
        if self.builtins:
            text, hidden = _builtin_passes(text, key_id=key_id, near_key_id=near_key_id)
        for regex, name in self._custom:
            text, n = _sub(regex, text, functools.partial(_custom_replacement, name=name))
            hidden += n
        return text, hidden


def _as_text(text: object) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return "" if text is None else str(text)


def _near(has: list[bool | None]) -> list[bool]:
    """For each text: does one within ``_PAIR_REACH`` events hold an AWS key id?"""
    near = [False] * len(has)
    for i, found in enumerate(has):
        if found:
            for j in range(max(0, i - _PAIR_REACH), min(len(has), i + _PAIR_REACH + 1)):
                near[j] = True
    return near


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


def _has_key_id(text: str) -> bool:
    # The regex starts with a literal "A", which sre scans for fast: cheaper than
    # checking the five prefixes as substrings first.
    return _AWS_KEY_ID_RE.search(text) is not None


def _builtin_passes(
    text: str, *, prefilter: bool = True, key_id: bool | None = None, near_key_id: bool = False
) -> tuple[str, int]:
    """Apply every built-in pattern to ``text``.

    ``key_id``: whether ``text`` holds an AWS key id, when the caller already knows.
    ``near_key_id``: a neighbouring event holds one. Either way a secret key with no
    name is looked for.
    """
    hidden = 0
    lower = ""
    has_id = _has_key_id(text) if key_id is None else key_id
    for i, (regex, needles, folded) in enumerate(_PASSES):
        if i == _FIRST_VENDOR and prefilter and not _VENDOR_GATE.search(text):
            break
        if regex is _AWS_PAIR_RE:
            if not (has_id or near_key_id):
                continue
        elif regex is _AWS_KEY_ID_RE:
            if prefilter and not has_id:
                continue
        elif prefilter:
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
