# anchorbench: `make repro` runs the pipeline, `make test` runs every test (both set up .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME := $(CURDIR)/.prefect
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1

.PHONY: setup test test-fast repro lock clean

$(BIN)/activate: requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt 2>&1 | grep -v "Location '.*' is ignored" || true
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | grep -v "Location '.*' is ignored" || true
	$(BIN)/python -c "import torch, estimators" && touch $(BIN)/activate

setup: $(BIN)/activate

test: setup  ## every test, slow ones included (what CI runs)
	$(BIN)/python -m pytest

test-fast: setup  ## unit tests only
	$(BIN)/python -m pytest -m "not slow"

repro: setup  ## rebuild every result
	$(BIN)/python -m flows.demo

lock: setup  ## rewrite constraints.txt from the current environment
	$(BIN)/pip freeze --exclude-editable | grep -v '^anchorbench' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
