"""The ``anchorbench`` command, the top of the stack: it runs flows (Prefect), serves deployments,
compares MLflow runs, fits a critic on a user's arrays and lists the estimators.

    anchorbench run mi-benchmark --profile smoke        # data -> tune -> train (scratch outputs: params differ)
    anchorbench run protein --stage train                # any registered experiment, any of its stages
    anchorbench run pipeline                             # dvc repro, as a Prefect flow, output streamed
    anchorbench serve --cron "0 3 * * *"                 # deployments on a running Prefect server
    anchorbench compare --statistic bias                 # table from MLflow
    anchorbench estimators
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import yaml

from anchorbench import experiments
from anchorbench.fit import command as estimate_command
from flows.runners import RUNNERS

# What the Makefile exports, for direct calls: offline, and patient with a slow ephemeral Prefect server.
ENV_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
                "MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def set_env_defaults() -> None:
    """Set the offline / start-up defaults the user has not set (before Prefect or MLflow is imported)."""
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def effective_params(params: str, profile: str | None) -> tuple[dict, bool]:
    """The params to run (``params`` with ``profile`` replaced) and whether they equal the repo's params.yaml
    (as validated models: formatting and comments do not count)."""
    from anchorbench import paths
    from anchorbench.config import load_params, parse_params

    path = Path(params)
    load_params(path)  # a missing or unparsable file is named here
    raw = yaml.safe_load(path.read_text()) or {}
    if profile is not None:
        raw["profile"] = profile
    run = parse_params(raw)  # validates: a bad key stops here, before any flow or server starts
    tracked = paths.REPO / "params.yaml"
    return raw, tracked.is_file() and run == load_params(tracked)


def scratch_outputs(raw: dict) -> Path:
    """A scratch output tree for params that differ from params.yaml: ``<home>/scratch/<hash>/``, holding a
    copy of the params it ran with; the DVC-tracked ``data/`` and ``results/`` are never touched."""
    from anchorbench import paths

    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:10]
    root = paths.home() / "scratch" / digest
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return root


def cmd_run(args) -> int:
    if args.flow == "pipeline":
        from flows.pipeline import pipeline_flow

        pipeline_flow(targets=args.targets or None, force=args.force)
        return 0
    raw, same = effective_params(args.params, args.profile)
    params_path, fresh_scratch = args.params, None
    if not same:
        from anchorbench import paths

        root = scratch_outputs(raw)
        fresh_scratch = root if [p.name for p in root.iterdir()] == ["params.yaml"] else None
        os.environ[paths.OUTPUTS_ENV] = str(root)
        params_path = str(root / "params.yaml")
        print(f"anchorbench: params differ from params.yaml: outputs go to {root} (tracked outputs untouched)")
    if args.runner:
        os.environ["ANCHORBENCH_TASK_RUNNER"] = args.runner
    if args.dask_address:
        os.environ["ANCHORBENCH_TASK_RUNNER"] = "dask"
        os.environ["ANCHORBENCH_DASK_ADDRESS"] = args.dask_address
    from flows.entry import stage_main

    status = stage_main([experiments.entry(args.flow).key, args.stage, "--params", params_path],
                        prog="anchorbench run")
    if status != 0 and fresh_scratch is not None and [p.name for p in fresh_scratch.iterdir()] == ["params.yaml"]:
        shutil.rmtree(fresh_scratch)  # a run refused before it started leaves nothing behind
        with contextlib.suppress(OSError):
            fresh_scratch.parent.rmdir()  # the scratch folder too, if nothing else is in it
    return status


def cmd_serve(args) -> int:
    from prefect import serve

    from flows.experiment import flows_for
    from flows.pipeline import pipeline_flow

    deployments = [
        pipeline_flow.to_deployment(name="nightly", cron=args.cron, parameters={"targets": [], "force": False},
                                    description="dvc repro of every stage, on a schedule", concurrency_limit=1),
        flows_for("mi_benchmark")["all"].to_deployment(name="weekly", cron=args.experiment_cron,
                                        parameters={"params_path": str(Path(args.params).resolve())},
                                        description="MI benchmark: data -> tune -> train, in this process",
                                        concurrency_limit=1),
    ]
    # one run per deployment at a time (a second scheduled run waits), and one flow run at a time in this process
    serve(*deployments, limit=1)
    return 0


def cmd_compare(args) -> int:
    from anchorbench.mi_benchmark.compare import comparison_table

    table = comparison_table(args.run_id, statistic=args.statistic)
    text = table.to_markdown(index=False) if args.format == "markdown" else table.to_csv(index=False)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def cmd_docs(args) -> int:
    from anchorbench import generated

    if args.check:
        stale = generated.stale()
        if stale:
            print(f"anchorbench: error: generated tables disagree with results/ in {', '.join(stale)}: run "
                  "`anchorbench docs`", file=sys.stderr)
            return 1
        print("generated tables agree with results/")
        return 0
    changed = generated.write()
    print("rewrote " + (", ".join(changed) if changed else "nothing (every page agrees with results/)"))
    return 0


def cmd_estimators(args) -> int:
    import estimators

    for name in estimators.available():
        est = estimators.build(name)
        doc = (type(est).__doc__ or "").strip().split("\n")[0]
        print(f"{name:16s} {'PMI ' if est.identifies_ratio else '    '}{doc}")
    return 0


def _run_parser(sub) -> None:
    run = sub.add_parser("run", help="run a flow now",
                         description="Run an experiment's flow, or the pipeline, in this process.")
    names = [e.key.replace("_", "-") for e in experiments.REGISTRY.values()]
    flows = run.add_subparsers(dest="flow", required=True, metavar="{" + ",".join([*names, "pipeline"]) + "}")
    for entry in experiments.REGISTRY.values():
        name = entry.key.replace("_", "-")
        exp = flows.add_parser(name, help=entry.title,
                               description=f"Run the {name} flows. Params that differ from params.yaml (another file, "
                                           "or --profile) write to a scratch output tree, never over tracked results.")
        exp.add_argument("--stage", choices=[*entry.stages, "all"], default="all", help="stage to run (default: all)")
        exp.add_argument("--profile", choices=experiments.PROFILE_NAMES, help="override the params file's profile")
        exp.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
        exp.add_argument("--runner", choices=RUNNERS, help="task runner for the training fan-out")
        exp.add_argument("--dask-address", help="scheduler address of an existing Dask cluster (implies --runner dask)")
        exp.set_defaults(fn=cmd_run)
    pipe = flows.add_parser("pipeline", help="dvc repro of every stage, as a Prefect flow",
                            description="Run `dvc repro` (all stages or --targets) as a Prefect flow; "
                                        "output is streamed.")
    pipe.add_argument("--targets", nargs="*", help="DVC stages to reproduce (default: all)")
    pipe.add_argument("--force", action="store_true", help="dvc repro --force")
    pipe.set_defaults(fn=cmd_run)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anchorbench", description="MI-estimation experiment pipeline")
    sub = p.add_subparsers(dest="command", required=True)
    _run_parser(sub)

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

    docs = sub.add_parser("docs", help="rewrite the README/docs tables generated from results/*/metrics.json",
                          description="Rewrite every <!-- generated: <experiment>/<table> --> block of README.md "
                                      "and docs/*.md from the committed results (--check: only report).")
    docs.add_argument("--check", action="store_true", help="exit 1 if a page disagrees with the results")
    docs.set_defaults(fn=cmd_docs)

    est = sub.add_parser("estimators", help="list the registered estimators (PMI: the critic identifies it)")
    est.set_defaults(fn=cmd_estimators)
    estimate_command.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    set_env_defaults()
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ValueError, LookupError, FileNotFoundError) as exc:
        print(f"anchorbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
