"""Prefect tasks of the MI benchmark: data pools, Optuna studies, training groups, summaries, MLflow.

Tasks take configs and paths and return paths or small dicts: heavy values (the per-step estimate
tables) are files, written atomically, never Prefect results.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
from mlflow.entities import Metric
from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from anchorbench import names, paths
from anchorbench.config import Params
from anchorbench.io import write_frame, write_json
from anchorbench.mi_benchmark import plots
from anchorbench.mi_benchmark.effective_mi import effective_truth
from anchorbench.mi_benchmark.engine import Schedule
from anchorbench.mi_benchmark.groups import run_group
from anchorbench.mi_benchmark.plan import GroupSpec
from anchorbench.mi_benchmark.pools import load_pools, prepare_pools
from anchorbench.mi_benchmark.summary import bias_variance, metrics_dict, per_run_levels
from anchorbench.mi_benchmark.tuning import Diverged, make_objective
from anchorbench.resume import content_key, finished
from anchorbench.studies import open_study, run_trials
from tasks.tracking import base_tags, log_figure_files, use_experiment


@task(name="prepare-pools", task_run_name="prepare-pools-{domains}")
def prepare_pools_task(pools_dir: str, mirror: str | None, domains: list[str], verify: bool = True) -> dict:
    """Write the pools and ``manifest.json`` under ``pools_dir``; return the manifest."""
    return prepare_pools(Path(pools_dir), mirror, list(domains), verify)


@task(name="optuna-study", task_run_name="study-{estimator}-{critic}")
def run_study_task(estimator: str, critic: str, params: Params, pools_dir: str | None) -> dict:
    """Run (or resume, or join other workers on) the study until it holds ``tune.n_trials`` counted trials
    (anchorbench.studies.run_trials); return the best."""
    t = params.tune
    name = f"{t.study_name}-{estimator}-{t.domain}-{critic}-{params.profile}"
    study = open_study(name, paths.optuna_storage(t.storage), t.sampler_seed, heartbeat_seconds=t.heartbeat_seconds,
                       retries=t.trial_retries)
    use_experiment(names.MI_BENCHMARK_TUNE)
    tags = base_tags(params.section_hash("tune", "mi_benchmark"), estimator=estimator, critic=critic,
                     domain=t.domain, study=name)

    @contextmanager
    def child(trial: optuna.Trial, chosen: dict):
        with mlflow.start_run(run_name=f"{estimator}-trial-{trial.number}", nested=True,
                              tags=tags | {"trial": trial.number}):
            mlflow.log_params(chosen)
            try:
                yield lambda metrics, step=None: mlflow.log_metrics(metrics, step=step)
                mlflow.set_tag("state", "complete")
            except optuna.TrialPruned:
                mlflow.set_tag("state", "pruned")
                raise
            except Diverged:
                mlflow.set_tag("state", "failed")
                raise

    with mlflow.start_run(run_name=f"study-{name}", tags=tags | {names.TAG_ROLE: names.ROLE_STUDY}):
        objective = make_objective(estimator, critic, params, pools_dir, mlflow_child=child)
        run_trials(study, objective, t.n_trials, catch=(Diverged,))
        complete = [tr for tr in study.trials if tr.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise RuntimeError(f"study {name}: no trial completed ({len(study.trials)} failed or pruned)")
        mlflow.log_params({f"best_{k}": v for k, v in study.best_params.items()})
        mlflow.log_metric("best_mse", study.best_value)
        counts = {s.name.lower(): sum(tr.state == s for tr in study.trials) for s in optuna.trial.TrialState}
        mlflow.log_metrics({f"trials_{k}": v for k, v in counts.items()})
    return {"study": name, "estimator": estimator, "critic": critic, "best_params": study.best_params,
            "best_mse": study.best_value, "trials": counts,
            "table": study.trials_dataframe(attrs=("number", "value", "state", "params")).to_dict("records")}


@task(name="train-group", task_run_name="train-{group.name}")
def train_group_task(group: GroupSpec, pools_dir: str | None, cache_dir: str, data_version: str,
                     code_version: str) -> dict:
    """Train one group unless it already finished (anchorbench.resume: content-keyed on the group's full spec,
    the data and the code); return its long table's path (``estimates.parquet``), divergences and timing."""

    def train(folder: Path) -> dict:
        result, long = run_group(group, pools_dir)
        long.to_parquet(folder / "estimates.parquet", index=False)
        diverged = [{"domain": group.domain, "critic": group.critic.type, "estimator": run.estimator,
                     "seed": run.seed, "step": step}
                    for run, step in zip(result.runs, result.diverged_step) if step is not None]
        return {"diverged": diverged, "seconds": result.seconds,
                "run_steps_per_second": len(result.runs) * len(result.true_mi_bits) / max(result.seconds, 1e-9)}

    folder, meta = finished(cache_dir, group.name, content_key(group, data_version, code_version), train)
    return {"path": str(folder / "estimates.parquet"), **meta}


