"""The command-line entry of every stage: ``python -m flows <experiment> <stage> [--params F]`` (what dvc.yaml runs).

Params are validated and the experiment's pre-flight check runs before any flow (so before Prefect starts a
server); a bad value, a missing file or a bad argument prints one line naming it and exits with status 2, with
no traceback.
"""

from __future__ import annotations

import argparse
import sys

from anchorbench import experiments


def check_stage(key: str, stage: str, params_path: str):
    """Validate the params file and run the pre-flight checks of ``stage`` (``all``: every stage); the params."""
    from anchorbench.config import load_params

    exp = experiments.get(key)
    params = load_params(params_path)
    for name in exp.stages if stage == "all" else (stage,):
        exp.check(params, name)
    return params


def stage_main(argv: list[str] | None = None, prog: str = "python -m flows") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Run one stage of an experiment as a Prefect flow.")
    parser.add_argument("experiment", choices=[e.key for e in experiments.REGISTRY.values()])
    parser.add_argument("stage", help="data | tune | train | all (the experiment's stages)")
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    args = parser.parse_args(argv)
    stages = (*experiments.entry(args.experiment).stages, "all")
    if args.stage not in stages:
        parser.error(f"argument stage: invalid choice for {args.experiment}: {args.stage!r} (choose from "
                     f"{', '.join(stages)})")
    try:
        check_stage(args.experiment, args.stage, args.params)
    except (ValueError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from flows.experiment import flows_for

    flows_for(args.experiment)[args.stage](params_path=args.params)
    return 0
