"""Redaction gaps found in review, and the variants an attacker would try next.

Each case names what must not reach Slack; the exact markers are pinned for one
example of each kind. Secrets are fake (see ``fixtures/secrets/README.md``).
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote

import pytest
from conftest import load_fixture

from logthread import redact as R
from logthread.logparse import parse_event
from logthread.query import SearchQuery, SearchResult
from logthread.redact import REDACTED, Redactor
from logthread.slack.search_render import render_search

REDACTOR = Redactor()
SECRETS = {k: v["value"] for k, v in load_fixture("secrets/secrets.json").items()}

AKID = SECRETS["aws_access_key_id"]  # AKIAIOSFODNN7EXAMPLE
ASID = SECRETS["aws_temp_access_key_id"]
SK = SECRETS["aws_secret_access_key"]  # wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
TSK = SECRETS["aws_temp_secret_access_key"]
HOOK_PATH = SECRETS["slack_webhook_path"]
HOOK = f"https://hooks.slack.com/services/{HOOK_PATH}"
GHP = SECRETS["github_token"]
GH_PAT = SECRETS["github_fine_grained_token"]
STRIPE = SECRETS["stripe_secret_key"]
OPENAI = SECRETS["openai_project_key"]
SENDGRID = SECRETS["sendgrid_api_key"]
GOOGLE = SECRETS["google_api_key"]
SAS_SIG = SECRETS["azure_sas_signature"]


def pieces(secret: str) -> list[str]:
    """Parts of ``secret`` that must not be posted: every run of 6+ letters and digits
    between the characters an escaping may rewrite (``/``, ``+``, ``=``, ``%``, ``.``,
    ``-``, ``_``), unless it is a vendor's prefix word (``github``, ``svcacct``, ``GOCSPX``)."""
    runs = re.split(r"[^A-Za-z0-9]+", secret)
    return [r for r in runs if len(r) >= 6 and not (r.isalpha() and (r.islower() or r.isupper()))]


def shown(text: str, *secrets: str) -> list[str]:
    """The pieces of ``secrets`` still in ``text`` after redaction (empty when all hidden)."""
    out, hidden = REDACTOR.redact(text)
    assert hidden >= 1, out
    assert REDACTOR.redact(out) == (out, 0), "redacting twice must be redacting once"
    return [p for s in secrets for p in pieces(s) if p in out]


def slashes(value: str, depth: int) -> str:
    """``value`` with each "/" JSON-escaped as "\\/" at string depth ``depth``."""
    return value.replace("/", "\\" * (2**depth - 1) + "/")


# --- an AWS secret key beside its key id, with no key name ----------------------------------

AWS_PAIRS = [
    f"alice,,{AKID},{SK},https://123456789012.signin.aws.amazon.com/console",
    f"User name,Access key ID,Secret access key\nalice,{AKID},{SK}\n",
    f"{AKID} {SK}",
    f"{AKID}\t{SK}",
    f"{AKID};{SK}",
    f"{AKID}|{SK}|",
    f"{AKID}:{SK}",
    f"{AKID} , {SK}",
    f"{SK},{AKID}",
    f"{SK} {AKID}",
    f'["{AKID}", "{SK}"]',
    f"('{AKID}', '{SK}', None)",
    f'{{"id": "{AKID}", "key": "{SK}"}}',
    f'{{"id": "{AKID}", "key": "{slashes(SK, 1)}"}}',
    json.dumps({"message": json.dumps({"id": AKID, "k": slashes(SK, 1)})}),
    f"creds={AKID}%3A{quote(SK, safe='')}",
    f"{AKID}%2C{quote(SK, safe='')}",
    f"export {ASID} {TSK} done",
    f"s3://{AKID}:{SK}@orders-bucket/key",
    f"{AKID}\n\n...\n{SK}",
    json.dumps({"message": f"keys:\n{AKID}\n{SK}"}),
    '{"id": "' + AKID + '", "key": "' + SK.replace("/", "\\u002F") + '"}',
    f"{AKID} {SK.replace('/', '%252F')}",
]


@pytest.mark.parametrize("line", AWS_PAIRS)
def test_a_secret_key_beside_its_key_id_is_hidden_without_a_key_name(line: str) -> None:
    assert shown(line, SK, TSK, AKID, ASID) == []


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize(
    "template", ["SecretAccessKey | {} |", '"aws_secret_access_key": "{}"', "secret_access_key={}"]
)
def test_a_named_secret_key_with_escaped_slashes_is_hidden(template: str, depth: int) -> None:
    assert shown(template.format(slashes(SK, depth)), SK) == []


