"""The command-line entry of every experiment's flows: ``python -m flows.<experiment> <stage> --params F``.

Params are validated before any flow runs (so before Prefect starts a server); a bad value, a missing
file or a bad argument prints one line naming it and exits with status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable


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
