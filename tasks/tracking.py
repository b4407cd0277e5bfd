"""MLflow tracking: the store, the experiment per task, and the tags every run carries."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import mlflow

from anchorbench import paths


def use_experiment(name: str) -> None:
    """Point MLflow at the project's store (absolute) and select experiment ``name``."""
    mlflow.set_tracking_uri(paths.mlflow_uri())
    mlflow.set_experiment(name)


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_version() -> str:
    """Hash of the code that determines results (estimators and the anchorbench package)."""
    digest = hashlib.sha256()
    for root in ("estimators", "anchorbench"):
        for path in sorted((paths.REPO / root).rglob("*.py")):
            digest.update(path.relative_to(paths.REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def base_tags(params_hash: str, **extra) -> dict[str, str]:
    return {"git_commit": git_commit(), "params_hash": params_hash, "code_version": code_version(),
            **{k: str(v) for k, v in extra.items()}}


def log_figure_files(*files: Path) -> None:
    for f in files:
        if Path(f).exists():
            mlflow.log_artifact(str(f), artifact_path="figures" if str(f).endswith(".png") else None)
