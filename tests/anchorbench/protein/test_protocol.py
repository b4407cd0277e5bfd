"""One trial end to end at toy scale: every objective scores the grid; LMI through latentmi."""

import numpy as np
import pytest

from anchorbench.config import parse_params
from anchorbench.protein.lmi import LMISettings, lmi_pmi_grid
from anchorbench.protein.protocol import objectives_for, run_trial, train_settings
from anchorbench.protein.split import outer_split
from tests.anchorbench.protein._helpers import small_ligand


@pytest.fixture(scope="module")
def smoke():
    return parse_params({"profile": "smoke", "mi_benchmark": {"estimators": ["nwj"]}}).protein


def test_objectives_take_the_tuned_values_for_infonce_anchor_only(smoke):
    objs = {o.label: o for o in objectives_for(smoke, {"nu": 0.5, "width": 64})}
    assert objs["infonce_anchor"].hparams["nu"] == 0.5 and objs["infonce_anchor"].width == 64
    assert objs["spherical"].hparams == {"parametrization": "pd"} and objs["spherical"].width == smoke.width
    assert objs["js_plugin"].width == smoke.width and set(objs) == set(smoke.objectives)


def test_run_trial_scores_every_objective(smoke):
    ps = small_ligand()
    split = outer_split(ps, smoke.held_out, 0, 0)
    outcomes = run_trial(ps, split, objectives_for(smoke, None), smoke, seed=0)
    assert [o.objective for o in outcomes] == list(smoke.objectives)
    h = smoke.held_out
    for o in outcomes:
        assert o.status == "ok", o
        assert o.grid.shape == (h, h) and np.isfinite(o.grid).all()
        assert 0.0 <= o.auroc <= 1.0 and o.steps_trained >= 1
    critics = [o for o in outcomes if o.objective != "lmi"]
    assert all(o.best_step is not None and o.best_step <= o.steps_trained <= smoke.max_steps for o in critics)
    # same seed, same numbers, alone or batched with the other objectives: equal up to the rounding of the
    # batched GEMMs (with several threads their blocking depends on how many runs share a module)
    again = run_trial(ps, split, objectives_for(smoke, None)[:1], smoke, seed=0)
    np.testing.assert_allclose(again[0].grid, outcomes[0].grid, rtol=1e-4, atol=1e-6)
    assert again[0].auroc == pytest.approx(outcomes[0].auroc, abs=1e-3)


def test_lmi_scores_new_pairs_against_training_latents_only():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((600, 2))
    x = np.c_[z, rng.standard_normal((600, 6))]
    y = np.c_[z + 0.1 * rng.standard_normal((600, 2)), rng.standard_normal((600, 6))]
    settings = LMISettings(epochs=3, patience=5, latent=2, batch_size=128)
    grid, epochs = lmi_pmi_grid(x[:400], y[:400], x[400:500], y[400:500], x[500:530], y[500:530], settings, seed=0)
    assert grid.shape == (30, 30) and np.isfinite(grid).all() and epochs == 3  # patience > epochs: all ran
    again, _ = lmi_pmi_grid(x[:400], y[:400], x[400:500], y[400:500], x[500:530], y[500:530], settings, seed=0)
    np.testing.assert_array_equal(grid, again)  # seeded: latentmi's global generators are seeded per call
    # matched pairs (the diagonal) share the latent z: on average their PMI is higher than mismatched ones
    assert grid.diagonal().mean() > grid[~np.eye(30, dtype=bool)].mean()


def test_train_settings_follow_the_params(smoke):
    s = train_settings(smoke)
    assert (s.max_steps, s.check_every, s.patience, s.batch_size, s.lr, s.clip) == (
        smoke.max_steps, smoke.check_every, smoke.patience, smoke.batch_size, smoke.lr, smoke.clip)
