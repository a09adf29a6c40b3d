# Two commands matter: `make demo` and `make test`. Both bootstrap .venv from the lock first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9

.PHONY: demo test test-fast test-full test-postgres lint format bench ui clean help

help:
	@echo "make demo   - run the end-to-end demo against the embedded sandbox"
	@echo "make test   - run the whole test suite (slow tests included)"
	@echo "make lint   - ruff lint + format check"
	@echo "make bench  - scale benchmarks (10k and 100k tiers; BENCH_ARGS='--tiers 10k 100k 1m' adds the 1M tier)"
	@echo "make test-full     - make test with the long crash/fault/property matrices at full size"
	@echo "make test-postgres - only the PostgreSQL equivalence tests (make test runs them too)"

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@$(BIN)/shoptok demo

# Two workers (pytest-xdist) for the machine's two cores; each worker builds its own fixtures.
PYTEST_WORKERS ?= 2

test: $(STAMP)
	@$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

test-fast: $(STAMP)
	@$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not slow"

# The reliability matrices run a seeded subset in `make test`; SHOPTOK_FULL_MATRIX=1 runs all of it.
test-full: $(STAMP)
	@SHOPTOK_FULL_MATRIX=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

test-postgres: $(STAMP)
	@$(BIN)/python -m pytest -q -m postgres

# Speed is measured here, never in timed tests. Results append to bench/results/*.jsonl.
BENCH_ARGS ?=
bench: $(STAMP)
	@$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@cd dbt_project && SHOPTOK_WAREHOUSE=$$(mktemp -d)/lint.duckdb ../$(BIN)/sqlfluff lint models tests

format: $(STAMP)
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

# The Dagster UI on 127.0.0.1 (UI_PORT, default 3000); runs, schedules and sensor state persist in
# var/dagster_home (git-ignored). Its dagster.yaml limits the duckdb_writer pool to one run at a time.
UI_PORT ?= 3000
DAGSTER_HOME_DIR := $(CURDIR)/var/dagster_home

ui: $(STAMP)
	@mkdir -p $(DAGSTER_HOME_DIR)
	@test -f $(DAGSTER_HOME_DIR)/dagster.yaml || printf '%s\n' \
		'# written by make ui. DuckDB takes one writer: runs using the duckdb_writer pool go one at a time.' \
		'concurrency:' \
		'  pools:' \
		'    default_limit: 1' \
		'    granularity: run' \
		'telemetry:' \
		'  enabled: false' > $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p $(UI_PORT)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
