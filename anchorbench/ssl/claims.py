"""The SSL experiment's claims with verdicts (``anchorbench.stats``), from the per-seed numbers of the unit tables.

Paper (Table 2, on the headline probe: the joint probe of the pairing's shared attributes), paired by (pairing,
seed) and pooled over the pairings: InfoNCE and InfoNCE-anchor above JS; InfoNCE above the anchor, and the anchor not
above InfoNCE by more than ``NOT_ABOVE_TOP1``; Spherical collapses (keeps less than half of InfoNCE's gain over the
untrained encoder of the same seed; needs ``ssl.random_init``). Seed 001 (the post-training InfoNCE estimate of the
frozen encoders), per same-class pairing: the B = 4 encoders' post-training MI exceeds their in-training cap log2 K;
their in-training readout saturates (comes within ``SATURATED_BITS`` of its reachable ceiling); at equal pairs seen,
their post-training MI is not below the B = 64 encoders' by more than ``NOT_LIMITED_BITS`` (paired by seed);
post-training MI increases with H(C) (paired by objective, batch size and seed); post-training MI and the headline
top-1 correlate within a pairing, and over all same-class pairings after subtracting each pairing's means (the
H-partialled correlation; its Fisher-z CI counts n pairs although the means use up one degree of freedom per pairing:
with 3 pairings and n ~ 100 it is about 1 % too narrow). ``decide`` corrects the stage's claims together (Holm).

The margins are the smallest effects that count (``anchorbench.stats``): another CPU's rounding moves a top-1 by a
few test images (1/1024 each) and an MI estimate by a few hundredths of a bit. The non-inferiority bounds
(``NOT_ABOVE_TOP1``, ``NOT_LIMITED_BITS``) and ``SATURATED_BITS`` are this project's choices: how much worse still
counts as "does not beat" or "does not limit", and how close to the ceiling counts as saturated.
"""

from __future__ import annotations

import pandas as pd

import estimators
from anchorbench import stats
from anchorbench.ssl.config import INFONCE, OBJECTIVES, RANDOM_INIT, SSLParams

ANCHOR, JS, SPHERICAL = OBJECTIVES[1:4]
MARGIN_TOP1 = 0.005  # top-1: a smaller effect is no ordering
MARGIN_BITS = 0.05  # MI (bits)
MARGIN_R = 0.1  # a correlation
NOT_ABOVE_TOP1 = 0.02  # "the anchor does not beat InfoNCE": it may be better by less than this
NOT_LIMITED_BITS = 0.25  # "a small batch does not limit the MI": its encoders may hold less by less than this
SATURATED_BITS = 0.25  # "the readout saturates": it comes within this of its reachable ceiling
PAPER, SEED001 = "paper Table 2", "seed 001"


def decided(probe: pd.DataFrame, mi: pd.DataFrame, p: SSLParams) -> list[dict]:
    """Every claim of the stage, decided together: ``stats.to_json`` entries plus ``source`` (paper or seed 001).
    ``probe``: ``summary.probe_table``; ``mi``: ``summary.mi_table`` rows of the in-training readouts and of the
    headline post-training estimator."""
    post = mi[(mi.phase == "post_training") & (mi.objective != RANDOM_INIT)]
    found = (table2(probe[probe.batch_size == p.batch_size])
             + small_batch(mi, p.batch_size, p.small_batch) + increases(post) + tracking(post, probe))
    entries = stats.to_json(stats.decide([claim for claim, _ in found]))
    return [entry | {"source": source} for entry, (_, source) in zip(entries, found)]


def _ordering(table: pd.DataFrame, better: str, worse: str, cid: str, text: str, shift: float = 0.0) -> list:
    """``better - worse + shift > MARGIN_TOP1`` over the rows of ``table`` (one column per objective), if both ran."""
    if not {better, worse} <= set(table.columns):
        return []
    names = " - ".join(estimators.paper_name(o) for o in (better, worse))
    statistic = f"mean paired difference of headline top-1 over (pairing, seed), {names}"
    statistic += f" + {shift:g} (the non-inferiority bound)" if shift else ""
    return [(stats.Claim(cid, text, statistic, stats.paired(table[better] + shift, table[worse], margin=MARGIN_TOP1)),
             PAPER)]


def table2(main: pd.DataFrame) -> list:
    """The paper's Table 2 orderings on the headline top-1 of the units at the training batch size."""
    top1 = main.pivot(index=["pairing", "seed"], columns="objective", values="top1")
    found = (_ordering(top1, INFONCE, JS, "table2:infonce>js", "InfoNCE's top-1 exceeds JS's (65.98 vs 61.69)")
             + _ordering(top1, ANCHOR, JS, "table2:anchor>js", "InfoNCE-anchor's top-1 exceeds JS's (65.74 vs 61.69)")
             + _ordering(top1, INFONCE, ANCHOR, "table2:infonce>anchor",
                         "InfoNCE's top-1 exceeds InfoNCE-anchor's (65.98 vs 65.74)")
             + _ordering(top1, INFONCE, ANCHOR, "table2:anchor_not_above_infonce",
                         f"InfoNCE-anchor's top-1 does not exceed InfoNCE's by {NOT_ABOVE_TOP1} or more (the anchor "
                         "does not help SSL)", shift=NOT_ABOVE_TOP1))
    if {INFONCE, SPHERICAL, RANDOM_INIT} <= set(top1.columns):
        midway = (top1[INFONCE] + top1[RANDOM_INIT]) / 2  # half of InfoNCE's gain over the untrained encoder
        found.append((stats.Claim(
            "table2:spherical_collapses", "Spherical collapses: it keeps less than half of InfoNCE's top-1 gain over "
            "the untrained encoder (4.33 vs 65.98)", "mean over (pairing, seed) of (InfoNCE + untrained) / 2 - "
            "Spherical, headline top-1", stats.paired(midway, top1[SPHERICAL], margin=MARGIN_TOP1)), PAPER))
    return found


