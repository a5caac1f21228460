"""Request ids from payloads that carry them: ordered jmespath rules from the config.

Each rule names an alarm-name pattern and a jmespath expression. Expressions run
with Powertools' JMESPath functions, so JSON inside a string is reachable:
``powertools_json(detail).requestId`` reads ``{"detail": "{\\"requestId\\": ...}"}``.
The first rule (in configuration order) that yields a valid id wins; a rule
that fails on this payload is skipped and noted, never fatal.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
from aws_lambda_powertools.utilities.jmespath_utils import PowertoolsFunctions

from logthread.alarms.parse import Alarm
from logthread.config import Config
from logthread.ids import InvalidRequestId, validate_request_id


@dataclass(frozen=True, slots=True)
class Extraction:
    """What the rules found.

    Attributes
    ----------
    ids:
        Valid request ids, in payload order, without duplicates.
    rule:
        The expression that produced them (``""`` when none did).
    notes:
        Why rules yielded nothing: errors and rejected values, for the logs.
    """

    ids: tuple[str, ...] = ()
    rule: str = ""
    notes: tuple[str, ...] = ()


@functools.cache
def _options() -> jmespath.Options:
    return jmespath.Options(custom_functions=PowertoolsFunctions())


@functools.cache
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def _strings(value: Any) -> Iterator[str]:
    """Flatten a jmespath result: a string, or lists of strings at any depth (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))


def evaluate(expression: str, document: Any) -> list[str]:
    """Run one expression (with Powertools' functions) and flatten its strings.

    Raises
    ------
    ValueError
        When the expression fails on this document (e.g. ``powertools_json`` on
        text that is not JSON or nested too deep to decode, or a type error inside a
        function): whatever the payload holds, a rule fails this way and no other.
    """
    try:
        result = _compiled(expression).search(document, options=_options())
        return list(_strings(result))
    except Exception as exc:  # RecursionError, OverflowError...: the payload's doing, not ours
        raise ValueError(f"{expression}: {type(exc).__name__}: {str(exc)[:200]}") from None


def extract_ids(alarm: Alarm, config: Config) -> Extraction:
    """Apply the rules that match ``alarm.name``, in order; the first that yields ids wins.

    Parameters
    ----------
    alarm:
        The parsed notification; rules run on ``alarm.payload`` (the decoded JSON,
        or the raw text for plain-text notifications).
    config:
        Supplies ``request_id_rules`` (see :meth:`Config.id_rules_for`).

    Returns
    -------
    Extraction
        Empty ``ids`` when no rule applies or none found a valid id.
    """
    if alarm.payload is None:
        return Extraction()
    notes: list[str] = []
    for rule in config.id_rules_for(alarm.name):
        try:
            values = evaluate(rule.expression, alarm.payload)
        except ValueError as exc:
            notes.append(f"rule failed: {exc}")
            continue
        ids = _valid(values, notes)
        if ids:
            return Extraction(ids=ids, rule=rule.expression, notes=tuple(notes))
    return Extraction(notes=tuple(notes))


def _valid(values: Iterable[str], notes: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        try:
            out.append(validate_request_id(value))
        except InvalidRequestId as exc:
            # Ids go into filter patterns: anything outside the allowlist is dropped.
            notes.append(f"not a request id: {value[:80]!r} ({exc})")
    return tuple(dict.fromkeys(out))
