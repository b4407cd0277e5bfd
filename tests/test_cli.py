"""The anchorbench console entry point: help, bad arguments, estimator list, clear errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from anchorbench.cli import main

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
