"""The bmi experiment's own pieces: the tolerance, the counts per data seed and family, the grouping by input
shape, the tables; and bmi's scripts in bmi's environment (sampling is deterministic, the manifest exact)."""

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from anchorbench.bmi.config import BmiDataParams
from anchorbench.bmi.experiment import EXPERIMENT, SCRIPTS, counts, within
from anchorbench.config import parse_params
from anchorbench.io import sha256


def test_within_is_ten_percent_or_five_hundredths_of_a_nat():
    assert within(1.09, 1.0) and not within(1.11, 1.0)
    assert within(0.24, 0.2) and not within(0.26, 0.2)  # small truths: 0.05 nat
    assert not within(float("nan"), 1.0)


def _estimates(ok: dict[str, int], tasks: int = 4) -> pd.DataFrame:
    rows = []
    for estimator, n_ok in ok.items():
        for seed in (0, 1):
            for t in range(tasks):
                truth = 1.0
                rows.append({"n": 1000, "task": f"t{t}", "family": "a" if t < 2 else "b", "estimator": estimator,
                             "data_seed": seed, "truth_nats": truth, "mi_nats": truth if t < n_ok else 2 * truth})
    out = pd.DataFrame(rows)
    out["error_nats"] = out.mi_nats - out.truth_nats
    out["within"] = [within(e, t) for e, t in zip(out.mi_nats, out.truth_nats)]
    return out


def test_counts_per_data_seed_and_family():
    m = counts(_estimates({"infonce_anchor": 4, "bmi:ksg": 1}))
    assert m["tasks"] == {"1000": 4}
    assert m["within"]["infonce_anchor"]["1000"] == {"0": 4, "1": 4} and m["within"]["bmi:ksg"]["1000"]["0"] == 1
    assert m["per_family"]["bmi:ksg"] == {"a": [2, 4], "b": [0, 4]}
    assert m["default_meets_target"] == {"1000": True}  # 36/40 scaled to 4 tasks: 3.6
    assert counts(_estimates({"infonce_anchor": 3}))["default_meets_target"] == {"1000": False}
    (claim,) = m["claims"]  # closer to the truth than the rival, paired over the 8 (task, seed) cells
    assert claim["id"] == "infonce_anchor_closer_than_bmi:ksg" and claim["n"] == 8
    tables = EXPERIMENT.tables(m)
    assert "4/4" in tables["counts"] and "2/4" in tables["families"]
    m_ref = counts(_estimates({"infonce_anchor": 4}).pipe(lambda f: pd.concat(  # a reference on data seed 0 only
        [f, f[f.data_seed == 0].assign(estimator="bmi:ksg")], ignore_index=True)))
    ksg_row = next(line for line in EXPERIMENT.tables(m_ref)["counts"].splitlines() if "bmi:ksg" in line)
    assert "not run" in ksg_row and "nan" not in ksg_row
    t3 = next(r for r in m["per_task"] if r["task"] == "t3")  # ksg read 2.0 on both data seeds: none within
    assert t3["truth_nats"] == 1.0 and t3["estimates"] == {"bmi:ksg": [2.0, 0, 2], "infonce_anchor": [1.0, 2, 2]}
    task_rows = [line for line in tables["tasks"].splitlines() if "| t3 " in line]
    assert len(task_rows) == 1 and "2.000 (0/2)" in task_rows[0] and "| 1.000 " in task_rows[0]


def test_groups_are_one_per_input_shape(tmp_path, monkeypatch):
    from anchorbench import paths

    monkeypatch.setenv(paths.OUTPUTS_ENV, str(tmp_path))
    tasks = [{"id": f"t{i}", "family": "f", "dim_x": d, "dim_y": d, "mi_nats": 0.5, "files": {}}
             for i, d in enumerate([1, 1, 3, 5, 3])]
    folder = tmp_path / "data/bmi/n1000"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"tasks": tasks}))
    params = parse_params({"mi_benchmark": {"estimators": ["nwj"]}, "bmi_data": {"sizes": [1000], "seeds": 2},
                           "bmi": {"estimators": ["infonce_anchor"], "seeds": 3}})
    groups = EXPERIMENT.plan(params, {})
    assert [(g.dim_x, g.tasks) for g in groups] == [(1, ("t0", "t1")), (3, ("t2", "t4")), (5, ("t3",))]
    assert all(g.data_seeds == (0, 1) and g.seeds == 3 for g in groups)


def test_a_missing_bmi_environment_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `make setup-bmi`"):
        BmiDataParams(python=str(tmp_path / "nowhere" / "python")).interpreter()


def _bmi_python():
    try:
        return BmiDataParams().interpreter()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"bmi's environment is missing in CI: {exc}")
        pytest.skip(str(exc))


def test_bmi_samples_byte_identical_files_with_the_exact_mi(tmp_path):
    python = _bmi_python()
    task = "multinormal-sparse-3-3-2-2.0"
    for run in ("a", "b"):
        subprocess.run([str(python), str(SCRIPTS / "sample_tasks.py"), "--out", str(tmp_path / run), "--n", "600",
                        "--seeds", "0", "1", "--tasks", task], check=True, capture_output=True)
    a = json.loads((tmp_path / "a/manifest.json").read_text())
    (entry,) = a["tasks"]
    assert entry["family"] == "multinormal sparse" and (entry["dim_x"], entry["dim_y"]) == (3, 3)
    assert entry["mi_nats"] == pytest.approx(1.0217, abs=1e-3)  # the task's exact MI (nats), as bmi states it
    for seed in ("seed0", "seed1"):
        files = [tmp_path / run / entry["files"][seed]["path"] for run in ("a", "b")]
        assert sha256(files[0]) == sha256(files[1]) == entry["files"][seed]["sha256"]
    with np.load(tmp_path / "a" / entry["files"]["seed0"]["path"]) as z:
        assert z["x"].shape == (600, 3) and z["y"].shape == (600, 3)
