"""Protein interaction AUROC flows: data -> tune -> train (paper Sec. 4.2, App. G.2). One DVC stage each.

    python -m flows.protein data|tune|train|all [--params params.yaml]

DVC stages: protein_data (data), protein_tune (tune), protein (train).
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from prefect import flow, runtime, unmapped
from prefect.artifacts import create_markdown_artifact

from anchorbench import paths
from anchorbench.config import load_params
from anchorbench.protein.config import ProteinParams
from flows.entry import manifest_version, run_name, stage_main
from flows.runners import task_runner
from tasks.protein import (
    ORACLE,
    log_protein_task,
    manifest_task,
    prepare_dataset_task,
    summarise_task,
    trial_task,
    tune_task,
    write_tune_outputs,
)
from tasks.tracking import code_version

STAGES = ("data", "tune", "train", "all")


@flow(name="protein-data", flow_run_name=run_name, log_prints=True)
def data_flow(params_path: str = "params.yaml") -> dict:
    """Write each dataset (synthetic stand-in or the real files) and the manifest under data/protein."""
    p = load_params(params_path).protein_data
    root = str(paths.PROTEIN_DATA)
    prepared = [prepare_dataset_task(p, root, name) for name in p.datasets]
    manifest = manifest_task(p, root, prepared)
    lines = [f"## Protein data ({p.source})", "", "| dataset | proteins | pairs | sources | targets | oracle truth |",
             "|---|---|---|---|---|---|"]
    for name, d in manifest["datasets"].items():
        lines.append(f"| {name} | {d['proteins']:,} | {d['pairs']:,} | {d['sources']:,} | {d['targets']:,} | "
                     f"{'yes' if d['has_truth'] else 'no'} |")
    create_markdown_artifact(key="protein-data", markdown="\n".join(lines))
    return manifest


@flow(name="protein-tune", flow_run_name=run_name, log_prints=True)
def tune_flow(params_path: str = "params.yaml") -> dict:
    """Optuna per dataset: InfoNCE-anchor's nu and width by AUROC on training proteins only; best_params.json."""
    params = load_params(params_path)
    p = params.protein
    studies = [tune_task(p, str(paths.PROTEIN_DATA), d, params.profile, params.section_hash("protein"))
               for d in p.datasets]
    best = write_tune_outputs(studies, paths.PROTEIN / "tune")
    lines = ["## Protein tuning: InfoNCE-anchor (inner split of training proteins)", "",
             "| dataset | best inner AUROC | nu | width | complete / failed |", "|---|---|---|---|---|"]
    for s in studies:
        b, t = s["best_params"], s["trials"]
        lines.append(f"| {s['dataset']} | {s['best_auroc']:.3f} | {b['nu']:.3g} | {b['width']} | "
                     f"{t.get('complete', 0)} / {t.get('fail', 0)} |")
    create_markdown_artifact(key="protein-tune", markdown="\n".join(lines))
    return best


def _tuned(p: ProteinParams) -> dict:
    """{dataset: {nu, width}} from the protein_tune stage (empty when not used or not run)."""
    path = paths.PROTEIN / "tune" / "best_params.json"
    if not p.use_tuned or "infonce_anchor" not in p.objectives:
        return {}
    if not path.exists():
        print(f"no {path}: InfoNCE-anchor runs with its configured nu and width (run the protein_tune stage)")
        return {}
    return json.loads(path.read_text())


@flow(name="protein", flow_run_name=run_name, log_prints=True)
def train_flow(params_path: str = "params.yaml") -> dict:
    """Every (dataset, trial) as a task; then AUROC tables, figures, MLflow and a markdown artifact."""
    params = load_params(params_path)
    p = params.protein
    tuned = _tuned(p)
    jobs = [(d, t) for d in p.datasets for t in range(p.trials)]
    out = paths.PROTEIN
    futures = trial_task.map(unmapped(p), unmapped(str(paths.PROTEIN_DATA)), [d for d, _ in jobs],
                             [t for _, t in jobs], [tuned.get(d) for d, _ in jobs], unmapped(str(out)),
                             unmapped(str(paths.UNITS / "protein")), unmapped(manifest_version(paths.PROTEIN_DATA)),
                             unmapped(code_version()))
    results = [f.result() for f in futures]
    rows = [r for res in results for r in res["rows"]]
    trial_files: dict[str, list[str]] = {}
    for (d, _), res in zip(jobs, results):
        trial_files.setdefault(d, []).append(res["file"])
    files = summarise_task(rows, trial_files, list(p.objectives), str(out))
    run_params = {"profile": params.profile, "trials": p.trials, "held_out": p.held_out, "max_steps": p.max_steps,
                  "check_every": p.check_every, "patience": p.patience, "width": p.width, "depth": p.depth,
                  "embed": p.embed, "batch_size": p.batch_size, "lr": p.lr, "lmi_epochs": p.lmi_epochs,
                  **{f"tuned_{d}_{k}": v for d, best in tuned.items() for k, v in best.items()}}
    run_id = log_protein_task(files, rows, params.section_hash("protein"), params.profile,
                              str(runtime.flow_run.id), run_params)
    create_markdown_artifact(key="protein-auroc", markdown=auroc_markdown(files["summary"], params.profile, run_id,
                                                                         list(p.objectives)))
    return {"files": files, "mlflow_run_id": run_id}


def auroc_markdown(summary_csv: str, profile: str, run_id: str, order: list[str]) -> str:
    """The AUROC table (mean +- SD over trials) per objective and dataset, oracle last."""
    s = pd.read_csv(summary_csv)
    s["cell"] = [("failed" if pd.isna(m) else f"{m:.3f} ± {sd:.3f} ({n})")
                 for m, sd, n in zip(s.auroc_mean, s.auroc_sd, s.trials)]
    table = s.pivot(index="objective", columns="dataset", values="cell")
    table = table.reindex([o for o in order + [ORACLE] if o in table.index])
    return "\n".join([f"## Protein interaction AUROC (profile `{profile}`)", "",
                      f"mean ± SD over trials (scored trials); MLflow parent run `{run_id}`.", "",
                      table.to_markdown()])


@flow(name="protein-all", flow_run_name=run_name, log_prints=True)
def protein_flow(params_path: str = "params.yaml") -> dict:
    """The whole experiment: data -> tune -> train, as subflows."""
    data_flow(params_path=params_path)
    tune_flow(params_path=params_path)
    return train_flow.with_options(task_runner=task_runner())(params_path=params_path)


def main(argv: list[str] | None = None) -> int:
    flows = {"data": data_flow, "tune": tune_flow, "train": train_flow.with_options(task_runner=task_runner()),
             "all": protein_flow}
    return stage_main("python -m flows.protein", __doc__.split("\n")[0], flows, argv)


if __name__ == "__main__":
    sys.exit(main())
