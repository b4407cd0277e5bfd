"""Run one planned group (anchorbench.mi_benchmark.plan): build its domain, train it, return the long table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anchorbench.mi_benchmark.domains import build_domain
from anchorbench.mi_benchmark.engine import GroupResult, train_group
from anchorbench.mi_benchmark.plan import GroupSpec
from anchorbench.mi_benchmark.pools import load_pools
from anchorbench.mi_benchmark.summary import to_long


def run_group(group: GroupSpec, pools_dir: str | None, progress: bool = True,
              on_level_end=None) -> tuple[GroupResult, pd.DataFrame]:
    """Build the group's domain and train it; returns (GroupResult, long DataFrame)."""
    pools = load_pools(Path(pools_dir)) if group.domain != "gaussian" else None
    domain = build_domain(group.domain, pools, device=group.device, **dict(group.domain_kwargs))
    result = train_group(domain, list(group.runs), group.critic, group.schedule, group.batch_size, group.lr,
                         device=group.device, autocast_bf16=group.precision == "bf16", progress=progress,
                         desc=group.name, on_level_end=on_level_end)
    return result, to_long(result, group.domain, group.critic.type)
