# motcua: local stack and checks. GNU make.
#   make run [RUN_ARGS="--province lamdong --api-port 8001"]   start the local stack (Ctrl-C stops it)
#   make test                                                  ruff, mypy, then pytest (installs Debian's
#                                                              chromium for tests/browser if it is missing)
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
# The browser tests drive Debian's Chromium through Playwright (`playwright install` cannot
# download here); override to test the install logic, e.g. `make chromium CHROMIUM=/nonexistent`.
CHROMIUM ?= /usr/bin/chromium

.PHONY: install chromium run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls when a requirements file changes.
$(INSTALLED): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# The binary is the stamp: apt-get runs only while it is missing. Package lists are fetched
# (apt-get update) only if the install fails, e.g. on a fresh image without them.
$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests (tests/browser)…"
	@if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "$(CHROMIUM) is missing and installing chromium needs root (no sudo here): run apt-get install -y chromium as root" >&2; exit 1; fi; \
	apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; \
	$$apt install -y chromium || { $$apt update && $$apt install -y chromium; }
	@test -x $(CHROMIUM) || { echo "chromium is installed but $(CHROMIUM) is not there: set CHROMIUM=<path>" >&2; exit 1; }

chromium: $(CHROMIUM)

run: $(INSTALLED)
	$(BIN)/python -m tools.local_stack run $(RUN_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache out test-artifacts
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
