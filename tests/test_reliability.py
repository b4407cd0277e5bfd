"""Reliability (issue 12): a killed training stage resumes without retraining, killed runs and trials are
closed and retried, concurrent workers and DVC runs do not trample each other, servers listen on loopback,
and nothing tracked or logged holds a secret or a machine path."""

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from anchorbench.paths import REPO
from anchorbench.resume import RESULT
from tests.params import smoke_params
from tests.servers import BIN, background, base_env, free_port, listening, wait_http

LOOPBACK = {"127.0.0.1", "::1"}


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := predicate():
            return value
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log else proc.communicate()[1][-3000:]
            pytest.fail(f"process exited ({proc.returncode}) before {what}: {tail}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A Prefect server started as the README documents; the flows in subprocesses share it."""
    tmp = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with background(cmd, base_env(tmp), tmp / "server.log", health=f"{api}/health") as proc:
        yield api, proc


# ---------------------------------------------------------------- interruption


@dataclass(frozen=True)
class KillCase:
    """One experiment's training stage, killed after its first finished unit (anchorbench.resume) and rerun."""

    sections: dict  # params.yaml sections overridden on top of the smoke profile
    prepare: tuple[str, ...]  # `python -m flows` arguments of the stage that writes the input data (run first)
    stage: tuple[str, ...]  # `python -m flows` arguments of the stage that gets killed
    units: int  # units the stage runs (the kill must leave at least one of them unfinished)
    tables: tuple[str, ...]  # result tables (under results/) that must equal an uninterrupted run's


KILL_CASES = {
    "mi_benchmark": KillCase(  # two groups (joint and separable critic), no tuning needed
        {"mi_benchmark": {"domains": ["gaussian"], "critics": ["joint", "separable"], "use_tuned": False,
                          "estimators": ["nwj", "infonce_anchor"], "seeds": 1, "steps_per_level": 60}},
        (), ("mi_benchmark", "train"), 2, ("mi_benchmark/estimates.parquet", "mi_benchmark/summary.csv")),
    "protein": KillCase(
        {"protein": {"trials": 3, "trials_per_unit": 1, "use_tuned": False}}, ("protein", "data"),
        ("protein", "train"), 3,
        ("protein/auroc.csv", "protein/summary.csv")),
    "ssl": KillCase(
        {"ssl_data": {"glyph_source": "sklearn"},
         "ssl": {"objectives": ["infonce_anchor"], "pairings": ["c", "cdp"], "seeds": 2, "steps": 30,
                 "small_batch": None, "random_init": False, "post_estimators": ["js_plugin"], "device": "cpu",
                 "use_tuned": False}},
        ("ssl", "data"), ("ssl", "train"), 4, ("ssl/probe.csv", "ssl/mi.csv")),
}


def _table(path: Path) -> pd.DataFrame:
    """A result table without its wall-clock column (a reused unit keeps the seconds of the run that made it)."""
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return frame.drop(columns=[c for c in frame.columns if c.startswith("seconds")])


class _Watcher(threading.Thread):
    """Records every file name ever seen under ``root`` (polling), to catch a partial file in results/."""

    def __init__(self, root: Path):
        super().__init__(daemon=True)
        self.root, self.seen, self.stop = root, set(), threading.Event()

    def run(self):
        while not self.stop.is_set():
            if self.root.exists():
                self.seen |= {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", list(KILL_CASES))
def test_killed_training_resumes_without_retraining(tmp_path, prefect_server, experiment):
    api, _ = prefect_server
    case = KILL_CASES[experiment]
    params = smoke_params(tmp_path, **case.sections)
    cmd = [sys.executable, "-m", "flows", *case.stage, "--params", str(params)]

    def tree(name: str) -> dict:
        root = tmp_path / name
        root.mkdir()
        env = base_env(tmp_path) | {"PREFECT_API_URL": api, "OMP_NUM_THREADS": "1", "ANCHORBENCH_OUTPUTS": str(root),
                                    "ANCHORBENCH_HOME": str(root), "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"}
        if case.prepare:
            prep = subprocess.run([sys.executable, "-m", "flows", *case.prepare, "--params", str(params)], env=env,
                                  cwd=REPO, capture_output=True, text=True, timeout=600)
            assert prep.returncode == 0, prep.stdout[-3000:] + prep.stderr[-3000:]
        return env

    clean_env, run_env = tree("clean"), tree("run")
    run, units = tmp_path / "run", tmp_path / f"run/.cache/units/{experiment}"
    watcher = _Watcher(run / "results")
    watcher.start()
    # the uninterrupted reference run, in parallel with the one that gets killed
    with open(tmp_path / "clean.log", "w") as log:
        clean = subprocess.Popen(cmd, env=clean_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    with open(tmp_path / "killed.log", "w") as log:
        killed = subprocess.Popen(cmd, env=run_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    start = time.time()
    try:
        finished = lambda: sorted(units.glob(f"*/{RESULT}"))  # noqa: E731
        _wait_for(finished, 600, "the first finished unit", killed, tmp_path / "killed.log")
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed.returncode == -signal.SIGKILL
        kept = finished()
        assert len(kept) < case.units, f"killed too late: all {case.units} units had finished"
        stamps = {p: p.stat().st_mtime_ns for p in kept}
        print(f"{experiment}: SIGKILL at {time.time() - start:.0f} s, after {len(kept)} of {case.units} units; "
              f"results/ then held {sorted(watcher.seen)}")

        rerun = subprocess.run(cmd, env=run_env, cwd=REPO, capture_output=True, text=True, timeout=900)
        assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
        print(f"rerun finished at {time.time() - start:.0f} s")
        assert clean.wait(timeout=900) == 0, (tmp_path / "clean.log").read_text()[-3000:]
    finally:
        for proc in (clean, killed):
            if proc.poll() is None:
                proc.kill()
        watcher.stop.set()
        watcher.join()

    assert {p: p.stat().st_mtime_ns for p in kept} == stamps  # reused, not recomputed
    assert len(finished()) == case.units  # each unit finished once: no duplicate, no loss
    for table in case.tables:
        pd.testing.assert_frame_equal(_table(run / "results" / table), _table(tmp_path / "clean/results" / table))
    # results/ only ever showed final names (temporary files live in .cache/, then are renamed in)
    final = {p.relative_to(run / "results").as_posix() for p in (run / "results").rglob("*") if p.is_file()}
    assert watcher.seen and watcher.seen <= final, watcher.seen - final
    assert not list((run / "results").rglob("*.tmp"))
    # the killed unit's half-built folder was removed when the rerun started (its builder was dead)
    assert not list(units.glob(".*.tmp"))

    # no machine path in the params the flow logged to MLflow
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=run_env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000)
    values = {k: v for r in runs for k, v in r.data.params.items()}
    assert values and not {k: v for k, v in values.items() if str(v).startswith("/")}


# ---------------------------------------------------------------- MLflow runs of a killed flow

HOLDER = """
import sys, time, mlflow
from tasks.tracking import base_tags, use_experiment
use_experiment("reliability")
with mlflow.start_run(run_name="holder", tags=base_tags("p")) as parent:
    with mlflow.start_run(run_name="child", nested=True, tags=base_tags("p")) as child:
        print(parent.info.run_id, child.info.run_id, flush=True)
        time.sleep(600)
"""


@pytest.mark.slow
def test_runs_of_a_killed_process_end_as_killed(tmp_path, monkeypatch):
    import mlflow

    from tasks.tracking import TAG_HOST, base_tags, use_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    env = base_env(tmp_path) | {"MLFLOW_TRACKING_URI": uri}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        ids = holder.stdout.readline().split()
        assert len(ids) == 2, "the holder process did not start its runs"
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert {client.get_run(i).info.status for i in ids} == {"RUNNING"}  # what a kill leaves behind

    use_experiment("reliability")
    with mlflow.start_run(run_name="alive", tags=base_tags("p")) as alive:  # this process: alive, left alone
        elsewhere = client.create_run(alive.info.experiment_id, tags=base_tags("p") | {TAG_HOST: "other-host"})
        use_experiment("reliability")  # the next flow start
        assert [client.get_run(i).info.status for i in ids] == ["KILLED", "KILLED"]
        assert all(client.get_run(i).info.end_time for i in ids)
        assert client.get_run(alive.info.run_id).info.status == "RUNNING"
        assert client.get_run(elsewhere.info.run_id).info.status == "RUNNING"


# ---------------------------------------------------------------- Optuna workers

WORKER = """
import os, sys, time
from anchorbench.studies import open_study, run_trials
storage, n_trials, heartbeat, flag, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
study = open_study("reliability", storage, seed=os.getpid(), heartbeat_seconds=heartbeat)
open(f"{flag}.ready-{os.getpid()}", "w").close()
while not os.path.exists(flag):
    time.sleep(0.02)

def objective(trial):
    x = trial.suggest_float("x", -2, 2)
    trial.set_user_attr("pid", os.getpid())
    if mode == "hang":
        open(f"{flag}.hung", "w").close()
        time.sleep(600)
    time.sleep(0.1)
    return (x - 1) ** 2

print(run_trials(study, objective, n_trials, poll_seconds=0.2), flush=True)
"""


def _workers(tmp: Path, storage: str, n_trials: int, count: int, heartbeat: int, mode: str = "run"):
    """Start ``count`` worker processes on one study; return them once all have opened it."""
    flag = tmp / f"go-{mode}"
    env = base_env(tmp) | {"OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, storage, str(n_trials), str(heartbeat), str(flag), mode],
                              env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) for _ in range(count)]
    for proc in procs:
        _wait_for(lambda: (tmp / f"go-{mode}.ready-{proc.pid}").exists(), 300, "the worker to open the study", proc)
    flag.touch()  # all start at once: they race for the last trials
    return procs


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "journal"])
def test_four_workers_finish_with_exactly_n_trials(tmp_path, backend):
    import optuna

    from anchorbench.studies import SURPLUS, open_storage

    storage = f"sqlite:///{tmp_path / 'optuna.db'}" if backend == "sqlite" else str(tmp_path / "optuna.log")
    n_trials = 24
    procs = _workers(tmp_path, storage, n_trials, count=4, heartbeat=60)
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-2000:] for _, err in outs]
    study = optuna.load_study(study_name="reliability", storage=open_storage(storage))
    states = pd.Series([t.state.name for t in study.trials]).value_counts().to_dict()
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    surplus = [t for t in study.trials if t.user_attrs.get(SURPLUS)]
    print(f"{backend}: 4 workers started {[int(o) for o, _ in outs]} trials; states {states}")
    assert len(complete) == n_trials
    assert len({t.number for t in complete}) == n_trials and len({t._trial_id for t in complete}) == n_trials
    assert set(states) <= {"COMPLETE", "FAIL"} and states.get("FAIL", 0) == len(surplus)  # nothing lost
    assert len({t.user_attrs["pid"] for t in complete}) == 4  # all four did work


