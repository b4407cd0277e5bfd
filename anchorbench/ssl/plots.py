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
from anchorbench.ssl.summary import KEYS, headline_estimator  # noqa: E402

PROBES = {"top1": "headline top-1 (the pairing's joint probe)", "top1_joint": "joint 64-way top-1",
          "top1_colour": "top-1 colour", "top1_digit": "top-1 digit", "top1_position": "top-1 position"}


def probe_figure(probe: pd.DataFrame, batch_size: int, path: Path) -> Path:
    """Grouped bars: the headline top-1 (and the 64-way and per-attribute top-1 when present) per objective and
    pairing, the untrained baseline among the objectives."""
    main = probe[probe.batch_size == batch_size]
    cols = [c for c in PROBES if c in main.columns]
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
        ax.set_title(PROBES[col], fontsize=9)
    axes[0][0].set_ylabel("linear-probe accuracy")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def _pairing_label(pairing: str, probe: pd.DataFrame) -> str:
    truth = probe.loc[probe.pairing == pairing, "true_mi_bits"].iloc[0]
    return pairing if math.isnan(truth) else f"{pairing}\nH(C)={truth:g}"


def _bound_lines(ax, rows: pd.DataFrame, hc: list[float], colour: str, label: str) -> None:
    """log2 K (flat, thin) and the reachable InfoNCE ceiling over H(C) (dashed) of one InfoNCE readout."""
    cap = rows.cap_bits.iloc[0]
    ceiling = rows.groupby("true_mi_bits").ceiling_bits.first().reindex(hc)
    ax.axhline(cap, color=colour, lw=0.8, alpha=0.6)
    ax.text(hc[0], cap + 0.05, f"{label}: log2 K = {cap:.2f}", fontsize=6, color=colour)
    ax.plot(hc, ceiling, color=colour, ls="-.", lw=0.9, alpha=0.8, label=f"{label}: reachable ceiling")


def mi_figure(mi: pd.DataFrame, path: Path) -> Path:
    """In-training InfoNCE readout vs post-training MI against H(C), with each readout's cap log2 K and its reachable
    ceiling log2 K - E[log2(1 + Bin(K - 1, 2^-H))] (same-class negatives score like the positive)."""
    est = headline_estimator(mi)
    same = mi[mi.true_mi_bits.notna() & (mi.objective == INFONCE)]
    fig, ax = plt.subplots(figsize=(6.0, 4.6))
    hc = sorted(same.true_mi_bits.unique())
    ax.plot(hc, hc, "k:", label="true MI = H(C)")
    for (B, marker), colour in zip(zip(sorted(same.batch_size.unique()), "os^"), ("C0", "C1", "C2")):
        train = same[(same.phase == "in_training") & (same.batch_size == B)]
        means = train.groupby("true_mi_bits").mi_bits
        ax.errorbar(means.mean().index, means.mean(), yerr=means.std().fillna(0), marker=marker, ls="--",
                    color=colour, label=f"in-training InfoNCE, B={B}")
        _bound_lines(ax, train, hc, colour, f"in-training B={B}")
        post = same[(same.phase == "post_training") & (same.batch_size == B) & (same.estimator == est)]
        means = post.groupby("true_mi_bits").mi_bits
        ax.errorbar(means.mean().index, means.mean(), yerr=means.std().fillna(0), marker=marker, ls="-",
                    color=colour, mfc="white", label=f"post-training {est}, trained with B={B}")
    post = same[(same.phase == "post_training") & (same.estimator == est)]
    if post.cap_bits.notna().any():
        _bound_lines(ax, post, hc, "grey", "post-training")
    ax.set_xlabel("H(C) (bits)")
    ax.set_ylabel("MI estimate (bits)")
    ax.set_title("InfoNCE encoders: in-training vs post-training MI")
    ax.legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, path)


def mi_accuracy_figure(probe: pd.DataFrame, mi: pd.DataFrame, path: Path) -> Path:
    """Post-training MI vs the headline top-1, one point per unit, coloured by objective, one panel per pairing
    (the headline probe and H(C) differ between pairings)."""
    est = headline_estimator(mi)
    joined = mi[(mi.phase == "post_training") & (mi.estimator == est)].merge(probe, on=KEYS)
    pairings = list(dict.fromkeys(joined.pairing))
    fig, axes = plt.subplots(1, max(len(pairings), 1), figsize=(4.2 * max(len(pairings), 1), 3.8), squeeze=False)
    for ax, (pairing, part) in zip(axes[0], joined.groupby("pairing", sort=False)):
        for obj, points in part.groupby("objective"):
            ax.scatter(points.mi_bits, points.top1, label=obj, s=18)
        ax.set_title(_pairing_label(pairing, probe).replace("\n", ", "), fontsize=9)
        ax.set_xlabel(f"post-training MI ({est}, bits)")
    axes[0][0].set_ylabel("headline top-1")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, path)
