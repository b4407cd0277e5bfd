"""dvc.lock must not change on a fresh clone: the CDP data and an SSL unit's files hash the same in two fresh
output trees (torch.save used to name the encoder archive's inner folder after a random temporary file)."""

import json

import torch

from anchorbench.config import load_params
from anchorbench.io import sha256, write_manifest
from anchorbench.ssl.data import build_cdp, load_cdp
from anchorbench.ssl.run import Data, plan_units, run_unit
from tests.params import smoke_params


def test_cdp_data_and_a_unit_are_byte_identical_in_two_fresh_runs(tmp_path, monkeypatch):
    params = load_params(smoke_params(tmp_path, ssl_data={"glyph_source": "sklearn"}, ssl={
        "objectives": ["infonce_anchor"], "pairings": ["cdp"], "post_estimators": ["js_plugin"], "device": "cpu"}))
    unit = plan_units(params.ssl)[0]
    digests, rows = [], []
    for run in ("a", "b"):
        monkeypatch.setenv("ANCHORBENCH_OUTPUTS", str(tmp_path / run))  # fresh tree, fresh temporary names
        data_dir, out = tmp_path / run / "data" / "ssl", tmp_path / run / "results" / "ssl"
        write_manifest(data_dir, build_cdp(params.ssl_data, data_dir), {})
        row = run_unit(params.ssl, unit, Data("cdp", load_cdp(data_dir), torch.device("cpu")), out)
        files = [data_dir / "cdp.npz", data_dir / "manifest.json", out / row["files"]["encoder"],
                 out / row["files"]["curve"]]
        digests.append([sha256(f) for f in files])
        rows.append({k: v for k, v in row.items() if k != "seconds"})
    assert digests[0] == digests[1]
    assert json.dumps(rows[0], sort_keys=True) == json.dumps(rows[1], sort_keys=True)  # NaN != NaN in a dict
    assert rows[0]["files"]["encoder"] == f"units/{rows[0]['name']}/encoder.pt"
