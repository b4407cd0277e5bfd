"""Tables of the SSL experiment from the unit rows: probe.csv, mi.csv, summary.csv and metrics.json.

Every MI value (bits) sits in ``mi.csv`` beside what bounds it: ``cap_bits``, the largest value its readout can
take (log2 K for an InfoNCE readout, else the critic's largest log ratio; ``cap`` says which), ``ceiling_bits``, the
largest an InfoNCE readout can reach on same-class pairs (``objectives.infonce_ceiling_bits``), and ``above_hc``: a
value above H(C), which no estimate of these pairs' MI may exceed (I(X1; X2) = H(C) exactly).
"""

from __future__ import annotations

import math

import pandas as pd

import estimators
from anchorbench.ssl import claims
from anchorbench.ssl.config import SSLParams
from anchorbench.ssl.objectives import build_objective, infonce_candidates, infonce_ceiling_bits

KEYS = ["objective", "pairing", "batch_size", "seed"]
GROUP = ["objective", "pairing", "batch_size"]


def probe_table(rows: list[dict]) -> pd.DataFrame:
    """One row per unit: its keys, true MI, steps and probe accuracies (NaN for a diverged unit). ``top1`` / ``top5``
    are the headline probe: the joint probe of the pairing's shared attributes (``run.probe_targets``)."""
    return pd.DataFrame([{**{k: r[k] for k in KEYS}, "true_mi_bits": r["true_mi_bits"], "tau": r["tau"],
                          "steps": r["steps"], "diverged": r["diverged_step"] is not None, **r.get("probe", {})}
                         for r in rows])


def _bounds(estimator: estimators.Estimator, batch_size: int, h_bits: float) -> dict:
    """``cap_bits``, ``cap`` and ``ceiling_bits`` of an InfoNCE-type readout at ``batch_size`` (else NaN, "")."""
    K = infonce_candidates(estimator, batch_size)
    if K is None:
        return {"cap_bits": math.nan, "cap": "", "ceiling_bits": math.nan}
    return {"cap_bits": math.log2(K), "cap": f"log K (K = {K})", "ceiling_bits": infonce_ceiling_bits(K, h_bits)}


def mi_table(rows: list[dict], post_batch_size: int) -> pd.DataFrame:
    """Long table, one row per MI value (bits): the in-training readout of each trained unit's objective and every
    post-training estimate, with its cap, its reachable InfoNCE ceiling and the flag ``above_hc``."""
    out = []
    for r in rows:
        base = {**{k: r[k] for k in KEYS}, "true_mi_bits": r["true_mi_bits"]}
        if "train_mi_bits" in r:
            objective = build_objective(r["objective"], r["batch_size"], r["nu"])
            out.append({**base, "phase": "in_training", "estimator": r["objective"], "mi_bits": r["train_mi_bits"],
                        **_bounds(objective, r["batch_size"], r["true_mi_bits"]),  # the ceiling; the cap below is
                        "cap_bits": r["train_cap_bits"], "cap": r["train_cap"]})  # the unit's, for any objective
        for label, bits in r.get("post_mi_bits", {}).items():
            name, hparams = estimators.parse_label(label)
            post = estimators.build(name, **hparams)
            out.append({**base, "phase": "post_training", "estimator": label, "mi_bits": bits,
                        **_bounds(post, post_batch_size, r["true_mi_bits"])})
    frame = pd.DataFrame(out)
    return frame.assign(above_hc=frame.mi_bits > frame.true_mi_bits)  # NaN on either side compares False


def summary_table(probe: pd.DataFrame, mi: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD over seeds per (objective, pairing, batch size) of accuracies and MI estimates."""
    acc_cols = [c for c in probe.columns if c.startswith("top")]
    acc = probe.groupby(GROUP)[acc_cols].agg(["mean", "std"])
    acc.columns = [f"{c}_{s}" for c, s in acc.columns]
    wide = mi.assign(col=lambda d: d.phase.str.replace("_training", "") + "_mi_" + d.estimator.where(
        d.phase == "post_training", "objective")).pivot_table(index=GROUP, columns="col", values="mi_bits",
                                                                aggfunc="mean")
    true = probe.groupby(GROUP)[["true_mi_bits", "steps"]].first()
    return acc.join(wide).join(true).reset_index()


def headline_estimator(mi: pd.DataFrame) -> str | None:
    """The post-training estimator the figures and claims use: InfoNCE (seed 001's post-training estimator, capped at
    log(post batch) only) when present, else the first one."""
    names = list(mi.loc[mi.phase == "post_training", "estimator"].unique())
    return "infonce" if "infonce" in names else (names[0] if names else None)


def _number(value) -> float | None:
    return round(float(value), 4) if pd.notna(value) else None


def _by_group(frame: pd.DataFrame, means: list[str], firsts: list[str] = ()) -> dict:
    """``{"objective|pairing|B<batch>": {column: mean over seeds, column_sd: SD, ..., first: value, "seeds": n}}``:
    the mean and SD of each of ``means``, the value of each of ``firsts`` (equal within a group: caps, the truth)."""
    out = {}
    for (objective, pairing, batch), part in frame.groupby(GROUP, sort=False):
        cell = {k: v for c in means for k, v in ((c, _number(part[c].mean())), (f"{c}_sd", _number(part[c].std())))}
        cell |= {c: _number(part[c].iloc[0]) if pd.api.types.is_numeric_dtype(part[c]) else part[c].iloc[0]
                 for c in firsts}
        out[f"{objective}|{pairing}|B{batch}"] = cell | {"seeds": int(part.seed.nunique())}
    return out


def metrics(probe: pd.DataFrame, mi: pd.DataFrame, p: SSLParams) -> dict:
    """metrics.json: the probe accuracies and every in-training and post-training readout per (objective, pairing,
    batch size) with its cap and ceiling, every value above H(C), and the claims (``anchorbench.ssl.claims``)."""
    est = headline_estimator(mi)
    bounds = ["cap_bits", "cap", "ceiling_bits", "true_mi_bits"]
    above = mi[mi.above_hc]
    return {"probe": _by_group(probe, [c for c in probe.columns if c.startswith("top")]),
            "in_training": _by_group(mi[mi.phase == "in_training"], ["mi_bits"], bounds),
            "post_training": {e: _by_group(part, ["mi_bits"], bounds)
                              for e, part in mi[mi.phase == "post_training"].groupby("estimator", sort=False)},
            "post_training_estimator": est,
            "above_hc": {"count": len(above), "of": int(mi.true_mi_bits.notna().sum()),
                         "values": [{"unit": f"{r.objective}|{r.pairing}|B{r.batch_size}|s{r.seed}", "phase": r.phase,
                                     "estimator": r.estimator, "mi_bits": _number(r.mi_bits),
                                     "true_mi_bits": _number(r.true_mi_bits)} for r in above.itertuples()]},
            "claims": claims.decided(probe, mi[(mi.phase == "in_training") | (mi.estimator == est)], p)}
