"""The experiment spec (anchorbench.experiment) holds for every registered experiment: one study section shape, one
Diverged, one study task (tags, a child run per trial, the best value under one key), heartbeats everywhere, labels
with one meaning, atomic figures, stale temporary units removed. Each test here failed on the three-copies code."""

import json
import os
import socket
import time

import matplotlib
import mlflow
import pandas as pd
import pytest
import yaml

import estimators
from anchorbench import experiments, resume
from anchorbench.config import load_params, parse_params
from anchorbench.experiment import Diverged, Experiment, Study, Summary, TrialResult
from anchorbench.paths import REPO
from anchorbench.sections import StudyParams
from anchorbench.studies import study_for
from tests.params import smoke_params

KEYS = list(experiments.REGISTRY)
TUNED = [k for k in KEYS if "tune" in experiments.entry(k).stages]
REPO_PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def _params(profile: str):
    """The repo's params.yaml at ``profile``."""
    return parse_params(REPO_PARAMS | {"profile": profile})


@pytest.mark.parametrize("key", TUNED)
def test_every_tuning_section_embeds_one_study_block(key):
    params = _params("smoke")
    section = getattr(params, f"{key}_tune")
    assert isinstance(section.study, StudyParams)
    assert set(type(section.study).model_fields) == set(StudyParams.model_fields)
    assert section.study.n_trials and section.study.heartbeat_seconds == 60 and section.study.trial_retries == 2
    flat = {"n_trials", "tune_trials", "study_name", "tune_study", "tune_study_name", "storage", "tune_storage",
            "sampler_seed", "tune_sampler_seed", "heartbeat_seconds"}
    for section_name in (f"{key}_tune", key):  # no copy of a study key outside the study block
        assert not flat & set(type(getattr(params, section_name)).model_fields), section_name


@pytest.mark.parametrize("key", TUNED)
def test_every_experiments_studies_have_the_heartbeat(key, tmp_path):
    raw = REPO_PARAMS | {"profile": "smoke"}
    critics = [o for o in raw["protein"]["objectives"] if o != "lmi"]
    params = parse_params(raw | {"protein_tune": raw["protein_tune"] | {"objectives": critics}})  # protein: all
    specs = experiments.get(key).studies(params)
    assert specs and all(s.params == getattr(params, f"{key}_tune").study for s in specs)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = study_for(specs[0].params.model_copy(update={"storage": storage}), specs[0].key, "smoke")
    assert study._storage.get_heartbeat_interval() == 60  # a killed worker's trial is failed and retried
    assert study.direction.name.lower() == specs[0].params.direction


# ---------------------------------------------------------------- one study task for every experiment

class Toy(Experiment):
    """A registered experiment with one study whose trials alternate: a value, then a divergence."""

    key, title = "mi_benchmark", "toy"  # borrows the MI benchmark's sections

    def prepare(self, params, out):
        return {}

    def studies(self, params):
        def objective(trial, log):
            x = trial.suggest_float("x", 0.0, 1.0)
            log({"running": x}, 0)
            if trial.number % 2:
                raise Diverged("NaN")
            return TrialResult(x, {"extra": 1.0})

        return [Study("toy-study", params.mi_benchmark_tune.study, "mse", objective, {"estimator": "toy"})]

    def plan(self, params, tuned):
        return []

    def run_unit(self, params, unit, data_dir, folder):
        return {}

    def summarise(self, params, results, data_dir, out):
        return Summary({})

    def children(self, params, results):
        return []


def test_the_study_task_records_every_trial_and_returns_best_value(tmp_path, monkeypatch):
    from tasks.experiment import study_task

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setattr(experiments, "get", lambda key: Toy())
    params = load_params(smoke_params(tmp_path, mi_benchmark_tune={"study": {
        "storage": f"sqlite:///{tmp_path / 'optuna.db'}", "n_trials": 4}}))
    out = study_task.fn("mi_benchmark", params, "toy-study")
    assert out["best_value"] == min(r["value"] for r in out["table"] if r["state"] == "COMPLETE")
    assert out["trials"]["complete"] == 2 and out["trials"]["fail"] == 2  # a diverged trial fails and counts
    runs = mlflow.search_runs(experiment_names=["mi_benchmark_tune"])
    trials = runs[runs["tags.role"] != "study"]
    assert len(trials) == 4 and sorted(trials["tags.state"]) == ["complete", "complete", "failed", "failed"]
    assert (trials["status"][trials["tags.state"] == "failed"] == "FAILED").all()
    for tag in ("params_hash", "host", "pid", "code_version"):  # what closing a killed run's children needs
        assert trials[f"tags.{tag}"].str.len().gt(0).all(), tag
    assert trials["params.x"].notna().all()  # a failed trial's params are recorded too
    assert set(trials["metrics.mse"].dropna()) == {r["value"] for r in out["table"] if r["state"] == "COMPLETE"}


