"""Redaction: ours beside detect-secrets 1.5, on the same corpus and the same timeline.

The timeline: 10,000 lines mixing every Lambda log format (Python and Node text,
Lambda JSON, Powertools JSON, START/END/REPORT), with URLs, ARNs, request and
trace ids, and about 2% of lines holding a secret (the events of ``fixtures/secrets``).

Throughput (lines/s):

* naive: every built-in pattern applied to every line with ``re.sub``;
* one combined regex: the built-ins as one alternation, one pass per line;
* shipped: ``Redactor().redact``: each pass runs only when the line holds a
  substring the pattern needs;
* detect-secrets 1.5 plugin regexes: what its regex plugins (and its keyword
  rules) find in a line is replaced, the way a redactor built on its
  ``denylist`` regexes would work;
* detect-secrets 1.5 ``scan_line``: the library's own scan, all 27 plugins with
  entropy checks and filters; each reported value is replaced.

Then, for every secret of the corpus (``fixtures/secrets``, every log format):
hidden or leaked, by each of the three. Ours gets each file's events through
``redact_lines``, as the search renderer does; detect-secrets scans line by line,
which is all it offers. Then the clean lines each one changes (false positives),
time on hostile input (a ratio near the size ratio means linear), and the import
cost and footprint detect-secrets would add to the layer.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

from logthread import redact as R

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "secrets"
LINES = 10_000
DS_LINES = 2_000  # detect-secrets is two orders of magnitude slower: a slice of the timeline
DS_SCAN_LINES = 500
ROUNDS = 5
FORMATS = ("python_text.json", "node_text.json", "lambda_json.json", "powertools.json")
DS_MARK = "[DS]"


# Every built-in as one alternation: the "fewest passes" design, kept here to show
# why the shipped code does not use it. Left out: the AWS pair rule (it only runs
# beside a key id, which one alternation cannot express) and a second pass of a kind
# (same group names: the escaped connection string).
def _combined() -> re.Pattern[str]:
    pair = getattr(R, "_AWS_PAIR_RE", None)
    names: set[str] = set()
    parts = []
    for regex, _, _ in R._PASSES:
        if regex is not pair and not names & set(regex.groupindex):
            names |= set(regex.groupindex)
            parts.append(regex.pattern)
    return re.compile("|".join(parts))


_COMBINED = _combined()


def _naive(text: str) -> tuple[str, int]:
    return R._builtin_passes(text, prefilter=False)


def _one_pass(text: str) -> tuple[str, int]:
    return R._sub(_COMBINED, text, R._builtin_replacement)


def timeline(n: int = LINES, seed: int = 7) -> list[str]:
    """A deterministic mixed-format timeline of ``n`` log messages."""
    rnd = random.Random(seed)
    secret_events = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name != "secrets.json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            secret_events += [e["message"] for e in doc["events"] if e.get("secrets")]

    def rid() -> str:
        return "%08x-%04x-4%03x-8%03x-%012x" % (  # noqa: UP031 - uuid layout
            rnd.getrandbits(32),
            rnd.getrandbits(16),
            rnd.getrandbits(12),
            rnd.getrandbits(12),
            rnd.getrandbits(48),
        )

    def ts() -> str:
        return f"2026-11-28T21:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}.{rnd.randrange(1000):03d}Z"

    trace = f"1-6748d7a4-{rnd.getrandbits(96):024x}"
    benign: list[Callable[[str], str]] = [
        lambda r: f"START RequestId: {r} Version: $LATEST\n",
        lambda r: f"END RequestId: {r}\n",
        lambda r: (
            f"REPORT RequestId: {r}\tDuration: {rnd.uniform(1, 900):.2f} ms\tBilled Duration: "
            f"{rnd.randrange(1, 900)} ms\tMemory Size: 512 MB\tMax Memory Used: 91 MB\t\n"
        ),
        lambda r: (
            f"[INFO]\t{ts()}\t{r}\tprocessing order {rnd.randrange(10**6)} for customer {rnd.randrange(10**5)}\n"
        ),
        lambda r: (
            f"[INFO]\t{ts()}\t{r}\tGET https://api.example.com/v1/items?page={rnd.randrange(9)}&limit=50 -> 200 in {rnd.uniform(1, 90):.1f} ms\n"
        ),
        lambda r: (
            f"[WARNING]\t{ts()}\t{r}\tretrying arn:aws:dynamodb:us-east-1:123456789012:table/orders after ProvisionedThroughputExceededException\n"
        ),
        lambda r: (
            f"[ERROR]\t{ts()}\t{r}\tvalidation failed for field 'quantity': must be > 0 (got {-rnd.randrange(9)})\n"
        ),
        lambda r: (
            f"{ts()}\t{r}\tINFO\tcart {rnd.getrandbits(32):08x} updated: 3 items, total 42.10 EUR\n"
        ),
        lambda r: (
            f'{ts()}\t{r}\tERROR\tInvoke Error \t{{"errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading \'id\')","stack":["TypeError: Cannot read properties of undefined","    at handler (/var/task/index.js:12:20)"]}}\n'
        ),
        lambda r: (
            json.dumps(
                {
                    "timestamp": ts(),
                    "level": "INFO",
                    "message": f"sent message to https://sqs.us-east-1.amazonaws.com/123456789012/jobs ({rnd.randrange(99)} ms)",
                    "logger": "root",
                    "requestId": r,
                }
            )
            + "\n"
        ),
        lambda r: (
            json.dumps(
                {
                    "level": "INFO",
                    "location": "handler:57",
                    "message": {"order_id": rnd.randrange(10**6), "status": "PAID", "items": 3},
                    "timestamp": "2026-11-28 21:04:20,014+0000",
                    "service": "payments",
                    "cold_start": False,
                    "function_name": "payments",
                    "function_memory_size": "512",
                    "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:payments",
                    "function_request_id": r,
                    "xray_trace_id": trace,
                }
            )
            + "\n"
        ),
        lambda r: (
            json.dumps(
                {
                    "time": ts(),
                    "type": "platform.report",
                    "record": {
                        "requestId": r,
                        "metrics": {"durationMs": 12.5, "billedDurationMs": 13},
                    },
                }
            )
            + "\n"
        ),
    ]
    out = []
    request = rid()
    for i in range(n):
        if i % 20 == 0:
            request = rid()
        if rnd.random() < 0.02:
            out.append(rnd.choice(secret_events))
        else:
            out.append(rnd.choice(benign)(request))
    return out


def _best(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _hostile(size: int) -> str:
    # Near-misses of every pattern, so each one starts and fails over and over.
    unit = (
        'token:x secret_access_key="'
        + "A" * 39
        + '!" AKIA'
        + "Q" * 15
        + " eyJ"
        + "a" * 30
        + ". bearer abcdefghij xoxb-short ://u:"
        + "p" * 20
        + " -----BEGIN PRIVATE KE "
        + "a.-" * 8
        + 'password="\\\\\\"x\n'
        + "AKIAIOSFODNN7EXAMPLE "
        + "Ab1/" * 12
        + " hooks.slack.com\\/services\\/"
        + "%2F" * 8
        + " ghp_"
        + "a" * 29
        + " sk-"
        + "-" * 20
        + " SG."
        + "a" * 20
        + ". AIza"
        + "a" * 20
        + " <password "
        + "a" * 20
        + " pw=\n"
    )
    return (unit * (size // len(unit) + 1))[:size]


# --- detect-secrets ---------------------------------------------------------------------


class _DetectSecrets:
    """detect-secrets 1.5 as a redactor: what it finds in a line is replaced."""

    def __init__(self) -> None:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.core.scan import scan_line
        from detect_secrets.plugins.base import RegexBasedDetector
        from detect_secrets.plugins.keyword import (
            QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
            KeywordDetector,
        )
        from detect_secrets.settings import default_settings

        classes = get_mapping_from_secret_type_to_class().values()
        self.plugin_count = len(classes)
        # The regex plugins and the keyword rules (its default set for text that is no
        # known file type); the entropy plugins are no rule set: they are in scan_line.
        self.plugins = [c() for c in classes if issubclass(c, RegexBasedDetector)]
        self.plugins.append(KeywordDetector())
        self.rules = (
            f"{sum(len(list(p.denylist)) for p in self.plugins[:-1])} regexes + "
            f"{len(QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)} keyword rules"
        )
        self._scan_line = scan_line
        self._settings = default_settings

    def regexes(self, line: str) -> tuple[str, int]:
        found: set[str] = set()
        for plugin in self.plugins:
            found.update(v for v in plugin.analyze_string(line) if v)
        return _replace(line, found)

    def scan(self, lines: Iterable[str]) -> list[tuple[str, int]]:
        with self._settings():
            return [
                _replace(line, {s.secret_value or "" for s in self._scan_line(line)} - {""})
                for line in lines
            ]


def _replace(line: str, values: set[str]) -> tuple[str, int]:
    for value in sorted(values, key=len, reverse=True):
        line = line.replace(value, DS_MARK)
    return line, len(values)


def _detect_secrets() -> _DetectSecrets | None:
    try:
        return _DetectSecrets()
    except ImportError:
        return None


# --- the corpus: what each one hides ------------------------------------------------------


def _escaped(value: str, depth: int) -> str:
    for _ in range(depth):
        value = json.dumps(value, ensure_ascii=False)[1:-1]
    return value


def _leak_forms(value: str, kind: str) -> set[str]:
    """What a leak of ``value`` looks like in a line: it, escaped, or a long piece of it."""
    if kind == "private-key":
        return {line for line in value.splitlines() if "-----" not in line}
    forms = {value, *(_escaped(value, d) for d in (1, 2, 3))}
    forms |= {f.replace("/", "\\/") for f in forms} | {quote(value, safe="")}
    return forms | {p for p in value.split("/") if len(p) >= 12}


def _corpus() -> tuple[dict[str, dict[str, str]], list[list[str]], list[str], set[str]]:
    """The secrets, each format's messages, the clean messages, and the messages with secrets."""

    def events(name: str) -> list[dict[str, object]]:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["events"]

    secrets = json.loads((FIXTURES / "secrets.json").read_text(encoding="utf-8"))
    files = [[str(e["message"]) for e in events(n)] for n in FORMATS]
    clean = [str(e["message"]) for e in events("clean.json")]
    with_secrets = {str(e["message"]) for n in FORMATS for e in events(n) if e.get("secrets")}
    return secrets, files, clean, with_secrets


