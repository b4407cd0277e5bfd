"""Side-by-side comparison of MI-benchmark runs from MLflow (``mlflow.search_runs``)."""

from __future__ import annotations

import mlflow
import pandas as pd

from anchorbench import names, paths

EXPERIMENT = names.experiment("mi_benchmark")
RUN_TAGS = ("domain", "critic", "estimator")  # the child tags that identify a row (anchorbench.mi_benchmark.experiment)


def latest_parent(experiment: str = EXPERIMENT) -> str:
    """Run id of the newest benchmark parent run."""
    mlflow.set_tracking_uri(paths.mlflow_uri())
    parents = mlflow.search_runs(experiment_names=[experiment],
                                 filter_string=f"tags.{names.TAG_ROLE} = '{names.ROLE_STAGE}'",
                                 order_by=["start_time DESC"], max_results=1)
    if parents.empty:
        raise LookupError(f"no benchmark run in MLflow experiment {experiment!r} at {paths.mlflow_uri()}: "
                          "run the pipeline first")
    return parents.run_id.iloc[0]


def comparison_table(parent_run_id: str | None = None, experiment: str = EXPERIMENT,
                     statistic: str = "bias") -> pd.DataFrame:
    """Columns domain, critic, estimator, then one per true MI level (``"4 bits"``); cells: mean over seeds
    of the per-run ``statistic`` (bias, mean or sd, bits) of the children of one benchmark run."""
    if statistic not in names.LEVEL_STATISTICS:
        raise ValueError(f"statistic must be one of {list(names.LEVEL_STATISTICS)}, got {statistic!r}")
    parent = parent_run_id or latest_parent(experiment)
    mlflow.set_tracking_uri(paths.mlflow_uri())
    runs = mlflow.search_runs(experiment_names=[experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    if runs.empty:
        raise LookupError(f"benchmark run {parent} has no child runs")
    levels = {}
    for column in runs.columns:
        parsed = column.startswith("metrics.") and names.parse_level_metric(column.removeprefix("metrics."))
        if parsed and parsed[0] == statistic:
            levels[column] = parsed[1]
    keys = [f"tags.{k}" for k in RUN_TAGS]
    long = runs.melt(id_vars=keys, value_vars=list(levels), var_name="metric", value_name=statistic)
    long["level"] = long.metric.map(levels)
    table = long.pivot_table(index=keys, columns="level", values=statistic, aggfunc="mean")
    table.columns = [f"{c:g} bits" for c in table.columns]
    table = table.reset_index().rename(columns={k: k.removeprefix("tags.") for k in keys})
    return table.round(3)
