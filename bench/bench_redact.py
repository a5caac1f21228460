"""Redaction throughput on a realistic 10,000-line timeline, beside a naive baseline.

The timeline mixes every Lambda log format (Python and Node text, Lambda JSON,
Powertools JSON, START/END/REPORT), with URLs, ARNs, request and trace ids, and
about 2% of lines holding a secret (the events of ``fixtures/secrets``).

* naive: for each line, each of the nine built-in patterns applied in turn
  with ``re.sub`` - the obvious way to write it;
* one combined regex: the nine as one alternation, one pass per line;
* shipped: ``Redactor().redact``: the nine passes, each run only when the line
  holds a substring the pattern needs.

Also the cost of hostile input: 10 KB and 100 KB of adversarial text; a ratio
near 10 means time grows linearly with the input (no catastrophic backtracking).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from logthread import redact as R

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "secrets"
LINES = 10_000
ROUNDS = 5

# The same nine patterns as one alternation: the "fewest passes" design, kept
# here to show why the shipped code does not use it.
_COMBINED = re.compile(
    "|".join(
        (
            R._PEM,
            R._AWS_SECRET,
            R._KV,
            R._AWS_KEY_ID,
            R._SLACK_TOKEN,
            R._SLACK_HOOK,
            R._JWT,
            R._AUTH_SCHEME,
            R._CONN,
        )
    )
)


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


def _best(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
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
    )
    return (unit * (size // len(unit) + 1))[:size]


def run() -> list[str]:
    lines = timeline()
    chars = sum(map(len, lines))
    redactor = R.Redactor()
    with_secret = sum(1 for line in lines if redactor.redact(line)[1])
    out = [
        f"redaction, {len(lines):,} lines ({chars / 1e6:.1f} MB, {with_secret} with secrets), "
        f"best of {ROUNDS}:"
    ]
    rows = [
        ("naive: 9 regex passes per line", lambda: [_naive(x) for x in lines]),
        ("one combined regex, one pass", lambda: [_one_pass(x) for x in lines]),
        ("shipped Redactor.redact per line", lambda: [redactor.redact(x) for x in lines]),
    ]
    base = None
    for label, fn in rows:
        seconds = _best(fn)
        base = base or seconds
        out.append(
            f"  {label:38s} {seconds * 1e3:8.1f} ms  {len(lines) / seconds:>10,.0f} lines/s"
            f"  ({base / seconds:.1f}x naive)"
        )
    joined = "".join(lines)
    seconds = _best(lambda: redactor.redact(joined))
    out.append(
        f"  {'shipped, whole timeline as one text':38s} {seconds * 1e3:8.1f} ms"
        f"  {len(lines) / seconds:>10,.0f} lines/s  ({base / seconds:.1f}x naive)"
    )
    small, large = _hostile(10_000), _hostile(100_000)
    t_small, t_large = _best(lambda: redactor.redact(small)), _best(lambda: redactor.redact(large))
    out.append(
        f"  hostile text: 10 KB {t_small * 1e3:.1f} ms, 100 KB {t_large * 1e3:.1f} ms "
        f"(ratio {t_large / t_small:.1f}; 10 = linear)"
    )
    return out


if __name__ == "__main__":
    print("\n".join(run()))
