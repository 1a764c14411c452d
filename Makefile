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
# a pipeline config file for build, evaluate and bench (e.g. CONFIG=configs/50m.yml); empty: defaults
CONFIG ?=
CONFIG_FLAG := $(if $(CONFIG),--config $(CONFIG))

.PHONY: help setup data validate build evaluate run test bench lint clean shell docs

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/recsys: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/recsys ## create .venv and install the project, dbt, duckdb shell and dev tools

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

test: $(BIN)/recsys ## run the test suite (fast: tiny generated data)
	$(BIN)/pytest -q

bench: $(BIN)/recsys ## benchmark every stage at BENCH_SIZES, write reports/bench.{json,md}
	$(BIN)/recsys bench --sizes $(BENCH_SIZES) $(CONFIG_FLAG)

lint: $(BIN)/recsys ## ruff over the Python code
	$(BIN)/ruff check recsys tests

docs: $(BIN)/recsys ## dbt docs generate
	cd dbt_project && ../$(BIN)/dbt docs generate --profiles-dir .

shell: $(BIN)/recsys ## open the warehouse in the DuckDB shell
	$(BIN)/duckdb $(RECSYS_WAREHOUSE)

clean: ## remove the warehouse, reports and dbt artifacts (keeps data/ and .venv)
	rm -rf warehouse reports dbt_project/target dbt_project/logs .pytest_cache