def small_batch(mi: pd.DataFrame, batch_size: int, small: int | None) -> list:
    """Seed 001's small batch, per same-class pairing: the post-training MI of the B = ``small`` InfoNCE encoders
    above their in-training cap, their in-training readout saturated, and their post-training MI not below the
    B = ``batch_size`` encoders' (trained on as many pairs)."""
    infonce = mi[(mi.objective == INFONCE) & mi.true_mi_bits.notna()]
    post = infonce[infonce.phase == "post_training"].pivot(index=["pairing", "seed"], columns="batch_size",
                                                           values="mi_bits")
    train = infonce[(infonce.phase == "in_training") & (infonce.batch_size == small)]
    found = []
    for pairing, readout in train.groupby("pairing", sort=False):
        h, cap, ceiling = readout[["true_mi_bits", "cap_bits", "ceiling_bits"]].iloc[0]
        where, pairs = f"B = {small}, {pairing}, H(C) = {h:g}", post.loc[pairing]  # [seed, batch size]
        if h > cap and small in pairs:
            found.append((stats.Claim(
                f"seed001:post_above_cap:{pairing}", f"the post-training MI of the B = {small} InfoNCE encoders "
                f"exceeds their in-training cap log2 K = {cap:.3f} bits ({pairing}, H(C) = {h:g})",
                f"mean over seeds of post-training InfoNCE MI - log2 K (bits), {where}",
                stats.one_sample(pairs[small], cap, side="above", margin=MARGIN_BITS)), SEED001))
        found.append((stats.Claim(
            f"seed001:readout_saturates:{pairing}", f"the B = {small} in-training InfoNCE readout comes within "
            f"{SATURATED_BITS} bit of its reachable ceiling {ceiling:.3f} bits ({pairing}, H(C) = {h:g})",
            f"mean over seeds of in-training readout - (ceiling - {SATURATED_BITS}) (bits), {where}",
            stats.one_sample(readout.mi_bits, ceiling - SATURATED_BITS, side="above", margin=MARGIN_BITS)), SEED001))
        if {small, batch_size} <= set(pairs.columns):
            found.append((stats.Claim(
                f"seed001:small_batch_not_limiting:{pairing}", f"at equal pairs seen, the post-training MI of the "
                f"B = {small} InfoNCE encoders is not below the B = {batch_size} ones' by {NOT_LIMITED_BITS} bit or "
                f"more ({pairing}, H(C) = {h:g})", f"mean paired difference over seeds of post-training InfoNCE MI "
                f"(bits), B = {small} - B = {batch_size} + {NOT_LIMITED_BITS} (the non-inferiority bound)",
                stats.paired(pairs[small] + NOT_LIMITED_BITS, pairs[batch_size], margin=MARGIN_BITS)), SEED001))
    return found


def increases(post: pd.DataFrame) -> list:
    """Post-training MI higher at each next H(C), paired by (objective, batch size, seed) across the pairings."""
    same = post[post.true_mi_bits.notna()]
    wide = same.pivot(index=["objective", "batch_size", "seed"], columns="pairing", values="mi_bits")
    order = same.groupby("pairing").true_mi_bits.first().sort_values()
    found = []
    for (lo, h_lo), (hi, h_hi) in zip(order.items(), list(order.items())[1:]):
        if h_hi > h_lo:
            found.append((stats.Claim(
                f"seed001:post_mi_increases:{lo}<{hi}", f"post-training MI is higher at H(C) = {h_hi:g} ({hi}) than "
                f"at {h_lo:g} ({lo})", f"mean paired difference of post-training InfoNCE MI (bits) over (objective, "
                f"batch size, seed), {hi} - {lo}", stats.paired(wide[hi], wide[lo], margin=MARGIN_BITS)), SEED001))
    return found


def tracking(post: pd.DataFrame, probe: pd.DataFrame) -> list:
    """Post-training MI and the headline top-1 of the trained encoders correlate within each same-class pairing,
    and over all of them on the residuals from the pairing means (H(C) partialled out)."""
    joined = post[post.true_mi_bits.notna()].merge(probe[["objective", "pairing", "batch_size", "seed", "top1"]],
                                                   on=["objective", "pairing", "batch_size", "seed"])
    found = []
    for pairing, part in joined.groupby("pairing", sort=False):
        found.append((stats.Claim(
            f"seed001:mi_tracks_top1:{pairing}", f"post-training MI correlates positively with the headline top-1 "
            f"within pairing {pairing} (H(C) = {part.true_mi_bits.iloc[0]:g})", "Pearson r over the trained "
            "encoders of the pairing, post-training InfoNCE MI vs headline top-1",
            stats.correlation(part.mi_bits, part.top1, margin=MARGIN_R)), SEED001))
    if joined.pairing.nunique() > 1:
        residual = joined[["mi_bits", "top1"]] - joined.groupby("pairing")[["mi_bits", "top1"]].transform("mean")
        found.append((stats.Claim(
            "seed001:mi_tracks_top1:partial", "post-training MI correlates positively with the headline top-1 at a "
            "given H(C)", "Pearson r over the trained encoders of every same-class pairing of the residuals from the "
            "pairing means, post-training InfoNCE MI vs headline top-1",
            stats.correlation(residual.mi_bits, residual.top1, margin=MARGIN_R)), SEED001))
    return found