def test_the_pair_keeps_its_markers() -> None:
    assert REDACTOR.redact(f"row alice,{AKID},{SK},x") == (
        "row alice,AKIA…[REDACTED:aws-access-key],[REDACTED:aws-secret-key],x",
        2,
    )


@pytest.mark.parametrize("order", ["id first", "secret first"])
@pytest.mark.parametrize("gap", [0, 1, 2])
def test_a_pair_printed_as_separate_events_is_hidden_by_redact_lines(order: str, gap: int) -> None:
    pair = [f"key id: {AKID}", SK] if order == "id first" else [SK, f"key id: {AKID}"]
    lines = [pair[0], *["processing"] * gap, pair[1]]
    out, _ = REDACTOR.redact_lines(lines)
    assert [p for line in out for s in (SK, AKID) for p in pieces(s) if p in line] == []
    assert out[1 : 1 + gap] == ["processing"] * gap


@pytest.mark.parametrize(
    "line",
    [
        f"{AKID} deployed commit 3f9c2b1e0d8a7c6b5e4f3a2b1c0d9e8f7a6b5c4d",  # lower-case hex
        f"{AKID} trace 3F9C2B1E0D8A7C6B5E4F3A2B1C0D9E8F7A6B5C4D",  # upper-case hex
        f"{AKID} id {'Ab' * 25}",  # 50 characters: not a secret key's length
    ],
)
def test_beside_a_key_id_ids_that_cannot_be_a_secret_key_stay(line: str) -> None:
    out, _ = REDACTOR.redact(line)
    assert out == line.replace(AKID, "AKIA…[REDACTED:aws-access-key]")


# --- a Slack webhook, however its URL is escaped ---------------------------------------------

HOOKS = [
    HOOK,
    slashes(HOOK, 1),  # https:\/\/hooks.slack.com\/services\/...
    slashes(HOOK, 2),
    slashes(HOOK, 3),
    quote(HOOK, safe=""),  # https%3A%2F%2Fhooks.slack.com%2Fservices%2F...
    quote(quote(HOOK, safe=""), safe=""),
    HOOK.replace("/", "\\u002F"),
    HOOK.replace("/", "\\u002f"),
    HOOK.removeprefix("https://"),
    HOOK.replace("https://hooks.slack.com", "HTTPS://HOOKS.SLACK.COM"),
    HOOK.replace("https://", "http://"),
    HOOK.replace("slack.com", "slack-gov.com"),
    HOOK.replace("/services/", "/workflows/"),
    HOOK.replace("/services/", "/triggers/"),
    HOOK.replace("&", "&amp;"),
]


@pytest.mark.parametrize("url", HOOKS)
@pytest.mark.parametrize(
    "template", ["POST {} failed", '{{"channel_url": "{}"}}', "<{}|webhook>", "url={}&x=1"]
)
def test_a_slack_webhook_is_hidden_however_it_is_escaped(url: str, template: str) -> None:
    assert shown(template.format(url), HOOK_PATH) == []


def test_an_escaped_webhook_keeps_its_host_readable() -> None:
    out, hidden = REDACTOR.redact('{"url": "' + slashes(HOOK, 1) + '"}')
    assert out == '{"url": "https:\\/\\/hooks.slack.com\\/services\\/[REDACTED:slack-webhook]"}'
    assert hidden == 1


def test_a_json_escaped_connection_string_hides_its_password() -> None:
    line = '{"dsn": "postgres:\\/\\/app:Xk9#mQ2vLp!fake@db:5432\\/orders"}'
    out, _ = REDACTOR.redact(line)
    assert out == '{"dsn": "postgres:\\/\\/app:[REDACTED]@db:5432\\/orders"}'


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
@pytest.mark.parametrize("password", ["Xk9#mQ2vLp!fake", "p@ss@FAKE9", "FAKE:9x"])
def test_a_connection_string_password_is_hidden_at_any_escaping(depth: int, password: str) -> None:
    line = slashes(f"connect postgres://app:{password}@db.internal:5432/orders", depth)
    out, hidden = REDACTOR.redact(line)
    assert password not in out and "FAKE" not in out and "Xk9" not in out, out
    assert "@db.internal:5432" in out and hidden == 1


# --- a PEM key printed one line per event ------------------------------------------------------

KEY = SECRETS["pem_short_tail_key"].split("\n")
TAIL = KEY[-2]  # the short last base64 line


def _key_leaks(out: list[str]) -> list[str]:
    body = [line for line in KEY if "-----" not in line]
    return [b for b in body for line in out if b in line]


