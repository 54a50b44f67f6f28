# motcua: local stack and checks. GNU make.
#   make run [RUN_ARGS="--province lamdong --api-port 8001"]   start the local stack (Ctrl-C stops it)
#   make test                                                  ruff, mypy, then pytest
#   make lint                                                  ruff and mypy only
#   make clean                                                 caches and local state (keeps .venv)

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
RUN_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls when a requirements file changes.
$(INSTALLED): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m tools.local_stack run $(RUN_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache out test-artifacts
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
