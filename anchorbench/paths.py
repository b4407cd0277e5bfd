"""Where things live: the repo root, the tracking stores and every stage's outputs, all absolute.

Absolute paths keep MLflow, Optuna and Prefect stores in the repo even when DVC runs a stage in a
temporary copy (``dvc exp run --temp/--queue``): set ``ANCHORBENCH_HOME`` to the main checkout there.
Stage outputs sit under ``$ANCHORBENCH_OUTPUTS`` (default: the repo, where dvc.yaml expects them); the
CLI points it at a scratch tree when a run's params differ from params.yaml. Each experiment's own folders
(``data/<key>``, ``results/<key>``, ...) are named by ``anchorbench.experiment.Experiment``; both roots are read
from the environment at each call.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUTS_ENV = "ANCHORBENCH_OUTPUTS"


def home() -> Path:
    """Root for tracking stores: $ANCHORBENCH_HOME or the repo."""
    return Path(os.environ.get("ANCHORBENCH_HOME", REPO)).resolve()


def outputs() -> Path:
    """Root of the stage outputs: $ANCHORBENCH_OUTPUTS or the repo."""
    return Path(os.environ.get(OUTPUTS_ENV, REPO)).resolve()


def mlflow_uri() -> str:
    """$MLFLOW_TRACKING_URI, else the sqlite store ``<home>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"


def optuna_storage(setting: str | None) -> str:
    """The study storage: the setting (an RDB URL or a ``.log`` journal path), else ``<home>/optuna.db``."""
    return setting or f"sqlite:///{home() / 'optuna.db'}"
