"""Error signatures: what kind of error a failing request had, with the noise taken out.

Two requests that failed the same way differ in the ids, numbers, hosts and times
inside their error messages. A :class:`Signature` is the error's kind (exception
type), its message with those replaced by placeholders (:func:`normalize`), and
the top stack frame where there is one (file and function, no line number: a
deploy that moves a line must not make every error "new"). Its :attr:`~Signature.key`
is a short stable hash of the three.

A :class:`Tally` counts failing requests per signature (count, first and last
time, one example request), can be built line by line, merged with another, and
written compactly (:meth:`Tally.to_json`) so a later look can be compared with an
earlier one. Everything here is pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from logthread.records import LogRecord

# -- normalizing a message ------------------------------------------------------------------

_TLDS = (
    "com|net|org|io|dev|app|cloud|internal|local|localdomain|lan|corp|co|uk|de|fr|jp|us|eu|"
    "info|biz|me|ai|sh|xyz|tech|online|site"
)
# Each rule, in order: earlier ones take whole tokens that later ones would cut up.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Timestamps: ISO 8601 (any separator, fraction, zone), "14/05/24 03:15:00", "03:15:00.123".
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d{2}/\d{2}/\d{2,4}[ T]\d{2}:\d{2}(?::\d{2})?\b"), "<time>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    # Quoted values: the kind of error is the words around them, not what was quoted.
    (re.compile(r"'(?:[^'\\\n]|\\.){0,200}'"), "'<val>'"),
    (re.compile(r'"(?:[^"\\\n]|\\.){0,200}"'), '"<val>"'),
    (re.compile(r"`[^`\n]{0,200}`"), "`<val>`"),
    # UUIDs (request ids) and X-Ray trace ids.
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<id>",
    ),
    (re.compile(r"\b1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}\b"), "<id>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    # IPv4 (with a port), then IPv6 (three colons at least, so times never match).
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"), "<ip>"),
    (re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])"), "<ip>"),
    # Host names: dotted labels ending in a top-level domain (so ``app.py`` and
    # ``requests.exceptions.ConnectionError`` stay), with a port.
    (
        re.compile(
            rf"\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{_TLDS})(?::\d{{1,5}})?\b",
            re.IGNORECASE,
        ),
        "<host>",
    ),
    (re.compile(r"\blocalhost(?::\d{1,5})?\b"), "<host>"),
    # Hex: 0x…, and runs of 8+ hex digits with a digit among them (hashes, ids).
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"), "<hex>"),
    # Ids: a token of 6+ characters mixing letters and digits (ord_8f3k2j, cus_N1x2y3).
    (re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]{5,}\b"), "<id>"),
    # Whatever numbers are left.
    (re.compile(r"(?<![\w<])[-+]?\d+(?:[.,]\d+)*\b"), "<n>"),
)
_SPACES = re.compile(r"\s+")
MAX_MESSAGE = 300


def normalize(message: str) -> str:
    """``message`` with ids, numbers, hex, hosts, IPs, quoted values and times as placeholders.

    >>> normalize("order 42 for 10.0.0.7 timed out after 5000 ms")
    'order <n> for <ip> timed out after <n> ms'
    """
    text = message[: MAX_MESSAGE * 4]
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return _SPACES.sub(" ", text).strip()[:MAX_MESSAGE]


# -- the kind of error, and where it was raised ------------------------------------------------

# An exception line: ``KeyError: 'user'``, ``botocore.exceptions.ClientError: …``, ``TypeError``.
_EXCEPTION_LINE = re.compile(
    r"^(?P<type>(?:[A-Za-z_][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception|Exit|Interrupt|Fault|Failure|Timeout|Warning))"
    r"(?::\s*(?P<message>.*))?$"
)
_EXCEPTION_WORD = re.compile(r"\b((?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Fault|Timeout))\b")
_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+, in (?P<func>\S+)')
_NODE_FRAME = re.compile(r"^\s*at (?:(?P<func>[^\s(]+) \()?(?P<file>[^()\s]+?)(?::\d+){1,2}\)?\s*$")
_TRACEBACK = "Traceback (most recent call last):"
_LEVELS = frozenset({"ERROR", "FATAL", "CRITICAL", "WARN", "WARNING"})
_TIMEOUT = re.compile(r"Task timed out after")


@dataclass(frozen=True, slots=True)
class Signature:
    """One kind of error.

    Attributes
    ----------
    kind:
        The exception type (``KeyError``, ``botocore.exceptions.ClientError``), or what
        stands for one: ``Task timed out``, a REPORT's ``Status: timeout``, the level.
    message:
        The error's message, normalized (:func:`normalize`).
    frame:
        The top stack frame, ``file in function`` (Python: the innermost ``File``
        line; Node: the first ``at`` line), ``""`` when the line has no stack.
    """

    kind: str
    message: str
    frame: str = ""

    @property
    def key(self) -> str:
        """A short stable id: the same kind, message and frame always give the same key."""
        text = f"{self.kind}\n{self.message}\n{self.frame}"
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    @property
    def label(self) -> str:
        """``kind: message`` as a reader sees it (the frame is shown apart)."""
        if not self.message or self.message == self.kind:
            return self.kind
        if self.kind in _LEVELS or self.kind in self.message:
            return self.message  # the kind is a level, or the message names it already
        return f"{self.kind}: {self.message}"


def is_failing(record: LogRecord) -> bool:
    """Does this line say the request failed (error level, timeout, failed REPORT)?"""
    if record.is_error or record.extra.get("timeout"):
        return True
    if record.kind == "report" and record.extra.get("status") in ("timeout", "error", "failure"):
        return True
    return "Task timed out" in (record.raw or record.message)


def signature_of(lines: Iterable[LogRecord]) -> Signature:
    """The signature of a failing request: that of its first failing line.

    Parameters
    ----------
    lines:
        The request's parsed lines (any order; :mod:`logthread.logparse` records).
        The earliest failing line decides; with none, the earliest line.
    """
    ordered = sorted(lines, key=lambda r: r.timestamp)
    if not ordered:
        return Signature("unknown", "")
    first = next((r for r in ordered if is_failing(r)), ordered[0])
    return signature_of_line(first)


def signature_of_line(record: LogRecord) -> Signature:
    """The signature one log line stands for (see :class:`Signature`)."""
    text = record.message or record.raw
    if record.kind == "report":
        status = str(record.extra.get("status") or "")
        kind = str(record.extra.get("error_type") or "") or (
            f"Status: {status}" if status else "REPORT"
        )
        return Signature(kind, f"REPORT Status: {status}" if status else "REPORT")
    if _TIMEOUT.search(text):
        line = next(ln for ln in text.splitlines() if _TIMEOUT.search(ln))
        return Signature("Task timed out", normalize(line[line.index("Task timed out") :]))
    structured = _structured_error(record, text)
    if structured is not None:
        return structured
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return Signature(record.level or "ERROR", "")
    kind, message = _kind_and_message(lines)
    return Signature(kind or record.level or "ERROR", normalize(message), _top_frame(lines))


def _kind_and_message(lines: list[str]) -> tuple[str, str]:
    """The exception type and message from a line (and its traceback, if it has one)."""
    first = lines[0]
    match = _EXCEPTION_LINE.match(first.strip())
    if match:
        return match["type"], match["message"] or ""
    if any(ln.strip() == _TRACEBACK for ln in lines):
        # ``logger.exception``: the message first, the exception line last (unindented).
        for ln in reversed(lines):
            if not ln.startswith((" ", "\t")) and (m := _EXCEPTION_LINE.match(ln)):
                return m["type"], m["message"] or ""
    word = _EXCEPTION_WORD.search(first)
    return (word.group(1) if word else ""), first


def _top_frame(lines: list[str]) -> str:
    """Python's innermost ``File`` line, else Node's first ``at`` line: ``file in function``."""
    python = [m for ln in lines if (m := _PY_FRAME.match(ln))]
    if python:
        return f"{python[-1]['file']} in {python[-1]['func']}"
    for ln in lines[1:]:
        if m := _NODE_FRAME.match(ln):
            where = m["file"].removeprefix("file://")
            return f"{where} in {m['func']}" if m["func"] else where
    return ""


def _structured_error(record: LogRecord, text: str) -> Signature | None:
    """Node's ``Invoke Error``/``Uncaught Exception`` JSON, or the JSON log format's fields."""
    data: dict[str, Any] = {}
    start = text.find("{")
    if start >= 0 and '"errorType"' in text:
        try:
            parsed = json.loads(text[start:])
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            data = parsed
    if not data and record.extra.get("errorType"):
        data = record.extra
    kind = data.get("errorType")
    if not isinstance(kind, str) or not kind:
        return None
    stack = data.get("stack") or data.get("stackTrace") or []
    if isinstance(stack, str):
        stack = stack.splitlines()
    frames = [str(s).rstrip() for s in stack if isinstance(s, str)]
    return Signature(
        kind, normalize(str(data.get("errorMessage") or "")), _top_frame(["", *frames])
    )


# -- counting ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One signature's count in a :class:`Tally`: how many requests, when, and one of them.

    ``example_id`` is the most recent request of that kind (in ``example_group``).
    """

    signature: Signature
    count: int
    first_ms: int
    last_ms: int
    example_id: str
    example_group: str = ""

    def merged(self, other: Entry) -> Entry:
        newest = other if other.last_ms > self.last_ms else self
        return replace(
            self,
            count=self.count + other.count,
            first_ms=min(self.first_ms, other.first_ms),
            last_ms=max(self.last_ms, other.last_ms),
            example_id=newest.example_id,
            example_group=newest.example_group,
        )


