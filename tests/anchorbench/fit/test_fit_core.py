"""The fit core: training-only standardisation, best-state early stopping, grouping-independent runs,
divergence records, determinism and input errors."""

import math

import numpy as np
import pytest
import torch

from anchorbench.fit import FIT_DEFAULTS, FitRun, PairedSplit, TrainSettings, fit_critic, fit_runs
from anchorbench.fit import train as train_module
from anchorbench.fit.data import normal_scores, split_rows
from anchorbench.fit.defaults import FIT_SETTINGS, fit_hparams, val_fraction_for
from anchorbench.fit.result import dv_readout

CRITIC = {"type": "separable", "width": 16, "depth": 1, "embed": 8}
FAST = TrainSettings(batch_size=32, lr=1e-3, max_steps=120, check_every=20, patience=60, progress=False)


def gaussian(n, d=2, rho=0.8, seed=0, flip=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, (-y if flip else y)


def split(n_train=400, n_val=200, seed=0, val_shift=0.0, flip_val=False):
    x, y = gaussian(n_train, seed=seed)
    xv, yv = gaussian(n_val, seed=seed + 100, flip=flip_val)
    return PairedSplit(x, y, xv + val_shift, yv + val_shift)


def test_standardisation_uses_training_rows_only():
    """Shifting the validation rows by 1000 changes nothing about training: a single check at the last step
    means the validation rows only feed the readout, so any leak into the z-score statistics would show."""
    settings = TrainSettings(**{**FAST.__dict__, "check_every": FAST.max_steps})
    a = fit_runs([split()], [FitRun(seed=1)], CRITIC, settings)[0]
    b = fit_runs([split(val_shift=1000.0)], [FitRun(seed=1)], CRITIC, settings)[0]
    x, y = gaussian(50, seed=7)
    np.testing.assert_array_equal(a.pmi(x, y), b.pmi(x, y))
    x_train = split().x_train
    np.testing.assert_allclose(b.standardize[0].mean, x_train.mean(0))
    np.testing.assert_allclose(b.standardize[0].std, x_train.std(0))


def test_early_stopping_keeps_the_best_state():
    """Validation pairs follow y = -(rho x + noise): the better the critic learns the training dependence, the
    worse its validation loss, so the first check (step 20) is the best; the run stops at 20 + patience and
    must return the step-20 state, i.e. exactly what a run trained for 20 steps returns."""
    data = [split(flip_val=True)]
    res = fit_runs(data, [FitRun(seed=2)], CRITIC, FAST)[0]
    assert res.best_step == 20 and res.stopped_step == 20 + FAST.patience
    assert res.curve.val_loss.iloc[0] < res.curve.val_loss.iloc[1:].min()
    short = fit_runs(data, [FitRun(seed=2)], CRITIC, TrainSettings(**{**FAST.__dict__, "max_steps": 20}))[0]
    x, y = gaussian(64, seed=5)
    np.testing.assert_array_equal(res.pmi(x, y), short.pmi(x, y))
    assert res.mi_nats == short.mi_nats
    assert list(res.curve.columns) == ["step", "train_loss", "val_loss", "val_mi_bits"]


def test_a_run_gives_the_same_numbers_alone_or_batched():
    """Seed 3's infonce_anchor run alone vs in one module with other estimators, seeds and another split
    (some of which stop at other steps: a stopped run must not change while the others train on)."""
    data = [split(), split(seed=9)]
    alone = fit_runs(data, [FitRun(0, "infonce_anchor", {}, 3)], CRITIC, FAST)[0]
    runs = [FitRun(1, "js", {}, 0), FitRun(0, "infonce_anchor", {}, 3), FitRun(1, "infonce_anchor", {}, 3),
            FitRun(0, "chi2", {}, 3), FitRun(0, "infonce_anchor", {"nu": 0.5}, 1)]
    grouped = fit_runs(data, runs, CRITIC, FAST)
    assert [r.run for r in grouped] == runs
    x, y = gaussian(64, seed=5)
    np.testing.assert_allclose(grouped[1].pmi(x, y), alone.pmi(x, y), rtol=1e-5, atol=1e-6)
    assert grouped[1].mi_nats == pytest.approx(alone.mi_nats, rel=1e-5)
    assert grouped[1].best_step == alone.best_step and grouped[1].stopped_step == alone.stopped_step


def _module_and_optimizer(data, runs):
    prepared = [train_module.Prepared(i, d, FAST, torch.device("cpu")) for i, d in enumerate(data)]
    (module,) = train_module.build_modules(runs, prepared, CRITIC, [0] * len(runs), FAST.batch_size,
                                           torch.device("cpu"))
    return prepared, module, torch.optim.Adam(module.critic.parameters(), lr=1e-2, fused=True)


def _steps(module, optimizer, prepared, n):
    stream = train_module.BatchStream(prepared[0], 0, FAST.batch_size)
    for step in range(n):
        optimizer.zero_grad(set_to_none=True)
        module.train_step(step, [stream.next()])
        optimizer.step()


def test_split_finished_moves_the_stopped_runs_out_and_the_rest_train_on_unchanged():
    """Run 1 of 3 is finalized after 5 steps. Splitting it off must leave it exactly at its frozen state, and
    runs 0 and 2 (parameters, Adam moments, early-stopping state) must train on exactly as in the unsplit module,
    where run 1 only costs compute: the split's point."""
    runs = [FitRun(0, "infonce_anchor", {}, s) for s in (0, 1, 2)]
    modules = []
    for _ in range(2):
        prepared, module, optimizer = _module_and_optimizer([split()], runs)
        _steps(module, optimizer, prepared, 5)
        module.done[1], module.active[1], module.best_step[1] = True, False, 4
        module.freeze(module.done.clone(), optimizer)
        module.live = 2
        modules.append((prepared, module, optimizer))
    (prepared, whole, opt_whole), (_, parted, opt_parted) = modules
    finished, kept = parted.split_finished(opt_parted)
    assert kept is parted and finished.positions == [1] and kept.positions == [0, 2]
    assert (finished.live, kept.live) == (0, 2) and [r.seed for r in kept.runs] == [0, 2]
    assert finished.best_step.tolist() == [4] and kept.streams == [0, 0]
    _steps(whole, opt_whole, prepared, 7)
    _steps(kept, opt_parted, prepared, 7)
    for p_whole, p_kept, p_finished in zip(whole.critic.parameters(), kept.critic.parameters(),
                                           finished.critic.parameters()):
        torch.testing.assert_close(p_kept, p_whole[[0, 2]], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(p_finished, p_whole[[1]], rtol=0, atol=0)
        for moment in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(opt_parted.state[p_kept][moment], opt_whole.state[p_whole][moment][[0, 2]],
                                       rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in finished.critic.parameters())


def test_fit_runs_stops_computing_finished_runs(monkeypatch):
    """A run that stopped early no longer costs a forward pass: the train steps count rows of live runs only."""
    rows = []
    original = train_module.RunModule.train_step
    monkeypatch.setattr(train_module.RunModule, "train_step",
                        lambda self, step, batches: (rows.append(len(self.runs)), original(self, step, batches)))
    data = [split(flip_val=True), split(seed=9)]  # split 0 stops at 20 + patience, split 1 trains on
    fit_runs(data, [FitRun(0, seed=2), FitRun(1, seed=2)], CRITIC, FAST)
    assert rows[0] == 2 and rows[-1] == 1 and len(rows) < 2 * FAST.max_steps


def test_the_moving_average_follows_its_recursion_and_is_what_checks_keep():
    """update_ema: a_1 = w_1, then a_t = d_t a_(t-1) + (1 - d_t) w_t with d_t = min(decay, (1 + t) / (10 + t)).
    check: validates the average, keeps it as the best state, and hands the weights back to training unchanged."""
    prepared, module, optimizer = _module_and_optimizer([split()], [FitRun(seed=s) for s in (0, 1)])
    stream = train_module.BatchStream(prepared[0], 0, FAST.batch_size)
    expected = None
    for step in range(1, 31):
        optimizer.zero_grad(set_to_none=True)
        module.train_step(step, [stream.next()])
        optimizer.step()
        module.update_ema(step, 0.9)
        weights = [p.detach().clone() for p in module.critic.parameters()]
        d = min(0.9, (1 + step) / (10 + step))
        expected = weights if expected is None else [d * a + (1 - d) * w for a, w in zip(expected, weights)]
    for average, want, w in zip(module.ema, expected, weights):
        torch.testing.assert_close(average, want, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(a, w) for a, w in zip(module.ema, weights))  # an average, not the last weights
    rows = module.check(30, prepared, FAST, 30, False, optimizer)
    assert [r["step"] for r in rows] == [30, 30]
    for p, w, best, average in zip(module.critic.parameters(), weights, module.best_state, module.ema):
        assert torch.equal(p, w) and torch.equal(best, average)
    plain = TrainSettings(**{**FAST.__dict__, "ema": None})
    module.ema, averaged_loss = None, rows[0]["val_loss"]
    assert module.check(30, prepared, plain, 30, False, optimizer)[0]["val_loss"] != averaged_loss


def test_a_moving_average_changes_the_fit_and_stays_deterministic():
    data = [split()]
    settings = TrainSettings(**{**FAST.__dict__, "ema": 0.95})
    a, b = (fit_runs(data, [FitRun(seed=1)], CRITIC, settings)[0] for _ in range(2))
    plain = fit_runs(data, [FitRun(seed=1)], CRITIC, FAST)[0]
    x, y = gaussian(64, seed=5)
    np.testing.assert_array_equal(a.pmi(x, y), b.pmi(x, y))
    assert a.mi_nats == b.mi_nats != plain.mi_nats


def test_same_seed_same_numbers():
    x, y = gaussian(600)
    a = fit_critic(x, y, seeds=[0, 1], critic=CRITIC, settings=FAST)
    b = fit_critic(x, y, seeds=[0, 1], critic=CRITIC, settings=FAST)
    assert a.per_seed_bits == b.per_seed_bits and a.per_seed_bits[0] != a.per_seed_bits[1]
    assert a.curve.equals(b.curve) and set(a.curve.seed) == {0, 1}
    # the default readout: each seed's own (infonce_anchor's plug-in mean PMI of the test pairs), averaged
    assert a.readout == "estimator" and a.per_seed_bits == [r.mi_bits for r in a.results]
    assert a.mi_bits == pytest.approx(np.mean(a.per_seed_bits)) and a.mi_bits_sd > 0
    assert a.mi_nats == pytest.approx(a.mi_bits * math.log(2))
    assert (len(a.train_rows), len(a.val_rows), len(a.test_rows)) == (420, 60, 120)  # val 10 %, test 20 %
    assert len(np.unique(np.r_[a.train_rows, a.val_rows, a.test_rows])) == 600


@pytest.mark.parametrize("n, batch, fraction", [(10_000, 256, 0.1), (2560, 256, 0.1), (2000, 256, 0.128),
                                                (1280, 256, 0.2), (300, 256, 0.5)])
def test_the_default_validation_fold_is_10_percent_and_at_least_one_batch(n, batch, fraction):
    assert val_fraction_for(n, batch) == pytest.approx(fraction)
    assert len(split_rows(n, val_fraction_for(n, batch), 0, 0.2)[1]) == max(round(0.1 * n), min(batch, n // 2))


def test_small_datasets_get_one_validation_batch_and_too_small_ones_a_clear_error():
    x, y = gaussian(200)  # FAST's batch 32: 10 % is 20 rows, so the fold is raised to one batch
    assert len(fit_critic(x, y, seeds=1, critic=CRITIC, settings=FAST).val_rows) == 32
    with pytest.raises(ValueError, match=r"too few samples in x, y \(40 rows, val_fraction=0.5, test_fraction=0.2\)"):
        fit_critic(*gaussian(40), seeds=1, critic=CRITIC, settings=FAST)


def test_dv_readout_reads_the_test_rows_grid():
    """readout="dv": each seed's DV bound on its test-row PMI grid; the MI is the DV of the seeds' mean grid, which
    is >= the mean of the seeds' (DV is concave in the critic). Training is the same as with the default readout."""
    x, y = gaussian(600)
    plain = fit_critic(x, y, seeds=[0, 1], critic=CRITIC, settings=FAST)
    dv = fit_critic(x, y, seeds=[0, 1], critic=CRITIC, settings=FAST, readout="dv")
    assert dv.readout == "dv" and dv.mi_bits >= np.mean(dv.per_seed_bits) and dv.per_seed_bits != plain.per_seed_bits
    assert [r.best_step for r in dv.results] == [r.best_step for r in plain.results]
    grid = dv.results[0].pmi_grid(x[dv.test_rows], y[dv.test_rows])
    assert dv.per_seed_bits[0] == pytest.approx(dv_readout(grid) / math.log(2))
    with pytest.raises(ValueError, match=r"readout must be one of \['estimator', 'dv'\], got 'plugin'"):
        fit_critic(x, y, seeds=1, critic=CRITIC, settings=FAST, readout="plugin")


def test_test_rows_give_the_readout_and_nothing_else():
    """Test rows shifted by 1000 change the readout only: same training, same early stopping, same validation
    readout; the MI is the estimator's readout on fixed test batches (its validation readout without test rows)."""
    base, (xt, yt) = split(), gaussian(300, seed=50)
    plain = fit_runs([base], [FitRun(seed=1)], CRITIC, FAST)[0]
    near, far = (fit_runs([PairedSplit(base.x_train, base.y_train, base.x_val, base.y_val, xt + shift, yt + shift)],
                          [FitRun(seed=1)], CRITIC, FAST)[0] for shift in (0.0, 1000.0))
    assert plain.readout == "val" and plain.mi_nats == plain.val_mi_nats
    assert near.readout == far.readout == "test"
    for other in (near, far):
        assert other.best_step == plain.best_step and other.val_mi_nats == plain.mi_nats
        assert other.curve.equals(plain.curve)
    assert near.mi_nats != far.mi_nats and np.isfinite(near.mi_nats)
    with torch.no_grad():
        scores = near.critic(*(s(a)[None] for s, a in zip(near.standardize, (xt[:32], yt[:32]))))
    assert math.isfinite(float(near.estimator.estimate(scores)))


def test_a_split_takes_both_test_sides_and_every_split_agrees():
    x, y = gaussian(400)
    with pytest.raises(ValueError, match="both x_test and y_test"):
        PairedSplit(x, y, x, y, x_test=x)
    with pytest.raises(ValueError, match="every split has test rows"):
        fit_runs([split(), PairedSplit(x, y, x, y, x, y)], [FitRun(0), FitRun(1)], CRITIC, FAST)
    with pytest.raises(ValueError, match="test rows"):
        fit_runs([PairedSplit(x, y, x, y, x[:10], y[:10])], [FitRun()], CRITIC, FAST)


def test_split_rows_three_ways():
    train, val, test = split_rows(1000, 0.2, 3, test_fraction=0.1)
    assert (len(train), len(val), len(test)) == (700, 200, 100)
    assert len(np.unique(np.r_[train, val, test])) == 1000
    np.testing.assert_array_equal(split_rows(1000, 0.2, 3)[1], val)  # test rows leave the validation rows alone
    assert len(split_rows(1000, 0.2, 3)[2]) == 0
    with pytest.raises(ValueError, match="sum < 1"):
        split_rows(1000, 0.5, 0, test_fraction=0.5)


def test_rank_transform_is_invariant_to_monotone_maps():
    """Normal scores of the training ranks: a fit on (sinh x, y^3 + y) is the fit on (x, y), number for number."""
    x, y = gaussian(600)
    settings = TrainSettings(**{**FAST.__dict__, "standardize": "rank"})
    a = fit_critic(x, y, seeds=[0], critic=CRITIC, settings=settings)
    b = fit_critic(np.sinh(x), y**3 + y, seeds=[0], critic=CRITIC, settings=settings)
    assert a.mi_bits == pytest.approx(b.mi_bits, rel=1e-6)
    sx = a.results[0].standardize[0]
    z = sx(x[a.train_rows])
    assert abs(float(z.mean())) < 1e-3 and float(z.std()) == pytest.approx(1.0, abs=0.02)
    assert float(sx(np.array([[1e9, -1e9]]))[0, 0]) == float(z[:, 0].max())  # beyond the training range: clamped


def test_rank_transform_shares_mid_ranks_between_ties():
    train = np.array([[0.0], [1.0], [1.0], [2.0]])
    scores = normal_scores(train, np.array([[0.0], [1.0], [2.0], [0.5], [-5.0]]))[:, 0]
    assert scores[1] == pytest.approx(0.0, abs=1e-12) and scores[0] == pytest.approx(-scores[2])
    assert scores[0] < scores[3] < scores[1] and scores[4] == scores[0]  # between two values; below all: clamped


def test_fit_defaults_set_k_and_nu_to_k_for_infonce_anchor():
    assert fit_hparams("infonce_anchor", {}, 256) == {"K": 64, "nu": 64.0}
    assert fit_hparams("infonce_anchor", {}, 32) == {"K": 31, "nu": 31.0}
    assert fit_hparams("infonce_anchor", {"K": 31}, 256) == {"K": 31, "nu": 31.0}
    assert fit_hparams("infonce_anchor", {"nu": 1.0}, 256) == {"K": 64, "nu": 1.0}
    assert fit_hparams("js", {}, 256) == {}
    assert FIT_DEFAULTS == TrainSettings(**FIT_SETTINGS)


def test_divergence_is_recorded_and_isolated(monkeypatch):
    """Seed 1's training batches turn to NaN after 30 steps: it is recorded as diverged (MI NaN, no PMI);
    seed 0, in the same module, is unaffected."""
    original = train_module.BatchStream.next
    calls = {}

    def poisoned(self):
        seed = self.generator.initial_seed()
        calls[seed] = calls.get(seed, 0) + 1
        x, y = original(self)
        return (torch.full_like(x, math.nan), y) if seed == 1 and calls[seed] > 30 else (x, y)

    data = [split()]
    clean = fit_runs(data, [FitRun(seed=0)], CRITIC, FAST)[0]
    monkeypatch.setattr(train_module.BatchStream, "next", poisoned)
    ok, bad = fit_runs(data, [FitRun(seed=0), FitRun(seed=1)], CRITIC, FAST)
    assert bad.diverged_step == 31 and math.isnan(bad.mi_bits) and bad.stopped_step == 40
    assert ok.diverged_step is None and ok.mi_nats == pytest.approx(clean.mi_nats, rel=1e-5)
    with pytest.raises(ValueError, match="diverged at step 31"):
        bad.pmi(*gaussian(4))


def test_pmi_of_an_unidentified_estimator_warns_or_raises():
    x, y = gaussian(600)
    fit = fit_critic(x, y, estimator="infonce", seeds=1, critic=CRITIC, settings=FAST)
    assert not fit.identified
    with pytest.warns(UserWarning, match="C\\(y\\)"):
        assert fit.pmi(x[:5], y[:5]).shape == (5,)
    with pytest.raises(ValueError, match="does not identify"):
        fit.pmi(x[:5], y[:5], strict=True)


def test_pmi_shapes_one_column_input_and_pd_critics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(600)  # 1-D: one column
    y = x + 0.5 * rng.standard_normal(600)
    fit = fit_critic(x, y, estimator="spherical", hparams={"parametrization": "pd"}, seeds=1, critic=CRITIC,
                     settings=FAST)
    assert fit.identified and fit.results[0].critic.output == "pd"
    assert fit.pmi(x[:7], y[:7]).shape == (7,)
    grid = fit.pmi_grid(x[:3], y[:5])
    assert grid.shape == (3, 5) and np.isfinite(grid).all()
    np.testing.assert_allclose(np.diag(fit.pmi_grid(x[:4], y[:4])), fit.pmi(x[:4], y[:4]), rtol=1e-5, atol=1e-6)


def test_joint_critic_grid_in_chunks():
    x, y = gaussian(600)
    fit = fit_critic(x, y, seeds=1, critic={"type": "joint", "width": 8, "depth": 1}, settings=FAST)
    grid = fit.pmi_grid(x[:300], y[:5])  # 300 rows: several chunks of the joint critic's square blocks
    np.testing.assert_allclose(np.diag(grid[:5]), fit.pmi(x[:5], y[:5]), rtol=1e-5, atol=1e-6)


BAD_INPUTS = [
    (dict(x=np.zeros((10, 2)), y=np.zeros((11, 2))), "same number of rows"),
    (dict(x=np.full((600, 2), np.nan)), "x has NaN or inf"),
    (dict(y=np.c_[np.ones(600), np.arange(600.0)]), "y.*constant column"),
    (dict(x=np.ones((100, 2)), y=np.ones((100, 2))), "too few samples"),
    (dict(x=np.array([["a", "b"]] * 600)), "x must hold real numbers"),
    (dict(x=np.zeros((600, 2, 2))), "x must be 2-D"),
    (dict(estimator="nope"), "unknown estimator"),
    (dict(hparams={"bogus": 1}), "unknown \\['bogus'\\]"),
    (dict(critic="mlp"), "critic must be a dict with 'type'"),
    (dict(val_fraction=1.5), "val_fraction"),
    (dict(seeds=0), "seeds"),
    (dict(critic={"type": "separable", "output": "pd"}), "does not fit estimator"),
]


@pytest.mark.parametrize("kwargs, message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_inputs_name_the_problem(kwargs, message):
    x, y = gaussian(600)
    args = {"x": x, "y": y, "critic": CRITIC, "settings": FAST, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit_critic(args.pop("x"), args.pop("y"), **args)


def test_bad_settings_and_runs():
    with pytest.raises(ValueError, match="TrainSettings.lr"):
        TrainSettings(lr=0)
    with pytest.raises(ValueError, match="TrainSettings.device"):
        TrainSettings(device="tpu")
    for bad in (0.0, 1.0, 1, "0.99"):
        with pytest.raises(ValueError, match="TrainSettings.ema must be a decay in \\(0, 1\\) or None"):
            TrainSettings(ema=bad)
    with pytest.raises(ValueError, match="runs\\[0\\].data"):
        fit_runs([split()], [FitRun(data=1)], CRITIC, FAST)
    with pytest.raises(ValueError, match="splits\\[0\\].x_val.*NaN"):
        fit_runs([PairedSplit(*gaussian(400), np.full((200, 2), np.nan), np.zeros((200, 2)))], [FitRun()],
                 CRITIC, FAST)