def test_one_diverged_class():
    from anchorbench.mi_benchmark import tuning as mi_tuning
    from anchorbench.protein import tuning as protein_tuning
    from anchorbench.ssl import tuning as ssl_tuning

    for module in (mi_tuning, protein_tuning, ssl_tuning):
        assert getattr(module, "Diverged", Diverged) is Diverged, module.__name__


# ---------------------------------------------------------------- one name, one meaning

def test_every_objective_list_holds_canonical_registry_labels():
    p = _params("default")
    lists = [p.mi_benchmark.estimators, p.mi_benchmark_tune.estimators, p.ssl.objectives, p.ssl.post_estimators,
             p.ssl.small_batch_objectives, p.ssl_tune.objectives, [o for o in p.protein.objectives if o != "lmi"]]
    for labels in lists:
        assert labels and all(estimators.canonical(label) == label for label in labels), labels


def test_ssl_objectives_mean_what_the_registry_means():
    ssl = _params("default").ssl
    built = {o: estimators.parse_label(o) for o in ssl.objectives}
    assert built["infonce_anchor(K=1)"] == ("infonce_anchor", {"K": 1})  # the paper's JS: not the registry's js
    assert built["binary_rule(alpha=2, parametrization=pd, rule=power)"][0] == "binary_rule"  # not chi2 (PCC)
    assert "js" not in ssl.objectives and "chi2" not in ssl.objectives
    names = [estimators.paper_name(o) for o in ssl.objectives]
    assert len(set(names)) == len(names) and estimators.paper_name("js") != estimators.paper_name("js_plugin")


# ---------------------------------------------------------------- atomic figures

@pytest.fixture
def failing_savefig(monkeypatch):
    """savefig writes half a file to wherever it is pointed, then fails (a kill or a full disk mid-write)."""
    def broken(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)


def test_ssl_figures_never_leave_a_partial_file(failing_savefig, tmp_path):
    from anchorbench.ssl.plots import probe_figure

    probe = pd.DataFrame({"objective": ["infonce_anchor"] * 2, "pairing": ["c", "c"], "batch_size": [16, 16],
                          "seed": [0, 1], "true_mi_bits": [2.0, 2.0], "top1": [0.5, 0.6]})
    with pytest.raises(OSError, match="disk full"):
        probe_figure(probe, 16, tmp_path / "probe_accuracy.png")
    assert not (tmp_path / "probe_accuracy.png").exists()


# ---------------------------------------------------------------- stale temporary units

def _tmp_unit(root, name, owner=None, age=0.0):
    folder = root / f".{name}-x.tmp"
    folder.mkdir(parents=True)
    if owner is not None:
        (folder / resume.OWNER).write_text(json.dumps(owner))
    if age:
        os.utime(folder, (time.time() - age, time.time() - age))
    return folder


def test_a_killed_workers_temporary_unit_is_removed_not_a_live_ones(tmp_path):
    host = socket.gethostname()
    dead = _tmp_unit(tmp_path, "dead", {"host": host, "pid": 2**22 + 12345})
    live = _tmp_unit(tmp_path, "live", {"host": host, "pid": os.getpid()})
    remote = _tmp_unit(tmp_path, "remote", {"host": "another-host", "pid": 1})
    unowned_old = _tmp_unit(tmp_path, "unowned-old", age=2 * resume.UNOWNED_SECONDS)
    unowned_new = _tmp_unit(tmp_path, "unowned-new")
    assert resume.remove_stale(tmp_path) == [dead, unowned_old]
    assert live.exists() and remote.exists() and unowned_new.exists()


def test_a_finished_unit_keeps_no_owner_file(tmp_path):
    folder, result = resume.finished(tmp_path, "u", "k", lambda tmp: (tmp / "a.txt").write_text("x") and {"ok": 1})
    assert result == {"ok": 1} and sorted(p.name for p in folder.iterdir()) == ["a.txt", resume.RESULT]


# ---------------------------------------------------------------- the MLflow view

def test_tracking_opens_every_experiment_on_its_runs_table(tmp_path, monkeypatch):
    from tasks.tracking import use_experiment

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    use_experiment("protein")
    assert mlflow.get_experiment_by_name("protein").tags["mlflow.experimentKind"] == "custom_model_development"
