"""MI benchmark flows: data -> tune -> train (+ summary, figures, MLflow). One DVC stage each.

    python -m flows.mi_benchmark data|tune|train|all [--params params.yaml]
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from prefect import flow, runtime, unmapped
from prefect.artifacts import create_markdown_artifact

from anchorbench import paths
from anchorbench.config import load_params
from anchorbench.io import write_frame, write_json
from anchorbench.mi_benchmark.plan import GroupSpec, plan_groups
from anchorbench.mi_benchmark.pools import check_sources
from flows.entry import manifest_version, run_name, stage_main
from flows.runners import task_runner
from tasks.mi_benchmark import (
    effective_truth_task,
    log_benchmark_task,
    prepare_pools_task,
    run_study_task,
    summarise_task,
    train_group_task,
)
from tasks.tracking import code_version

STAGES = ("data", "tune", "train", "all")


@flow(name="mi-benchmark-data", flow_run_name=run_name, log_prints=True)
def data_flow(params_path: str = "params.yaml") -> dict:
    """Prepare the MNIST / IMDB-BERT pools and their manifest (data/pools)."""
    params = load_params(params_path)
    manifest = prepare_pools_task(str(paths.POOLS), params.data.mirror, list(params.data.domains),
                                  params.data.verify_hashes)
    create_markdown_artifact(key="mi-benchmark-data", markdown="## Data pools\n\n```json\n"
                             + json.dumps(manifest, indent=2, default=str) + "\n```\n")
    return manifest


@flow(name="mi-benchmark-tune", flow_run_name=run_name, log_prints=True)
def tune_flow(params_path: str = "params.yaml") -> dict:
    """Optuna studies; writes results/tune/{best_params.json, trials.csv, metrics.json}."""
    params = load_params(params_path)
    t = params.tune
    studies = [run_study_task(est, critic, params, str(paths.POOLS)) for critic in t.critics for est in t.estimators]
    best: dict = {"domain": t.domain, "studies": {}}
    for s in studies:
        best["studies"].setdefault(s["critic"], {})[s["estimator"]] = s["best_params"]
    trials = pd.concat([pd.DataFrame(s["table"]).assign(estimator=s["estimator"], critic=s["critic"]) for s in studies])
    write_frame(paths.TUNE / "trials.csv", trials)
    write_json(paths.TUNE / "metrics.json",
               {f"{s['estimator']}-{s['critic']}": {"best_mse": s["best_mse"], **s["trials"]} for s in studies})
    write_json(paths.TUNE / "best_params.json", best)
    lines = ["## Optuna studies", "", "| study | best MSE (bits^2) | best params | complete / pruned / failed |",
             "|---|---|---|---|"]
    for s in studies:
        t = s["trials"]
        lines.append(f"| {s['study']} | {s['best_mse']:.4f} | {s['best_params']} | "
                     f"{t.get('complete', 0)} / {t.get('pruned', 0)} / {t.get('fail', 0)} |")
    create_markdown_artifact(key="mi-benchmark-tune", markdown="\n".join(lines))
    return best


@flow(name="mi-benchmark-train", flow_run_name=run_name, log_prints=True)
def train_flow(params_path: str = "params.yaml") -> dict:
    """Train every group, then write estimates, summary, metrics, figures and the MLflow record."""
    params = load_params(params_path)
    p = params.mi_benchmark
    best_file = paths.TUNE / "best_params.json"
    tuned = json.loads(best_file.read_text()) if best_file.exists() else None
    groups = plan_groups(p, tuned)
    data_version, code = manifest_version(paths.POOLS), code_version()
    futures = train_group_task.map(groups, unmapped(str(paths.POOLS)), unmapped(str(paths.UNITS / "mi_benchmark")),
                                   unmapped(data_version), unmapped(code))
    outputs = [f.result() for f in futures]
    long = pd.concat([pd.read_parquet(o["path"]) for o in outputs], ignore_index=True)
    diverged = [d for o in outputs for d in o["diverged"]]
    out = paths.MI_BENCHMARK
    write_frame(out / "estimates.parquet", long)
    effective = ({"imdb_bert": effective_truth_task(str(paths.POOLS), data_version, p.sources, list(p.levels_bits))}
                 if "imdb_bert" in p.domains else {})
    files = summarise_task(str(out / "estimates.parquet"), str(out), list(p.levels_bits), p.steps_per_level,
                           p.batch_size, diverged, effective)
    run_id = log_benchmark_task(files, params.section_hash("mi_benchmark"), params.profile, str(runtime.flow_run.id),
                                diverged, trace_every=max(1, p.steps_per_level // 50), run_params=_run_params(groups))
    throughput = sum(o["run_steps_per_second"] for o in outputs) / max(len(outputs), 1)
    precision = ", ".join(sorted({g.precision for g in groups}))
    header = (f"Profile `{params.profile}` ({precision}); {len(groups)} groups, {len(long):,} estimates; "
              f"mean throughput {throughput:.0f} run-steps/s; MLflow parent run `{run_id}`; "
              f"diverged runs: {len(diverged)}.")
    create_markdown_artifact(key="mi-benchmark-train", markdown=_bias_markdown(files["summary"], header))
    return {"files": files, "mlflow_run_id": run_id, "diverged": diverged}


def _run_params(groups: list[GroupSpec]) -> dict[str, dict]:
    """MLflow params of every run (critic settings + estimator hyperparameters), by run key."""
    return {f"{g.domain}|{g.critic.type}|{r.estimator}|{r.seed}":
            {"critic_type": g.critic.type, **g.critic.kwargs(), **r.hparams, "precision": g.precision}
            for g in groups for r in g.runs}


def _bias_markdown(summary_csv: str, header: str) -> str:
    table = pd.read_csv(summary_csv).pivot_table(index=["domain", "critic", "estimator"], columns="level_bits",
                                                 values="bias")
    return "\n".join(["## MI benchmark: bias (bits) per true-MI level", "", header, "", table.round(2).to_markdown()])


@flow(name="mi-benchmark", flow_run_name=run_name, log_prints=True)
def mi_benchmark_flow(params_path: str = "params.yaml") -> dict:
    """The whole experiment: data -> tune -> train, as subflows."""
    data_flow(params_path=params_path)
    tune_flow(params_path=params_path)
    return train_flow.with_options(task_runner=task_runner())(params_path=params_path)


def main(argv: list[str] | None = None) -> int:
    flows = {"data": data_flow, "tune": tune_flow, "train": train_flow.with_options(task_runner=task_runner()),
             "all": mi_benchmark_flow}
    def check_data(params) -> None:
        check_sources(params.data.mirror, list(params.data.domains), params.data.verify_hashes)

    return stage_main("python -m flows.mi_benchmark", __doc__.split("\n")[0], flows, argv,
                      checks={"data": check_data, "all": check_data})


if __name__ == "__main__":
    sys.exit(main())
