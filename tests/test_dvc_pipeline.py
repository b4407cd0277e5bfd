"""`dvc repro` of the whole pipeline (smoke profile) in a temporary copy of the repo."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from anchorbench.paths import REPO
from tests.params import smoke_params

pytestmark = pytest.mark.slow


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(["git", *args], cwd=dest, check=True)


def _smoke_copy(dest: Path) -> Path:
    _copy_repo(dest)
    smoke_params(dest, mi_benchmark={"domains": ["gaussian", "mnist"], "estimators": ["nwj", "infonce_anchor"]})
    return dest


def test_dvc_repro_smoke(tmp_path, data_mirror):
    repo, twin = _smoke_copy(tmp_path / "repo"), _smoke_copy(tmp_path / "twin")
    bin_dir = Path(sys.executable).parent
    # one torch thread in both copies: the thread count changes the numerics (see the README's Determinism)
    from anchorbench.bmi.config import PYTHON_ENV, BmiDataParams

    env = os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "ANCHORBENCH_DATA_MIRROR": str(data_mirror),
                        PYTHON_ENV: str(BmiDataParams().interpreter()),  # bmi's environment, outside the copies
                        "PREFECT_HOME": str(tmp_path / "prefect"), "DVC_NO_ANALYTICS": "1",
                        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("ANCHORBENCH_HOME", None)
    env.pop("ANCHORBENCH_OUTPUTS", None)
    # a second fresh copy reproduces the pipeline at the same time: its dvc.lock must come out identical
    with open(tmp_path / "twin.log", "w") as log:
        second = subprocess.Popen([str(bin_dir / "dvc"), "repro"], cwd=twin, stdout=log, stderr=subprocess.STDOUT,
                                  env=env | {"PREFECT_HOME": str(tmp_path / "prefect-twin")})
    try:
        proc = subprocess.run([str(bin_dir / "dvc"), "repro"], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert second.wait(timeout=900) == 0, (tmp_path / "twin.log").read_text()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()
    lock, twin_lock = (yaml.safe_load((r / "dvc.lock").read_text())["stages"] for r in (repo, twin))
    assert set(lock) == {"mi_benchmark_data", "mi_benchmark_tune", "mi_benchmark", "protein_data", "protein_tune",
                         "protein", "ssl_data", "ssl_tune", "ssl", "bmi_data", "bmi"}
    assert lock == twin_lock  # every output of every stage hashes the same in two fresh runs

    res = repo / "results" / "mi_benchmark"
    metrics = json.loads((res / "metrics.json").read_text())
    assert set(metrics["levels"]) == {"gaussian", "mnist"}
    assert (res / "figure1.png").stat().st_size > 10_000 and (res / "bias_variance.png").exists()
    best = json.loads((repo / "results/mi_benchmark/tune/best_params.json").read_text())
    assert set(best) == {"infonce_anchor-gaussian-joint"}
    show = subprocess.run([str(bin_dir / "dvc"), "metrics", "show", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True, check=True)
    assert "results/mi_benchmark/metrics.json" in show.stdout

    import mlflow
    import optuna

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["mi_benchmark"])
    assert (runs["tags.role"] == "stage").sum() == 1 and len(runs) == 1 + 2 * 2 * 2
    studies = {s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{repo / 'optuna.db'}")}
    assert {s for s in studies if s.startswith("mi_benchmark-")} == {"mi_benchmark-infonce_anchor-gaussian-joint-smoke"}

    # the other experiments' stages ran too, next to the MI benchmark's results
    for path in ("results/protein/metrics.json", "results/protein/roc.png", "results/ssl/metrics.json",
                 "results/ssl/probe.csv", "data/protein/manifest.json", "data/ssl/manifest.json",
                 "results/bmi/metrics.json", "results/bmi/estimates_vs_truth.png"):
        assert (repo / path).stat().st_size > 0, path

    # a second repro is a no-op: every stage is up to date
    again = subprocess.run([str(bin_dir / "dvc"), "repro"], cwd=repo, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and "didn't change" in again.stdout + again.stderr

    # a variation as the README shows it: only the mi_benchmark stage re-runs
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline"],
                   cwd=repo, check=True)
    exp = subprocess.run([str(bin_dir / "dvc"), "exp", "run", "-S", "mi_benchmark.estimators=[nwj]",
                          "-S", "mi_benchmark.seeds=1"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert exp.returncode == 0, exp.stdout[-3000:] + exp.stderr[-3000:]
    assert "Stage 'mi_benchmark_tune' didn't change" in exp.stdout
    varied = json.loads((res / "metrics.json").read_text())["levels"]["gaussian"]["joint"]
    assert list(varied) == ["nwj"]
    name = re.search(r"Ran experiment\(s\): (\S+)", exp.stdout).group(1)
    shown = subprocess.run([str(bin_dir / "dvc"), "exp", "show", "--json"], cwd=repo, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert f'"name": "{name}"' in shown
