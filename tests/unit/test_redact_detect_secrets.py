"""detect-secrets 1.5 as a second opinion on what we post.

The layer keeps its own rules (``bench/bench_redact.py`` prints why: detect-secrets
is line-oriented, misses most of the corpus, is slow and quadratic on some input,
and would add to the cold start). What its rule set knows still counts: its regex
plugins and keyword rules must find nothing left in our output. If this fails
after an upgrade of detect-secrets, it has a rule ours lacks.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import load_fixture

from logthread.redact import Redactor

pytest.importorskip("detect_secrets")

FORMATS = ["python_text.json", "node_text.json", "lambda_json.json", "powertools.json"]


def _rule_plugins() -> list[Any]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.ip_public import IPPublicDetector
    from detect_secrets.plugins.keyword import KeywordDetector

    classes = get_mapping_from_secret_type_to_class().values()
    # Public IP addresses are no secret; the entropy plugins are no rules.
    rules = [
        c() for c in classes if issubclass(c, RegexBasedDetector) and c is not IPPublicDetector
    ]
    return [*rules, KeywordDetector()]


def _findings(lines: list[str]) -> list[tuple[str, str]]:
    plugins = _rule_plugins()
    return [
        (type(p).__name__, value)
        for line in lines
        for p in plugins
        for value in p.analyze_string(line)
        if value
    ]


@pytest.mark.parametrize("name", FORMATS)
def test_detect_secrets_finds_nothing_in_what_we_post(name: str) -> None:
    messages = [e["message"] for e in load_fixture(f"secrets/{name}")["events"]]
    assert _findings(messages), "the corpus must hold something its rules know"
    out, _ = Redactor().redact_lines(messages)
    assert _findings(out) == []
