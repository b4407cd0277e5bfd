"""``fit_critic``: MI and PMI of one dataset of paired rows, in one call."""

from __future__ import annotations

from anchorbench.fit.data import PairedSplit, check_pair, check_sizes, split_rows
from anchorbench.fit.defaults import (
    FIT_CRITIC,
    FIT_SETTINGS,
    READOUT,
    READOUTS,
    critic_spec,
    fit_hparams,
    val_fraction_for,
)
from anchorbench.fit.result import FitSummary
from anchorbench.fit.train import FitRun, TrainSettings, check_critic, fit_runs
from estimators import parse_label

FIT_DEFAULTS = TrainSettings(**FIT_SETTINGS)  # fit_critic's and `anchorbench estimate`'s training settings


def _seeds(seeds) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (a count) or a list of ints, got {seeds}")
        return list(range(seeds))
    values = list(seeds)
    if not values or not all(isinstance(s, int) and not isinstance(s, bool) for s in values) \
            or len(set(values)) != len(values):
        raise ValueError(f"seeds must be a count >= 1 or a list of distinct ints, got {seeds!r}")
    return values


def _estimators(estimator: str, hparams: dict | None, several) -> dict[str, tuple[str, dict]]:
    """label -> (registry name, hyperparameters). ``several``: names, or a dict label -> name or (name, hparams)."""
    if several is None:
        return {estimator: (estimator, dict(hparams or {}))}
    if isinstance(several, dict):
        out = {}
        for label, spec in several.items():
            out[label] = (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]))
        return out
    return {name: (name, {}) for name in several}


def fit_critic(x, y, *, estimator: str = "infonce_anchor", hparams: dict | None = None,
               critic: str | dict = FIT_CRITIC, seeds: int | list[int] = 5, val_fraction: float | None = None,
               test_fraction: float = 0.2, split_seed: int = 0, settings: TrainSettings = FIT_DEFAULTS,
               readout: str = READOUT, estimators_=None) -> FitSummary | dict[str, FitSummary]:
    """Fit a critic on paired rows ``x[n, dx]``, ``y[n, dy]`` (numpy or torch; 1-D = one column).

    A seeded split (``split_seed``) holds out round(n * val_fraction) rows for validation (None: 10 %, at least
    one batch; ``defaults.val_fraction_for``) and round(n * test_fraction) for the readout; every seed trains on
    the rest (transformed with the training rows' statistics, clipped), stops early on the validation loss and is
    read out on the test rows, which neither training nor early stopping saw (``test_fraction=0``: on the
    validation rows). ``readout``: "estimator" (each seed's own readout, averaged: for infonce_anchor the plug-in
    mean PMI of the joint test pairs) or "dv" (with test rows, an estimator that identifies the ratio is read by
    DV, ``FitSummary.read_dv``: per seed, and the MI as DV of the seeds' mean PMI). ``critic``: "joint",
    "separable", "bilinear" or a dict ``{"type": ...,
    **build_critic kwargs}`` (a bare name: FIT_CRITIC for its type, build_critic's defaults for the others).
    ``seeds``: a count (seeds 0..n-1) or a list. Defaults: ``anchorbench.fit.defaults`` (training settings,
    critic, infonce_anchor's nu = K, readout).

    ``estimators_`` (optional): several estimators at once, all seeds of all of them batched in one training
    loop: a list of registry names or a dict label -> name or (name, hparams). Then the result is a dict
    label -> FitSummary; otherwise one FitSummary for ``estimator`` with ``hparams``.
    """
    (out,) = fit_datasets([(x, y)], _estimators(estimator, hparams, estimators_), critic=critic, seeds=seeds,
                          val_fraction=val_fraction, test_fraction=test_fraction, split_seed=split_seed,
                          settings=settings, readout=readout)
    return out if estimators_ is not None else out[estimator]


def fit_datasets(pairs: list[tuple], estimators: dict[str, tuple[str, dict]] | list[str], *,
                 critic: str | dict = FIT_CRITIC, seeds: int | list[int] = 5, val_fraction: float | None = None,
                 test_fraction: float = 0.2, split_seed: int = 0, settings: TrainSettings = FIT_DEFAULTS,
                 readout: str = READOUT) -> list[dict[str, FitSummary]]:
    """:func:`fit_critic` of many datasets at once: ``pairs[i] = (x_i, y_i)``, each split and read out as
    fit_critic does, every (dataset, estimator, seed) run batched in one training loop (datasets of one shape
    share stacked modules). ``estimators``: labels (``"infonce_anchor(K=1)"``) or ``{label: (name, hparams)}``.
    Returns, per dataset, ``{label: FitSummary}``."""
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {list(READOUTS)}, got {readout!r}")
    specs = estimators if isinstance(estimators, dict) else {e: parse_label(e) for e in estimators}
    critic = check_critic(critic_spec(critic) if isinstance(critic, str) else critic)
    seed_list = _seeds(seeds)
    splits, parts = [], []
    for i, (x, y) in enumerate(pairs):
        x, y = check_pair(f"pairs[{i}].x" if len(pairs) > 1 else "x", x, f"pairs[{i}].y" if len(pairs) > 1 else "y", y)
        fraction = val_fraction_for(len(x), settings.batch_size) if val_fraction is None else val_fraction
        train_rows, val_rows, test_rows = split_rows(len(x), fraction, split_seed, test_fraction)
        check_sizes(f"x, y ({len(x)} rows, val_fraction={fraction:g}, test_fraction={test_fraction})",
                    len(train_rows), len(val_rows), settings.batch_size, len(test_rows) if test_fraction else None)
        test = (x[test_rows], y[test_rows]) if test_fraction else (None, None)
        splits.append(PairedSplit(x[train_rows], y[train_rows], x[val_rows], y[val_rows], *test))
        parts.append((train_rows, val_rows, test_rows, test))
    runs = [FitRun(d, name, fit_hparams(name, hp, settings.batch_size), seed) for d in range(len(pairs))
            for name, hp in specs.values() for seed in seed_list]
    results = iter(fit_runs(splits, runs, critic, settings))
    out = []
    for train_rows, val_rows, test_rows, test in parts:
        by_label = {}
        for label, (name, _) in specs.items():
            summary = FitSummary(name, [next(results) for _ in seed_list], train_rows, val_rows, test_rows)
            if readout == "dv" and test_fraction and summary.identified:
                summary.read_dv(*test)
            by_label[label] = summary
        out.append(by_label)
    return out