def _leaked(secrets: dict[str, dict[str, str]], outputs: list[str]) -> set[str]:
    text = "\n".join(outputs)
    return {
        name
        for name, s in secrets.items()
        if any(form in text for form in _leak_forms(s["value"], s["kind"]))
    }


def _coverage(ds: _DetectSecrets | None) -> list[str]:
    secrets, files, clean, with_secrets = _corpus()
    ours = R.Redactor()
    columns: dict[str, Callable[[list[str]], list[str]]] = {
        "ours": lambda msgs: ours.redact_lines(msgs)[0]
    }
    if ds is not None:
        columns["ds regexes"] = lambda msgs: [ds.regexes(m)[0] for m in msgs]
        columns["ds scan_line"] = lambda msgs: [o for o, _ in ds.scan(msgs)]
    leaks = {
        label: _leaked(secrets, [o for msgs in files for o in redact(msgs)])
        for label, redact in columns.items()
    }
    width = max(map(len, secrets)) + 2
    out = [
        f"corpus: {len(secrets)} secrets in {len(files)} log formats (fixtures/secrets), "
        "hidden by each:",
        f"  {'secret':{width}s}{'kind':16s}" + "".join(f"{c:>14s}" for c in columns),
    ]
    for name, s in secrets.items():
        cells = "".join(f"{'LEAK' if name in leaks[c] else 'hidden':>14s}" for c in columns)
        out.append(f"  {name:{width}s}{s['kind']:16s}{cells}")
    totals = "".join(f"{len(secrets) - len(leaks[c]):>11d}/{len(secrets)}" for c in columns)
    out.append(f"  {'hidden':{width + 16}s}{totals}")
    benign = [line for line in timeline() if line not in with_secrets][:DS_SCAN_LINES]
    altered = {
        label: (
            sum(a != b for a, b in zip(clean, redact(clean), strict=True)),
            sum(a != b for a, b in zip(benign, redact(benign), strict=True)),
        )
        for label, redact in columns.items()
    }
    out.append(
        f"  {'clean lines changed (clean.json)':{width + 16}s}"
        + "".join(f"{altered[c][0]:>11d}/{len(clean)}" for c in columns)
    )
    out.append(
        f"  {'benign timeline lines changed':{width + 16}s}"
        + "".join(f"{altered[c][1]:>11d}/{DS_SCAN_LINES}" for c in columns)
    )
    return out


