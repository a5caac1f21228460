# Every target sets itself up from nothing: a fresh clone needs only python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# AWS SAM CLI lives in its own venv: it pins its own cfn-lint, boto3 and pydantic, which have no
# business in the test environment. Telemetry off: builds here report nothing to anyone.
SAM_CLI_VERSION := 1.170.0
SAM_VENV  := .tools/sam
SAM       := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv demo test lint typecheck contracts unit bench clean sam sam-validate sam-build chromium

help:
	@echo "make demo   run logthread end to end on the embedded local stack"
	@echo "make test   lint, type-check and run every test"
	@echo "make bench  run the benchmarks, each beside its baseline"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

$(SAM_STAMP):
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

sam: $(SAM_STAMP)

# cfn-lint through sam: any error fails the target.
sam-validate: $(SAM_STAMP)
	$(SAM) validate --lint --template-file template.yaml

# No Docker: the layer's makefile fetches Lambda's arm64 wheels itself (layers/logthread/Makefile).
# The checks after the build hold the layer to the core package: no tests, no local stand-ins.
sam-build: $(SAM_STAMP)
	$(SAM) build --template-file template.yaml --cached
	test -f .aws-sam/build/LogthreadLayer/python/logthread/__init__.py
	test -f .aws-sam/build/IngressFunction/app.py
	test -f .aws-sam/build/WorkerFunction/app.py
	test -z "$$(find .aws-sam/build -name logthread_local -o -name tests -o -name 'test_*.py' -o -name conftest.py)"

# The browser test drives Debian's Chromium through Playwright; no step downloads a browser
# build of its own. Installed once where missing (CI runs as root; elsewhere sudo, if allowed).
CHROMIUM_PKGS := chromium chromium-driver
chromium:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PKGS); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PKGS); \
	else echo "chromium is missing and cannot be installed without root: the browser test will skip"; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The layers in README's "How the code is laid out", as import-linter contracts (pyproject.toml).
contracts: $(STAMP)
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test: lint typecheck contracts sam-validate sam-build chromium $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(PY) -m logthread_local.demo

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
