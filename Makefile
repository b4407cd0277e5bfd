# anchorbench: `make repro` runs the pipeline, `make test` runs every test, `make docs` builds the documentation
# site (all set up .venv first).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# bmi's own environment: benchmark-mi pins numpy<2, pandas<2, pydantic<2 (anchorbench/bmi/*.py run in it)
VENV_BMI := .venv-bmi
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME := $(CURDIR)/.prefect
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION := false
# DVC stages call `python`: make it the venv's
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup setup-bmi lint docs test test-fast repro bench lock lock-bmi clean

PIP_QUIET := grep -v "Location '.*' is ignored" || true

$(VENV)/.installed: requirements.txt constraints.txt requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt 2>&1 | { $(PIP_QUIET); }
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | { $(PIP_QUIET); }
	$(BIN)/python -c "import torch, estimators, anchorbench, tasks, flows, prefect, mlflow, optuna, dvc"
	touch $@

setup: $(VENV)/.installed $(VENV_BMI)/.installed  ## both environments (the bmi stages run their samplers in .venv-bmi)

$(VENV_BMI)/.installed: requirements-bmi.txt constraints-bmi.txt
	test -x $(VENV_BMI)/bin/python || $(PYTHON) -m venv $(VENV_BMI)
	$(VENV_BMI)/bin/pip install -q --disable-pip-version-check -r requirements-bmi.txt -c constraints-bmi.txt 2>&1 | { $(PIP_QUIET); }
	$(VENV_BMI)/bin/python -c "from bmi.benchmark import BENCHMARK_TASKS; assert len(BENCHMARK_TASKS) == 40"
	touch $@

setup-bmi: $(VENV_BMI)/.installed  ## bmi's venv (samplers and KSG/CCA references: anchorbench/bmi/)

lint: setup  ## ruff (pyproject.toml [tool.ruff]: line length 120, pyflakes, pycodestyle, import order)
	$(BIN)/ruff check .

docs: setup  ## the documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link or warning fails
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: setup  ## every test, slow ones included (what CI runs)
	$(BIN)/python -m pytest

test-fast: setup  ## unit tests only
	$(BIN)/python -m pytest -m "not slow"

repro: setup  ## rebuild every result (dvc repro: every stage of the four experiments), then the docs tables
	$(BIN)/dvc repro
	$(BIN)/anchorbench docs

bench: setup  ## engine vs reference-protocol throughput (bench/results/)
	$(BIN)/python -m bench.bench_engine

lock: setup  ## rewrite constraints.txt from the current environment
	$(BIN)/pip freeze --all --exclude-editable | grep -v -E '^(anchorbench|pip)==' > constraints.txt

lock-bmi: setup-bmi  ## rewrite constraints-bmi.txt from .venv-bmi
	$(VENV_BMI)/bin/pip freeze --all --disable-pip-version-check | grep -v -E '^pip==' > constraints-bmi.txt

clean:
	rm -rf $(VENV) $(VENV_BMI) .pytest_cache site
