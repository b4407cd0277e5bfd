"""Prefect flows built from an experiment adapter: ``<key>-data``, ``<key>-tune``, ``<key>-train`` and
``<key>-all`` (the three as subflows), one per DVC stage, the same code for every experiment.

Each flow validates its params, runs the generic tasks (``tasks/experiment.py``) and leaves a markdown artifact
summarising the flow run (key: the flow's name).
"""

from __future__ import annotations

import functools
import json

import pandas as pd
from prefect import Flow, flow, runtime, unmapped
from prefect.artifacts import create_markdown_artifact

from anchorbench import experiments
from anchorbench.config import load_params
from anchorbench.experiment import Experiment, markdown_table
from anchorbench.io import manifest_version
from anchorbench.resume import remove_stale
from flows.runners import task_runner
from tasks.experiment import (
    prepare_task,
    study_task,
    summarise_task,
    track_task,
    tune_outputs_task,
    tuned_values,
    unit_task,
)
from tasks.tracking import code_version


def run_name() -> str:
    """A flow run's readable name, ``<flow>-<profile>-<start time>`` (used as ``flow_run_name``)."""
    params = runtime.flow_run.parameters or {}
    profile = load_params(params.get("params_path", "params.yaml")).profile
    return f"{runtime.flow_run.flow_name}-{profile}-{runtime.flow_run.scheduled_start_time:%Y%m%d-%H%M%S}"


def data_stage(exp: Experiment, params_path: str) -> dict:
    params = load_params(params_path)
    manifest = prepare_task(exp.key, params)
    info = {k: v for k, v in manifest.items() if k not in ("files", "settings")}
    files = pd.DataFrame({"file": list(manifest["files"]), "sha256": [h[:12] for h in manifest["files"].values()]})
    create_markdown_artifact(key=exp.flow_name("data"), markdown="\n".join([
        f"## {exp.title}: data (profile `{params.profile}`)", "", markdown_table(files), "",
        "```json", json.dumps(info, indent=2, default=str), "```"]))
    return manifest


def tune_stage(exp: Experiment, params_path: str) -> dict:
    params = load_params(params_path)
    studies = [study_task(exp.key, params, s.key) for s in exp.studies(params)]
    best = tune_outputs_task(exp.key, studies)
    table = pd.DataFrame([{"study": s["study"], f"best {s['metric']}": s["best_value"],
                           "best params": json.dumps(s["best_params"]),
                           "complete / pruned / failed": "{complete} / {pruned} / {fail}".format(**s["trials"])}
                          for s in studies])
    create_markdown_artifact(key=exp.flow_name("tune"), markdown="\n".join([
        f"## {exp.title}: tuning (profile `{params.profile}`)", "",
        markdown_table(table, 4) if studies else "No study: the tuning section names nothing to tune."]))
    return best


def train_stage(exp: Experiment, params_path: str) -> dict:
    params = load_params(params_path)
    remove_stale(exp.units_dir())  # a killed run's half-built units (never a live worker's)
    units = exp.plan(params, tuned_values(exp.key, params))
    futures = unit_task.map(exp.key, unmapped(params), units, [u.name for u in units],
                            unmapped(manifest_version(exp.data_dir())), unmapped(code_version()))
    results = [f.result() for f in futures]
    summary = summarise_task(exp.key, params, results)
    run_id, view = track_task(exp.key, params, results, summary, str(runtime.flow_run.id))
    compare = f"\n\nCompare the runs in `mlflow ui`: `<mlflow address>/{view}`."
    create_markdown_artifact(key=exp.flow_name("train"), markdown=exp.report(params, summary, run_id) + compare)
    return {"files": summary.files, "headline": summary.headline, "mlflow_run_id": run_id, "mlflow_view": view}


STAGE_FUNCTIONS = {"data": data_stage, "tune": tune_stage, "train": train_stage}


def _stage_flow(exp: Experiment, stage: str) -> Flow:
    def body(params_path: str = "params.yaml") -> dict:
        return STAGE_FUNCTIONS[stage](exp, params_path)

    return _named(body, exp, stage, f"{exp.title}: the {stage} stage (DVC stage {exp.stage_name(stage)}).")


def _all_flow(exp: Experiment, stages: dict[str, Flow]) -> Flow:
    def body(params_path: str = "params.yaml") -> dict:
        return {stage: stages[stage](params_path=params_path) for stage in exp.stages}

    return _named(body, exp, "all", f"{exp.title}: every stage ({', '.join(exp.stages)}) as subflows.")


def _named(fn, exp: Experiment, stage: str, doc: str) -> Flow:
    """A flow importable as ``flows.experiment.<key>_<stage>`` (a served deployment's entrypoint)."""
    fn.__name__ = fn.__qualname__ = f"{exp.key}_{stage}"
    fn.__doc__ = doc
    options = {"task_runner": task_runner()} if stage == "train" else {}
    return flow(fn, name=exp.flow_name(stage), flow_run_name=run_name, log_prints=True, **options)


@functools.cache
def flows_for(key: str) -> dict[str, Flow]:
    """The experiment's flows by stage, ``all`` included. The train flow fans its units out on the task runner
    that ``ANCHORBENCH_TASK_RUNNER`` (flows.runners) names when the flows are first built in a process."""
    exp = experiments.get(key)
    stages = {stage: _stage_flow(exp, stage) for stage in exp.stages}
    return stages | {"all": _all_flow(exp, stages)}


def __getattr__(name: str) -> Flow:
    """``flows.experiment.<key>_<stage>``: the flow, built on first use."""
    for key in experiments.REGISTRY:
        stage = name.removeprefix(f"{key}_")
        if name.startswith(f"{key}_") and stage in ("all", *experiments.entry(key).stages):
            return flows_for(key)[stage]
    raise AttributeError(f"module 'flows.experiment' has no attribute {name!r}")
