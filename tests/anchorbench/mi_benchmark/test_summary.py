"""Readout maths on hand-made traces: last-quarter windows, bias/SD/MSE, divergence never averaged in."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from anchorbench.mi_benchmark.engine import GroupResult, RunSpec, Schedule
from anchorbench.mi_benchmark.summary import bias_variance, metrics_dict, per_run_levels, to_long

SCHED = Schedule((2.0, 4.0), 8)  # 16 steps; last quarter of each level = 2 steps


def _result():
    runs = [RunSpec("nwj", 0), RunSpec("nwj", 1), RunSpec("dv", 0)]
    est = np.zeros((16, 3))
    est[:, 0] = np.r_[np.full(8, 1.0), np.full(8, 3.0)]  # bias -1 at both levels
    est[:, 1] = np.r_[np.full(6, 9.0), 2.5, 3.5, np.full(8, 5.0)]  # tail {2.5, 3.5} at level 0; bias +1 at level 1
    est[:, 2] = np.r_[np.full(8, 2.0), np.full(3, 4.0), np.full(5, np.nan)]  # diverges at step 11
    return GroupResult(runs, np.repeat([2.0, 4.0], 8), est, [None, None, 11], 1.0)


def test_long_format():
    long = to_long(_result(), "gaussian", "joint")
    assert list(long.columns) == ["domain", "estimator", "critic", "seed", "step", "true_mi_bits", "estimate_bits"]
    assert len(long) == 48
    row = long[(long.estimator == "nwj") & (long.seed == 1) & (long.step == 6)].iloc[0]
    assert row.estimate_bits == 2.5 and row.true_mi_bits == 2.0


def test_bias_sd_mse_over_last_quarter():
    table = bias_variance(to_long(_result(), "gaussian", "joint"), SCHED).set_index(["estimator", "level"])
    nwj0 = table.loc[("nwj", 0)]
    # values {1, 1, 2.5, 3.5} vs truth 2: errors {-1, -1, 0.5, 1.5}
    assert nwj0.bias == pytest.approx(0.0)
    assert nwj0.mse == pytest.approx((1 + 1 + 0.25 + 2.25) / 4)
    assert nwj0.sd == pytest.approx(np.std([1, 1, 2.5, 3.5], ddof=1))
    assert table.loc[("nwj", 1)].bias == pytest.approx(0.0)  # -1 and +1
    assert table.loc[("dv", 0)].bias == pytest.approx(0.0) and table.loc[("dv", 0)].diverged_runs == 0
    dv1 = table.loc[("dv", 1)]
    assert math.isnan(dv1.bias) and dv1.diverged_runs == 1  # never averaged in


def test_per_run_and_metrics_json():
    long = to_long(_result(), "gaussian", "joint")
    per_run = per_run_levels(long, SCHED)
    dv = per_run[(per_run.estimator == "dv")].set_index("level")
    assert dv.loc[0, "mean"] == 2.0 and bool(dv.loc[1, "diverged"])
    m = metrics_dict(bias_variance(long, SCHED), [{"estimator": "dv", "seed": 0, "step": 11}], [2.0, 4.0])
    json.dumps(m, allow_nan=False)  # valid JSON: NaN became None
    assert m["levels"]["gaussian"]["joint"]["dv"]["4bits"]["bias"] is None
    assert m["levels"]["gaussian"]["joint"]["nwj"]["2bits"]["mse"] == pytest.approx(1.125)


def test_effective_truth_goes_into_metrics():
    table = bias_variance(to_long(_result(), "imdb_bert", "joint"), SCHED)
    table["effective_true_mi_bits"] = [1.8, 3.6, 1.8, 3.6, 1.8, 3.6][: len(table)]
    table["bias_effective"] = table.bias + table.true_mi_bits - table.effective_true_mi_bits
    m = metrics_dict(table, [], [2.0, 4.0])["levels"]["imdb_bert"]["joint"]["nwj"]["2bits"]
    assert m["effective_true_mi_bits"] == 1.8 and m["bias_effective"] == pytest.approx(0.2)


def _per_run(abs_bias: dict[str, list[float]], level: float = 4.0) -> pd.DataFrame:
    rows = [{"domain": "gaussian", "critic": "joint", "estimator": e, "seed": s, "level": 0, "true_mi_bits": level,
             "mean": level + b, "sd": 0.1, "diverged": False} for e, bs in abs_bias.items() for s, b in enumerate(bs)]
    return pd.DataFrame(rows)


def test_claims_are_computed_with_their_n_and_verdict():
    from anchorbench.mi_benchmark.summary import claims

    clear = _per_run({"infonce_anchor": [0.01, -0.02, 0.0, 0.02, -0.01], "nwj": [-1.0, -1.1, -0.9, -1.05, -0.95],
                      "infonce": [-2.0, -2.1, -1.9, -2.2, -2.0]})
    by_id = {c["id"]: c for c in claims(clear, batch_size=64)}
    smallest = by_id["gaussian:joint:4bits:anchor_smallest_abs_bias"]
    assert smallest["verdict"] == "reproduced" and smallest["n"] == 5
    assert by_id["gaussian:joint:4bits:infonce_below_log_b"]["verdict"] == "reproduced"  # 2 bits < log2 64
    two_seeds = _per_run({"infonce_anchor": [0.3, -0.2], "nwj": [-0.4, 0.1]})
    (only,) = claims(two_seeds, batch_size=64)
    assert only["verdict"] == "not established" and only["n"] == 2
    worse = _per_run({"infonce_anchor": [1.0, 1.1, 0.9, 1.05, 0.95], "nwj": [0.0, 0.01, -0.01, 0.02, 0.0]})
    assert claims(worse, batch_size=64)[0]["verdict"] == "contradicted"
