"""Tables of the SSL experiment from the unit rows: probe.csv, mi.csv, summary.csv and metrics.json."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from anchorbench.ssl.config import INFONCE

KEYS = ["objective", "pairing", "batch_size", "seed"]
GROUP = ["objective", "pairing", "batch_size"]


def probe_table(rows: list[dict]) -> pd.DataFrame:
    """One row per unit: its keys, true MI and probe accuracies (NaN for a diverged unit)."""
    return pd.DataFrame([{**{k: r[k] for k in KEYS}, "true_mi_bits": r["true_mi_bits"], "tau": r["tau"],
                          "diverged": r["diverged_step"] is not None, **r.get("probe", {})} for r in rows])


def mi_table(rows: list[dict]) -> pd.DataFrame:
    """Long table: the in-training readout of each unit's objective and every post-training estimate (bits)."""
    out = []
    for r in rows:
        base = {**{k: r[k] for k in KEYS}, "true_mi_bits": r["true_mi_bits"]}
        out.append({**base, "phase": "in_training", "estimator": r["objective"], "mi_bits": r["train_mi_bits"],
                    "cap_bits": r["train_cap_bits"]})
        for est, bits in r.get("post_mi_bits", {}).items():
            out.append({**base, "phase": "post_training", "estimator": est, "mi_bits": bits, "cap_bits": math.nan})
    return pd.DataFrame(out)


def summary_table(probe: pd.DataFrame, mi: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD over seeds per (objective, pairing, batch size) of accuracies and MI estimates."""
    acc_cols = [c for c in probe.columns if c.startswith("top")]
    acc = probe.groupby(GROUP)[acc_cols].agg(["mean", "std"])
    acc.columns = [f"{c}_{s}" for c, s in acc.columns]
    wide = mi.assign(col=lambda d: d.phase.str.replace("_training", "") + "_mi_" + d.estimator.where(
        d.phase == "post_training", "objective")).pivot_table(index=GROUP, columns="col", values="mi_bits",
                                                                aggfunc="mean")
    true = probe.groupby(GROUP)["true_mi_bits"].first()
    return acc.join(wide).join(true).reset_index()


def headline_estimator(mi: pd.DataFrame) -> str | None:
    """The post-training estimator the figures show: InfoNCE (seed 001's post-training estimator, capped at
    log(post batch) only) when present, else the first one."""
    names = list(mi.loc[mi.phase == "post_training", "estimator"].unique())
    return "infonce" if "infonce" in names else (names[0] if names else None)


def metrics(probe: pd.DataFrame, mi: pd.DataFrame, batch_size: int, small_batch: int | None) -> dict:
    """metrics.json: accuracies per (objective, pairing), MI readouts, the MI-accuracy correlation and checks
    of the paper's and seed 001's claims (each True/False, None when the runs needed are absent)."""
    est = headline_estimator(mi)
    main = probe[probe.batch_size == batch_size]
    acc = main.groupby(["objective", "pairing"])[["top1", "top5"]].mean()
    out: dict = {"probe": {o: {g: {k: round(float(v), 4) for k, v in acc.loc[(o, g)].items()}
                               for g in acc.loc[o].index} for o in acc.index.levels[0] if o in acc.index},
                 "post_training_estimator": est}
    post = mi[(mi.phase == "post_training") & (mi.estimator == est)] if est else mi.iloc[:0]
    train = mi[mi.phase == "in_training"]
    joined = post.merge(probe, on=KEYS)
    out["corr_post_mi_top1"] = (float(np.corrcoef(joined.mi_bits, joined.top1)[0, 1])
                                if len(joined) > 2 and joined.mi_bits.std() > 0 and joined.top1.std() > 0 else None)
    out["post_mi_bits"] = {f"{k[0]}|{k[1]}|B{k[2]}": round(float(v), 4)
                           for k, v in post.groupby(GROUP).mi_bits.mean().items()}
    out["train_mi_bits"] = {f"{k[0]}|{k[1]}|B{k[2]}": round(float(v), 4)
                            for k, v in train.groupby(GROUP).mi_bits.mean().items()}
    out["claims"] = claims(main, post, train, small_batch)
    return out


def claims(main: pd.DataFrame, post: pd.DataFrame, train: pd.DataFrame, small_batch: int | None) -> dict:
    """The claims the README checks, as booleans (None when the needed runs are missing)."""
    by = main.groupby("objective").top1.mean()
    spherical = "spherical(parametrization=pd)"
    out = {"anchor_not_above_infonce_top1": (bool(by["infonce_anchor"] <= by[INFONCE] + 0.01)
                                             if {INFONCE, "infonce_anchor"} <= set(by.index) else None),
           "spherical_collapses": (bool(by[spherical] < 0.5 * by.drop(spherical).max())
                                   if spherical in by.index and len(by) > 1 else None)}
    small_train = train[(train.objective == INFONCE) & (train.batch_size == small_batch)]
    small_post = post[(post.objective == INFONCE) & (post.batch_size == small_batch)]
    if len(small_train) and len(small_post):
        cap = float(small_train.cap_bits.iloc[0])
        out["small_batch_cap_bits"] = round(cap, 4)
        out["in_training_below_cap"] = bool((small_train.mi_bits <= cap + 1e-6).all())
        above = small_post[small_post.true_mi_bits > cap]
        out["post_training_exceeds_cap"] = bool(above.mi_bits.mean() > cap) if len(above) else None
    same_class = post[post.true_mi_bits.notna()]
    if same_class.true_mi_bits.nunique() > 1:
        means = same_class.groupby("true_mi_bits").mi_bits.mean()
        out["post_mi_increases_with_hc"] = bool(means.is_monotonic_increasing)
        error = (same_class.mi_bits - same_class.true_mi_bits).abs().mean()
        out["post_mi_mean_abs_error_bits"] = round(float(error), 4)
    return out
