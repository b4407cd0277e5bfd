"""Fit a critic on paired samples: mutual information (MI) and pointwise MI (PMI) of any data.

Quick use::

    from anchorbench.fit import fit_critic
    fit = fit_critic(x, y)           # the defaults: anchorbench.fit.defaults (FIT_DEFAULTS, FIT_CRITIC, nu = K)
    fit.mi_bits, fit.mi_bits_sd      # plug-in readout on held-out test rows, mean and SD over seeds
    fit.pmi(x_new, y_new)            # [m] PMI (nats) of aligned pairs, averaged over seeds
    fit.pmi_grid(x_new, y_new)       # [m, k] PMI of every (x_i, y_j)

Several datasets, estimators and seeds at once (what the protein and SSL experiments use)::

    from anchorbench.fit import PairedSplit, FitRun, fit_runs
    results = fit_runs([PairedSplit(x_tr, y_tr, x_va, y_va), ...],
                       [FitRun(data=0, estimator="js", seed=s) for s in range(3)],
                       critic={"type": "separable", "width": 256, "depth": 3, "embed": 32},
                       settings=TrainSettings())            # one FitResult per run, same order

How a run trains: transform each column with the split's training rows only (validation and test rows never
enter the statistics: a z-score, or normal scores of the training ranks with ``standardize="rank"``), clip to
[-clip, clip], seeded batches of ``batch_size`` training rows, Adam, and every ``check_every`` steps the
validation loss on fixed validation batches; a run stops after ``patience`` steps without a new best and keeps
its best state. Its MI is read on the split's test rows if it has them (rows that neither trained the critic
nor chose its state), else on the validation rows. All runs whose inputs have the same shape train as one
batched (stacked) critic module; a run's initial weights and batches depend on its seed only, so the
same seed gives the same numbers alone or together with other runs. A run whose loss turns NaN/inf is
recorded as diverged (``diverged_step``; MI NaN), never as a number.

Units: the estimators work in nats; ``mi_bits`` = ``mi_nats`` / ln 2. ``pmi`` is in nats.

Which estimators identify the PMI (``Estimator.identifies_ratio``, ``FitResult.identified``): a critic
trained by a Fisher-consistent density-ratio objective converges to log r(x, y) = log p(x,y)/(p(x)p(y))
itself: infonce_anchor (nu > 0), the other anchored scoring rules (spherical, brier, inverse_log),
js, js_plugin, smile, nwj, nwj_plugin, chi2, fdime, binary_rule. Those give a plug-in MI readout (the mean
of log r over the joint test pairs) and a PMI that one threshold can be put on. Not identified: infonce (and
scoring rules with nu = 0): the softmax over y's in a batch is unchanged by adding any C(y), so the critic
is log r + C(y); dv and mine: the DV bound is unchanged by adding a constant, so the critic is log r + c.
For those ``pmi`` still returns the critic's value but warns (``strict=True`` raises); their MI readout
is the bound itself (InfoNCE <= log batch_size).
"""

import importlib

# name -> submodule; imported on first use, so `anchorbench estimate --help` starts without torch
_EXPORTS = {"PairedSplit": "data", "FitRun": "train", "TrainSettings": "train", "fit_runs": "train",
            "FitResult": "result", "FitSummary": "result", "fit_critic": "api", "fit_datasets": "api",
            "FIT_DEFAULTS": "api"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'anchorbench.fit' has no attribute {name!r}")
    return getattr(importlib.import_module(f"anchorbench.fit.{_EXPORTS[name]}"), name)
