"""Plug-in MI readouts against closed-form / Monte-Carlo truths beyond the linear-Gaussian case, and PMI
against the true log-ratio. Truths (nats):

- Student-t pair: (x, y) jointly multivariate t with nu = 5 dof, dispersion [[I, rho I], [rho I, I]] (2 + 2 dims,
  rho = 0.9). MI = MI of the Gaussian with that covariance, -d/2 log(1 - rho^2), plus a correction
  h_t(dx) + h_t(dy) - h_t(dx + dy), h_t(k) = log G(nu/2) - log G((nu+k)/2) + k/2 log(nu pi)
  + (nu+k)/2 [psi((nu+k)/2) - psi(nu/2)] the entropy of a standard k-dim t (Arellano-Valle et al. 2013, as in
  bmi's SplitStudentT, Czyz et al. 2023 "Beyond normal"). Checked here against a Monte-Carlo mean of
  log p(x,y) - log p(x) - log p(y) with scipy's exact t densities (marginals of a t are t with the same nu).
- Warped Gaussian: a correlated Gaussian (2 + 2 dims, rho = 0.9) with x -> sinh(x), y -> y^3 + y elementwise;
  invertible maps leave the MI at -d/2 log(1 - rho^2).
- Gaussian mixture: two equally likely 4-d components, means +-(1, 1, 1, 1), x-y correlation +-0.85 per dim;
  MI by Monte Carlo over 10^6 seeded samples of log p(x,y) - log p(x) - log p(y) with the exact mixture densities
  (standard error ~0.001 nats).

- High MI: a Gaussian channel of 5 independent pairs with correlation rho each (MI = -5/2 log(1 - rho^2): 4, 6 and
  8 nats) pushed through x -> sinh(x), y -> y^3 + y elementwise (invertible: the MI stays the Gaussian's).

What is asserted is the promise of the defaults: ``fit_critic(x, y)`` with nothing else (anchorbench.fit.defaults;
10,000 pairs, 60/20/20 train/validation/test, 5 seeds) within 10 % of the truth. Before these defaults (batch 64,
lr 1e-4, nu = 1, z-score, readout on the validation rows) infonce_anchor overshot by 3-22 % here and read the
5.82-nat channel as 7.11 +- 0.90.
"""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import digamma, gammaln, logsumexp

from anchorbench.fit import TrainSettings, fit_critic

pytestmark = pytest.mark.slow

D, RHO, NU, MIX_MEAN, MIX_RHO = 2, 0.9, 5, 1.0, 0.85
N, CHANNEL_PAIRS = 10_000, 5
SETTINGS = TrainSettings(batch_size=64, lr=1e-3, max_steps=2000, check_every=250, patience=1000, progress=False)
CRITIC = {"type": "separable", "width": 64, "depth": 1}


def t_entropy(k: int, nu: float) -> float:
    half = 0.5 * (nu + k)
    log_norm = gammaln(0.5 * nu) - gammaln(half) + 0.5 * k * math.log(nu * math.pi)
    return log_norm + half * (digamma(half) - digamma(0.5 * nu))


def gaussian_mi() -> float:
    return -0.5 * D * math.log(1 - RHO**2)


def student_mi() -> float:
    return gaussian_mi() + 2 * t_entropy(D, NU) - t_entropy(2 * D, NU)


def dispersion(sign: float = 1.0, rho: float = RHO) -> np.ndarray:
    return np.block([[np.eye(D), sign * rho * np.eye(D)], [sign * rho * np.eye(D), np.eye(D)]])


def student(n, seed):
    xy = stats.multivariate_t(np.zeros(2 * D), dispersion(), df=NU, seed=seed).rvs(n)
    return xy[:, :D], xy[:, D:]


def warped(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, D))
    y = RHO * x + math.sqrt(1 - RHO**2) * rng.standard_normal((n, D))
    return np.sinh(x), y**3 + y


COMPONENTS = [(sign * MIX_MEAN * np.ones(2 * D), dispersion(sign, MIX_RHO)) for sign in (1.0, -1.0)]


def mixture(n, seed):
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 2, n)
    xy = np.empty((n, 2 * D))
    for i, (mean, cov) in enumerate(COMPONENTS):
        xy[k == i] = rng.multivariate_normal(mean, cov, size=int((k == i).sum()))
    return xy[:, :D], xy[:, D:]


def mixture_log_ratio(x, y):
    def log_mix(values, part):
        return logsumexp([stats.multivariate_normal(m[part], c[part, part]).logpdf(values) for m, c in COMPONENTS],
                         axis=0) - math.log(2)
    return log_mix(np.c_[x, y], slice(None)) - log_mix(x, slice(0, D)) - log_mix(y, slice(D, 2 * D))


@pytest.fixture(scope="module")
def mixture_mi():
    return float(mixture_log_ratio(*mixture(1_000_000, seed=123)).mean())


def test_student_formula_matches_monte_carlo():
    joint = stats.multivariate_t(np.zeros(2 * D), dispersion(), df=NU, seed=7)
    marginal = stats.multivariate_t(np.zeros(D), np.eye(D), df=NU)
    xy = joint.rvs(400_000)
    mc = np.mean(joint.logpdf(xy) - marginal.logpdf(xy[:, :D]) - marginal.logpdf(xy[:, D:]))
    assert student_mi() > gaussian_mi() + 0.05  # the heavy tails add information
    assert mc == pytest.approx(student_mi(), abs=0.01)


def channel(nats: float):
    """A sampler of the high-MI channel carrying ``nats``: rho per pair from MI = -pairs/2 log(1 - rho^2)."""
    rho = math.sqrt(1 - math.exp(-2 * nats / CHANNEL_PAIRS))

    def sample(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, CHANNEL_PAIRS))
        y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, CHANNEL_PAIRS))
        return np.sinh(x), y**3 + y
    return sample


CASES = {"student": (student, student_mi), "warped": (warped, gaussian_mi), "mixture": (mixture, None),
         **{f"channel-{nats:g}": (channel(nats), lambda nats=nats: nats) for nats in (4.0, 6.0, 8.0)}}


# The 8-nat channel was read 10.5 % low before the critic's Gaussian base (an xfail then); with it -0.2 %.
@pytest.mark.parametrize("case", list(CASES))
def test_defaults_within_10_percent(case, mixture_mi):
    sample, truth = CASES[case]
    truth = mixture_mi if truth is None else truth()
    fit = fit_critic(*sample(N, seed=0))
    assert fit.identified and fit.n_diverged == 0 and fit.readout == "estimator" and len(fit.test_rows) == N // 5
    assert fit.mi_nats == pytest.approx(truth, rel=0.10)


def test_pmi_correlates_with_the_true_log_ratio():
    """Gaussian pairs (2 + 2 dims, rho = 0.8): PMI of the fitted critic vs the exact log-ratio on validation rows."""
    rng = np.random.default_rng(0)
    rho = 0.8
    x = rng.standard_normal((6000, D))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((6000, D))
    fit = fit_critic(x, y, critic=CRITIC, seeds=2, settings=SETTINGS)
    xv, yv = x[fit.val_rows], y[fit.val_rows]
    true = (-0.5 * math.log(1 - rho**2) - 0.5 * (yv - rho * xv) ** 2 / (1 - rho**2) + 0.5 * yv**2).sum(1)
    assert np.corrcoef(fit.pmi(xv, yv), true)[0, 1] > 0.9
