"""CloudWatch filter patterns, checked again on our side of the wire.

FilterLogEvents already applies a metric filter's pattern, but local stand-ins
only honour plain and quoted terms (anything else matches every line), so the
lines that come back are checked here before they count as "the lines that made
the metric move". :func:`matches` understands the common forms:

- terms: ``ERROR``, ``"quoted phrase"``, ``?either ?or``, ``-excluded``, ``%regex%``;
- JSON: ``{ $.level = "ERROR" }``, ``{ $.status >= 500 && $.path = "/pay*" }``,
  ``{ $.error EXISTS }``, ``{ $.ok IS FALSE }``, joined by ``&&`` / ``||``
  (``&&`` binds tighter; no nested groups).

For anything else (space-delimited ``[ip, user, ...]`` patterns, nested
groups) it answers None: unknown, and the caller trusts the server.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

_TERM = re.compile(r'\s*([?-]?)(%[^%]+%|"(?:[^"\\]|\\.)*"|[^\s"]+)')
_COMPARE = re.compile(
    r"""^\$(?P<path>(?:\.[\w-]+|\[\d+\])+)\s*
    (?:(?P<op>!=|<=|>=|=|<|>)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)
      |(?P<is>IS\s+(?:TRUE|FALSE|NULL))
      |(?P<exists>(?:NOT\s+)?EXISTS))$""",
    re.X | re.I,
)
_MISSING = object()


def matches(pattern: str, line: str) -> bool | None:
    """Does ``line`` match the filter ``pattern``? None when the pattern is not understood."""
    text = pattern.strip()
    if not text:
        return True
    if text.startswith("{"):
        return _json(text, line)
    if text.startswith("["):
        return None
    return _terms(text, line)


def _terms(text: str, line: str) -> bool | None:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            return None
        pos = m.end()
        sign, term = m.group(1), m.group(2)
        {"": required, "?": optional, "-": excluded}[sign].append(term)
        if text[pos:].strip() == "":
            break

    def found(term: str) -> bool:
        if term.startswith("%") and term.endswith("%") and len(term) > 1:
            try:
                return re.search(term[1:-1], line) is not None
            except re.error:
                return False
        if term.startswith('"'):
            try:
                term = json.loads(term)
            except ValueError:
                term = term.strip('"')
        return term in line

    if not all(found(t) for t in required):
        return False
    if optional and not any(found(t) for t in optional):
        return False
    return not any(found(t) for t in excluded)


def _json(text: str, line: str) -> bool | None:
    if not text.endswith("}"):
        return None
    body = text[1:-1].strip()
    alternatives = []
    for alternative in _split(body, "||"):
        terms = []
        for raw in _split(alternative, "&&"):
            term = raw.strip()
            while term.startswith("(") and term.endswith(")"):
                term = term[1:-1].strip()
            bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', term)
            if "(" in bare or ")" in bare or "&&" in bare or "||" in bare:
                return None  # nested groups: not understood
            m = _COMPARE.match(term)
            if not m:
                return None
            terms.append(m)
        alternatives.append(terms)
    try:
        doc = json.loads(line.strip())
    except (ValueError, RecursionError):
        return False  # JSON patterns never match lines that are not JSON (or too deep to read)
    if not isinstance(doc, dict | list):
        return False
    return any(all(_compare(m, doc) for m in terms) for terms in alternatives)


def _split(text: str, operator: str) -> list[str]:
    """Split on ``operator`` outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted, i = False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        if not quoted and text.startswith(operator, i):
            parts.append("".join(current))
            current = []
            i += len(operator)
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _lookup(doc: Any, path: str) -> Any:
    for key, index in re.findall(r"\.([\w-]+)|\[(\d+)\]", path):
        if key:
            if not isinstance(doc, dict) or key not in doc:
                return _MISSING
            doc = doc[key]
        else:
            if not isinstance(doc, list) or int(index) >= len(doc):
                return _MISSING
            doc = doc[int(index)]
    return doc


def _compare(m: re.Match[str], doc: Any) -> bool:
    value = _lookup(doc, m["path"])
    if m["exists"]:
        exists = value is not _MISSING
        return not exists if m["exists"].upper().startswith("NOT") else exists
    if m["is"]:
        word = m["is"].split()[-1].upper()
        return {"TRUE": value is True, "FALSE": value is False, "NULL": value is None}[word]
    if value is _MISSING:
        return False
    op, literal = m["op"], m["value"]
    if literal.startswith('"'):
        expected = json.loads(literal) if literal.endswith('"') else literal.strip('"')
        if op not in ("=", "!="):
            return False
        same = isinstance(value, str) and fnmatch.fnmatchcase(value, expected)
        return same if op == "=" else not same
    try:
        number = float(literal)
    except ValueError:
        # Unquoted text compares like a quoted string (CloudWatch allows it).
        same = isinstance(value, str) and fnmatch.fnmatchcase(value, literal)
        return same if op == "=" else (not same if op == "!=" else False)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return op == "!="
    return {
        "=": value == number,
        "!=": value != number,
        "<": value < number,
        ">": value > number,
        "<=": value <= number,
        ">=": value >= number,
    }[op]
