"""The command-line entry of every experiment's flows: ``python -m flows.<experiment> <stage> --params F``.

Params are validated before any flow runs (so before Prefect starts a server); a bad value, a missing
file or a bad argument prints one line naming it and exits with status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Callable


def run_name() -> str:
    """A flow run's readable name, ``<flow>-<profile>-<start time>`` (used as ``flow_run_name``)."""
    from prefect import runtime

    from anchorbench.config import load_params

    params = runtime.flow_run.parameters or {}
    profile = load_params(params.get("params_path", "params.yaml")).profile
    return f"{runtime.flow_run.flow_name}-{profile}-{runtime.flow_run.scheduled_start_time:%Y%m%d-%H%M%S}"


def manifest_version(data_dir: Path) -> str:
    """Short hash of a data stage's ``manifest.json`` (a cache key of what trains on it), or ``none``."""
    manifest = Path(data_dir) / "manifest.json"
    return hashlib.sha256(manifest.read_bytes()).hexdigest()[:12] if manifest.exists() else "none"


def stage_main(prog: str, description: str, stages: dict[str, Callable[..., object]],
               argv: list[str] | None = None, checks: dict[str, Callable[..., None]] | None = None) -> int:
    """Parse ``<stage> [--params F]``, validate the params file and run the stage's pre-flight check
    (``checks[stage](params)``: e.g. the input files exist and match their hashes), then run
    ``stages[stage](params_path=F)``."""
    from anchorbench.config import load_params

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("stage", choices=list(stages))
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        (checks or {}).get(args.stage, lambda params: None)(params)
    except (ValueError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    stages[args.stage](params_path=args.params)
    return 0
