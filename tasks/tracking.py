"""MLflow tracking, written once for every experiment: the store, the experiment, the tags every run carries, the
training stage's parent and child runs (``anchorbench.experiment.ChildRun``) and a tuning trial's run.

Every run carries the base tags (code, params, host and pid), so the next ``use_experiment`` closes the RUNNING
runs of a killed process as KILLED, whichever experiment or stage it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import mlflow
from mlflow.entities import Metric

from anchorbench import names, paths
from anchorbench.experiment import ChildRun, Summary
from anchorbench.resume import alive

TAG_HOST, TAG_PID = "host", "pid"  # the process that opened a run: a RUNNING run of a dead pid was killed
# The experiment tag MLflow 3's UI reads to choose its view: the runs table, not the GenAI overview (traces).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# A view of the runs table stored on the experiment (MLflow's shared view state, opened by `?viewStateShareKey=`):
# the experiment's headline metric and tag columns, the newest stage run expanded to show its children.
VIEW_KEY = "anchorbench"
VIEW_TAG = "mlflow.sharedViewState." + VIEW_KEY


def use_experiment(name: str) -> str:
    """Point MLflow at the project's store (absolute), select experiment ``name`` (opened on its runs table) and
    close its orphaned runs; its id."""
    mlflow.set_tracking_uri(paths.mlflow_uri())
    experiment = mlflow.set_experiment(name)
    client = mlflow.MlflowClient()
    for key, value in EXPERIMENT_KIND.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    close_orphaned_runs(experiment.experiment_id)
    return experiment.experiment_id


def close_orphaned_runs(experiment_id: str) -> list[str]:
    """Mark this host's RUNNING runs whose process is gone (a killed flow) as KILLED; return their ids.

    Runs from other hosts are left alone (their pids mean nothing here), and so are runs without the tags."""
    client = mlflow.MlflowClient()
    host = socket.gethostname().replace("'", "")
    orphans = [r.info.run_id for r in client.search_runs(
                   [experiment_id], f"attributes.status = 'RUNNING' and tags.{TAG_HOST} = '{host}'", max_results=1000)
               if r.data.tags.get(TAG_PID, "").isdigit() and not alive(int(r.data.tags[TAG_PID]))]
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


def finite(metrics: dict) -> dict[str, float]:
    """The finite numbers of ``metrics`` as floats (MLflow stores no NaN; a missing metric says 'not measured')."""
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def log_files(files: dict[str, str]) -> None:
    """Every existing file as an artifact of the active run; figures under ``figures/``."""
    for f in map(Path, files.values()):
        if f.exists():
            mlflow.log_artifact(str(f), artifact_path="figures" if f.suffix == ".png" else None)


def _log_series(run_id: str, series: dict[str, list[tuple[int, float]]]) -> None:
    client, now = mlflow.MlflowClient(), int(time.time() * 1000)
    batch = [Metric(name, float(v), now, int(step)) for name, points in series.items() for step, v in points
             if math.isfinite(v)]
    for i in range(0, len(batch), 1000):  # log_batch takes at most 1000 metrics per call
        client.log_batch(run_id, metrics=batch[i:i + 1000])


def view_url(experiment_id: str) -> str:
    """Where ``mlflow ui`` shows the comparison view (``set_view``) of an experiment, relative to its address."""
    return f"#/experiments/{experiment_id}/runs?{urlencode({'viewStateShareKey': VIEW_KEY})}"


def set_view(experiment_id: str, parent_run_id: str, metrics: list[str], tags: list[str]) -> str:
    """Store the experiment's comparison view: ``metrics`` and ``tags`` as columns (sorted by the first metric),
    ``parent_run_id``'s children shown. Returns its URL (``view_url``)."""
    state = {"selectedColumns": [f"metrics.`{m}`" for m in metrics] + [f"tags.`{t}`" for t in tags],
             "runsExpanded": {parent_run_id: True}}
    if metrics:
        state |= {"orderByKey": f"metrics.`{metrics[0]}`", "orderByAsc": True}
    mlflow.MlflowClient().set_experiment_tag(experiment_id, VIEW_TAG, json.dumps(state))
    return view_url(experiment_id)


def log_stage(experiment: str, run_name: str, tags: dict[str, str], params: dict, summary: Summary,
              children: list[ChildRun], view: tuple[list[str], list[str]] = ([], [])) -> tuple[str, str]:
    """One parent run for a training stage's flow run (params, headline metrics, files) and a nested child per
    ``ChildRun``, then the experiment's comparison view (``view``: metric and tag columns). Returns the parent's run
    id and the view's URL."""
    experiment_id = use_experiment(experiment)
    with mlflow.start_run(run_name=run_name, tags=tags | {names.TAG_ROLE: names.ROLE_STAGE}) as parent:
        mlflow.log_params(params)
        mlflow.log_metrics(finite(summary.headline))
        log_files(summary.files)
        for child in children:
            with mlflow.start_run(run_name=child.name, nested=True,
                                  tags=tags | child.tags | {names.TAG_STATUS: child.status}) as run:
                if child.params:
                    mlflow.log_params(child.params)
                mlflow.log_metrics(finite(child.metrics))
                _log_series(run.info.run_id, child.series)
    return parent.info.run_id, set_view(experiment_id, parent.info.run_id, *view)


@contextmanager
def study_run(experiment: str, run_name: str, tags: dict[str, str]):
    """The parent run of one Optuna study."""
    use_experiment(experiment)
    with mlflow.start_run(run_name=run_name, tags=tags | {names.TAG_ROLE: names.ROLE_STUDY}) as run:
        yield run


class TrialRun:
    """An Optuna trial's child run: ``log(metrics, step)`` while it trains, ``end(state, params, metrics)``."""

    def __init__(self, name: str, tags: dict[str, str]) -> None:
        self.run = mlflow.start_run(run_name=name, nested=True, tags=tags)

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        mlflow.log_metrics(finite(metrics), step=step, run_id=self.run.info.run_id)

    def end(self, state: str, params: dict, metrics: dict[str, float] | None = None) -> None:
        """Record the trial's final state (complete | pruned | failed), its params and metrics; close the run."""
        mlflow.set_tag(names.TAG_STATE, state)
        if params:
            mlflow.log_params(params)
        self.log(metrics or {})
        mlflow.end_run("FINISHED" if state != "failed" else "FAILED")
