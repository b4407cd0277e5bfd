# anchorbench: `make repro` runs the pipeline, `make test` runs every test, `make docs` builds the documentation
# site (all set up .venv first).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME := $(CURDIR)/.prefect
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION := false
# DVC stages call `python`: make it the venv's
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup lint docs test test-fast repro bench lock clean

PIP_QUIET := grep -v "Location '.*' is ignored" || true

$(VENV)/.installed: requirements.txt constraints.txt requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt 2>&1 | { $(PIP_QUIET); }
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | { $(PIP_QUIET); }
	$(BIN)/python -c "import torch, estimators, anchorbench, tasks, flows, prefect, mlflow, optuna, dvc"
	touch $@

setup: $(VENV)/.installed

lint: setup  ## ruff (pyproject.toml [tool.ruff]: line length 120, pyflakes, pycodestyle, import order)
	$(BIN)/ruff check .

docs: setup  ## the documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link or warning fails
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: setup  ## every test, slow ones included (what CI runs)
	$(BIN)/python -m pytest

test-fast: setup  ## unit tests only
	$(BIN)/python -m pytest -m "not slow"

repro: setup  ## rebuild every result (DVC pipeline: data -> tune -> mi_benchmark)
	$(BIN)/dvc repro

bench: setup  ## engine vs reference-protocol throughput (bench/results/)
	$(BIN)/python -m bench.bench_engine

lock: setup  ## rewrite constraints.txt from the current environment
	$(BIN)/pip freeze --all --exclude-editable | grep -v -E '^(anchorbench|pip)==' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache site
