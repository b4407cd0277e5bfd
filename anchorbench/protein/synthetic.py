"""The synthetic stand-in for ProtT5 embeddings + OmniPath interactions (the real files are not reachable here).

Each protein has latent factors z ~ N(0, I_k). Its 1024-d "embedding" is a fixed random non-linear map of z plus
Gaussian noise, e = W2 tanh(W1 z) / sqrt(h) + noise * eps, so the embedding carries the latent rule only
partially. Roles come from the first factor: the proteins with the largest z_0 are the sources (kinases,
ligands); targets are every protein (kinase -> substrate) or the rest (ligand -> receptor: disjoint roles).
A directed pair (i, j) has interaction weight w_ij = exp(beta * u_i . v_j / sqrt(r)) with low-rank source and
target factors u = A z, v = B z; forbidden roles have weight 0.

Exactly ``n_pairs`` distinct pairs are drawn, and every protein takes part in one: first each protein draws one
partner with probability proportional to w (sources pick a target, the others a source), then the rest of the
pairs are drawn without replacement with probability proportional to w (Gumbel top-k). Two references score the
query grid: the Bayes ranking, by each pair's probability of being listed (:func:`inclusion_counts`: the
generator's own procedure re-run ``replicates`` times; the first stage makes it depend on the proteins' other
weights, so it is not a function of w_ij alone), which is the AUROC ceiling; and the true log-weight itself.

The kinase setting is harder than the ligand one (a higher-rank rule, a weaker signal, noisier embeddings),
as the real sets are for every estimator in the paper.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from anchorbench.protein.dataset import MASKED, ProteinSet, Truth

EMBED_DIM = 1024
LATENT_DIM = 16
HIDDEN = 256


@dataclass(frozen=True)
class Setting:
    n_proteins: int
    n_pairs: int
    n_sources: int  # proteins that may be a source (kinases / ligands)
    disjoint_roles: bool  # ligand -> receptor: a source is never a target
    rank: int  # rank of the latent interaction rule
    beta: float  # signal strength of the rule
    noise: float  # embedding noise SD (the non-linear part has unit scale per coordinate)


# Sized like the real sets (Gowri et al.: 22,229 kinase-target pairs over 5,150 proteins; 4,496 ligand-receptor
# pairs over 1,702 proteins). Source counts and rule strengths are the stand-in's choices.
SETTINGS = {
    "kinase": Setting(n_proteins=5150, n_pairs=22229, n_sources=1500, disjoint_roles=False, rank=6, beta=1.5,
                      noise=1.0),
    "ligand": Setting(n_proteins=1702, n_pairs=4496, n_sources=700, disjoint_roles=True, rank=2, beta=3.0,
                      noise=0.5),
}


def scaled(setting: Setting, scale: float) -> Setting:
    """The same rule over ``scale`` times the proteins and pairs (smoke tests)."""
    if scale == 1:
        return setting
    n = max(20, round(setting.n_proteins * scale))
    return Setting(n, max(n, round(setting.n_pairs * scale)), max(2, round(setting.n_sources * scale)),
                   setting.disjoint_roles, setting.rank, setting.beta, setting.noise)


def generate(name: str, scale: float = 1.0, seed: int = 0) -> ProteinSet:
    """The stand-in dataset ``name`` (kinase | ligand); the same (name, scale, seed) gives the same arrays."""
    if name not in SETTINGS:
        raise ValueError(f"synthetic protein dataset must be one of {sorted(SETTINGS)}, got {name!r}")
    s = scaled(SETTINGS[name], scale)
    rng = np.random.default_rng([seed, sorted(SETTINGS).index(name)])
    n = s.n_proteins
    z = rng.standard_normal((n, LATENT_DIM))

    # Embeddings: a fixed random non-linear map of the factors, plus noise.   [n, 1024]
    w1 = rng.standard_normal((LATENT_DIM, HIDDEN)) / np.sqrt(LATENT_DIM)
    w2 = rng.standard_normal((HIDDEN, EMBED_DIM))
    embeddings = (np.tanh(z @ w1) @ w2 / np.sqrt(HIDDEN) + s.noise * rng.standard_normal((n, EMBED_DIM)))

    # Roles from the first factor; the rule from low-rank projections of all factors.
    order = np.argsort(-z[:, 0], kind="stable")
    source_role = np.zeros(n, bool)
    source_role[order[:s.n_sources]] = True
    target_role = ~source_role if s.disjoint_roles else np.ones(n, bool)
    u = z @ rng.standard_normal((LATENT_DIM, s.rank)) / np.sqrt(LATENT_DIM)
    v = z @ rng.standard_normal((LATENT_DIM, s.rank)) / np.sqrt(LATENT_DIM)
    truth = Truth(u, v, s.beta, source_role, target_role)
    src, dst = _draw_pairs(truth.log_weight(np.arange(n), np.arange(n)), s.n_pairs, source_role, rng)
    accessions = np.array([f"SYN{name[0].upper()}{i:05d}" for i in range(n)])
    truth = dataclasses.replace(truth, **inclusion_model(truth, s.n_pairs))
    return ProteinSet(name, accessions, embeddings.astype(np.float32), src, dst, truth)


def inclusion_model(truth: Truth, n_pairs: int) -> dict:
    """The parameters of ``Truth.inclusion``: each pair's probability of being listed by :func:`_draw_pairs`.

    First stage: a source i draws target j with probability w_ij / row_norm_i, a non-source j draws source i with
    w_ij / col_norm_j, independently, so (i, j) is listed there with p1 = 1 - (1 - w/row)(1 - w/col). Second stage:
    the remaining n_pairs - sum(p1) pairs are a without-replacement draw in proportion to w (Gumbel top-k); over a
    population this large a pair's inclusion is 1 - exp(-lambda w), lambda solving sum (1 - p1)(1 - e^-lambda w) =
    n_pairs - sum(p1). Weights are scaled by exp(-log_scale) (the largest log-weight) to stay finite.
    """
    n = len(truth.u)
    lw = truth.log_weight(np.arange(n), np.arange(n))
    allowed = lw > MASKED / 2
    log_scale = float(lw[allowed].max())
    w = np.where(allowed, np.exp(lw - log_scale), 0.0)  # [n, n]
    src = truth.source_role
    row_norm = np.where(src, w.sum(axis=1), np.nan)
    col_norm = np.where(src, np.nan, w[src].sum(axis=0))
    own = w / np.where(src, row_norm, np.inf)[:, None]
    picked = w / np.where(src, np.inf, col_norm)[None, :]
    first = 1 - (1 - own) * (1 - picked)
    rest = n_pairs - first.sum()
    gap = lambda log_lambda: ((1 - first) * -np.expm1(-np.exp(log_lambda) * w)).sum() - rest  # noqa: E731
    return {"row_norm": row_norm, "col_norm": col_norm, "log_lambda": float(brentq(gap, -60.0, 60.0)),
            "log_scale": log_scale}


def inclusion_counts(truth: Truth, n_pairs: int, replicates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """How often each ordered pair is listed over ``replicates`` fresh runs of the generator's pair draw
    (:func:`_draw_pairs`) on the same proteins: ``(flat index i * n + j, count)`` of every pair drawn at least
    once, sorted by index. count / replicates estimates the pair's inclusion probability (Monte Carlo)."""
    n = len(truth.u)
    log_w = truth.log_weight(np.arange(n), np.arange(n))
    rng = np.random.default_rng([seed, 1])
    drawn = [src * n + dst for src, dst in (_draw_pairs(log_w, n_pairs, truth.source_role, rng)
                                             for _ in range(replicates))]
    index, count = np.unique(np.concatenate(drawn), return_counts=True)
    return index.astype(np.int64), count.astype(np.int32)