class Tally:
    """Failing requests counted per signature; built incrementally, merged, serialized.

    Each :meth:`add` is one failing request (the caller de-duplicates requests).
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self._merge_entry(entry)

    def add(self, signature: Signature, at_ms: int, request_id: str, log_group: str = "") -> None:
        """Count one failing request of ``signature`` at ``at_ms``."""
        self._merge_entry(Entry(signature, 1, at_ms, at_ms, request_id, log_group))

    def merge(self, other: Tally) -> Tally:
        """A new tally holding both counts (neither is changed)."""
        out = Tally(self._entries.values())
        for entry in other:
            out._merge_entry(entry)
        return out

    def _merge_entry(self, entry: Entry) -> None:
        key = entry.signature.key
        held = self._entries.get(key)
        self._entries[key] = entry if held is None else held.merged(entry)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    @property
    def total(self) -> int:
        """Failing requests counted, all kinds together."""
        return sum(e.count for e in self._entries.values())

    def ranked(self) -> list[Entry]:
        """Most frequent first; ties: the most recent first, then by key (stable)."""
        return sorted(self._entries.values(), key=lambda e: (-e.count, -e.last_ms, e.signature.key))

    def new_since(self, earlier: Tally) -> list[Entry]:
        """This tally's entries whose signature ``earlier`` does not hold, most frequent first."""
        return [e for e in self.ranked() if e.signature.key not in earlier]

    def to_json(self, *, limit: int | None = None) -> str:
        """Compact JSON (the ``limit`` most frequent kinds when given); see :meth:`from_json`."""
        rows = [
            [
                e.signature.kind[:200],
                e.signature.message,
                e.signature.frame[:200],
                e.count,
                e.first_ms,
                e.last_ms,
                e.example_id,
                e.example_group,
            ]
            for e in self.ranked()[:limit]
        ]
        return json.dumps({"v": 1, "s": rows}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Tally:
        """Read :meth:`to_json`'s output; anything unreadable reads as an empty tally."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            return cls()
        rows = data.get("s") if isinstance(data, dict) and data.get("v") == 1 else None
        out = cls()
        for row in rows if isinstance(rows, list) else []:
            try:
                kind, message, frame, count, first, last, example, group = row
                out._merge_entry(
                    Entry(
                        Signature(str(kind), str(message), str(frame)),
                        int(count),
                        int(first),
                        int(last),
                        str(example),
                        str(group),
                    )
                )
            except (TypeError, ValueError):
                continue
        return out
