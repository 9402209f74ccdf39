# Kindling — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# `make test` runs whole test modules on this many workers (pytest-xdist); TEST_WORKERS=0 runs them in one process
TEST_WORKERS ?= 2

.PHONY: help env run test check static docs bench lint airflow airflow-backfill airflow-dags cluster-up cluster-down cluster-status clean

help: ## list the targets
	@grep -E '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

env: ## create or update the virtual environment (.venv) from uv.lock; checks Java
	@infra/bootstrap.sh

run: env ## the daily job on the embedded defaults: sample data if needed, the DAG via Airflow, top 10 and top 5 people per network
	@infra/run_daily.sh

test: env ## the whole test suite (installs headless Chromium first when root and missing)
	@infra/ensure_chromium.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

check: static ## the fast loop (under 3 minutes): the static checks, then the unit tier
	$(BIN)/python -m pytest -m unit -n 2 -q --durations=5 $(PYTEST_ARGS)

static: env ## ruff, ruff format --check, mypy, import-linter's layers (no tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

docs: env ## the documentation site into build/site (MkDocs --strict; docs/configuration.md regenerated from the settings)
	$(BIN)/python -m kindling.core.config_docs > docs/configuration.md
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "docs: build/site/index.html (serve while editing: $(BIN)/mkdocs serve)"

bench: env ## PageRank throughput against GraphX, SciPy and networkx at 1M/3M/10M edges (BENCH_ARGS="--topics 50", "--e2e"); see docs/performance.md
	$(BIN)/python bench/pagerank.py $(BENCH_ARGS)

lint: env ## ruff over the code
	$(BIN)/ruff check .

airflow: env ## Airflow with the project's DAGs: scheduler, dag-processor, triggerer, UI on http://127.0.0.1:8080 (Ctrl-C stops)
	@infra/airflow.sh standalone

airflow-backfill: env ## with `make airflow` running: backfill kindling_daily, FROM=YYYY-MM-DD TO=YYYY-MM-DD, one day at a time
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make airflow-backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD"; exit 2; }
	@infra/airflow.sh dags unpause kindling_daily >/dev/null
	@infra/airflow.sh backfill create --dag-id kindling_daily --from-date "$(FROM)" --to-date "$(TO)" --max-active-runs 1

airflow-dags: env ## list the DAGs Airflow sees (parses dags/)
	@infra/airflow.sh dags list

cluster-up: env ## start a Spark standalone master + worker on 127.0.0.1 (spark://127.0.0.1:7077, UI :8081); see docs/cluster.md
	@infra/cluster.sh up

cluster-down: ## stop the standalone cluster (worker, then master)
	@infra/cluster.sh down

cluster-status: ## is the standalone cluster running; its URLs and alive workers
	@infra/cluster.sh status

clean: ## remove generated data, the lake, Airflow's home and caches (keeps .venv)
	rm -rf lake data .airflow .pytest_cache spark-warehouse metastore_db derby.log
