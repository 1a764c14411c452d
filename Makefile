# recsys: every step of the pipeline as a target. Paths come from the environment (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export RECSYS_DATA_DIR ?= data/yambda
export RECSYS_SIZE ?= small
export RECSYS_WAREHOUSE ?= warehouse/recsys.duckdb
SEED ?= 42
BENCH_SIZES ?= tiny small
# processes `make test` runs the suite on (pytest-xdist); 0: in this process
TEST_WORKERS ?= 2
# `make test` leaves out the end-to-end tests marked slow (a dbt build or a whole run each);
# `make test-all`, and `make test` where CI=true (.ci/run), run every test
TEST_MARK := $(if $(filter true,$(CI)),,-m "not slow")
# a pipeline config file for build, evaluate and bench (e.g. CONFIG=my.yml); empty: defaults
# (and the settings that follow the data's size, recsys/scaled.yml)
CONFIG ?=
CONFIG_FLAG := $(if $(CONFIG),--config $(CONFIG))

.PHONY: help setup lock data validate build evaluate run test test-all bench bench-docs lint clean shell docs

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# the ranges are in pyproject.toml, the exact versions in requirements.lock (`make lock`)
$(BIN)/recsys: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

setup: $(BIN)/recsys ## create .venv and install the project, dbt, duckdb shell and dev tools

define LOCK_HEADER
# requirements.lock: the exact version of every package recsys and its dev extra resolve to.
# The ranges stay in pyproject.toml; `make setup` installs with this file as constraints
# (pip install -c requirements.lock -e '.[dev]'), so a checkout gets the same packages anywhere,
# and run_manifest.json records this file's sha256 next to the git commit.
# Regenerate with `make lock` after changing pyproject.toml (a fresh temporary venv:
#   python3 -m venv /tmp/x && /tmp/x/bin/pip install -e '.[dev]' && /tmp/x/bin/pip freeze --exclude-editable
# with this header prepended), then commit it with the pyproject.toml change.
endef
export LOCK_HEADER

lock: ## re-resolve pyproject.toml in a fresh temporary venv and pin the result in requirements.lock
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade pip; \
	"$$tmp/venv/bin/pip" install --quiet -e '.[dev]'; \
	{ printf '%s\n' "$$LOCK_HEADER"; \
	  "$$tmp/venv/bin/python" -c 'import platform; print(f"# resolved with Python {platform.python_version()} on {platform.system().lower()}-{platform.machine()}")'; \
	  "$$tmp/venv/bin/pip" freeze --exclude-editable | grep -vi '^recsys=='; } > "$$tmp/requirements.lock"; \
	mv "$$tmp/requirements.lock" requirements.lock; \
	echo "lock: wrote requirements.lock ($$(grep -c '==' requirements.lock) pins)"

data: $(BIN)/recsys ## generate the default dataset (RECSYS_SIZE) if it is missing
	@if [ -f "$(RECSYS_DATA_DIR)/flat/$(RECSYS_SIZE)/listens.parquet" ]; then \
		echo "data: $(RECSYS_DATA_DIR)/flat/$(RECSYS_SIZE) exists"; \
	else $(BIN)/recsys generate --size $(RECSYS_SIZE) --seed $(SEED) --out $(RECSYS_DATA_DIR); fi

validate: $(BIN)/recsys ## check the dataset's files, columns and dtypes
	$(BIN)/recsys validate

build: $(BIN)/recsys ## dbt build: splits, targets, aggregates, point-in-time features, tests
	$(BIN)/recsys build $(CONFIG_FLAG)

evaluate: $(BIN)/recsys ## fit every model, write recommendations, SQL metrics and reports/
	$(BIN)/recsys evaluate $(CONFIG_FLAG)

run: data validate build evaluate ## everything from data to report on the default dataset

test: $(BIN)/recsys ## the suite on tiny generated data without the slow end-to-end tests (CI=true: all)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal $(TEST_MARK)

test-all: $(BIN)/recsys ## every test, the slow end-to-end ones included (what CI runs)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

bench: $(BIN)/recsys ## benchmark every stage at BENCH_SIZES, write reports/bench.{json,md}
	$(BIN)/recsys bench --sizes $(BENCH_SIZES) $(CONFIG_FLAG)

bench-docs: ## docs/bench.md = docs/bench-method.md + reports/bench.md of the latest run
	{ cat docs/bench-method.md; echo; cat reports/bench.md; } > docs/bench.md.tmp && mv docs/bench.md.tmp docs/bench.md

lint: $(BIN)/recsys ## ruff over the Python code
	$(BIN)/ruff check recsys tests

docs: $(BIN)/recsys ## dbt docs generate (dbt_project/target/index.html)
	cd dbt_project && RECSYS_WAREHOUSE=$(abspath $(RECSYS_WAREHOUSE)) \
		RECSYS_DATA_DIR=$(abspath $(RECSYS_DATA_DIR)) ../$(BIN)/dbt docs generate --profiles-dir .

shell: $(BIN)/recsys ## open the warehouse in the DuckDB shell
	$(BIN)/duckdb $(RECSYS_WAREHOUSE)

clean: ## remove the warehouse, reports, the benchmark's data and warehouses (bench/) and dbt artifacts (keeps data/ and .venv)
	rm -rf warehouse reports bench dbt_project/target dbt_project/logs .pytest_cache
