"""What ``fit_critic`` and ``anchorbench estimate`` do when not told otherwise (plain values: no torch import).

Chosen on the closed-form cases of tests/anchorbench/fit and confirmed on the 40 tasks of the bmi benchmark
(the measurements and the settings tried are in the fit-defaults report). ``TrainSettings()`` itself keeps
its general-purpose defaults, which the protein and SSL experiments build on; these are the fit core's own.
"""

from __future__ import annotations

# TrainSettings fields. Large batches with a high learning rate and few steps: per-step overhead dominates a
# small critic on a CPU. Normal scores of the training ranks ("rank"): MI is invariant under monotone maps of
# each column, and the ranks tame heavy tails and warped marginals that a z-score leaves in place.
FIT_SETTINGS = {"batch_size": 256, "lr": 1e-3, "max_steps": 2000, "patience": 200, "check_every": 50,
                "standardize": "rank"}
FIT_CRITIC = {"type": "separable", "width": 256, "depth": 1, "embed": 32}


def critic_spec(kind: str) -> dict:
    """The critic dict of a bare type name: FIT_CRITIC for its type, else build_critic's own defaults."""
    return dict(FIT_CRITIC) if kind == FIT_CRITIC["type"] else {"type": kind}

# infonce_anchor with nu = K (the anchor tuple as likely as a joint one) instead of the paper's nu = 1: with
# nu = 1 and K = 255 the anchor's weight is 1/256, the objective is nearly InfoNCE (the critic free up to C(y))
# and the plug-in readout overshoots.
NU_PER_K = 1.0


def fit_hparams(estimator: str, hparams: dict, batch_size: int) -> dict:
    """``hparams`` with the fit core's default for what is not given: infonce_anchor's nu = NU_PER_K * K
    (K = the given tuple size, else batch_size - 1, the registry's default K with an anchor)."""
    if estimator != "infonce_anchor" or "nu" in hparams:
        return dict(hparams)
    return {**hparams, "nu": NU_PER_K * (hparams.get("K") or batch_size - 1)}
