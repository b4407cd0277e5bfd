"""Readout maths: per-step traces to long tables, per-level summaries and bias / SD / MSE.

A level's summary uses the last quarter of its steps (the critic has had time to adapt). A run that
diverged is NaN from its divergence step on and is counted, never averaged in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anchorbench import stats
from anchorbench.mi_benchmark.engine import GroupResult, Schedule

LONG_COLUMNS = ["domain", "estimator", "critic", "seed", "step", "true_mi_bits", "estimate_bits"]


def to_long(result: GroupResult, domain: str, critic: str) -> pd.DataFrame:
    """One row per (run, step): the columns of ``LONG_COLUMNS``."""
    steps, R = result.estimates_bits.shape
    return pd.DataFrame({
        "domain": domain,
        "estimator": np.repeat([run.name for run in result.runs], steps),
        "critic": critic,
        "seed": np.repeat([run.seed for run in result.runs], steps),
        "step": np.tile(np.arange(steps), R),
        "true_mi_bits": np.tile(result.true_mi_bits, R),
        "estimate_bits": result.estimates_bits.T.reshape(-1),
    })[LONG_COLUMNS]


def level_of(step: pd.Series, schedule: Schedule) -> pd.Series:
    return step // schedule.steps_per_level


def last_quarter(long: pd.DataFrame, schedule: Schedule) -> pd.DataFrame:
    """Rows in the last quarter of each level, with a ``level`` column (index into levels_bits)."""
    spl = schedule.steps_per_level
    within = long["step"] % spl
    out = long[within >= spl - max(1, spl // 4)].copy()
    out["level"] = level_of(out["step"], schedule)
    return out


def per_run_levels(long: pd.DataFrame, schedule: Schedule) -> pd.DataFrame:
    """Mean and SD of each run's estimate over the last quarter of each level."""
    tail = last_quarter(long, schedule)
    keys = ["domain", "critic", "estimator", "seed", "level"]
    g = tail.groupby(keys, sort=True)
    out = g.agg(true_mi_bits=("true_mi_bits", "first"), mean=("estimate_bits", "mean"),
                sd=("estimate_bits", "std"), diverged=("estimate_bits", lambda v: bool(v.isna().any())))
    return out.reset_index()


def bias_variance(long: pd.DataFrame, schedule: Schedule) -> pd.DataFrame:
    """Bias, SD and MSE (bits, bits, bits^2) per (domain, critic, estimator, level), over the
    last-quarter estimates of every run that had not diverged by the end of that level."""
    tail = last_quarter(long, schedule)
    keys = ["domain", "critic", "estimator", "level"]
    bad = tail.groupby(keys + ["seed"])["estimate_bits"].apply(lambda v: v.isna().any()).rename("bad")
    tail = tail.join(bad, on=keys + ["seed"])
    rows = []
    for key, g in tail.groupby(keys, sort=True):
        ok = g[~g["bad"]]
        err = ok["estimate_bits"] - ok["true_mi_bits"]
        rows.append(dict(zip(keys, key), true_mi_bits=g["true_mi_bits"].iloc[0],
                         bias=err.mean() if len(ok) else np.nan,
                         sd=ok["estimate_bits"].std() if len(ok) > 1 else np.nan,
                         mse=(err ** 2).mean() if len(ok) else np.nan,
                         runs=g["seed"].nunique(), diverged_runs=int(g.groupby("seed")["bad"].first().sum())))
    return pd.DataFrame(rows)


def metrics_dict(table: pd.DataFrame, diverged: list[dict], levels_bits: list[float]) -> dict:
    """Nested ``{domain: {critic: {estimator: {"<level>bits": {bias, sd, mse}}}}}`` for metrics.json.

    NaN (no surviving run) becomes None so the file stays valid JSON.
    """
    clean = lambda v: None if v is None or not np.isfinite(v) else round(float(v), 4)  # noqa: E731
    out: dict = {}
    for row in table.itertuples():
        level = f"{levels_bits[row.level]:g}bits"
        slot = out.setdefault(row.domain, {}).setdefault(row.critic, {}).setdefault(row.estimator, {})
        slot[level] = {"bias": clean(row.bias), "sd": clean(row.sd), "mse": clean(row.mse)}
        effective = getattr(row, "effective_true_mi_bits", None)
        if effective is not None and np.isfinite(effective):  # IMDB-BERT: classes not perfectly separable
            slot[level] |= {"effective_true_mi_bits": clean(effective), "bias_effective": clean(row.bias_effective)}
    return {"levels": out, "diverged_runs": diverged}


ANCHOR = "infonce_anchor"
MARGIN_BITS = 0.05  # a smaller |bias| difference is not an ordering (another CPU's rounding moves biases this much)


def claims(per_run: pd.DataFrame, batch_size: int) -> list[dict]:
    """The MI benchmark's claims, each computed from the per-run level means (``per_run_levels``), paired over
    seeds and Holm-corrected together (``anchorbench.stats``): per (domain, critic, level), InfoNCE-anchor has the
    smallest |bias| of all estimators (every pairwise |bias| difference > MARGIN_BITS), and InfoNCE's estimate
    stays below its bound log2 B."""
    runs = per_run[~per_run.diverged].assign(abs_bias=lambda d: (d["mean"] - d.true_mi_bits).abs())
    out = []
    for (domain, critic, level), g in runs.groupby(["domain", "critic", "true_mi_bits"]):
        by = g.pivot_table(index="seed", columns="estimator", values="abs_bias")
        where = f"{domain} / {critic} at {level:g} bits"
        if ANCHOR in by and len(by.columns) > 1:
            rivals = [stats.paired(by[e].to_numpy(), by[ANCHOR].to_numpy(), margin=MARGIN_BITS)
                      for e in by.columns if e != ANCHOR]
            out.append(stats.Claim(f"{domain}:{critic}:{level:g}bits:anchor_smallest_abs_bias",
                                   f"InfoNCE-anchor has the smallest |bias| of {len(by.columns)} estimators, {where}",
                                   "mean paired difference of |bias| (bits) to the closest rival, rival - anchor",
                                   stats.all_of(rivals)))
        infonce = g[g.estimator == "infonce"]["mean"].to_numpy()
        if len(infonce):
            out.append(stats.Claim(f"{domain}:{critic}:{level:g}bits:infonce_below_log_b",
                                   f"InfoNCE stays below log2 B = {np.log2(batch_size):.2f} bits, {where}",
                                   "mean of log2 B - InfoNCE estimate (bits)",
                                   stats.one_sample(infonce, float(np.log2(batch_size)), side="below")))
    return stats.to_json(stats.decide(out))
