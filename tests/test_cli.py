"""The anchorbench console entry point: help, bad arguments, estimator list, clear errors."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.cli import main

ANCHORBENCH = Path(sys.executable).with_name("anchorbench")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["serve", "--help"], ["compare", "--help"]])
def test_help(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0 and "usage: anchorbench" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [(["run", "nothing"], "invalid choice: 'nothing'"),
                                         (["run", "mi-benchmark", "--profile", "huge"], "invalid choice: 'huge'"),
                                         (["compare", "--statistic", "median"], "invalid choice: 'median'"),
                                         ([], "required: command")])
def test_bad_arguments_exit_2_with_a_message(args, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_bad_params_file_is_named(tmp_path, capsys):
    bad = tmp_path / "params.yaml"
    bad.write_text("mi_benchmark:\n  estimators: [nwj]\n  lrr: 1\n")
    assert main(["run", "mi-benchmark", "--params", str(bad)]) == 2
    assert "mi_benchmark.lrr: unknown key" in capsys.readouterr().err


def test_compare_without_runs_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["compare"]) == 2
    assert "run the pipeline first" in capsys.readouterr().err


def test_console_script_lists_estimators():
    out = subprocess.run([str(ANCHORBENCH), "estimators"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].startswith("binary_rule") and "infonce_anchor" in out


# Traps a new user hit (issue 9): each has a test.

@pytest.mark.parametrize("args,needle", [
    (["run", "pipeline", "--profile", "smoke"], "unrecognized arguments: --profile smoke"),
    (["run", "pipeline", "--stage", "train"], "unrecognized arguments: --stage train"),
    (["run", "pipeline", "--params", "p.yaml"], "unrecognized arguments: --params p.yaml"),
    (["run", "mi-benchmark", "--targets", "data"], "unrecognized arguments: --targets data"),
])
def test_flags_that_do_not_apply_are_rejected(args, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and needle in capsys.readouterr().err


@pytest.fixture
def captured_flow(monkeypatch, tmp_path):
    """Replace the stage entry with a recorder of its argv and output root."""
    import flows.entry
    from anchorbench import paths

    calls = []
    monkeypatch.setattr(flows.entry, "stage_main",
                        lambda argv, prog: calls.append((argv, os.environ.get(paths.OUTPUTS_ENV))) or 0)
    monkeypatch.setenv("ANCHORBENCH_HOME", str(tmp_path))
    monkeypatch.setenv(paths.OUTPUTS_ENV, "")  # recorded, so the CLI's own setting is undone after the test
    monkeypatch.delenv(paths.OUTPUTS_ENV)
    return calls


def test_params_that_differ_write_to_a_scratch_tree(captured_flow, tmp_path, capsys):
    from anchorbench import paths

    assert main(["run", "mi-benchmark", "--profile", "smoke", "--stage", "data"]) == 0
    (argv, outputs), = captured_flow
    assert outputs is not None and Path(outputs).parent == tmp_path / "scratch"
    assert argv[:4] == ["mi_benchmark", "data", "--params", str(Path(outputs) / "params.yaml")]
    assert yaml.safe_load(Path(argv[3]).read_text())["profile"] == "smoke"  # kept as the record of the run
    assert f"outputs go to {outputs}" in capsys.readouterr().out
    assert Path(outputs) != paths.REPO and not str(outputs).startswith(str(paths.REPO / "results"))


def test_the_tracked_params_write_to_the_tracked_outputs(captured_flow):
    from anchorbench import paths

    assert main(["run", "mi-benchmark", "--params", str(paths.REPO / "params.yaml"), "--stage", "train"]) == 0
    assert captured_flow == [(["mi_benchmark", "train", "--params", str(paths.REPO / "params.yaml")], None)]


def test_experiments_and_stages_come_from_the_registry(monkeypatch, capsys):
    """One registry: an experiment registered there is a CLI experiment with exactly its stages."""
    from anchorbench import experiments

    monkeypatch.setitem(experiments.REGISTRY, "toy", experiments.Entry("toy", "toy", ("data", "train"), "a toy"))
    with pytest.raises(SystemExit):
        main(["run", "toy", "--help"])
    assert "{data,train,all}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["run", "toy", "--stage", "tune"])
    assert exc.value.code == 2 and "invalid choice: 'tune'" in capsys.readouterr().err


def test_pipeline_output_is_streamed_line_by_line():
    from flows.pipeline import stream

    code = "import time; print('first', flush=True); time.sleep(20); print('second')"
    lines = stream([sys.executable, "-c", code], ".", dict(os.environ))
    start = time.monotonic()
    assert next(lines) == "first" and time.monotonic() - start < 15  # before the command ends
    assert list(lines) == ["second"]
    with pytest.raises(RuntimeError, match="exit code 3"):
        list(stream([sys.executable, "-c", "import sys; print('x'); sys.exit(3)"], ".", dict(os.environ)))


def test_compare_prints_readable_columns(tmp_path, monkeypatch, capsys):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("mi_benchmark")
    with mlflow.start_run(tags={"role": "stage"}):
        for est, bias in (("nwj", -0.5), ("infonce_anchor", 0.1)):
            tags = {"domain": "gaussian", "critic": "joint", "estimator": est, "seed": "0"}
            with mlflow.start_run(nested=True, tags=tags):
                mlflow.log_metrics({"bias_2bits": bias, "bias_4bits": 2 * bias})
    assert main(["compare"]) == 0
    out = capsys.readouterr().out
    assert "('" not in out
    header = [c.strip() for c in out.splitlines()[0].strip("|").split("|")]
    assert header == ["domain", "critic", "estimator", "2 bits", "4 bits"]
    assert "| gaussian | joint    | nwj" in out


def test_direct_calls_get_the_offline_defaults(monkeypatch):
    from flows.cli import ENV_DEFAULTS, set_env_defaults

    for key in ENV_DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")  # the user's own value wins
    set_env_defaults()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "300"