def test_the_corpus_key_really_ends_with_a_short_line() -> None:
    assert len(TAIL) < 16


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "2026-11-28T21:04:20.180Z\t5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9\tDEBUG\t",
        "[INFO]\t2026-11-28T21:04:20.180Z\t8f507cfc-0b2e-4d6c-9a5c-6d8b6b0f2a1e\t",
    ],
)
@pytest.mark.parametrize("end", ["\n", "\r\n", ""])
def test_a_key_printed_line_by_line_hides_its_short_last_line(prefix: str, end: str) -> None:
    lines = ["loading key" + end, *(prefix + line + end for line in KEY), "key loaded" + end]
    out, _ = REDACTOR.redact_lines(lines)
    assert _key_leaks(out) == []
    assert out[0] == lines[0] and out[-1] == lines[-1]


@pytest.mark.parametrize("tail", ["Aw==", "QUJD", "x", "ab+/", "AQAB", "=AbCd"])
def test_any_last_line_of_key_material_is_hidden(tail: str) -> None:
    lines = ["-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", tail]
    out, _ = REDACTOR.redact_lines([*lines, "-----END PRIVATE KEY-----", "done"])
    assert out == [R.marker("private-key")] * 4 + ["done"]
    # The END line may never come (the search window ends): the tail is still hidden.
    out, _ = REDACTOR.redact_lines([*lines, "START RequestId: 1"])
    assert out == [R.marker("private-key")] * 3 + ["START RequestId: 1"]


def test_a_key_logged_as_json_one_line_per_event_hides_its_short_last_line() -> None:
    lines = [json.dumps({"level": "DEBUG", "message": line}) + "\n" for line in KEY]
    out, _ = REDACTOR.redact_lines(["{}", *lines, json.dumps({"message": "done"})])
    assert _key_leaks(out) == []
    assert out[-1] == json.dumps({"message": "done"})


def test_a_blank_line_and_headers_inside_a_key_do_not_end_it() -> None:
    lines = [
        "-----BEGIN RSA PRIVATE KEY-----",
        "Proc-Type: 4,ENCRYPTED",
        "DEK-Info: AES-128-CBC,3F17F5316E2BAC89",
        "",
        "MIIEowIBAAKCAQEAdR274scY/AOjZGNc7ozdsg47vlsYpOJ+MHtEXLeZ1QuHHzrg",
        "VCVPs8==",
        "-----END RSA PRIVATE KEY-----",
    ]
    out, _ = REDACTOR.redact_lines(lines)
    assert out == [R.marker("private-key")] * len(lines)


def test_a_key_printed_line_by_line_is_hidden_in_everything_rendered_for_slack() -> None:
    doc = load_fixture("secrets/node_text.json")
    records = [parse_event(e, doc["logGroupName"]) for e in doc["events"]]
    result = SearchResult(
        query=SearchQuery(request_id="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"),
        records=records,
        log_groups_searched=[doc["logGroupName"]],
    )
    rendered = render_search(result, redactor=REDACTOR, max_sections=1)
    posted = [rendered.parent_text, rendered.thread_text, rendered.full_log or ""]
    posted += [json.dumps(b.to_dict()) for b in [*rendered.parent_blocks, *rendered.thread_blocks]]
    assert _key_leaks(posted) == []


# --- vendor tokens, by their shape -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"clone with {GHP} failed", "clone with ghp_…[REDACTED:github-token] failed"),
        (f"pat {GH_PAT}", "pat github_pat_…[REDACTED:github-token]"),
        (
            f"Invalid API Key provided: {STRIPE}",
            "Invalid API Key provided: sk_live_…[REDACTED:stripe-key]",
        ),
        (f"openai {OPENAI}.", "openai sk-proj-…[REDACTED:openai-key]."),
        (f"sendgrid {SENDGRID}", "sendgrid SG.…[REDACTED:sendgrid-key]"),
        (
            f"GET /geocode?address=x&key={GOOGLE}&v=2",
            "GET /geocode?address=x&key=AIza…[REDACTED:google-api-key]&v=2",
        ),
        (
            f"GET /b.csv?sv=2022-11-02&sp=r&sig={SAS_SIG}&x=1",
            f"GET /b.csv?sv=2022-11-02&sp=r&sig={REDACTED}&x=1",
        ),
        ('{"user": "bob", "pw": "hunter2"}', f'{{"user": "bob", "pw": "{REDACTED}"}}'),
        ('{"passcode": "493817", "n": 1}', f'{{"passcode": "{REDACTED}", "n": 1}}'),
    ],
)
def test_vendor_tokens_keep_their_prefix_and_hide_the_rest(text: str, expected: str) -> None:
    out, hidden = REDACTOR.redact(text)
    assert out == expected
    assert hidden == 1


