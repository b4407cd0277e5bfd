"""The Gaussian base of a ``gaussian`` separable critic: fitted on training rows, shrinkage chosen on validation
rows, and the critic starts as that base in the fit core."""

import math

import numpy as np
import torch

from anchorbench.fit import FitRun, PairedSplit, TrainSettings, fit_runs
from anchorbench.fit.gaussian import SHRINKAGE, base_grid, fit_base, gaussian_terms
from anchorbench.fit.result import dv_readout

D, RHO = 3, 0.8
TRUTH = -D / 2 * math.log(1 - RHO**2)  # nats


def gaussian(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, D))
    return x, RHO * x + math.sqrt(1 - RHO**2) * rng.standard_normal((n, D))


def test_base_of_gaussian_rows_reads_the_mi_and_keeps_the_covariance():
    """Many rows, few columns: the unshrunk covariance wins and the base's validation DV is near the truth."""
    (x, y), (xv, yv) = gaussian(20000, 0), gaussian(2000, 1)
    base = fit_base(*(torch.as_tensor(a) for a in (x, y, xv, yv)))
    assert base["shrinkage"] in SHRINKAGE and base["shrinkage"] <= 0.05
    assert abs(base["val_dv"] - TRUTH) < 0.1
    exact = gaussian_terms(np.block([[np.eye(D), RHO * np.eye(D)], [RHO * np.eye(D), np.eye(D)]]), D)
    np.testing.assert_allclose(base["cross"], exact[0], atol=0.2)


def test_independent_rows_choose_a_base_near_zero():
    """No dependence: the chosen base's log-ratios on fresh rows are close to 0 (no invented information)."""
    rng = np.random.default_rng(2)
    x, y, xv, yv, xt, yt = (rng.standard_normal((n, D)) for n in (5000, 5000, 1000, 1000, 500, 500))
    base = fit_base(*(torch.as_tensor(a) for a in (x, y, xv, yv)))
    terms = tuple(base[k] for k in ("cross", "px", "py", "constant"))
    assert np.abs(base_grid(terms, base["mean_x"], base["mean_y"], xt, yt)).mean() < 0.05


def test_gaussian_critic_starts_at_the_base_in_the_fit_core():
    """One step at a negligible learning rate: the critic is (to ~1e-9) its base, which reads the MI."""
    (x, y), (xv, yv) = gaussian(2000, 3), gaussian(500, 4)
    settings = TrainSettings(batch_size=64, lr=1e-12, max_steps=1, check_every=1, patience=10, standardize="rank",
                             progress=False)
    critic = {"type": "separable", "width": 16, "depth": 1, "embed": 8, "gaussian": True}
    fit = fit_runs([PairedSplit(x, y, xv, yv)], [FitRun(seed=0)], critic, settings)[0]
    grid = fit.pmi_grid(xv, yv)
    assert abs(dv_readout(grid) - TRUTH) < 0.25
    assert np.corrcoef(np.diag(grid), (-0.5 * math.log(1 - RHO**2) * np.ones(len(xv))
                                       - 0.5 * ((yv - RHO * xv) ** 2 / (1 - RHO**2) - yv**2).sum(1)))[0, 1] > 0.95


def test_a_pd_estimator_trains_the_default_critic_without_the_base():
    """The base is a log-ratio: a critic that outputs r itself (pd) is built without it, and the PMI runs of the
    same call keep theirs."""
    from anchorbench.fit.train import Prepared, build_modules

    (x, y), (xv, yv) = gaussian(600, 5), gaussian(200, 6)
    settings = TrainSettings(batch_size=64, standardize="rank", progress=False)
    critic = {"type": "separable", "width": 16, "depth": 1, "embed": 8, "gaussian": True}
    runs = [FitRun(seed=0), FitRun(estimator="spherical", hparams={"parametrization": "pd"}, seed=0)]
    data = [Prepared(0, PairedSplit(x, y, xv, yv), settings, torch.device("cpu"))]
    modules = build_modules(runs, data, critic, [0, 1], settings.batch_size, torch.device("cpu"))
    bases = {m.critic.output: m.critic.base is not None for m in modules}
    assert bases == {"pmi": True, "pd": False}
