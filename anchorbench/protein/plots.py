"""Figures: ROC curves per objective (paper Fig. 4) and PMI histograms split by label (paper Fig. 5).

Both read the per-trial grids (``trials/<dataset>/trial_<t>.npz``: one [h, h] PMI array per objective, nats,
plus ``labels`` and, for the synthetic stand-in, the two references of ``REFERENCES``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from anchorbench.io import save_figure  # noqa: E402
from anchorbench.protein.evaluate import FPR_GRID, roc_on_grid  # noqa: E402

# The synthetic stand-in's references: the Bayes ranking (each pair's probability of being listed, the AUROC
# ceiling) and the generator's true log-weight (Truth.inclusion, Truth.log_weight).
REFERENCES = ("bayes", "log_weight")


def load_grids(files: list[Path]) -> tuple[dict[str, list[tuple[int, np.ndarray]]], list[np.ndarray]]:
    """{objective: [(trial position, grid)]} (trials where it failed are absent) and the labels per trial."""
    grids: dict[str, list[tuple[int, np.ndarray]]] = {}
    labels = []
    for f in sorted(files):
        with np.load(f) as z:
            labels.append(z["labels"])
            for key in z.files:
                if key != "labels":
                    grids.setdefault(key, []).append((len(labels) - 1, z[key]))
    return grids, labels


def roc_figure(per_dataset: dict[str, list[Path]], order: list[str], path: Path) -> Path:
    """One panel per dataset: mean TPR over trials at each FPR, per objective (oracle dashed)."""
    fig, axes = plt.subplots(1, len(per_dataset), figsize=(5.2 * len(per_dataset), 4.6), squeeze=False)
    for ax, (dataset, files) in zip(axes[0], per_dataset.items()):
        grids, labels = load_grids(files)
        for name in [o for o in [*order, *REFERENCES] if o in grids]:
            curves = np.array([roc_on_grid(g, labels[t]) for t, g in grids[name]])
            tpr = np.nanmean(curves, axis=0) if np.isfinite(curves).any() else None
            if tpr is not None:
                style = {"bayes": "k--", "log_weight": "k:"}.get(name, "-")
                ax.plot(FPR_GRID, tpr, style, label=f"{name} (reference)" if name in REFERENCES else name, lw=1.6)
        ax.plot([0, 1], [0, 1], ":", color="grey", lw=1)
        ax.set(title=f"{dataset} ({len(files)} trials)", xlabel="FPR", ylabel="TPR", xlim=(0, 1), ylim=(0, 1))
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def pmi_hist_figure(per_dataset: dict[str, list[Path]], order: list[str], path: Path, bins: int = 60) -> Path:
    """Rows = datasets, columns = objectives: densities of the fitted PMI (nats) of listed vs unlisted queries."""
    names = list(order)
    fig, axes = plt.subplots(len(per_dataset), len(names), figsize=(2.6 * len(names), 2.4 * len(per_dataset)),
                             squeeze=False)
    for row, (dataset, files) in zip(axes, per_dataset.items()):
        grids, labels = load_grids(files)
        for ax, name in zip(row, names):
            ax.set_title(f"{dataset}: {name}", fontsize=8)
            if name not in grids:
                ax.text(0.5, 0.5, "no result", ha="center", transform=ax.transAxes)
                continue
            values = np.concatenate([g.ravel() for _, g in grids[name]])
            label = np.concatenate([labels[t].ravel() for t, _ in grids[name]])
            lo, hi = np.percentile(values, [0.5, 99.5])
            edges = np.linspace(lo, hi if hi > lo else lo + 1, bins)
            ax.hist(values[~label], edges, density=True, alpha=0.5, label="label 0")
            ax.hist(values[label], edges, density=True, alpha=0.6, label="label 1")
            ax.set_xlabel("PMI (nats)", fontsize=8)
            ax.tick_params(labelsize=7)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
