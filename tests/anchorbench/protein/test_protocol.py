"""Trials end to end at toy scale: every objective scores every grid, trials batched; LMI through latentmi."""

import numpy as np
import pytest

from anchorbench.config import parse_params
from anchorbench.protein.lmi import LMISettings, lmi_pmi_grid
from anchorbench.protein.protocol import TUNED_SUFFIX, objectives_for, run_trials, train_settings
from anchorbench.protein.split import outer_split
from tests.anchorbench.protein._helpers import small_ligand


@pytest.fixture(scope="module")
def smoke():
    return parse_params({"profile": "smoke", "mi_benchmark": {"estimators": ["nwj"]}}).protein


def test_a_tuned_objective_is_reported_beside_its_untuned_row(smoke):
    objs = {o.label: o for o in objectives_for(smoke, {"infonce_anchor": {"nu": 0.5, "width": 64},
                                                        "chi2": {"width": 128}})}
    assert objs["infonce_anchor"].hparams == {} and objs["infonce_anchor"].width == smoke.width  # the paper's
    tuned = objs["infonce_anchor" + TUNED_SUFFIX]
    assert tuned.hparams == {"nu": 0.5} and tuned.width == 64 and objs["chi2" + TUNED_SUFFIX].width == 128
    assert objs["spherical(parametrization=pd)"].hparams == {"parametrization": "pd"}
    assert set(objs) == set(smoke.objectives) | {"infonce_anchor" + TUNED_SUFFIX, "chi2" + TUNED_SUFFIX}


def test_run_trials_scores_every_objective_of_every_trial(smoke):
    ps = small_ligand()
    splits = [outer_split(ps, smoke.held_out, 0, t) for t in range(2)]
    both = run_trials(ps, splits, [0, 1], objectives_for(smoke), smoke)
    outcomes = both[0]
    assert [o.objective for o in outcomes] == list(smoke.objectives) == [o.objective for o in both[1]]
    h = smoke.held_out
    for o in outcomes:
        assert o.status == "ok", o
        assert o.grid.shape == (h, h) and np.isfinite(o.grid).all()
        assert 0.0 <= o.auroc <= 1.0 and o.steps_trained >= 1
    critics = [o for o in outcomes if o.objective != "lmi"]
    assert all(o.best_step is not None and o.best_step <= o.steps_trained <= smoke.max_steps for o in critics)
    # same seed, same numbers, alone or batched with the other objectives and trials: equal up to the rounding of
    # the batched GEMMs (with several threads their blocking depends on how many runs share a module)
    ((again,),) = run_trials(ps, splits[:1], [0], objectives_for(smoke)[:1], smoke)
    np.testing.assert_allclose(again.grid, outcomes[0].grid, rtol=1e-4, atol=1e-6)
    assert again.auroc == pytest.approx(outcomes[0].auroc, abs=1e-3)
    assert not np.allclose(both[1][0].grid[:5, :5], outcomes[0].grid[:5, :5])  # another trial: another fit


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
