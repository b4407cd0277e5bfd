"""anchorbench.resume: a finished unit is computed once, reused by content key, never visible half-written."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from anchorbench.config import load_params
from anchorbench.mi_benchmark.plan import plan_groups
from anchorbench.paths import REPO
from anchorbench.resume import RESULT, content_key, finished, publish


def _compute(calls: list, value=1):
    def compute(folder):
        calls.append(folder)
        (folder / "sub").mkdir()
        (folder / "sub" / "data.npy").write_bytes(b"payload")
        return {"value": value, "np_int": np.int64(3), "nan": float("nan")}

    return compute


def test_computed_once_then_reused(tmp_path):
    calls = []
    folder, result = finished(tmp_path, "unit", "k1", _compute(calls))
    assert folder == tmp_path / "unit-k1" and (folder / RESULT).exists()
    assert result["value"] == 1 and result["np_int"] == 3 and np.isnan(result["nan"])
    again, same = finished(tmp_path, "unit", "k1", _compute(calls, value=2))
    assert len(calls) == 1 and again == folder and same["value"] == 1
    _, other = finished(tmp_path, "unit", "k2", _compute(calls, value=2))  # another key: computed
    assert len(calls) == 2 and other["value"] == 2


def test_a_failed_unit_leaves_nothing_that_looks_finished(tmp_path):
    def broken(folder):
        (folder / "partial.bin").write_bytes(b"half")
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"):
        finished(tmp_path, "unit", "k", broken)
    assert list(tmp_path.iterdir()) == []  # neither the unit folder nor its temporary folder
    _, result = finished(tmp_path, "unit", "k", _compute([]))  # the rerun computes it
    assert result["value"] == 1


def test_a_unit_another_worker_finished_first_is_kept(tmp_path):
    def racing(folder):
        finished(tmp_path, "unit", "k", _compute([], value="theirs"))  # another worker wins meanwhile
        return {"value": "mine"}

    _, result = finished(tmp_path, "unit", "k", racing)
    assert result["value"] == "theirs" and [p.name for p in tmp_path.iterdir()] == ["unit-k"]


def test_publish_copies_every_file_but_the_result(tmp_path):
    folder, _ = finished(tmp_path / "cache", "unit", "k", _compute([]))
    placed = publish(folder, tmp_path / "results")
    assert placed == [tmp_path / "results/sub/data.npy"] and placed[0].read_bytes() == b"payload"
    assert not (tmp_path / "results" / RESULT).exists()


def test_content_key_is_the_same_in_every_process():
    """Config sections are pydantic models (a pickled model holds a set, ordered by the string-hash seed):
    the key must not follow that seed."""
    code = ("from anchorbench.config import load_params; from anchorbench.resume import content_key; "
            "from anchorbench.mi_benchmark.plan import plan_groups; p = load_params('params.yaml'); "
            "print(content_key(p.protein, p.ssl, plan_groups(p.mi_benchmark, None)[0], {'b': 1, 'a': 2}))")
    keys = {subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                           env=os.environ | {"PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2", "3")}
    params = load_params(REPO / "params.yaml")
    here = content_key(params.protein, params.ssl, plan_groups(params.mi_benchmark, None)[0], {"a": 2, "b": 1})
    assert keys == {here}


def test_content_key_follows_every_setting():
    params = load_params(REPO / "params.yaml")
    base = content_key(params.protein, "kinase", 0)
    assert content_key(params.protein.model_copy(update={"lr": 2e-4}), "kinase", 0) != base
    assert content_key(params.protein, "kinase", 1) != base
    assert content_key(params.protein, "ligand", 0) != base
    assert json.loads(json.dumps(base)) == base and len(base) == 16