GH_OTHERS = [GHP.replace("ghp_", p) for p in ("gho_", "ghu_", "ghs_", "ghr_")]
OPENAI_OTHERS = [
    OPENAI.replace("sk-proj-", "sk-svcacct-"),
    OPENAI.replace("sk-proj-", "sk-admin-"),
    OPENAI.replace("sk-proj-", "sk-ant-api03-"),
    "sk-" + "FAKEfake0123456789abcdefABCDEFghijkl0123456789zz",  # legacy: sk- and 48 alnum
]
TOKENS = [
    GHP,
    GH_PAT,
    *GH_OTHERS,
    STRIPE,
    STRIPE.replace("sk_live_", "rk_live_"),
    STRIPE.replace("sk_live_", "sk_test_"),
    "whsec_FAKEc2VjcmV0c2VjcmV0c2VjcmV0ZmFrZQ",
    OPENAI,
    *OPENAI_OTHERS,
    SENDGRID,
    GOOGLE,
    "GOCSPX-FAKEfake0123456789abcdefgh",  # Google OAuth client secret
    "ya29.a0AfH6SMBfakeFAKEfake0123456789_fakeFAKEfake-fake",  # Google OAuth access token
    "glpat-FAKEfake0123456789ab",  # GitLab
    "npm_FAKEfake0123456789abcdefghijklmnopqr",
    "pypi-AgEIcHlwaS5vcmcCJGZha2UtZmFrZS1mYWtlLWZha2UtZmFrZWZha2VmYWtl",
]
TOKEN_CONTEXTS = [
    "{}",
    "token {} used",
    "({})",
    "'{}'",
    '"{}"',
    "x={}",
    "auth: {}",
    '{{"client": "{}"}}',
    "Authorization: token {}",
    "https://x-access-token:{}@github.com/o/r.git",
    "{}\n",
    "line one\\n{}\\n",  # after an escaped newline: the "n" is no word character
    "col\\t{}",
    "…{}…",
    "&lt;{}&gt;",
]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("context", TOKEN_CONTEXTS)
def test_vendor_tokens_are_hidden_wherever_they_appear(token: str, context: str) -> None:
    assert shown(context.format(token), token) == []


@pytest.mark.parametrize("token", TOKENS)
def test_vendor_tokens_are_hidden_inside_escaped_json(token: str) -> None:
    line = json.dumps({"message": json.dumps({"event": f"using {token}"})})
    assert shown(line, token) == []


@pytest.mark.parametrize(
    "line",
    [
        "task-scheduler-inventory-nightly-batch-runner-01 done",
        "disk-usage-report-for-cluster-inventory-prod-2026",
        "sk-learn-pipeline-for-classification-models-v2",
        "SG.ts=4 min; SG.1.2",
        "AIza is a prefix; AIzaSy is too",
        "webhook sig verified; pw policy: 12 characters, passcode length 6",
        '{"location": "verify_sig:12", "message": "ok"}',
        "signal=15 design=v2 config=prod",
        "ghp_ prefix is GitHub's",
        "https://hooks.example.com/services/status",
        "hooks.slack.com/services/ is the Slack webhook host",
    ],
)
def test_look_alikes_are_left_alone(line: str) -> None:
    assert REDACTOR.redact(line) == (line, 0)


# --- key names users expect ---------------------------------------------------------------------

PW_FORMS = [
    '{{"{k}": "{v}"}}',
    "{{'{k}': '{v}'}}",
    '{{\\"{k}\\": \\"{v}\\"}}',
    "{k}={v}",
    "{k}: {v}",
    "?user=bob&{k}={v}&next=1",
    "{k} => '{v}'",
    "<{k}>{v}</{k}>",
]


@pytest.mark.parametrize(
    "key",
    ["pw", "PW", "userPw", "new_pw", "passcode", "PASSCODE", "pass_code", "sig", "account_key"],
)
@pytest.mark.parametrize("form", PW_FORMS)
def test_pw_passcode_and_sig_values_are_hidden(key: str, form: str) -> None:
    value = "V4lue-FAKE-9183"
    out, hidden = REDACTOR.redact(form.format(k=key, v=value))
    assert "V4lue" not in out and "9183" not in out, out
    assert hidden >= 1


