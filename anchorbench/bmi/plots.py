"""The bmi figure: per task family, each estimator's estimate against the exact MI (as in bmi's paper)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from anchorbench.io import save_figure  # noqa: E402


def estimates_vs_truth(summary: pd.DataFrame, path: Path) -> Path:
    """One panel per family (and size): tasks along x, the truth as a black dash, each estimator's mean over data
    seeds as a marker with its min-max range; the shaded band is the tolerance (10 % or 0.05 nat)."""
    panels = list(summary.groupby(["n", "family"], sort=False))
    cols = 4
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    estimators = list(dict.fromkeys(summary.estimator))
    offsets = np.linspace(-0.3, 0.3, len(estimators))
    for ax, ((n, family), part) in zip(axes.ravel(), panels):
        tasks = list(dict.fromkeys(part.task))
        truth = part.drop_duplicates("task").set_index("task").truth_nats.reindex(tasks).to_numpy()
        x = np.arange(len(tasks))
        band = np.maximum(0.1 * truth, 0.05)
        ax.bar(x, 2 * band, bottom=truth - band, width=0.8, color="0.9", zorder=0)
        ax.hlines(truth, x - 0.4, x + 0.4, color="k", lw=1.5, label="truth", zorder=1)
        for off, name in zip(offsets, estimators):
            e = part[part.estimator == name].set_index("task").reindex(tasks)
            err = np.vstack([e.mean_nats - e.min_nats, e.max_nats - e.mean_nats])
            ax.errorbar(x + off, e.mean_nats, yerr=np.nan_to_num(err), fmt="o", ms=3, lw=1, capsize=1.5, label=name)
        ax.set_xticks(x, [t.removeprefix(f"{family}-") for t in tasks], rotation=60, ha="right", fontsize=6)
        ax.set_title(f"{family} (N = {n})", fontsize=9)
        ax.set_ylabel("MI (nats)", fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    axes[0][0].legend(fontsize=6, loc="best")
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
