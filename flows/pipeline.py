"""The whole pipeline as one Prefect flow: ``dvc repro``, so a scheduled run and a manual
``dvc repro`` produce the same results, followed by a markdown artifact of the metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from anchorbench import experiments, paths


@task(name="dvc-repro", task_run_name="dvc-repro-{targets}")
def dvc_repro_task(targets: list[str], force: bool, repo: str) -> int:
    """Run ``dvc repro [targets]`` in ``repo``, streaming its output line by line (stages' own flow logs
    included) to this task's log and the terminal as it comes. Raises on failure; returns the line count."""
    dvc = Path(sys.executable).with_name("dvc")
    cmd = [str(dvc if dvc.exists() else "dvc"), "repro", *(["--force"] if force else []), *targets]
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                        "PYTHONUNBUFFERED": "1"}
    lines = 0
    for line in stream(cmd, repo, env):
        print(line)
        lines += 1
    return lines


def stream(cmd: list[str], cwd: str, env: dict):
    """Yield ``cmd``'s output lines (stdout and stderr merged) as they are written; RuntimeError on failure."""
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc:
        for line in proc.stdout:
            yield line.rstrip("\n")
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode} (its output is above)")


def metrics_markdown(repo: Path) -> str:
    """Every experiment's tables from its ``results/<key>/metrics.json`` (``Experiment.tables``), as markdown."""
    parts = []
    for key in experiments.REGISTRY:
        path = repo / "results" / key / "metrics.json"
        if path.exists():
            tables = experiments.get(key).tables(json.loads(path.read_text()))
            parts += [f"### {experiments.entry(key).title}", ""] + [f"{t}\n" for t in tables.values()]
    return "\n".join(parts) if parts else "_no metrics yet_"


@flow(name="anchorbench-pipeline", log_prints=True)
def pipeline_flow(targets: list[str] | None = None, force: bool = False) -> str:
    """Rebuild every result (or only ``targets``, DVC stage names) with ``dvc repro``."""
    repo = paths.REPO
    dvc_repro_task(list(targets or []), force, str(repo))
    summary = metrics_markdown(repo)
    create_markdown_artifact(key="anchorbench-pipeline", markdown="## anchorbench pipeline\n\n" + summary)
    return summary


if __name__ == "__main__":
    pipeline_flow()
