"""Training task: one batched group of runs, cached on its inputs so a re-run skips finished groups."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from anchorbench.data.domains import build_domain
from anchorbench.data.prepare import load_pools
from anchorbench.engine import RunSpec, Schedule, train_group
from anchorbench.summary import to_long


def group_name(group: dict) -> str:
    critic = group["critic"]
    extra = f"-w{critic['width']}" if "width" in critic else ""
    return f"{group['domain']}-{group['critic_name']}{extra}-R{len(group['runs'])}"


def run_group(group: dict, pools_dir: str | None, progress: bool = True, on_level_end=None):
    """Build the group's domain and train it; returns (GroupResult, long DataFrame)."""
    pools = load_pools(Path(pools_dir)) if group["domain"] != "gaussian" else None
    domain = build_domain(group["domain"], pools, device=group["device"], **group["domain_kwargs"])
    runs = [RunSpec(r["estimator"], r["seed"], r["hparams"]) for r in group["runs"]]
    schedule = Schedule(tuple(group["levels_bits"]), group["steps_per_level"])
    result = train_group(domain, runs, group["critic"], schedule, group["batch_size"], group["lr"],
                         device=group["device"], autocast_bf16=group["autocast_bf16"], progress=progress,
                         desc=group_name(group), on_level_end=on_level_end)
    return result, to_long(result, group["domain"], group["critic_name"])


@task(name="train-group", task_run_name="train-{name}", cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
def train_group_task(group: dict, pools_dir: str | None, data_version: str, code_version: str, name: str) -> dict:
    """Train one group. ``data_version`` / ``code_version`` are hashes that only key the cache."""
    result, long = run_group(group, pools_dir)
    diverged = [{"domain": group["domain"], "critic": group["critic_name"], "estimator": run.estimator,
                 "seed": run.seed, "step": step}
                for run, step in zip(result.runs, result.diverged_step) if step is not None]
    return {"long": long, "diverged": diverged, "seconds": result.seconds,
            "run_steps_per_second": len(result.runs) * len(result.true_mi_bits) / max(result.seconds, 1e-9)}
