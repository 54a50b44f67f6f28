# motcua: local stack and checks. GNU make.
#   make run [STAGE=hanoi] [RUN_ARGS="--api-port 8001"]        start the local stack (Ctrl-C stops it); Lâm Đồng by default
#   make test                                                  ruff, mypy, then pytest (installs Debian's
#                                                              chromium for tests/browser if it is missing)
#   make lint                                                  ruff and mypy only
#   make bench [BENCH="calls cost"]                            benchmarks (issue 8): prints tables, writes
#                                                              bench/results.json; not part of make test
#   make clean                                                 caches and local state (keeps .venv)
#   make package STAGE=<province>                              out/<province>/sam.json (chalice package with
#                                                              infra/ merged in), checked by cfn-lint; offline
#   make deploy STAGE=<province> ARTIFACT_BUCKET=<bucket> [PARAMS="Key=Value …"]
#                                                              package, upload and deploy with the AWS CLI
#                                                              (docs/operations.md); needs AWS credentials

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
RUN_ARGS ?=
PYTEST_ARGS ?=
BENCH ?=
# The browser tests drive Debian's Chromium through Playwright (`playwright install` cannot
# download here); override to test the install logic, e.g. `make chromium CHROMIUM=/nonexistent`.
CHROMIUM ?= /usr/bin/chromium
# Packaging and deployment (docs/operations.md). STAGE is a province stage of .chalice/config.json.
STAGE ?=
REGION ?= ap-southeast-1
AWS ?= aws
ARTIFACT_BUCKET ?=
STACK_NAME ?= motcua-$(STAGE)
PARAMS ?=

.PHONY: install chromium run test lint clean package deploy check-stage bench

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

# STAGE=<province> runs that province's catalogue and agencies on the local stack.
run: $(INSTALLED)
	$(BIN)/python -m tools.local_stack run $(if $(STAGE),--stage $(STAGE)) $(RUN_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks, not tests: figures as ratios measured in one run (README, "Performance").
bench: $(INSTALLED)
	$(BIN)/python -m bench $(BENCH)

check-stage:
	@test -n "$(STAGE)" || { echo "set STAGE to a province stage of .chalice/config.json, e.g. make $(MAKECMDGOALS) STAGE=lamdong" >&2; exit 1; }

package: $(INSTALLED) check-stage
	AWS_DEFAULT_REGION=$(REGION) $(BIN)/python -m tools.package $(STAGE)

# Not run by the tests: it needs AWS credentials, an artifact bucket and the AWS CLI.
deploy: package
	@test -n "$(ARTIFACT_BUCKET)" || { echo "set ARTIFACT_BUCKET to an S3 bucket for the Lambda code" >&2; exit 1; }
	$(AWS) cloudformation package --region $(REGION) --template-file out/$(STAGE)/sam.json \
		--s3-bucket $(ARTIFACT_BUCKET) --s3-prefix motcua/$(STAGE) --output-template-file out/$(STAGE)/packaged.json --use-json
	$(AWS) cloudformation deploy --region $(REGION) --template-file out/$(STAGE)/packaged.json \
		--stack-name $(STACK_NAME) --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND \
		--tags Project=motcua Province=$(STAGE) Stage=$(STAGE) --no-fail-on-empty-changeset \
		$(if $(strip $(PARAMS)),--parameter-overrides $(PARAMS))

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache out test-artifacts .chalice/deployments
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
