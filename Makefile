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

.PHONY: help venv demo test lint typecheck unit bench clean sam sam-validate sam-build

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

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test: lint typecheck sam-validate sam-build $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(PY) -m logthread_local.demo

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
