"""Training task: one batched group of runs, cached on its inputs so a re-run skips finished groups."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from anchorbench.groups import run_group


@task(name="train-group", task_run_name="train-{name}", cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
def train_group_task(group: dict, pools_dir: str | None, data_version: str, code_version: str, name: str) -> dict:
    """Train one group. ``data_version`` / ``code_version`` are hashes that only key the cache."""
    result, long = run_group(group, pools_dir)
    diverged = [{"domain": group["domain"], "critic": group["critic_name"], "estimator": run.estimator,
                 "seed": run.seed, "step": step}
                for run, step in zip(result.runs, result.diverged_step) if step is not None]
    return {"long": long, "diverged": diverged, "seconds": result.seconds,
            "run_steps_per_second": len(result.runs) * len(result.true_mi_bits) / max(result.seconds, 1e-9)}
