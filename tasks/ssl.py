"""SSL tasks: the CDP data, one (objective, pairing, seed) unit, the summary and the MLflow record, tuning."""

from __future__ import annotations

import math
from pathlib import Path

import mlflow
import torch
from prefect import task

from anchorbench import names, paths
from anchorbench.io import write_frame, write_json
from anchorbench.resume import content_key, finished, publish
from anchorbench.ssl.config import CDPDataParams, SSLParams
from anchorbench.ssl.data import build_cdp, load_cdp
from anchorbench.ssl.plots import mi_accuracy_figure, mi_figure, probe_figure
from anchorbench.ssl.run import Data, resolve_device, run_unit
from anchorbench.ssl.summary import metrics, mi_table, probe_table, summary_table
from anchorbench.ssl.tuning import Diverged, suggest, trial_value
from anchorbench.studies import open_study, run_trials
from tasks.tracking import base_tags, log_figure_files, use_experiment


@task(name="cdp-data")
def cdp_data_task(params: CDPDataParams, out_dir: str) -> dict:
    """Write data/cdp/{cdp.npz, manifest.json}; return the manifest."""
    return build_cdp(params, out_dir)


def load_data(p: SSLParams, data_dir: str, mirror: str | None) -> Data:
    """The unit's images on its device: the CDP npz, or CIFAR-100 from the mirror."""
    device = resolve_device(p.device)
    if p.dataset == "cdp":
        return Data("cdp", load_cdp(data_dir), device)
    from anchorbench.ssl.cifar import load_cifar100

    arrays = {}
    for split in ("train", "test"):
        images, labels = load_cifar100(split, mirror)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = torch.from_numpy(images), torch.from_numpy(labels)
    return Data("cifar100", arrays, device)


@task(name="ssl-unit", task_run_name="ssl-{name}")
def ssl_unit_task(p: SSLParams, unit: dict, data_dir: str, mirror: str | None, data_version: str,
                  code_version: str, out_dir: str, cache_dir: str, name: str) -> dict:
    """Pretrain, probe and post-training MI of one unit; its encoder and loss curve go to
    ``<out_dir>/units/<name>/`` (paths in the row's ``files``). A unit that already finished with the same params,
    data and code is reused (anchorbench.resume), not retrained."""
    key = content_key(p, unit, mirror, data_version, code_version)
    folder, row = finished(cache_dir, name, key, lambda tmp: run_unit(p, unit, load_data(p, data_dir, mirror), tmp))
    publish(folder, out_dir)
    return row | {"files": {k: str(Path(out_dir) / v) for k, v in row["files"].items()}}


@task(name="ssl-summarise")
def summarise_task(rows: list[dict], out_dir: str, batch_size: int, small_batch: int | None) -> dict[str, str]:
    """Write probe.csv, mi.csv, summary.csv, metrics.json and the three figures; return their paths."""
    out = Path(out_dir)
    probe, mi = probe_table(rows), mi_table(rows)
    files = {"probe": write_frame(out / "probe.csv", probe), "mi": write_frame(out / "mi.csv", mi),
             "summary": write_frame(out / "summary.csv", summary_table(probe, mi))}
    # wall-clock seconds go to MLflow only: a DVC output must hash the same on every rerun
    files["metrics"] = write_json(out / "metrics.json", metrics(probe, mi, batch_size, small_batch))
    files["probe_png"] = probe_figure(probe, batch_size, out / "probe_accuracy.png")
    files["mi_png"] = mi_figure(mi, out / "mi_in_vs_post.png")
    files["mi_acc_png"] = mi_accuracy_figure(probe, mi, out / "mi_vs_accuracy.png")
    return {k: str(v) for k, v in files.items()}


def _finite(metrics_: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics_.items() if isinstance(v, (int, float)) and math.isfinite(v)}


@task(name="ssl-log")
def log_ssl_task(rows: list[dict], files: dict[str, str], params_hash: str, profile: str, flow_run_id: str) -> str:
    """MLflow: one parent run for the stage, a child per unit (loss curve, probe, MI); figures on the parent."""
    import json

    use_experiment(names.SSL)
    with mlflow.start_run(run_name=f"ssl-{profile}",
                          tags=base_tags(params_hash, profile=profile, prefect_flow_run=flow_run_id,
                                         **{names.TAG_ROLE: names.ROLE_SSL})) as parent:
        for r in rows:
            status = "diverged" if r["diverged_step"] is not None else "ok"
            with mlflow.start_run(run_name=r["name"], nested=True,
                                  tags=base_tags(params_hash, **{k: r[k] for k in names.SSL_RUN_KEYS},
                                                 **{names.TAG_STATUS: status})):
                mlflow.log_params({"tau": r["tau"], "nu": r["nu"], "batch_size": r["batch_size"]})
                curve = json.loads(Path(r["files"]["curve"]).read_text())
                every = max(1, len(curve["loss"]) // 200)
                for step in range(0, len(curve["loss"]), every):
                    mlflow.log_metrics(_finite({"loss": curve["loss"][step],
                                                "train_mi_bits": curve["mi_nats"][step] / math.log(2)}), step=step)
                mlflow.log_metrics(_finite({"true_mi_bits": r["true_mi_bits"], "seconds": r["seconds"],
                                            **{f"probe_{k}": v for k, v in r.get("probe", {}).items()},
                                            **{f"post_mi_bits_{k}": v for k, v in r.get("post_mi_bits", {}).items()}}))
        mlflow.log_metrics(_finite(json.loads(Path(files["metrics"]).read_text()).get("claims", {})))
        log_figure_files(*[Path(v) for v in files.values()])
        return parent.info.run_id


@task(name="ssl-study", task_run_name="ssl-study-{objective}")
def tune_ssl_task(p: SSLParams, objective: str, data_dir: str, mirror: str | None, profile: str) -> dict:
    """Run ``tune_trials`` trials of the study ``<tune_study_name>-<objective>-<pairing>-<profile>``."""
    data = load_data(p, data_dir, mirror)
    name = f"{p.tune_study_name}-{objective}-{p.tune_pairing}-{profile}"
    study = open_study(name, paths.optuna_storage(p.tune_storage), p.tune_sampler_seed, direction="maximize")
    use_experiment(names.SSL_TUNE)
    tags = base_tags("", objective=objective, **{names.TAG_ROLE: names.ROLE_SSL_STUDY})
    with mlflow.start_run(run_name=name, tags=tags):
        def objective_fn(trial):
            hp = suggest(trial, p, objective)
            value = trial_value(p, objective, hp, data)
            with mlflow.start_run(run_name=f"{name}-{trial.number}", nested=True):
                mlflow.log_params(hp)
                mlflow.log_metric("val_top1", value)
            return value

        run_trials(study, objective_fn, p.tune_trials, catch=(Diverged,))  # resumes: stops at tune_trials
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        raise RuntimeError(f"study {name}: no trial completed ({len(study.trials)} failed)")
    table = [{"number": t.number, "value": t.value, "state": t.state.name, **t.params} for t in study.trials]
    return {"objective": objective, "study": name, "best_params": study.best_params, "best_value": study.best_value,
            "table": table}
