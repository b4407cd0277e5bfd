"""AUROC of a score grid against the listed pairs, ROC curves on a common FPR axis, and the summary table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

FPR_GRID = np.linspace(0.0, 1.0, 101)  # ROC curves are interpolated here so trials can be averaged


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """AUROC of ``scores`` for bool ``labels`` (same shape, e.g. the [h, h] query grid); NaN if a class is empty.

    Non-finite scores are an error (a diverged fit must be recorded as failed, never scored).
    """
    scores, labels = np.asarray(scores, float).ravel(), np.asarray(labels, bool).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have the same number of entries, got {scores.size} and {labels.size}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf; a diverged fit has no AUROC")
    if labels.all() or not labels.any():
        return math.nan
    return float(roc_auc_score(labels, scores))


def roc_on_grid(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """True-positive rate at ``FPR_GRID`` ``[101]`` (NaN if a class is empty)."""
    labels = np.asarray(labels, bool).ravel()
    if labels.all() or not labels.any():
        return np.full(len(FPR_GRID), np.nan)
    fpr, tpr, _ = roc_curve(labels, np.asarray(scores, float).ravel())
    return np.interp(FPR_GRID, fpr, tpr)


def summarise(per_trial: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, objective): mean, SD (ddof 1), count of scored trials, failed trials; oracle rows included.

    ``per_trial`` columns: dataset, objective, trial, auroc, status ("ok" | "diverged" | "no_positives" | ...).
    """
    ok = per_trial[per_trial.status == "ok"]
    stats = ok.groupby(["dataset", "objective"], sort=False)["auroc"].agg(
        auroc_mean="mean", auroc_sd=lambda a: float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, trials="count")
    failed = per_trial[per_trial.status != "ok"].groupby(["dataset", "objective"], sort=False).size().rename("failed")
    keys = per_trial[["dataset", "objective"]].drop_duplicates().set_index(["dataset", "objective"]).index
    out = stats.reindex(keys).join(failed).fillna({"trials": 0, "failed": 0})
    return out.astype({"trials": int, "failed": int}).reset_index()
