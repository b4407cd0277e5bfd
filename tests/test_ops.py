"""Operations: a real Prefect server with served deployments, an MLflow server, both UIs in a
headless browser, and the Dask task runner giving the default runner's numbers."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from anchorbench.paths import REPO
from tests.servers import BIN, background, base_env, free_port

pytestmark = pytest.mark.slow
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """Chromium for the UI screenshots: a recorded skip where it is missing, a failure in CI (``.ci/run``
    installs it, so a missing browser there is a broken setup, not a reason to drop the UI checks)."""
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing in CI: .ci/run installs Debian's chromium for the UI checks")
    pytest.skip("Chromium not installed: UI screenshots not checked (apt-get install chromium)")


def smoke_params(tmp: Path, **mi) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["profile"] = "smoke"
    raw["mi_benchmark"] |= {"domains": ["gaussian"], "estimators": ["nwj", "infonce_anchor"], **mi}
    raw["mi_benchmark_tune"]["study"] |= {"storage": f"sqlite:///{tmp / 'optuna.db'}", "n_trials": 2}
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def browse(url: str, name: str) -> str:
    """Load ``url`` in headless Chromium; keep a screenshot in test-artifacts/; return the DOM."""
    ARTIFACTS.mkdir(exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--virtual-time-budget=15000", "--window-size=1400,900"]
    with_profile = lambda d: flags + [f"--user-data-dir={d}"]  # noqa: E731
    subprocess.run([CHROMIUM, *with_profile(ARTIFACTS / f".{name}-a"),
                    f"--screenshot={ARTIFACTS / (name + '.png')}", url],
                   capture_output=True, timeout=120)
    dom = subprocess.run([CHROMIUM, *with_profile(ARTIFACTS / f".{name}-b"), "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    for d in ARTIFACTS.glob(f".{name}-*"):
        shutil.rmtree(d, ignore_errors=True)
    return dom


def test_prefect_server_serves_schedules_and_runs_a_deployment(tmp_path, data_mirror):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = base_env(tmp_path) | {"PREFECT_API_URL": api, "ANCHORBENCH_OUTPUTS": str(tmp_path),
                                "ANCHORBENCH_HOME": str(tmp_path),
                                "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
                                "ANCHORBENCH_DATA_MIRROR": str(data_mirror)}
    params = smoke_params(tmp_path)
    server = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with background(server, env, tmp_path / "server.log", health=f"{api}/health"):
        serve = [str(BIN / "anchorbench"), "serve", "--params", str(params), "--cron", "0 3 * * *",
                 "--experiment-cron", "30 5 * * 1"]
        with background(serve, env, tmp_path / "serve.log", cwd=REPO):
            import asyncio

            from prefect.client.orchestration import get_client
            from prefect.deployments import run_deployment
            from prefect.settings import PREFECT_API_URL, temporary_settings

            async def deployments():
                async with get_client() as client:
                    return {d.name: d for d in await client.read_deployments()}

            with temporary_settings({PREFECT_API_URL: api}):
                deadline = time.time() + 120
                while time.time() < deadline and len(found := asyncio.run(deployments())) < 2:
                    time.sleep(1)
                assert set(found) == {"nightly", "weekly"}, (tmp_path / "serve.log").read_text()[-2000:]
                assert found["nightly"].schedules[0].schedule.cron == "0 3 * * *"
                assert found["weekly"].schedules[0].schedule.cron == "30 5 * * 1"
                # two runs of one deployment never overlap (a second one waits for the first)
                assert {n: d.global_concurrency_limit.limit for n, d in found.items()} == {"nightly": 1, "weekly": 1}

                run = run_deployment("mi-benchmark-all/weekly", timeout=600)
                assert run.state.is_completed(), (tmp_path / "serve.log").read_text()[-3000:]

                async def artifact_keys():
                    async with get_client() as client:
                        return {a.key for a in await client.read_artifacts()}

                assert {"mi-benchmark-data", "mi-benchmark-tune", "mi-benchmark-train"} <= asyncio.run(artifact_keys())
            assert json.loads((tmp_path / "results/mi_benchmark/metrics.json").read_text())["levels"]["gaussian"]

            require_chromium()
            dom = browse(f"http://127.0.0.1:{port}/deployments", "prefect-ui-deployments")
            assert "nightly" in dom and "weekly" in dom
            browse(f"http://127.0.0.1:{port}/runs", "prefect-ui-runs")


def test_mlflow_server_round_trip_compare_and_the_runs_view(tmp_path, monkeypatch):
    """A training stage logged as the flows log it, through a server: `anchorbench compare` reads it back, and the
    experiment opens on its runs table (not MLflow 3's GenAI overview), in a view whose columns are the headline
    metrics under their shared names, with the stage run's children shown."""
    import mlflow

    from anchorbench.experiment import ChildRun, Summary
    from anchorbench.mi_benchmark.compare import comparison_table
    from tasks.tracking import base_tags, log_stage

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = base_env(tmp_path)
    cmd = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
           "--artifacts-destination", str(tmp_path / "art")]
    with background(cmd, env, tmp_path / "mlflow.log", health=f"{url}/health"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        children = [ChildRun(f"gaussian-joint-{est}-s{seed}", {"domain": "gaussian", "critic": "joint",
                                                               "estimator": est, "seed": str(seed)},
                             {"width": 64}, {"bias_2bits": bias + seed * 0.1, "mean_2bits": 2 + bias,
                                             "abs_error_bits": abs(bias + seed * 0.1)})
                    for est, bias in (("nwj", -0.5), ("infonce_anchor", 0.1)) for seed in (0, 1)]
        parent, view = log_stage("mi_benchmark", "mi-benchmark-test", base_tags("p"), {"steps": 10},
                                 Summary({}, {"abs_error_bits": 0.3}), children,
                                 (["abs_error_bits", "bias_2bits"], ["estimator", "seed"]))
        assert mlflow.get_run(parent).data.tags["role"] == "stage"
        experiment = mlflow.get_experiment_by_name("mi_benchmark")
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        table = comparison_table()  # newest stage run, through the server
        table = table.set_index(["domain", "critic", "estimator"])
        assert table.loc[("gaussian", "joint", "nwj"), "2 bits"] == pytest.approx(-0.45)
        assert table.loc[("gaussian", "joint", "infonce_anchor"), "2 bits"] == pytest.approx(0.15)
        require_chromium()
        dom = browse(f"{url}/{view}", "mlflow-ui-runs")
        assert "Training runs" in dom and "abs_error_bits" in dom and "bias_2bits" in dom
        assert "gaussian-joint-infonce_anchor-s1" in dom  # the stage run's children are shown


def test_dask_runner_matches_the_default_runner(tmp_path, monkeypatch):
    from prefect.testing.utilities import prefect_test_harness

    from anchorbench import paths
    from flows.experiment import flows_for
    from flows.runners import task_runner

    params = smoke_params(tmp_path, seeds=1)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("PREFECT_TASKS_REFRESH_CACHE", "true")  # really train twice
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    metrics = {}
    with prefect_test_harness(server_startup_timeout=120):
        for runner in ("thread", "dask"):
            monkeypatch.setenv("ANCHORBENCH_TASK_RUNNER", runner)
            monkeypatch.setenv("ANCHORBENCH_DASK_WORKERS", "2")
            monkeypatch.setenv(paths.OUTPUTS_ENV, str(tmp_path / runner))  # fresh outputs, no tuned values
            flows_for("mi_benchmark")["train"].with_options(task_runner=task_runner())(params_path=str(params))
            metrics[runner] = json.loads((tmp_path / runner / "results/mi_benchmark/metrics.json").read_text())
    a, b = metrics["thread"]["levels"], metrics["dask"]["levels"]
    flat = lambda m: {(e, lvl, k): v for e, ls in m["gaussian"]["joint"].items()  # noqa: E731
                      for lvl, d in ls.items() for k, v in d.items()}
    fa, fb = flat(a), flat(b)
    assert fa.keys() == fb.keys()
    for key in fa:
        assert fa[key] == pytest.approx(fb[key], abs=1e-3), key


def test_optuna_dashboard_serves_the_study(tmp_path):
    import urllib.request

    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="mi_benchmark-demo", storage=storage)
    study.optimize(lambda t: (t.suggest_float("nu", 0.1, 10, log=True) - 1) ** 2, n_trials=3)
    port = free_port()
    cmd = [str(BIN / "optuna-dashboard"), storage, "--host", "127.0.0.1", "--port", str(port)]
    with background(cmd, base_env(tmp_path), tmp_path / "dashboard.log", health=f"http://127.0.0.1:{port}/api/studies"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=10) as r:
            studies = json.loads(r.read())["study_summaries"]
        assert [s["study_name"] for s in studies] == ["mi_benchmark-demo"]
        require_chromium()
        assert "mi_benchmark-demo" in browse(f"http://127.0.0.1:{port}/dashboard", "optuna-dashboard")
