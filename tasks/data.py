"""Data-generation task: prepare the sampling pools from the public-data mirror."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from anchorbench.data.prepare import prepare_pools


@task(name="prepare-pools", task_run_name="prepare-pools-{domains}")
def prepare_pools_task(pools_dir: str, mirror: str | None, domains: list[str]) -> dict:
    """Write the pools and ``manifest.json`` under ``pools_dir``; return the manifest."""
    return prepare_pools(Path(pools_dir), mirror, list(domains))
