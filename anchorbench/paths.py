"""Where things live: the repo root and the stage outputs, all absolute.

Absolute paths keep MLflow, Optuna and Prefect stores in the repo even when DVC runs a stage in a
temporary copy (``dvc exp run --temp/--queue``): set ``ANCHORBENCH_HOME`` to the main checkout there.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def home() -> Path:
    """Root for tracking stores: $ANCHORBENCH_HOME or the repo."""
    return Path(os.environ.get("ANCHORBENCH_HOME", REPO)).resolve()


def mlflow_uri() -> str:
    """$MLFLOW_TRACKING_URI, else the sqlite store ``<home>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"


def optuna_storage(setting: str | None) -> str:
    """The study storage: the setting (an RDB URL or a ``.log`` journal path), else ``<home>/optuna.db``."""
    return setting or f"sqlite:///{home() / 'optuna.db'}"


# Stage outputs, relative to $ANCHORBENCH_OUTPUTS (default: the repo, where dvc.yaml expects them).
OUTPUTS = Path(os.environ.get("ANCHORBENCH_OUTPUTS", REPO)).resolve()
POOLS = OUTPUTS / "data" / "pools"
TUNE = OUTPUTS / "results" / "tune"
MI_BENCHMARK = OUTPUTS / "results" / "mi_benchmark"
