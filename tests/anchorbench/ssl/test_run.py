"""SSL units: the plan (small batches at equal pairs seen, the untrained baseline), the headline probe of a pairing,
and post-training MI read on pairs early stopping never saw."""

import pytest
import torch

from anchorbench.config import load_params
from anchorbench.fit import train as fit_train
from anchorbench.ssl import posttrain
from anchorbench.ssl.config import INFONCE, RANDOM_INIT
from anchorbench.ssl.data import build_cdp, load_cdp
from anchorbench.ssl.encoders import init_encoder
from anchorbench.ssl.run import Data, _post_mi, plan_units, probe_scores, probe_targets, run_unit
from tests.params import smoke_params


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Smoke-profile params and CDP data (sklearn glyphs)."""
    tmp = tmp_path_factory.mktemp("ssl")
    params = load_params(smoke_params(tmp, ssl_data={"glyph_source": "sklearn"}, ssl={"device": "cpu"}))
    build_cdp(params.ssl_data, tmp / "data")
    return params.ssl, Data("cdp", load_cdp(tmp / "data"), torch.device("cpu")), tmp


def test_small_batch_units_see_as_many_pairs_and_every_seed_has_a_baseline(smoke):
    p = smoke[0].model_copy(update={"seeds": 2, "steps": 80, "batch_size": 64, "small_batch": 4})
    units = plan_units(p)
    small = [u for u in units if u.batch_size == 4]
    assert small and all(u.objective == INFONCE and u.steps == 80 * 64 // 4 for u in small)
    assert all(u.steps * u.batch_size == 80 * 64 for u in units if u.objective != RANDOM_INIT)
    baseline = [u for u in units if u.objective == RANDOM_INIT]
    assert {(u.pairing, u.seed) for u in baseline} == {(g, s) for g in p.pairings for s in (0, 1)}
    assert all(u.steps == 0 and u.tau is None and u.batch_size == 64 for u in baseline)
    assert not any(u.objective == RANDOM_INIT for u in plan_units(p.model_copy(update={"random_init": False})))


def test_the_headline_probe_is_the_joint_probe_of_the_shared_attributes(smoke):
    assert probe_targets("c")[""] == [0] and probe_targets("cd")[""] == [0, 1] and probe_targets("cdp")[""] == [0, 1, 2]
    assert probe_targets("dp")[""] == [1, 2] and probe_targets("aug")[""] == [0, 1, 2]
    p, data, _ = smoke

    class MeanColour(torch.nn.Module):
        """Features that hold the colour only (mean RGB over the image): nothing of digit or position."""

        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.mean((2, 3))

    scores = probe_scores(MeanColour(), data, "test", 200, 0.05, "c")
    assert scores["top1"] == scores["top1_colour"] > 0.95  # pairing c keeps the colour, which is all it shares
    assert scores["top1_joint"] < 0.5  # the 64-way probe would score the digit and position c discards
    assert probe_scores(MeanColour(), data, "test", 200, 0.05, "cdp")["top1"] == scores["top1_joint"]


def test_the_untrained_baseline_is_probed_and_read_out_from_the_seeds_initial_encoder(smoke):
    p, data, tmp = smoke
    unit = next(u for u in plan_units(p) if u.objective == RANDOM_INIT and u.pairing == "cdp")
    row = run_unit(p, unit, data, tmp / "out")
    assert "curve" not in row["files"] and "train_mi_bits" not in row and set(row["seconds"]) == {
        "pretrain", "probe", "post_mi", "total"}
    assert 0 <= row["probe"]["top1"] <= 1 and set(row["post_mi_bits"]) == set(p.post_estimators)
    saved = torch.load(tmp / "out" / row["files"]["encoder"])
    initial = init_encoder(p.encoder, p.width, unit.seed, torch.device("cpu")).state_dict()
    assert all(torch.equal(saved[k], initial[k]) for k in initial)  # where the seed's trained units start


class CountingPairs:
    """Stands in for ``run.Data``: every pair ever drawn is distinct, its draw number in pixel (0, 0, 0)."""

    dataset, device = "cdp", torch.device("cpu")

    def __init__(self):
        self.drawn = 0

    def pairs(self, pairing, n, generator, held_out=False):
        ids = torch.arange(self.drawn, self.drawn + n, dtype=torch.float32)
        self.drawn += n
        x1, x2 = torch.rand(n, 3, 32, 32, generator=generator), torch.rand(n, 3, 32, 32, generator=generator)
        x1[:, 0, 0, 0] = x2[:, 0, 0, 0] = ids
        return x1, x2


class PixelFeatures(torch.nn.Module):
    """The first 8 pixels of the red channel's first row: the draw number and 7 random values."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x[:, 0, 0, :8]


def test_post_training_mi_is_read_on_rows_early_stopping_never_saw(smoke, monkeypatch):
    p, _, _ = smoke
    unit = plan_units(p)[0]
    seen = {}

    def recording(splits, runs, **kwargs):
        seen["split"] = splits[0]
        seen["results"] = fit_train.fit_runs(splits, runs, **kwargs)
        return seen["results"]

    monkeypatch.setattr(posttrain, "fit_runs", recording)
    mi = _post_mi(p, unit, CountingPairs(), PixelFeatures())
    split = seen["split"]
    assert split.has_test
    rows = {part: set(getattr(split, f"x_{part}")[:, 0].tolist()) for part in ("train", "val", "test")}
    assert rows["test"].isdisjoint(rows["val"]) and rows["test"].isdisjoint(rows["train"])
    assert rows["val"].isdisjoint(rows["train"]) and len(rows["test"]) == len(split.x_test) >= p.post_batch_size
    assert all(r.readout == "test" for r in seen["results"])  # the MI reported is the test rows' readout
    assert mi == {r.run.estimator: pytest.approx(r.mi_bits) for r in seen["results"]}
