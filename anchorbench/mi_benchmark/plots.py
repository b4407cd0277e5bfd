"""Figures: the paper's Figure 1 grid and a bias / variance summary (PNG, matplotlib Agg)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from anchorbench.io import save_figure  # noqa: E402


def figure1(long: pd.DataFrame, path: Path, batch_size: int, smooth_span: int = 200) -> None:
    """Estimated MI vs step: one panel per estimator (columns) and domain/critic (rows).

    Thin line: the seed-mean raw trace; thick line: its EWM (span ``smooth_span`` steps, as the
    benchmark's figures); band: min-max over seeds of the smoothed traces; dashed: true MI; a red
    cross: a run that diverged (at its divergence step, on its last finite estimate).
    """
    rows = long[["domain", "critic"]].drop_duplicates().values.tolist()
    cols = list(dict.fromkeys(long["estimator"]))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.4 * len(cols), 2.2 * len(rows)),
                             sharex=True, sharey=True, squeeze=False)
    ymax = long["true_mi_bits"].max() * 1.4
    for i, (domain, critic) in enumerate(rows):
        for j, est in enumerate(cols):
            ax = axes[i][j]
            d = long[(long.domain == domain) & (long.critic == critic) & (long.estimator == est)]
            if d.empty:
                ax.set_axis_off()
                continue
            wide = d.pivot(index="step", columns="seed", values="estimate_bits")
            span = min(smooth_span, max(2, len(wide) // 20))
            smooth = wide.ewm(span=span, ignore_na=True).mean()
            ax.plot(wide.index, wide.mean(axis=1), lw=0.3, alpha=0.4, color="tab:blue")
            ax.fill_between(wide.index, smooth.min(axis=1), smooth.max(axis=1), alpha=0.3, color="tab:blue", lw=0)
            ax.plot(wide.index, smooth.mean(axis=1), lw=1.4, color="tab:blue")
            truth = d.groupby("step")["true_mi_bits"].first()
            ax.plot(truth.index, truth.values, "k--", lw=1)
            if est == "infonce":
                ax.axhline(math.log2(batch_size), color="tab:red", lw=0.8, ls=":")
            for seed in wide.columns[wide.iloc[-1].isna()]:  # diverged: NaN from its divergence step on
                trace = wide[seed]
                last_ok = trace.last_valid_index()
                step = wide.index[0] if last_ok is None else last_ok
                ax.plot([step], [0.0 if last_ok is None else trace[last_ok]], "x", color="tab:red", ms=7, mew=2,
                        label="diverged")
            ax.set_ylim(-0.5, ymax)
            if i == 0:
                ax.set_title(est, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{domain}\n{critic}\nMI (bits)", fontsize=8)
            if i == len(rows) - 1:
                ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def bias_variance_plot(table: pd.DataFrame, path: Path) -> None:
    """Bias (points) with +-SD bars vs true MI, one panel per domain/critic, one line per estimator. The bias axis
    is symmetric-log (linear within +-1 bit): estimators that collapse (tens of bits) stay on the panel without
    squashing the others' sub-bit differences."""
    panels = table[["domain", "critic"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    estimators = list(dict.fromkeys(table["estimator"]))
    offsets = np.linspace(-0.3, 0.3, len(estimators))
    for ax, (domain, critic) in zip(axes[0], panels):
        d = table[(table.domain == domain) & (table.critic == critic)]
        for off, est in zip(offsets, estimators):
            e = d[d.estimator == est]
            ax.errorbar(e.true_mi_bits + off, e.bias, yerr=e.sd, fmt="o-", ms=3, lw=1, capsize=2, label=est)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_yscale("symlog", linthresh=1.0, linscale=1.5)
        ax.set_title(f"{domain} / {critic}", fontsize=10)
        ax.set_xlabel("true MI (bits)")
        ax.set_ylabel("bias (bits; symlog, linear in +-1), bars: SD")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
