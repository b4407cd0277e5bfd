"""The ``anchorbench`` command: run flows, serve deployments, compare runs, list estimators.

    anchorbench run mi-benchmark --profile smoke        # data -> tune -> train
    anchorbench run mi-benchmark --stage train
    anchorbench run pipeline                             # dvc repro, as a Prefect flow
    anchorbench serve --cron "0 3 * * *"                 # deployments on a running Prefect server
    anchorbench compare --statistic bias                 # table from MLflow
    anchorbench estimators
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

PROFILES = ("smoke", "default", "paper")
RUNNERS = ("thread", "dask")


def _params_with_profile(params: str, profile: str | None) -> str:
    """``params`` itself, or a temporary copy with ``profile`` replaced."""
    if profile is None:
        return params
    raw = yaml.safe_load(Path(params).read_text())
    raw["profile"] = profile
    fd, tmp = tempfile.mkstemp(prefix="params-", suffix=".yaml")
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(raw, fh, sort_keys=False)
    return tmp


def cmd_run(args) -> int:
    if args.runner:
        os.environ["ANCHORBENCH_TASK_RUNNER"] = args.runner
    if args.dask_address:
        os.environ["ANCHORBENCH_TASK_RUNNER"] = "dask"
        os.environ["ANCHORBENCH_DASK_ADDRESS"] = args.dask_address
    if args.flow == "pipeline":
        from flows.pipeline import pipeline_flow

        pipeline_flow(targets=args.targets or None, force=args.force)
        return 0
    from anchorbench.config import load_params
    from flows import mi_benchmark

    params = _params_with_profile(args.params, args.profile)
    load_params(params)  # validate before starting any flow: a bad key stops here with its name
    return mi_benchmark.main([args.stage, "--params", params])


def cmd_serve(args) -> int:
    from prefect import serve

    from flows.mi_benchmark import mi_benchmark_flow
    from flows.pipeline import pipeline_flow

    deployments = [
        pipeline_flow.to_deployment(name="nightly", cron=args.cron, parameters={"targets": [], "force": False},
                                    description="dvc repro of every stage, on a schedule"),
        mi_benchmark_flow.to_deployment(name="weekly", cron=args.experiment_cron,
                                        parameters={"params_path": str(Path(args.params).resolve())},
                                        description="MI benchmark: data -> tune -> train, in this process"),
    ]
    serve(*deployments, limit=1)
    return 0


def cmd_compare(args) -> int:
    from anchorbench.compare import comparison_table

    table = comparison_table(args.run_id, statistic=args.statistic)
    text = table.to_markdown() if args.format == "markdown" else table.to_csv()
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def cmd_estimators(args) -> int:
    import estimators

    for name in estimators.available():
        doc = (type(estimators.build(name)).__doc__ or "").strip().split("\n")[0]
        print(f"{name:16s} {doc}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anchorbench", description="MI-estimation experiment pipeline")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a flow now", description="Run a flow in this process.")
    run.add_argument("flow", choices=["mi-benchmark", "pipeline"])
    run.add_argument("--stage", choices=["data", "tune", "train", "all"], default="all", help="mi-benchmark stage")
    run.add_argument("--profile", choices=PROFILES, help="override params.yaml's profile")
    run.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    run.add_argument("--runner", choices=RUNNERS, help="task runner for the training fan-out")
    run.add_argument("--dask-address", help="scheduler address of an existing Dask cluster (implies --runner dask)")
    run.add_argument("--targets", nargs="*", help="pipeline: DVC stages to reproduce (default: all)")
    run.add_argument("--force", action="store_true", help="pipeline: dvc repro --force")
    run.set_defaults(fn=cmd_run)

    serve = sub.add_parser("serve", help="serve the deployments (needs a Prefect server)",
                           description="Register and serve the pipeline (cron schedule) and MI-benchmark deployments.")
    serve.add_argument("--cron", default="0 3 * * *", help="pipeline (dvc repro) schedule (default: 03:00 daily)")
    serve.add_argument("--experiment-cron", default="0 4 * * 0",
                       help="MI-benchmark flow schedule (default: 04:00 on Sundays)")
    serve.add_argument("--params", default="params.yaml")
    serve.set_defaults(fn=cmd_serve)

    compare = sub.add_parser("compare", help="compare estimators from MLflow",
                             description="Per-estimator table of one benchmark run (default: the newest).")
    compare.add_argument("--run-id", help="MLflow parent run id (default: newest benchmark run)")
    compare.add_argument("--statistic", choices=["bias", "mean", "sd"], default="bias")
    compare.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    compare.add_argument("--out", help="also write the table to this file")
    compare.set_defaults(fn=cmd_compare)

    est = sub.add_parser("estimators", help="list the registered estimators")
    est.set_defaults(fn=cmd_estimators)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ValueError, LookupError, FileNotFoundError) as exc:
        print(f"anchorbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