# --- the report ----------------------------------------------------------------------------


def _rate(label: str, seconds: float, lines: int) -> str:
    return f"  {label:62s} {seconds * 1e3:9.1f} ms {lines / seconds:>10,.0f} lines/s"


def _import_seconds(module: str, after: str = "sys") -> float:
    """Best of 3 fresh interpreters: the cold-start cost of importing ``module`` once
    ``after`` is already imported."""
    code = (
        f"import {after}, time; t = time.perf_counter(); import {module}; "
        "print(time.perf_counter() - t)"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(3)
    ]
    return min(float(r.stdout) for r in runs)


def _footprint() -> tuple[int, list[str]]:
    """Bytes detect-secrets and what it pulls in would add to the layer (PyYAML is already
    there; urllib3 comes with the Lambda runtime's botocore)."""
    from importlib import metadata

    names = ["detect-secrets", "requests", "charset-normalizer", "idna", "certifi"]
    total = 0
    for name in names:
        total += sum(f.size or 0 for f in metadata.distribution(name).files or ())
    return total, names


def run() -> list[str]:
    lines = timeline()
    chars = sum(map(len, lines))
    redactor = R.Redactor()
    with_secret = sum(1 for line in lines if redactor.redact(line)[1])
    ds = _detect_secrets()
    out = [
        f"timeline: {len(lines):,} lines ({chars / 1e6:.1f} MB, {with_secret} with secrets), "
        f"best of {ROUNDS}:"
    ]
    out.append(
        _rate(
            f"naive: {len(R._PASSES)} regex passes per line",
            _best(lambda: [_naive(x) for x in lines]),
            len(lines),
        )
    )
    out.append(
        _rate(
            "one combined regex, one pass", _best(lambda: [_one_pass(x) for x in lines]), len(lines)
        )
    )
    out.append(
        _rate(
            "ours: Redactor.redact per line",
            _best(lambda: [redactor.redact(x) for x in lines]),
            len(lines),
        )
    )
    joined = "".join(lines)
    out.append(
        _rate(
            "ours: whole timeline as one text", _best(lambda: redactor.redact(joined)), len(lines)
        )
    )
    out.append(
        _rate(
            "ours: redact_lines (as the renderer calls it)",
            _best(lambda: redactor.redact_lines(lines)),
            len(lines),
        )
    )
    if ds is None:
        out.append("  detect-secrets not installed (pip install -e '.[dev]'): no comparison")
    else:
        part, scan_part = lines[:DS_LINES], lines[:DS_SCAN_LINES]
        out.append(
            _rate(
                f"detect-secrets: {ds.rules}, {DS_LINES:,} lines",
                _best(lambda: [ds.regexes(x) for x in part], 1),
                len(part),
            )
        )
        out.append(
            _rate(
                f"detect-secrets: scan_line, {ds.plugin_count} plugins, {DS_SCAN_LINES} lines",
                _best(lambda: ds.scan(scan_part), 1),
                len(scan_part),
            )
        )
    out += _coverage(ds)
    small, large = _hostile(50_000), _hostile(500_000)
    t_small, t_large = _best(lambda: redactor.redact(small)), _best(lambda: redactor.redact(large))
    out.append(
        f"hostile text, ours: 50 KB {t_small * 1e3:.1f} ms, 500 KB {t_large * 1e3:.1f} ms "
        f"(ratio {t_large / t_small:.1f}; 10 = linear)"
    )
    if ds is not None:
        # Its keyword rule backtracks through "\w*" after each key word: a body of
        # repeated key words is quadratic.
        one, two = ("password" * 125), ("password" * 250)
        d1 = _best(lambda: ds.regexes(one), 1)
        d2 = _best(lambda: ds.regexes(two), 1)
        o1, o2 = _best(lambda: redactor.redact(one)), _best(lambda: redactor.redact(two))
        out.append(
            f'"password" repeated, 1 KB / 2 KB: detect-secrets {d1 * 1e3:,.0f} / {d2 * 1e3:,.0f} ms '
            f"(ratio {d2 / d1:.1f}; 2 = linear), ours {o1 * 1e3:.2f} / {o2 * 1e3:.2f} ms"
        )
        h1, h2 = _hostile(10_000), _hostile(40_000)
        d1, d2 = _best(lambda: ds.regexes(h1), 1), _best(lambda: ds.regexes(h2), 1)
        out.append(
            f"hostile text, detect-secrets regexes: 10 KB {d1 * 1e3:.1f} ms, 40 KB {d2 * 1e3:.1f} ms "
            f"(ratio {d2 / d1:.1f}; 4 = linear)"
        )
        size, names = _footprint()
        ours_import = _import_seconds("logthread.redact")
        ds_import = _import_seconds("detect_secrets.core.scan", after="logthread.redact")
        out.append(
            f"cold start: import logthread.redact {ours_import * 1e3:.0f} ms; detect_secrets "
            f"on top of it {ds_import * 1e3:.0f} ms, and the layer would grow by "
            f"{size / 1e6:.1f} MB ({', '.join(names)})"
        )
    return out


if __name__ == "__main__":
    print("\n".join(run()))
