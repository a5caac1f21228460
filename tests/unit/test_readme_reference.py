"""README's "Configuration reference" names every config key and every variable the code reads."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from logthread import config

ROOT = Path(__file__).resolve().parents[2]
# Set by Lambda or by convention, not by a logthread user.
STANDARD = {"AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "NO_COLOR"}


def _reference() -> str:
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    start = readme.index("## Configuration reference")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_every_config_key_is_documented() -> None:
    ref = _reference()
    keys = {f.name for f in dataclasses.fields(config.Config)}
    keys |= {f.name for f in dataclasses.fields(config.Limits)}
    keys |= {f.name for f in dataclasses.fields(config.Access)}
    missing = sorted(k for k in keys if not re.search(rf"^\s*-?\s*{k}:", ref, re.MULTILINE))
    assert not missing, f"README Configuration reference lacks keys: {missing}"


def test_every_environment_variable_is_documented() -> None:
    pattern = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
    read: set[str] = set()
    for folder in ("layers/logthread/logthread", "functions"):
        for path in ROOT.joinpath(folder).rglob("*.py"):
            read |= set(pattern.findall(path.read_text(encoding="utf-8")))
    ref = _reference()
    missing = sorted(v for v in read - STANDARD if f"`{v}`" not in ref)
    assert not missing, f"README Configuration reference lacks variables: {missing}"
