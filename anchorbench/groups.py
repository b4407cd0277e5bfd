"""Run one planned group (anchorbench.plan): build its domain, train it, return the long table."""

from __future__ import annotations

from pathlib import Path

from anchorbench.data.domains import build_domain
from anchorbench.data.prepare import load_pools
from anchorbench.engine import RunSpec, Schedule, train_group
from anchorbench.summary import to_long


def group_name(group: dict) -> str:
    """Readable group name for task runs and progress bars, e.g. ``mnist-joint-w64-R18``."""
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
                         device=group["device"], autocast_bf16=group["precision"] == "bf16", progress=progress,
                         desc=group_name(group), on_level_end=on_level_end)
    return result, to_long(result, group["domain"], group["critic_name"])