@pytest.mark.parametrize(
    "url",
    [
        f"https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig={SAS_SIG}",
        f"https://a.blob.core.windows.net/c/b?sig={SAS_SIG}&se=2026",
        json.dumps(f"https://a.blob.core.windows.net/c/b?sp=r\u0026sig={SAS_SIG}"),
        "https://a.blob.core.windows.net/c/b?sp=r\\u0026sig=" + SAS_SIG,
        quote(f"https://a.blob.core.windows.net/c/b?sp=r&sig={SAS_SIG}", safe=""),
        f"SharedAccessSignature=sv=2022-11-02&sig={SAS_SIG}",
    ],
)
def test_a_url_signature_is_hidden(url: str) -> None:
    assert shown(url, SAS_SIG) == []


# --- linear time on hostile input ---------------------------------------------------------------

HOSTILE_UNITS = {
    "40-char runs beside a key id": AKID + " " + "Ab1/" * 30 + " ",
    "escaped slashes": "\\/" * 50 + "hooks.slack.com" + "\\\\\\/" * 20 + " ",
    "percent escapes": "%2F" * 40 + "hooks.slack.com%2Fservices%2F" + "%2F" * 40 + " ",
    "webhook paths": "hooks.slack.com/services/" + "T0/" * 40 + "\\u002F" * 10,
    "github": "ghp_" + "a" * 29 + " github_pat_" + "_" * 40 + " ",
    "stripe and openai": "sk_live_" + "a" * 9 + " sk-" + "-" * 40 + "sk-proj-" + "a" * 19 + " ",
    "sendgrid": "SG." + "a" * 40 + "." + "SG." * 20,
    "google": "AIza" + "a" * 29 + " AIza" * 10,
    "pem tails": "-----BEGIN PRIVATE KEY-----" + "A" * 100 + "\n" + "-" * 60,
    "connection strings": "://u:" + "a@" * 60 + ":\\/\\/u:" + "/" * 20,
    "key names": "pw=" + "sig=" * 20 + '"passcode": "' + "\\" * 30,
    "xml elements": "<password " + "a" * 50 + " password>" * 20 + "<pw>" + "x" * 40,
    "xml values": "password>",
    "xml attributes": "password ",
    "backslash runs": AKID
    + " "
    + "\\" * 100
    + "/"
    + ":"
    + "\\" * 50
    + "hooks.slack.com"
    + "\\" * 50,
    "percent runs": "hooks.slack.com%" + "25" * 50 + "2Fservices%2F" + "%25" * 30,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_UNITS))
def test_redaction_time_grows_linearly_on_hostile_input(name: str) -> None:
    unit = HOSTILE_UNITS[name]
    small = (unit * (40_000 // len(unit) + 1))[:40_000]
    large = (unit * (320_000 // len(unit) + 1))[:320_000]
    best = {small: float("inf"), large: float("inf")}
    # The thread's CPU time, not wall time: on a loaded machine preemption stretches a long
    # run more than a short one. Interleaved and best of 5 for what load is left (caches).
    for _ in range(5):
        for text in best:
            start = time.thread_time()
            REDACTOR.redact(text)
            best[text] = min(best[text], time.thread_time() - start)
    ratio = best[large] / max(best[small], 1e-4)
    # 8x the input: linear is about 8 (a little more once the text outgrows the CPU's
    # caches), quadratic about 64.
    assert ratio < 32, f"{name}: 8x the input took {ratio:.0f}x the time"


@pytest.mark.parametrize(
    "unit",
    ["\t", "\t ", "\tA", " ", "A\t", '"message": "A', "\\n"],
    ids=["tabs", "tab-space", "tab-base64", "spaces", "base64-tab", "json", "escapes"],
)
def test_key_lines_are_checked_in_linear_time(unit: str) -> None:
    # Inside a key every line is checked for key material: long runs must not rescan.
    def run(size: int) -> float:
        line = unit * (size // len(unit)) + "!"
        best = float("inf")
        for _ in range(3):
            start = time.thread_time()
            REDACTOR.redact_lines(["-----BEGIN PRIVATE KEY-----", line])
            best = min(best, time.thread_time() - start)
        return best

    small, large = run(20_000), run(160_000)
    assert large / max(small, 1e-4) < 32


def test_redact_lines_is_linear_in_the_number_of_lines() -> None:
    lines = [f"{AKID} x", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "Ab1/" * 10] * 2_000

    def cpu(batch: list[str]) -> float:  # best of 3, in the thread's CPU time
        best = float("inf")
        for _ in range(3):
            start = time.thread_time()
            REDACTOR.redact_lines(batch)
            best = min(best, time.thread_time() - start)
        return best

    assert cpu(lines) / max(cpu(lines[:600]), 1e-4) < 30
