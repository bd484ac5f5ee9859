# Conveyor: `make run` starts the whole stack, `make test` runs every check. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
# Never let uv fetch an interpreter: the machine's python3 is the one we use.
export UV_PYTHON_DOWNLOADS := never
export VIRTUAL_ENV := $(abspath $(VENV))

MEMBERS := libs/events libs/runtime libs/identity libs/devstack libs/testing \
           services/api-gateway services/scheduler services/log-collector services/hook-dispatcher \
           clients/client clients/worker clients/cli
PYTEST_ARGS ?=
# Test processes for `make pytest`: most of the suite waits on real servers, so two processes on
# CI's two cores halve its wall time; each starts its own nats-server and PostgreSQL. Whole files
# go to one process, so a file's shared stack starts once, in the order tests/conftest.py gives
# (the longest first; xdist would otherwise start the files with the most tests first).
# PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= 2

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: requirements.lock $(MEMBERS:%=%/pyproject.toml) | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --require-hashes requirements.lock
	$(UV) pip install --quiet --no-deps --no-build-isolation $(MEMBERS:%=-e %)
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the virtual environment and install the locked dependencies

.PHONY: system-deps
system-deps: ## Install PostgreSQL from Debian's packages when it is missing
	@bash scripts/ensure-postgres.sh

.PHONY: browser-deps
browser-deps: ## Install Debian's chromium when it is missing (the dashboard's browser tests drive it)
	@bash scripts/ensure-chromium.sh

.PHONY: lock
lock: | $(UV) ## Re-pin requirements.lock from requirements.in
	$(UV) pip compile requirements.in --generate-hashes --python-version 3.11 --no-header -o requirements.lock

.PHONY: run
run: venv system-deps ## Start nats-server, PostgreSQL, the four services and a worker (Ctrl-C stops all)
	$(BIN)/conveyor dev $(ARGS)

.PHONY: fmt
fmt: venv ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: lint
lint: venv ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: typecheck
typecheck: venv ## mypy --strict on every member's src, the tests and the benchmarks
	$(BIN)/mypy libs/events/src libs/runtime/src libs/identity/src libs/devstack/src libs/testing/src \
	  services/api-gateway/src services/scheduler/src services/log-collector/src \
	  services/hook-dispatcher/src clients/client/src clients/worker/src clients/cli/src \
	  libs/events/tests tests bench

.PHONY: test-unit
test-unit: venv ## Unit and property tests only (seconds, no servers)
	$(BIN)/pytest tests/unit libs/events/tests $(PYTEST_ARGS)

.PHONY: pytest
pytest: venv system-deps browser-deps ## Every pytest suite (starts its own nats-server and PostgreSQL)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30 $(PYTEST_ARGS)

.PHONY: test
test: venv system-deps browser-deps lint typecheck pytest ## Everything CI runs: lint, types, unit, property, integration, e2e

.PHONY: screenshots
screenshots: venv system-deps browser-deps ## Screenshots of every dashboard page, light and dark, into docs/dashboard/
	CONVEYOR_SCREENSHOTS=docs/dashboard $(BIN)/pytest tests/e2e/web/test_screenshots.py -q

.PHONY: bench
bench: venv system-deps ## Benchmarks (not part of `make test`); results under bench/results/
	$(BIN)/python -m bench $(ARGS)

.PHONY: clean
clean: ## Remove the virtual environments (keeps .data/)
	rm -rf $(VENV) $(TOOLS)
