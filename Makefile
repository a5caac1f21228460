# Every target sets itself up from nothing: a fresh clone needs only python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv demo test lint typecheck unit bench clean

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

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test: lint typecheck $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(PY) -m logthread_local.demo

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
