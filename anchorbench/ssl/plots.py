"""Figures of the SSL experiment (PNG, Agg): probe accuracy, in- vs post-training MI, MI vs accuracy."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from anchorbench.io import save_figure  # noqa: E402
from anchorbench.ssl.config import INFONCE  # noqa: E402
from anchorbench.ssl.summary import headline_estimator  # noqa: E402


def probe_figure(probe: pd.DataFrame, batch_size: int, path: Path) -> Path:
    """Grouped bars: joint top-1 (and per-attribute top-1 when present) per objective and pairing."""
    main = probe[probe.batch_size == batch_size]
    cols = [c for c in ("top1", "top1_colour", "top1_digit", "top1_position") if c in main.columns]
    pairings = list(dict.fromkeys(main.pairing))
    objectives = list(dict.fromkeys(main.objective))
    fig, axes = plt.subplots(1, len(cols), figsize=(4.2 * len(cols), 3.6), squeeze=False)
    width = 0.8 / max(len(objectives), 1)
    for ax, col in zip(axes[0], cols):
        stats = main.groupby(["objective", "pairing"])[col].agg(["mean", "std"])
        for k, obj in enumerate(objectives):
            means = [stats["mean"].get((obj, g), np.nan) for g in pairings]
            sds = [stats["std"].get((obj, g), np.nan) for g in pairings]
            ax.bar(np.arange(len(pairings)) + k * width, means, width, yerr=np.nan_to_num(sds), label=obj)
        ax.set_xticks(np.arange(len(pairings)) + 0.4 - width / 2, [_pairing_label(g, main) for g in pairings])
        ax.set_ylim(0, 1)
        ax.set_title("joint 64-way top-1" if col == "top1" else col.replace("top1_", "top-1 "))
    axes[0][0].set_ylabel("linear-probe accuracy")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def _pairing_label(pairing: str, probe: pd.DataFrame) -> str:
    truth = probe.loc[probe.pairing == pairing, "true_mi_bits"].iloc[0]
    return pairing if math.isnan(truth) else f"{pairing}\nH(C)={truth:g}"


def mi_figure(mi: pd.DataFrame, path: Path) -> Path:
    """In-training InfoNCE readout vs post-training MI against H(C), with the in-training caps log(K)."""
    est = headline_estimator(mi)
    same = mi[mi.true_mi_bits.notna() & (mi.objective == INFONCE)]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    hc = sorted(same.true_mi_bits.unique())
    ax.plot(hc, hc, "k:", label="true MI = H(C)")
    for B, marker in zip(sorted(same.batch_size.unique()), "os^"):
        train = same[(same.phase == "in_training") & (same.batch_size == B)].groupby("true_mi_bits").mi_bits
        ax.errorbar(train.mean().index, train.mean(), yerr=train.std().fillna(0), marker=marker, ls="--",
                    label=f"in-training InfoNCE, B={B}")
        cap = same[(same.phase == "in_training") & (same.batch_size == B)].cap_bits.iloc[0]
        ax.axhline(cap, color="grey", lw=0.8)
        ax.text(hc[0], cap + 0.05, f"log2(K={round(2 ** cap)}) = {cap:.2f}", fontsize=7, color="grey")
        post = same[(same.phase == "post_training") & (same.batch_size == B) & (same.estimator == est)]
        post = post.groupby("true_mi_bits").mi_bits
        ax.errorbar(post.mean().index, post.mean(), yerr=post.std().fillna(0), marker=marker, ls="-",
                    label=f"post-training {est}, trained with B={B}")
    ax.set_xlabel("H(C) (bits)")
    ax.set_ylabel("MI estimate (bits)")
    ax.set_title("InfoNCE encoders: in-training vs post-training MI")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def mi_accuracy_figure(probe: pd.DataFrame, mi: pd.DataFrame, path: Path) -> Path:
    """Post-training MI vs joint top-1, one point per unit, coloured by objective."""
    est = headline_estimator(mi)
    joined = mi[(mi.phase == "post_training") & (mi.estimator == est)].merge(
        probe, on=["objective", "pairing", "batch_size", "seed"])
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for obj, part in joined.groupby("objective"):
        ax.scatter(part.mi_bits, part.top1, label=obj, s=22)
    ax.set_xlabel(f"post-training MI ({est}, bits)")
    ax.set_ylabel("joint top-1 accuracy")
    ax.set_title("MI vs linear-probe accuracy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