@pytest.mark.slow
def test_trial_of_a_killed_worker_is_failed_and_retried(tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    (hung,) = _workers(tmp_path, storage, n_trials=3, count=1, heartbeat=1, mode="hang")
    _wait_for(lambda: (tmp_path / "go-hang.hung").exists(), 120, "the worker's trial to start", hung)
    os.killpg(hung.pid, signal.SIGKILL)
    hung.wait(timeout=30)
    (worker,) = _workers(tmp_path, storage, n_trials=3, count=1, heartbeat=1)
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err[-3000:]

    trials = optuna.load_study(study_name="reliability", storage=storage).trials
    states = [t.state.name for t in trials]
    print(f"killed worker's trial then: {states}")
    assert states.count("COMPLETE") == 3 and trials[0].state.name == "FAIL"
    assert trials[0].user_attrs["pid"] == hung.pid
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == 0]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE" and retry[0].params == trials[0].params


# ---------------------------------------------------------------- two DVC runs in one checkout


@pytest.mark.slow
def test_second_dvc_repro_stops_at_the_lock(tmp_path, data_mirror):
    from tests.test_dvc_pipeline import _copy_repo

    repo = tmp_path / "repo"
    _copy_repo(repo)
    env = base_env(tmp_path) | {"ANCHORBENCH_DATA_MIRROR": str(data_mirror), "PYTHONUNBUFFERED": "1",
                                "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("ANCHORBENCH_HOME", None)
    env.pop("ANCHORBENCH_OUTPUTS", None)
    dvc = [str(BIN / "dvc"), "repro", "mi_benchmark_data"]
    log = tmp_path / "first.log"
    with open(log, "w") as fh:
        first = subprocess.Popen(dvc, cwd=repo, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: "Running stage 'mi_benchmark_data'" in log.read_text(), 300, "the first repro's stage", first,
                  log)
        second = subprocess.run(dvc, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        time.sleep(1)  # the first must still hold its lock after the second gave up
        still_running = first.poll() is None
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    message = (second.stdout + second.stderr).strip()
    print(f"second dvc repro: exit {second.returncode}: {message}")
    assert still_running, "the first repro ended before the second tried: no lock to test"
    # DVC's repo lock ("Unable to acquire lock") while the first reads dvc.yaml, then its rwlock on the stage's
    # outputs ("... is busy, it is being blocked by: (PID ...: dvc repro mi_benchmark_data) ... .dvc/tmp/rwlock")
    assert second.returncode != 0 and ("Unable to acquire lock" in message or "rwlock" in message), message


# ---------------------------------------------------------------- security


@pytest.mark.slow
def test_servers_listen_on_loopback_only(tmp_path, prefect_server, monkeypatch):
    """Each server as the README starts it (Prefect, MLflow, optuna-dashboard) and the Dask LocalCluster
    of the dask task runner: every listening socket is on 127.0.0.1 / ::1."""
    from distributed import LocalCluster

    from anchorbench.studies import open_study
    from flows.runners import task_runner

    seen = {"prefect": listening(prefect_server[1].pid)}
    env = base_env(tmp_path)
    open_study("reliability", f"sqlite:///{tmp_path / 'optuna.db'}", seed=0)
    ports = {"mlflow": free_port(), "optuna-dashboard": free_port()}
    commands = {"mlflow": ([str(BIN / "mlflow"), "ui", "--host", "127.0.0.1", "--port", str(ports["mlflow"]),
                            "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"], "/health"),
                "optuna-dashboard": ([str(BIN / "optuna-dashboard"), f"sqlite:///{tmp_path / 'optuna.db'}", "--host",
                                      "127.0.0.1", "--port", str(ports["optuna-dashboard"])], "/api/studies")}
    monkeypatch.setenv("ANCHORBENCH_TASK_RUNNER", "dask")
    monkeypatch.delenv("ANCHORBENCH_DASK_ADDRESS", raising=False)
    before = listening(os.getpid())  # this process's tree: the Prefect server so far
    with ExitStack() as stack:  # all start at once
        procs = {name: stack.enter_context(background(cmd, env, tmp_path / f"{name}.log"))
                 for name, (cmd, _) in commands.items()}
        cluster = stack.enter_context(LocalCluster(**task_runner().cluster_kwargs))
        cluster.wait_for_workers(len(cluster.workers), timeout=120)
        for name, (_, health) in commands.items():
            wait_http(f"http://127.0.0.1:{ports[name]}{health}", proc=procs[name])
            seen[name] = listening(procs[name].pid)
        seen["dask"] = listening(os.getpid()) - before - seen["mlflow"] - seen["optuna-dashboard"]
    print({k: sorted(v) for k, v in seen.items()})
    for name, addresses in seen.items():
        assert addresses, f"{name}: no listening socket found"
        assert {ip for ip, _ in addresses} <= LOOPBACK, f"{name} listens beyond loopback: {addresses}"


# patterns split so this file does not match itself
FORBIDDEN = ["/" + "work/", "/" + "root/", "/" + "home/", "/" + "Users/", "password" + "=", "token" + "=",
             "PRIVATE" + " KEY", "aws_secret" + "_access_key"]


def test_no_secrets_or_machine_paths_in_tracked_files():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    hits, checked = [], 0
    for rel in files:
        path = REPO / rel
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary (figures, parquet)
            continue
        checked += 1
        text = data.decode("utf-8", errors="replace")
        hits += [f"{rel}: {p}" for p in FORBIDDEN if p in text]
    assert checked > 50 and not hits, hits


def test_orphaned_running_trial_from_before_the_loop_holds_no_slot(tmp_path, monkeypatch):
    """A RUNNING trial without a worker tag (a run killed before heartbeats existed) never blocks the study."""
    import optuna

    from anchorbench import studies

    study = studies.open_study("legacy", f"sqlite:///{tmp_path / 'optuna.db'}", seed=0, heartbeat_seconds=1)
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING))
    monkeypatch.setattr(studies, "UNTAGGED_SECONDS", 0)
    start = time.time()
    ran = studies.run_trials(study, lambda t: t.suggest_float("x", 0, 1), n_trials=2, poll_seconds=0.1)
    states = [t.state.name for t in study.trials]
    assert ran == 2 and states == ["RUNNING", "COMPLETE", "COMPLETE"] and time.time() - start < 30
