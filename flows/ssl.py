"""SSL flows: cdp_data -> ssl (pretrain, probe, post-training MI) and ssl_tune (Optuna). One DVC stage each.

    python -m flows.ssl cdp_data|ssl_tune|ssl|all [--params params.yaml]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from prefect import flow, runtime, unmapped
from prefect.artifacts import create_markdown_artifact

from anchorbench import paths
from anchorbench.config import load_params
from anchorbench.io import write_frame, write_json
from anchorbench.ssl.run import plan_units, unit_name
from flows.entry import manifest_version, run_name, stage_main
from flows.runners import task_runner
from tasks.ssl import cdp_data_task, log_ssl_task, ssl_unit_task, summarise_task, tune_ssl_task
from tasks.tracking import code_version

STAGES = ("cdp_data", "ssl_tune", "ssl", "all")


@flow(name="ssl-cdp-data", flow_run_name=run_name, log_prints=True)
def cdp_data_flow(params_path: str = "params.yaml") -> dict:
    """Glyph banks and probe images of the CDP dataset (data/cdp)."""
    params = load_params(params_path)
    manifest = cdp_data_task(params.cdp_data, str(paths.CDP_DATA))
    create_markdown_artifact(key="ssl-cdp-data", markdown="## CDP dataset\n\n```json\n"
                             + json.dumps(manifest, indent=2) + "\n```\n")
    return manifest


@flow(name="ssl", flow_run_name=run_name, log_prints=True)
def ssl_flow(params_path: str = "params.yaml") -> dict:
    """Every (objective, pairing, seed) unit as one task, then tables, figures and the MLflow record."""
    params = load_params(params_path)
    p, out = params.ssl, paths.SSL
    units = plan_units(p)
    data_version = manifest_version(paths.CDP_DATA)
    futures = ssl_unit_task.map(unmapped(p), units, unmapped(str(paths.CDP_DATA)), unmapped(params.cdp_data.mirror),
                                unmapped(data_version), unmapped(code_version()), unmapped(str(out)),
                                unmapped(str(paths.UNITS / "ssl")),
                                [unit_name(u) for u in units])
    rows = [f.result() for f in futures]
    files = summarise_task(rows, str(out), p.batch_size, p.small_batch)
    run_id = log_ssl_task(rows, files, params.section_hash("cdp_data", "ssl"), params.profile,
                          str(runtime.flow_run.id))
    create_markdown_artifact(key="ssl", markdown=_markdown(files, params.profile, run_id, rows))
    return {"files": files, "mlflow_run_id": run_id, "units": len(rows),
            "diverged": [r["name"] for r in rows if r["diverged_step"] is not None]}


def _markdown(files: dict[str, str], profile: str, run_id: str, rows: list[dict]) -> str:
    summary = pd.read_csv(files["summary"])
    cols = [c for c in summary.columns if c in ("objective", "pairing", "batch_size", "true_mi_bits", "top1_mean",
                                                 "top5_mean", "in_mi_objective") or c.startswith("post_mi_")]
    claims = json.loads(Path(files["metrics"]).read_text())["claims"]
    return "\n".join([f"## SSL: linear probe and MI (profile `{profile}`)", "",
                      f"{len(rows)} units in {sum(r['seconds'] for r in rows):.0f} s; MLflow parent run `{run_id}`.",
                      "", summary[cols].round(3).to_markdown(index=False), "", "### Claims", "",
                      "\n".join(f"- {k}: {v}" for k, v in claims.items())])


@flow(name="ssl-tune", flow_run_name=run_name, log_prints=True)
def ssl_tune_flow(params_path: str = "params.yaml") -> dict:
    """Optuna over tau (and nu for the anchor), maximising validation probe accuracy; results/ssl/tune/."""
    params = load_params(params_path)
    p = params.ssl
    studies = [tune_ssl_task(p, objective, str(paths.CDP_DATA), params.cdp_data.mirror, params.profile)
               for objective in p.tune_objectives]
    out = paths.SSL / "tune"
    write_json(out / "best_params.json", {s["objective"]: s["best_params"] for s in studies})
    write_frame(out / "trials.csv", pd.concat([pd.DataFrame(s["table"]).assign(objective=s["objective"])
                                               for s in studies]))
    write_json(out / "metrics.json", {s["objective"]: {"best_val_top1": s["best_value"], **s["best_params"]}
                                      for s in studies})
    lines = ["## SSL tuning (validation joint top-1)", "", "| objective | best top-1 | best params |", "|---|---|---|"]
    lines += [f"| {s['objective']} | {s['best_value']:.4f} | {s['best_params']} |" for s in studies]
    create_markdown_artifact(key="ssl-tune", markdown="\n".join(lines))
    return {s["objective"]: s["best_params"] for s in studies}


@flow(name="ssl-all", flow_run_name=run_name, log_prints=True)
def ssl_all_flow(params_path: str = "params.yaml") -> dict:
    """The whole experiment: cdp_data -> ssl_tune -> ssl, as subflows."""
    cdp_data_flow(params_path=params_path)
    ssl_tune_flow(params_path=params_path)
    return ssl_flow.with_options(task_runner=task_runner())(params_path=params_path)


def main(argv: list[str] | None = None) -> int:
    flows = {"cdp_data": cdp_data_flow, "ssl_tune": ssl_tune_flow,
             "ssl": ssl_flow.with_options(task_runner=task_runner()), "all": ssl_all_flow}
    return stage_main("python -m flows.ssl", __doc__.split("\n")[0], flows, argv)


if __name__ == "__main__":
    sys.exit(main())
