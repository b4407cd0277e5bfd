"""Evaluation tasks: summaries, metrics.json, figures, and the MLflow record of the final runs."""

from __future__ import annotations

import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric
from prefect import task

from anchorbench import plots
from anchorbench.engine import Schedule
from anchorbench.io import write_frame, write_json
from anchorbench.summary import bias_variance, metrics_dict, per_run_levels
from tasks.tracking import base_tags, log_figure_files, use_experiment


@task(name="summarise")
def summarise_task(estimates_path: str, out_dir: str, levels_bits: list[float], steps_per_level: int,
                   batch_size: int, diverged: list[dict], effective: dict[str, dict[float, float]]) -> dict:
    """Write summary.csv, per_run.csv, metrics.json and the two figures; return their paths.

    ``effective[domain][level]``: the measured effective true MI where it differs from the nominal
    one (IMDB-BERT); summary.csv then also has ``effective_true_mi_bits`` and ``bias_effective``.
    """
    out = Path(out_dir)
    long = pd.read_parquet(estimates_path)
    schedule = Schedule(tuple(levels_bits), steps_per_level)
    table = bias_variance(long, schedule)
    table.insert(4, "level_bits", [levels_bits[i] for i in table["level"]])
    table["effective_true_mi_bits"] = [effective.get(d, {}).get(b, np.nan) for d, b in zip(table.domain, table.level_bits)]
    table["bias_effective"] = table.bias + table.true_mi_bits - table.effective_true_mi_bits
    files = {"summary": write_frame(out / "summary.csv", table),
             "per_run": write_frame(out / "per_run.csv", per_run_levels(long, schedule)),
             "metrics": write_json(out / "metrics.json", metrics_dict(table, diverged, levels_bits))}
    plots.figure1(long, out / "figure1.png", batch_size)
    plots.bias_variance_plot(table, out / "bias_variance.png")
    files |= {"figure1": out / "figure1.png", "bias_variance": out / "bias_variance.png"}
    return {k: str(v) for k, v in files.items()}


@task(name="log-mlflow", retries=2, retry_delay_seconds=[2, 10])
def log_benchmark_task(files: dict, params_hash: str, profile: str, flow_run: str, diverged: list[dict],
                       trace_every: int, run_params: dict[str, dict]) -> str:
    """One parent run per flow run; a nested child per (domain, critic, estimator, seed) with its
    critic and estimator settings as params (``run_params["domain|critic|estimator|seed"]``), its
    per-level mean/bias/SD, a downsampled trace and its divergence state. Returns the parent run id."""
    use_experiment("mi_benchmark")
    client = mlflow.MlflowClient()
    per_run = pd.read_csv(files["per_run"])
    long = pd.read_parquet(Path(files["summary"]).parent / "estimates.parquet")
    dead = {(d["domain"], d["critic"], d["estimator"], d["seed"]): d["step"] for d in diverged}
    tags = base_tags(params_hash, profile=profile, prefect_flow_run=flow_run)
    with mlflow.start_run(run_name=f"mi-benchmark-{profile}", tags=tags | {"role": "benchmark"}) as parent:
        mlflow.log_artifact(files["metrics"])
        mlflow.log_artifact(files["summary"])
        log_figure_files(Path(files["figure1"]), Path(files["bias_variance"]))
        for key, rows in per_run.groupby(["domain", "critic", "estimator", "seed"]):
            domain, critic, estimator, seed = key
            run_tags = tags | {"domain": domain, "critic": critic, "estimator": estimator, "seed": int(seed),
                               "status": "diverged" if key in dead else "ok"}
            with mlflow.start_run(run_name=f"{domain}-{critic}-{estimator}-s{seed}", nested=True, tags=run_tags):
                mlflow.log_params(run_params.get(f"{domain}|{critic}|{estimator}|{seed}", {}))
                metrics = {}
                for r in rows.itertuples():
                    b = f"{r.true_mi_bits:g}"
                    if np.isfinite(r.mean):
                        metrics |= {f"mean_{b}bits": r.mean, f"bias_{b}bits": r.mean - r.true_mi_bits,
                                    f"sd_{b}bits": r.sd}
                if key in dead:
                    metrics["diverged_step"] = dead[key]
                mlflow.log_metrics(metrics)
                trace = long[(long.domain == domain) & (long.critic == critic) & (long.estimator == estimator)
                             & (long.seed == seed) & (long.step % trace_every == 0)]
                ok = trace[np.isfinite(trace.estimate_bits)]
                now = int(time.time() * 1000)
                batch = [Metric("estimate_bits", v, now, int(s)) for s, v in zip(ok.step.tolist(), ok.estimate_bits.tolist())]
                for i in range(0, len(batch), 1000):  # log_batch takes at most 1000 metrics per call
                    client.log_batch(mlflow.active_run().info.run_id, metrics=batch[i:i + 1000])
        return parent.info.run_id
