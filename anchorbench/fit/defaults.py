"""What ``fit_critic`` and ``anchorbench estimate`` do when not told otherwise (plain values: no torch import).

Chosen on the closed-form cases of tests/anchorbench/fit and confirmed on the 40 tasks of the bmi benchmark
(the measurements and the settings tried are in the fit-defaults report). ``TrainSettings()`` itself keeps
its general-purpose defaults, which the protein and SSL experiments build on; these are the fit core's own.
"""

from __future__ import annotations

# TrainSettings fields. Large batches with a high learning rate and few steps: per-step overhead dominates a
# small critic on a CPU. Normal scores of the training ranks ("rank"): MI is invariant under monotone maps of
# each column, and the ranks tame heavy tails and warped marginals that a z-score leaves in place.
# ema: the checks and the result use a moving average of each run's weights (decay 0.99, about the last 100 steps):
# at lr 1e-3 the last step's weights carry the optimizer's noise into the PMI, and DV pays for every bit of noise
# (E log r - log E r falls with its variance). On the 40 bmi tasks x 3 data seeds: 105 of 120 within 10 %
# (36 / 34 / 35 per seed) against 100 (33 / 34 / 33) without; the Student-t and 1v1 misses are where it helps.
FIT_SETTINGS = {"batch_size": 256, "lr": 1e-3, "max_steps": 2000, "patience": 200, "check_every": 50,
                "standardize": "rank", "ema": 0.99}
# Width 128 (256 cost 13 s instead of 9 s for 5 seeds on 10,000 x (5 + 5)). gaussian: the critic starts as the
# exact Gaussian log-ratio of the normal scores (anchorbench/fit/gaussian.py) and the network learns the residual:
# after the rank transform a Gaussian copula is jointly Gaussian, so high MI and many columns no longer have to be
# learnt from scratch (8-nat channel -0.2 % instead of -10.5 %). Depth 2 (instead of 1) for the residual: the
# spiral and Student-t tasks, where the base is far off, need the capacity (spiral 3-3 0.94 vs 0.78 of 1.02).
FIT_CRITIC = {"type": "separable", "width": 128, "depth": 2, "embed": 32, "gaussian": True}


# Validation rows for early stopping: 10 % of the rows, at least one batch (their batches are fixed and of
# batch_size rows, so with fewer than 2,560 rows at B = 256 the validation fold is one batch, up to half the rows).
# 0.2 before: the extra training rows are what the critic lacks where it misses (it overfits first), and a check
# on 1,000 rows still ranks the states. With the plug-in readout, on the 40 bmi tasks x 3 data seeds: 108 of 120
# within 10 % (36 / 36 / 36) against 107 (36 / 36 / 35) with 0.2; spiral 3-3 -22 % -> -4.5 %.
VAL_FRACTION = 0.1


def val_fraction_for(n: int, batch_size: int) -> float:
    """The default validation fraction of ``n`` rows: VAL_FRACTION, raised to one batch (at most half the rows)."""
    return max(VAL_FRACTION, min(batch_size / n, 0.5))


# The MI of a fit: each estimator's own readout on the test rows, averaged over seeds ("estimator"; for
# infonce_anchor the plug-in mean of the PMI over joint test pairs, the paper's readout), or "dv": the DV bound of
# the seeds' mean PMI grid. The anchor makes the critic self-normalised, so the plug-in needs no correction, and
# unlike DV it does not pay for the critic's errors on product pairs, which DV's log-mean-exp weights by exp(PMI).
# On the 40 bmi tasks x 3 data seeds (val_fraction 0.2): 107 of 120 within 10 % (36 / 36 / 35) against DV's 105
# (36 / 34 / 35), 3 Student-t cells fixed (-19 % -> -9 %), one lost by 0.0005 nat, the seeds disagreeing on 0
# cells against 4; with val_fraction 0.1, 108 (36 / 36 / 36) against 107 (35 / 36 / 36).
READOUT = "estimator"
READOUTS = ("estimator", "dv")


def critic_spec(kind: str) -> dict:
    """The critic dict of a bare type name: FIT_CRITIC for its type, else build_critic's own defaults."""
    return dict(FIT_CRITIC) if kind == FIT_CRITIC["type"] else {"type": kind}


# infonce_anchor: tuples of K = 64 negatives (of the batch's B - 1: the in-batch loss costs O(B K); K = 32 and 64
# measured alike on the hard bmi tasks at width 128), and nu = K (the anchor tuple as likely as a joint one)
# instead of the paper's nu = 1: with nu = 1 the anchor's weight is 1 / (K + 1), the objective is nearly InfoNCE
# (the critic free up to C(y)), and the plug-in readout overshoots.
K_MAX = 64
NU_PER_K = 1.0


def fit_hparams(estimator: str, hparams: dict, batch_size: int) -> dict:
    """``hparams`` with the fit core's defaults for what is not given: infonce_anchor's K = min(K_MAX,
    batch_size - 1) and nu = NU_PER_K * K (with the K given or chosen)."""
    if estimator != "infonce_anchor":
        return dict(hparams)
    out = {"K": min(K_MAX, batch_size - 1), **hparams}
    out.setdefault("nu", NU_PER_K * out["K"])
    return out
