"""MLflow tracking: the store, the experiment per task, and the tags every run carries."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from pathlib import Path

import mlflow

from anchorbench import paths

TAG_HOST, TAG_PID = "host", "pid"  # the process that opened a run: a RUNNING run of a dead pid was killed


def use_experiment(name: str) -> None:
    """Point MLflow at the project's store (absolute), select experiment ``name`` and close its orphaned runs."""
    mlflow.set_tracking_uri(paths.mlflow_uri())
    experiment = mlflow.set_experiment(name)
    close_orphaned_runs(experiment.experiment_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def close_orphaned_runs(experiment_id: str) -> list[str]:
    """Mark this host's RUNNING runs whose process is gone (a killed flow) as KILLED; return their ids.

    Runs from other hosts are left alone (their pids mean nothing here), and so are runs without the tags."""
    client = mlflow.MlflowClient()
    host = socket.gethostname().replace("'", "")
    orphans = [r.info.run_id for r in client.search_runs(
                   [experiment_id], f"attributes.status = 'RUNNING' and tags.{TAG_HOST} = '{host}'", max_results=1000)
               if r.data.tags.get(TAG_PID, "").isdigit() and not _alive(int(r.data.tags[TAG_PID]))]
    for run_id in orphans:
        client.set_terminated(run_id, "KILLED")
    return orphans


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_version() -> str:
    """Hash of the code that determines results (estimators, the anchorbench package and the tasks): a cache
    key of finished units (anchorbench.resume) and a tag of every MLflow run."""
    digest = hashlib.sha256()
    for root in ("estimators", "anchorbench", "tasks"):
        for path in sorted((paths.REPO / root).rglob("*.py")):
            digest.update(path.relative_to(paths.REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def base_tags(params_hash: str, **extra) -> dict[str, str]:
    """Tags of every run: code and params versions, and the host and pid that run it (orphan detection)."""
    return {"git_commit": git_commit(), "params_hash": params_hash, "code_version": code_version(),
            TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid()), **{k: str(v) for k, v in extra.items()}}


def log_figure_files(*files: Path) -> None:
    for f in files:
        if Path(f).exists():
            mlflow.log_artifact(str(f), artifact_path="figures" if str(f).endswith(".png") else None)