def _draw_pairs(log_w: np.ndarray, n_pairs: int, source_role: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``n_pairs`` distinct (src, dst) with probability increasing in ``log_w`` [n, n]; every protein used."""
    n = len(log_w)
    allowed = log_w > MASKED / 2
    if allowed.sum() < n_pairs:
        raise ValueError(f"the roles allow only {allowed.sum()} pairs, fewer than the {n_pairs} asked for")
    gumbel = lambda shape: -np.log(-np.log(rng.uniform(size=shape)))  # noqa: E731
    # Each protein's own pair: a source picks a target, any other protein picks a source (Gumbel-max ~ w).
    own = np.empty(n, np.int64)
    own[source_role] = np.argmax(log_w[source_role] + gumbel((source_role.sum(), n)), axis=1)
    others = ~source_role
    own[others] = np.argmax(log_w[:, others].T + gumbel((others.sum(), n)), axis=1)
    keys = np.where(source_role, np.arange(n) * n + own, own * n + np.arange(n))
    first = np.unique(keys)
    # The rest without replacement, probability ~ w (Gumbel top-k over the allowed, not yet chosen pairs).
    score = np.where(allowed, log_w + gumbel((n, n)), -np.inf).ravel()
    score[first] = -np.inf
    rest = np.argpartition(-score, n_pairs - len(first))[: n_pairs - len(first)]
    chosen = np.sort(np.concatenate([first, rest]))
    return chosen // n, chosen % n
