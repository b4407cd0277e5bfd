"""A run that diverges inside a batched group: recorded with its step, the other runs unaffected
bit for bit, and no NaN in the summaries, metrics.json or the figure (which marks the run)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from anchorbench.config import parse_params
from anchorbench.mi_benchmark import plots
from anchorbench.mi_benchmark.domains import GaussianDomain
from anchorbench.mi_benchmark.engine import RunSpec, Schedule, train_group
from anchorbench.mi_benchmark.experiment import EXPERIMENT
from anchorbench.mi_benchmark.summary import to_long
from estimators import bounds, registry
from estimators.critics import CriticConfig

SCHEDULE = Schedule((2.0, 4.0), 20)
NAN_STEP = 13


class NaNAfter(registry.Estimator):
    """DV whose loss turns NaN from its ``calls + 1``-th call on (one call per training step)."""

    name = "nan_after"

    def __init__(self, calls: int = 10**9) -> None:
        super().__init__()
        self.calls, self.seen = calls, 0
        self._set(calls=calls)

    def _loss(self, s):
        self.seen += 1
        return -bounds.dv_bound(s) + (math.nan if self.seen > self.calls else 0.0)

    def _estimate(self, s):
        return bounds.dv_bound(s)


@pytest.fixture
def groups(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, NaNAfter.name, NaNAfter)

    def train(calls: int):
        runs = [RunSpec("infonce_anchor", 0), RunSpec("infonce_anchor", 1), RunSpec("nan_after", 0, {"calls": calls}),
                RunSpec("nwj", 0)]
        return train_group(GaussianDomain(dim=3), runs, CriticConfig("joint", width=16, depth=1), SCHEDULE, 16, 1e-3,
                           progress=False)

    return train(NAN_STEP), train(10**9)


def test_the_diverged_run_is_recorded_and_the_others_are_untouched(groups):
    hit, clean = groups
    assert hit.diverged_step == [None, None, NAN_STEP, None] and clean.diverged_step == [None] * 4
    assert np.isnan(hit.estimates_bits[NAN_STEP:, 2]).all() and np.isfinite(hit.estimates_bits[:NAN_STEP, 2]).all()
    for r in (0, 1, 3):  # bit for bit: the NaN never reaches another run's parameters or data
        assert np.array_equal(hit.estimates_bits[:, r], clean.estimates_bits[:, r])


def test_summaries_and_metrics_hold_no_nan_and_the_figure_marks_the_run(groups, tmp_path, monkeypatch):
    hit, _ = groups
    (tmp_path / "unit").mkdir()
    to_long(hit, "gaussian", "joint").to_parquet(tmp_path / "unit" / "estimates.parquet")
    diverged = [{"domain": "gaussian", "critic": "joint", "estimator": "nan_after", "seed": 0, "step": NAN_STEP}]
    marks = []
    real_save = plots.save_figure

    def spy(fig, path, dpi):
        marks.extend(line for ax in fig.axes for line in ax.get_lines() if line.get_label() == "diverged")
        return real_save(fig, path, dpi)

    monkeypatch.setattr(plots, "save_figure", spy)
    params = parse_params({"profile": "smoke", "mi_benchmark": {
        "estimators": ["nwj"], "domains": ["gaussian"], "levels_bits": [2.0, 4.0], "steps_per_level": 20,
        "batch_size": 16}})
    results = [{"folder": str(tmp_path / "unit"), "diverged": diverged, "run_steps_per_second": 1.0, "params": {}}]
    files = EXPERIMENT.summarise(params, results, tmp_path, tmp_path).files
    metrics = json.loads(open(files["metrics"]).read(), parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert metrics["levels"]["gaussian"]["joint"]["nan_after"]["4bits"]["bias"] is None
    assert metrics["diverged_runs"] == diverged
    summary = pd.read_csv(files["summary"])
    row = summary[(summary.estimator == "nan_after") & (summary.level == 0)].iloc[0]
    assert row.diverged_runs == 1 and np.isnan(row.bias)  # never averaged in as a number
    assert np.isfinite(summary[summary.estimator != "nan_after"].bias).all()
    assert len(marks) == 1 and marks[0].get_xdata()[0] == NAN_STEP - 1  # on its last finite estimate