@task(name="effective-truth", cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
def effective_truth_task(pools_dir: str, data_version: str, sources: int,
                         levels_bits: list[float]) -> dict[float, float]:
    """IMDB-BERT's measured effective true MI (bits) per nominal level; cached on the data version."""
    return effective_truth(load_pools(Path(pools_dir))["imdb_bert"], sources, levels_bits)


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
    table["effective_true_mi_bits"] = [effective.get(d, {}).get(b, np.nan)
                                       for d, b in zip(table.domain, table.level_bits)]
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
    use_experiment(names.MI_BENCHMARK)
    client = mlflow.MlflowClient()
    per_run = pd.read_csv(files["per_run"])
    long = pd.read_parquet(Path(files["summary"]).parent / "estimates.parquet")
    dead = {(d["domain"], d["critic"], d["estimator"], d["seed"]): d["step"] for d in diverged}
    tags = base_tags(params_hash, profile=profile, prefect_flow_run=flow_run)
    with mlflow.start_run(run_name=f"mi-benchmark-{profile}",
                          tags=tags | {names.TAG_ROLE: names.ROLE_BENCHMARK}) as parent:
        mlflow.log_artifact(files["metrics"])
        mlflow.log_artifact(files["summary"])
        log_figure_files(Path(files["figure1"]), Path(files["bias_variance"]))
        for key, rows in per_run.groupby(list(names.RUN_KEYS)):
            domain, critic, estimator, seed = key
            run_tags = tags | dict(zip(names.RUN_KEYS, (domain, critic, estimator, int(seed)))) | {
                names.TAG_STATUS: "diverged" if key in dead else "ok"}
            with mlflow.start_run(run_name=f"{domain}-{critic}-{estimator}-s{seed}", nested=True, tags=run_tags):
                mlflow.log_params(run_params.get(f"{domain}|{critic}|{estimator}|{seed}", {}))
                metrics = {}
                for r in rows.itertuples():
                    if np.isfinite(r.mean):
                        metrics |= {names.level_metric("mean", r.true_mi_bits): r.mean,
                                    names.level_metric("bias", r.true_mi_bits): r.mean - r.true_mi_bits,
                                    names.level_metric("sd", r.true_mi_bits): r.sd}
                if key in dead:
                    metrics["diverged_step"] = dead[key]
                mlflow.log_metrics(metrics)
                trace = long[(long.domain == domain) & (long.critic == critic) & (long.estimator == estimator)
                             & (long.seed == seed) & (long.step % trace_every == 0)]
                ok = trace[np.isfinite(trace.estimate_bits)]
                now = int(time.time() * 1000)
                batch = [Metric("estimate_bits", v, now, int(s))
                         for s, v in zip(ok.step.tolist(), ok.estimate_bits.tolist())]
                for i in range(0, len(batch), 1000):  # log_batch takes at most 1000 metrics per call
                    client.log_batch(mlflow.active_run().info.run_id, metrics=batch[i:i + 1000])
        return parent.info.run_id
