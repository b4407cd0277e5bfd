"""Side-by-side comparison of MI-benchmark runs from MLflow (``mlflow.search_runs``)."""

from __future__ import annotations

import re

import mlflow
import pandas as pd

from anchorbench import paths


def latest_parent(experiment: str = "mi_benchmark") -> str:
    """Run id of the newest benchmark parent run."""
    mlflow.set_tracking_uri(paths.mlflow_uri())
    parents = mlflow.search_runs(experiment_names=[experiment], filter_string="tags.role = 'benchmark'",
                                 order_by=["start_time DESC"], max_results=1)
    if parents.empty:
        raise LookupError(f"no benchmark run in MLflow experiment {experiment!r} at {paths.mlflow_uri()}: run the pipeline first")
    return parents.run_id.iloc[0]


def comparison_table(parent_run_id: str | None = None, experiment: str = "mi_benchmark",
                     statistic: str = "bias") -> pd.DataFrame:
    """Rows: domain / critic / estimator; columns: true MI level; cells: mean over seeds of the
    per-run ``statistic`` (bias, mean or sd, bits) of the children of one benchmark run."""
    if statistic not in ("bias", "mean", "sd"):
        raise ValueError(f"statistic must be one of 'bias', 'mean', 'sd', got {statistic!r}")
    parent = parent_run_id or latest_parent(experiment)
    mlflow.set_tracking_uri(paths.mlflow_uri())
    runs = mlflow.search_runs(experiment_names=[experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    if runs.empty:
        raise LookupError(f"benchmark run {parent} has no child runs")
    cols = {c: float(m.group(1)) for c in runs.columns if (m := re.fullmatch(rf"metrics\.{statistic}_([\d.]+)bits", c))}
    long = runs.melt(id_vars=["tags.domain", "tags.critic", "tags.estimator", "tags.seed"], value_vars=list(cols),
                     var_name="metric", value_name=statistic)
    long["true_mi_bits"] = long.metric.map(cols)
    table = long.pivot_table(index=["tags.domain", "tags.critic", "tags.estimator"], columns="true_mi_bits",
                             values=statistic, aggfunc="mean")
    table.index.names = ["domain", "critic", "estimator"]
    table.columns = [f"{c:g} bits" for c in table.columns]
    return table.round(3)
