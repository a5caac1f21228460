"""Redaction: the secrets corpus, the markers, false positives and hostile input."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from urllib.parse import quote

import pytest
from conftest import load_fixture
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logthread import redact as R
from logthread.config import ConfigError, RedactionPattern, from_mapping
from logthread.logparse import parse_event
from logthread.query import SearchQuery, SearchResult
from logthread.redact import REDACTED, Redactor, from_config
from logthread.slack.search_render import render_search

SECRETS: dict[str, dict[str, str]] = load_fixture("secrets/secrets.json")
FORMATS = ["python_text.json", "node_text.json", "lambda_json.json", "powertools.json"]
# Keys the corpus prints one line per event: only redact_lines sees them whole.
SPLIT_KEYS = {"pem_rsa_key", "pem_short_tail_key"}
REDACTOR = Redactor()
RID = "8f507cfc-0b2e-4d6c-9a5c-6d8b6b0f2a1e"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"


def _escaped(value: str, depth: int) -> str:
    for _ in range(depth):
        value = json.dumps(value, ensure_ascii=False)[1:-1]
    return value


def leak_forms(name: str) -> list[str]:
    """What a leak of secret ``name`` would look like in a posted line."""
    value = SECRETS[name]["value"]
    if SECRETS[name]["kind"] == "private-key":
        return [line for line in value.splitlines() if "-----" not in line]
    forms = {value, repr(value)[1:-1], *(_escaped(value, d) for d in (1, 2, 3))}
    # Escaped slashes (JSON may write "/" as "\/"), percent-encoding, and any long piece
    # between slashes: part of a secret is a leak too.
    forms |= {f.replace("/", "\\/") for f in forms} | {quote(value, safe="")}
    forms |= {p for p in value.split("/") if len(p) >= 12}
    # Slack mrkdwn escaping, as the renderer applies it.
    forms |= {f.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for f in forms}
    return sorted(forms)


ALL_FORMS = [(name, form) for name in SECRETS for form in leak_forms(name)]


def leaked(text: str) -> list[str]:
    return sorted({name for name, form in ALL_FORMS if form in text})


# --- the corpus: every secret in every log format ---------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_corpus_hides_every_secret_event_by_event(name: str) -> None:
    events = load_fixture(f"secrets/{name}")["events"]
    out, hidden = REDACTOR.redact_lines([e["message"] for e in events])
    for event, text in zip(events, out, strict=True):
        assert leaked(text) == [], text
        assert (text != event["message"]) == bool(event.get("secrets")), text
    assert hidden >= sum(1 for e in events if e.get("secrets") and not SPLIT_KEYS & {*e["secrets"]})


@pytest.mark.parametrize("name", FORMATS)
def test_corpus_hides_every_secret_in_the_whole_timeline(name: str) -> None:
    events = load_fixture(f"secrets/{name}")["events"]
    text, hidden = REDACTOR.redact("".join(e["message"] for e in events))
    assert leaked(text) == []
    assert hidden > 0


@pytest.mark.parametrize("name", FORMATS)
def test_corpus_single_events_need_no_neighbours(name: str) -> None:
    # Only a key printed line by line needs redact_lines; every other event alone is enough.
    for event in load_fixture(f"secrets/{name}")["events"]:
        if not SPLIT_KEYS & {*event.get("secrets", ())}:
            assert leaked(REDACTOR.redact(event["message"])[0]) == []


def test_clean_corpus_is_left_exactly_as_it_was() -> None:
    messages = [e["message"] for e in load_fixture("secrets/clean.json")["events"]]
    assert [REDACTOR.redact(m) for m in messages] == [(m, 0) for m in messages]
    assert REDACTOR.redact_lines(messages) == (messages, 0)


def test_corpus_rendered_for_slack_holds_no_secret() -> None:
    # The real chain up to the Slack call: CloudWatch events -> records -> blocks and file.
    records = []
    for name in FORMATS:
        doc = load_fixture(f"secrets/{name}")
        records += [parse_event(e, doc["logGroupName"]) for e in doc["events"]]
    result = SearchResult(
        query=SearchQuery(request_id=RID), records=records, log_groups_searched=["/aws/lambda/"]
    )
    rendered = render_search(result, redactor=REDACTOR, max_sections=1)
    assert rendered.full_log is not None  # the file path is exercised too
    posted = [rendered.parent_text, rendered.thread_text, rendered.full_log]
    posted += [json.dumps(b.to_dict()) for b in [*rendered.parent_blocks, *rendered.thread_blocks]]
    assert [leaked(p) for p in posted] == [[]] * len(posted)
    assert rendered.hidden_values > 0


# --- markers: the reader sees what was hidden --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login password=hunter2 user=bob", "login password=[REDACTED] user=bob"),
        (
            '{"db_password": "hu\\"nter2", "user": "bob"}',
            '{"db_password": "[REDACTED]", "user": "bob"}',
        ),
        ("{'clientSecret': 'abc123', 'id': 7}", "{'clientSecret': '[REDACTED]', 'id': 7}"),
        ("headers: { 'x-api-key': 'k-123' }", "headers: { 'x-api-key': '[REDACTED]' }"),
        ("Authorization: Bearer abc.DEF-123", "Authorization: Bearer [REDACTED]"),
        ("sent Basic dXNlcjpwYXNz to proxy", "sent Basic [REDACTED] to proxy"),
        ("key AKIAIOSFODNN7EXAMPLE used", "key AKIA…[REDACTED:aws-access-key] used"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = [REDACTED:aws-secret-key]",
        ),
        ("bot xoxb-1111-2222-FAKEfake0000 ok", "bot xoxb-…[REDACTED:slack-token] ok"),
        (
            "POST https://hooks.slack.com/services/T0/B0/XXXXfake",
            "POST https://hooks.slack.com/services/[REDACTED:slack-webhook]",
        ),
        ("t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "t=[REDACTED:jwt]"),
        ("postgres://app:pw@db:5432/x", "postgres://app:[REDACTED]@db:5432/x"),
        (
            "k=-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----!",
            "k=[REDACTED:private-key]!",
        ),
        ("INFO:root:token=abc", "INFO:root:token=[REDACTED]"),
        ("--password=Basic --verbose", "--password=[REDACTED]"),
        ("x-auth-token: Bearer abc", "x-auth-token: [REDACTED]"),
        ("password=null password='' password=***", "password=null password='' password=***"),
    ],
)
def test_markers_keep_the_name_and_hide_the_value(text: str, expected: str) -> None:
    out, hidden = REDACTOR.redact(text)
    assert out == expected
    assert hidden == (0 if out == text else hidden) and (out == text) == (hidden == 0)


def test_json_escaped_three_levels_deep() -> None:
    body = json.dumps({"password": 'a"b\\c', "n": 1})
    event = json.dumps({"body": body})
    line = json.dumps({"level": "INFO", "message": event, "function_request_id": RID})
    out, hidden = REDACTOR.redact(line)
    assert hidden == 1
    inner = json.loads(json.loads(json.loads(out)["message"])["body"])
    assert inner == {"password": REDACTED, "n": 1}


# --- no false positives on ids, ARNs, timestamps -----------------------------------------

_hex = st.text("0123456789abcdef", min_size=1, max_size=40)
trace_ids = st.builds(
    lambda a, b: f"1-{a:08x}-{b:024x}", st.integers(0, 2**32 - 1), st.integers(0, 2**96 - 1)
)
timestamps = st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z")
names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,30}", fullmatch=True)
arns = st.builds(
    lambda service, res, name: f"arn:aws:{service}:us-east-1:123456789012:{res}{name}",
    st.sampled_from(["lambda", "secretsmanager", "ssm", "sns", "logs", "dynamodb"]),
    st.sampled_from(
        ["function:", "secret:prod/", "parameter/prod/", "log-group:/aws/lambda/", "table/"]
    ),
    names,
)
benign_tokens = st.one_of(st.uuids().map(str), trace_ids, timestamps, arns, _hex, names)


def _formats(message: str) -> list[str]:
    return [
        f"[ERROR]\t2026-11-28T21:04:20.123Z\t{RID}\t{message}\n",
        f"2026-11-28T21:04:20.123Z\t{RID}\tINFO\t{message}\n",
        json.dumps(
            {
                "timestamp": "2026-11-28T21:04:20.123Z",
                "level": "INFO",
                "message": message,
                "requestId": RID,
            }
        ),
        json.dumps(
            {
                "level": "INFO",
                "location": "validate_token:42",
                "message": message,
                "xray_trace_id": TRACE,
            }
        ),
        f"REPORT RequestId: {RID}\tDuration: 12.5 ms\t{message}",
    ]


@given(st.lists(benign_tokens, min_size=1, max_size=8))
def test_ids_arns_and_timestamps_are_left_alone(tokens: list[str]) -> None:
    for line in _formats(" ".join(tokens)):
        assert REDACTOR.redact(line) == (line, 0)


@given(st.text(string.ascii_letters + string.digits + " ,.()", max_size=200))
def test_prose_without_secrets_is_unchanged(text: str) -> None:
    assume(not any(w in text.lower() for w in ("bearer", "basic", "akia", "asia", "eyj")))
    for line in _formats(text):
        assert REDACTOR.redact(line) == (line, 0)


# --- properties: hidden wherever it appears, idempotent, never raises ---------------------

KEY_WORDS = sorted({v for n in R._SENSITIVE_NAMES for v in R._name_variants(n)})
keys = st.builds(
    lambda prefix, word, upper: prefix + (word.upper() if upper else word),
    st.sampled_from(["", "db_", "x-", "client", "AWS_", "my.", "slack_"]),
    st.sampled_from(KEY_WORDS),
    st.booleans(),
)
UNQUOTED_ALPHABET = string.ascii_letters + string.digits + "!#$%*+./=?@^_~-:"
# A bare "Bearer"/"Basic"/"Token"/"Digest" reads as an auth scheme before the next word: it
# is hidden with that word, so the output's shape differs (nothing leaks; see the marker tests).
unquoted_values = st.text(UNQUOTED_ALPHABET, min_size=1, max_size=60).filter(
    lambda v: (
        v.lower() not in {*R._EMPTY_VALUES, "bearer", "basic", "token", "digest"}
        and set(v) != {"*"}
    )
)
any_values = st.text(min_size=1, max_size=60).filter(
    lambda v: v.lower() not in R._EMPTY_VALUES and set(v) != {"*"}
)
PLACEHOLDER = "zzzzzzzz"

kv_forms: list[Callable[[str, str], str]] = [
    lambda k, v: f"{k}={v}",
    lambda k, v: f"{k}: {v}",
    lambda k, v: f"?{k}={v}&page=2",
    lambda k, v: f"--{k}={v} --verbose",
]
quoted_forms: list[Callable[[str, str], str]] = [
    lambda k, v: json.dumps({k: v, "user": "bob"}),
    lambda k, v: repr({k: v, "user": "bob"}),
    lambda k, v: json.dumps({"message": json.dumps({k: v})}),
    lambda k, v: json.dumps({"message": json.dumps({"body": json.dumps({k: v})})}),
    lambda k, v: f"{k}={json.dumps(v)}",
]


@given(
    st.one_of(
        st.tuples(st.sampled_from(kv_forms), unquoted_values),
        st.tuples(st.sampled_from(quoted_forms), any_values),
    ),
    keys,
    st.sampled_from(range(5)),
)
def test_a_secret_value_never_shapes_the_output(form_value: tuple, key: str, fmt: int) -> None:
    # Redacting the line with the secret gives exactly what redacting it with a
    # placeholder gives: nothing of the value gets through, not even its length.
    form, value = form_value
    line = _formats(form(key, value))[fmt]
    baseline, hidden = REDACTOR.redact(_formats(form(key, PLACEHOLDER))[fmt])
    assume(value not in baseline)
    assert hidden >= 1
    out, count = REDACTOR.redact(line)
    assert count == hidden
    # repr() picks double quotes for a value holding a single quote; nothing else may differ.
    assert _same_quotes(out) == _same_quotes(baseline)


def _same_quotes(text: str) -> str:
    for q in ('\\"', '"'):
        text = text.replace(f"{q}[REDACTED]{q}", "'[REDACTED]'")
    return text


# Kinds recognised by their shape alone, with no key name in front.
BARE_KINDS = {
    "aws-access-key",
    "slack-token",
    "jwt",
    "private-key",
    "github-token",
    "stripe-key",
    "openai-key",
    "sendgrid-key",
    "google-api-key",
}


def _in_context(name: str, draw: Callable) -> str:
    value, kind = SECRETS[name]["value"], SECRETS[name]["kind"]
    if kind in BARE_KINDS:
        return draw(
            st.sampled_from(["{}", "key {} used", "({})", "'{}'", "x={}", "auth: {}"])
        ).format(value)
    if kind == "aws-secret-key":
        template = draw(
            st.sampled_from(
                [
                    "aws_secret_access_key={}",
                    "SecretAccessKey | {} |",
                    '"SecretAccessKey": "{}"',
                    # No key name: the key id beside it is what gives it away.
                    "alice,,AKIAIOSFODNN7EXAMPLE,{},https://console",
                    "ASIAZ7EXAMPLE4F2Q3RT {}",
                    "('{}', 'AKIAIOSFODNN7EXAMPLE')",
                ]
            )
        )
        return template.format(draw(st.sampled_from([value, value.replace("/", "\\/")])))
    if kind == "slack-webhook":
        url = f"https://hooks.slack.com/services/{value}"
        url = draw(st.sampled_from([url, url.replace("/", "\\/"), quote(url, safe="")]))
        return f"POST {url} failed"
    if kind in {"bearer", "basic"}:
        scheme = "Bearer" if kind == "bearer" else "Basic"
        return draw(
            st.sampled_from(
                ["Authorization: {} {}", "sent {} {} upstream", '{{"authorization": "{} {}"}}']
            )
        ).format(scheme, value)
    return draw(st.sampled_from(quoted_forms))(draw(keys), value)


@st.composite
def corpus_lines(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(SECRETS)))
    before = draw(st.text(string.ascii_letters + " ", max_size=20))
    after = draw(st.text(string.ascii_letters + " ", max_size=20))
    return draw(st.sampled_from(_formats(f"{before} {_in_context(name, draw)} {after}")))


@given(corpus_lines())
def test_no_corpus_secret_survives_in_any_format_or_context(line: str) -> None:
    out, hidden = REDACTOR.redact(line)
    assert leaked(out) == []
    assert hidden >= 1


hostile_text = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "password",
                "token",
                "=",
                ": ",
                '"',
                "'",
                "\\",
                "\\\\\\",
                "\n",
                "\r",
                "eyJ",
                "abcdefgh.",
                "AKIA",
                "xoxb-",
                "://",
                "u:p",
                "@",
                "Bearer ",
                "-----BEGIN PRIVATE KEY-----",
                "-----END PRIVATE KEY-----",
                "[REDACTED]",
                "secret_access_key ",
                "A" * 40,
                "hooks.slack.com/services/",
                "hooks.slack.com\\/services\\/",
                "\\/",
                "%2F",
                "ghp_",
                "github_pat_",
                "sk_live_",
                "sk-proj-",
                "SG.",
                "AIza",
                "&sig=",
                '"pw": "',
                "Aw==",
                "{",
                "}",
                "…",
            ]
        ),
        st.text(max_size=12),
    ),
    max_size=60,
).map("".join)


@given(st.one_of(hostile_text, corpus_lines(), st.text()))
def test_redacting_twice_is_redacting_once(text: str) -> None:
    once, _ = REDACTOR.redact(text)
    assert REDACTOR.redact(once) == (once, 0)


BROAD = Redactor(
    [RedactionPattern("word", "[A-Za-z]{3,}"), RedactionPattern("n", r"n=(?P<secret>\d+)")]
)


@given(st.one_of(hostile_text, corpus_lines(), st.text()))
def test_broad_configured_patterns_leave_markers_alone(text: str) -> None:
    once, _ = BROAD.redact(text)
    assert BROAD.redact(once) == (once, 0)


@given(st.one_of(hostile_text, corpus_lines(), st.text()))
def test_substring_checks_only_skip_passes_that_could_not_match(text: str) -> None:
    assert R._builtin_passes(text) == R._builtin_passes(text, prefilter=False)


def test_every_key_word_contains_a_substring_its_pass_checks_for() -> None:
    assert all(any(n in w.lower() for n in R._KV_NEEDLES) for w in KEY_WORDS)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                'password="',
                "\\",
                '\\"',
                "token: ",
                "eyJaaaaaaaa.",
                "a.-",
                "://u:",
                "Bearer ",
                "-----BEGIN PRIVATE KEY-----",
                "-",
                "AKIA",
                "x" * 7,
                "A" * 39 + "a",
                "\\/",
                "%2F",
                "hooks.slack.com\\/",
                "ghp_" + "a" * 29,
                "github_pat_",
                "sk_live_",
                "sk-",
                "sk-proj-",
                "SG.aaaaaaaaaaaaaaaa.",
                "AIza",
                "sig=",
                "pw: ",
            ]
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(1000, 20000),
)
def test_long_adversarial_input_returns(parts: list[str], repeat: int) -> None:
    text = "".join(parts) * (repeat // len("".join(parts)) + 1)
    out, hidden = REDACTOR.redact(text)
    assert isinstance(out, str)
    assert hidden >= 0


@given(st.one_of(st.none(), st.binary(max_size=50), st.integers()))
def test_non_text_input_is_coerced_not_raised(value: object) -> None:
    out, hidden = REDACTOR.redact(value)  # type: ignore[arg-type]
    assert isinstance(out, str)
    assert hidden >= 0


def test_a_failure_inside_withholds_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> tuple[str, int]:
        raise RuntimeError("boom")

    monkeypatch.setattr(R, "_builtin_passes", broken)
    assert REDACTOR.redact("password=hunter2") == (R.WITHHELD, 1)
    assert REDACTOR.redact_lines(["a", "b"]) == ([R.WITHHELD, R.WITHHELD], 2)


# --- a key printed line by line -----------------------------------------------------------


def test_key_split_over_events_is_hidden_until_its_end() -> None:
    key = SECRETS["pem_rsa_key"]["value"].splitlines()
    lines = ["loading key", *key, "key loaded", "password=x"]
    out, hidden = REDACTOR.redact_lines(lines)
    assert out[0] == "loading key"
    assert out[1 : len(key) + 1] == [R.marker("private-key")] * len(key)
    assert out[-2:] == ["key loaded", "password=[REDACTED]"]
    assert hidden == 2


def test_unterminated_key_stops_at_the_first_line_that_is_not_key_material() -> None:
    out, _ = REDACTOR.redact_lines(
        ["-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "START RequestId: x"]
    )
    assert out == [R.marker("private-key"), R.marker("private-key"), "START RequestId: x"]


# --- configured patterns -------------------------------------------------------------------


def test_config_patterns_run_after_the_builtins() -> None:
    config = from_mapping(
        {
            "redaction": [
                {"name": "card", "regex": r"\b\d{4}(?:[ -]?\d{4}){3}\b"},
                {"name": "ssn", "regex": r"ssn=(?P<secret>\d{3}-\d{2}-\d{4})"},
                {"regex": "INTERNAL-[0-9]+"},
            ]
        },
        env={},
    )
    redactor = from_config(config)
    text = "card 4111 1111 1111 1111 ssn=123-45-6789 ref INTERNAL-42 password=x"
    out, hidden = redactor.redact(text)
    assert (
        out == "card [REDACTED:card] ssn=[REDACTED:ssn] ref [REDACTED:custom-2] password=[REDACTED]"
    )
    assert hidden == 4
    assert redactor.redact(out) == (out, 0)
    assert Redactor.from_config(config).patterns == config.redaction


def test_builtins_can_be_switched_off_for_custom_pattern_tests() -> None:
    redactor = Redactor([RedactionPattern("x", "secret-[a-z]+")], builtins=False)
    assert redactor.redact("password=1 secret-abc") == ("password=1 [REDACTED:x]", 1)


def test_an_invalid_pattern_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="'bad'"):
        Redactor([RedactionPattern("bad", "(")])
    with pytest.raises(ConfigError, match=r"redaction\[0\]\.regex"):
        from_mapping({"redaction": [{"name": "bad", "regex": "("}]}, env={})
