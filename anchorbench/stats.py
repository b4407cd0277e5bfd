"""Claims with verdicts: an experiment's raw per-seed / per-trial numbers turned into metrics.json entries.

Each claim an experiment makes ("InfoNCE-anchor has a smaller |bias| than NWJ at 6 bits") is one `Claim`: its
text, the statistic compared, and a `Comparison` of the data oriented so that the claim reads
"effect > margin". `decide` corrects one stage's claims together (Holm) and gives each a verdict:
"reproduced", "contradicted" or "not established". The margin is the smallest effect that counts, in the
data's units: an effect inside ``[-margin, margin]`` earns no verdict either way, so another CPU's rounding of a
negligible difference cannot flip one. With 2-3 seeds most orderings stay "not established", as they should.

    claims = decide([Claim("anchor_vs_nwj_6bits", "InfoNCE-anchor has a smaller |bias| than NWJ at 6 bits",
                           "mean paired difference of |bias| (bits), NWJ - anchor",
                           paired(nwj_abs_bias, anchor_abs_bias, margin=0.05))])  # one value per seed each
    metrics["claims"] = to_json(claims)  # and markdown_table(metrics["claims"]) for the README
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

REPRODUCED, CONTRADICTED, NOT_ESTABLISHED = "reproduced", "contradicted", "not established"
BOOTSTRAP_MIN_N = 10  # below this the percentile bootstrap is replaced by the t method (see `paired`)
_BLOCK = 1_000_000  # bootstrap indices drawn per block (bounds the memory; the draws do not depend on it)


@dataclass(frozen=True)
class Comparison:
    """The evidence for one claim "effect > margin", in the units of the data (a correlation: unitless).

    ``p_greater`` is the one-sided p-value for "effect > margin" (the claim), ``p_less`` for
    "effect < -margin" (its opposite, beyond the margin). The CI is two-sided at ``confidence`` and unadjusted:
    it describes the effect; verdicts come from the adjusted p-values. ``method`` says what produced the
    p-values: "t", "bootstrap", "fisher-z", "exact" (the data have no spread: decided by the effect's sign and
    the margin, p in {0, 1}), "insufficient" (too few pairs: both p-values 1), or "all of k (...)" (`all_of`).
    ``p_greater + p_less >= 1`` always holds (checked), so at most one of them is below 0.5.
    """

    method: str
    n: int  # pairs used
    dropped: int  # pairs dropped because a member was NaN or infinite
    estimate: float  # mean difference, or Pearson r
    sd: float  # SD of the differences (ddof=1); NaN for a correlation or n < 2
    ci_low: float
    ci_high: float
    confidence: float
    margin: float
    p_greater: float
    p_less: float

    def __post_init__(self):
        if not (0 <= self.p_greater <= 1 and 0 <= self.p_less <= 1 and self.p_greater + self.p_less >= 1 - 1e-9):
            raise ValueError(f"p-values must lie in [0, 1] with p_greater + p_less >= 1 (one-sided tests of "
                             f"opposite directions), got {self.p_greater} and {self.p_less}")


@dataclass(frozen=True)
class Claim:
    """One claim of a stage: ``id`` a stable key, ``text`` the claim as a reader sees it, ``statistic`` what is
    compared with its unit (e.g. "mean paired difference of |bias| (bits), NWJ - anchor"). ``decide`` fills
    in the Holm-adjusted p-values (for the claim and for its opposite) and the verdict."""

    id: str
    text: str
    statistic: str
    comparison: Comparison
    p_adjusted: float | None = None
    p_adjusted_opposite: float | None = None
    verdict: str | None = None


def paired(a: npt.ArrayLike, b: npt.ArrayLike, *, margin: float = 0.0, method: str = "t",
           confidence: float = 0.95, seed: int = 0, resamples: int = 10_000) -> Comparison:
    """The evidence for "a > b + margin" from matched pairs (same seed / trial): ``a`` and ``b`` shape ``[n]``,
    same units; the effect is their mean difference ``d = a - b``. Pairs with a NaN or infinite member are
    dropped and counted.

    ``method="t"``: Student t on the differences (CI ``mean ± t_{n-1} · sd / sqrt(n)``). ``"bootstrap"``: the
    percentile bootstrap of the mean (``resamples`` resamples drawn from ``seed``), with
    ``p_greater = (1 + #{means <= margin}) / (1 + resamples)`` and ``p_less`` likewise for ``>= -margin``;
    with fewer than `BOOTSTRAP_MIN_N` pairs the t method is used instead (and ``method`` says "t"), because
    the resamples of 2-3 seeds take a handful of values (two positive differences give only positive
    resamples, p ~ 1 / resamples). n < 2: "insufficient", no evidence either way. All differences identical:
    "exact", ``p_greater = 0`` if d > margin, ``p_less = 0`` if d < -margin, the other (or both) 1.
    """
    a, b = _vectors(a, b)
    keep = np.isfinite(a) & np.isfinite(b)
    return _mean_effect(a[keep] - b[keep], int(np.count_nonzero(~keep)), margin=margin, method=method,
                        confidence=confidence, seed=seed, resamples=resamples)


def one_sample(values: npt.ArrayLike, bound: float | npt.ArrayLike, *, side: str, margin: float = 0.0,
               method: str = "t", confidence: float = 0.95, seed: int = 0, resamples: int = 10_000) -> Comparison:
    """The evidence for "values stay below (or above) bound by more than margin", e.g. an InfoNCE estimate
    below log K. ``values`` shape ``[n]``; ``bound`` a number or shape ``[n]``, same units. The effect is
    oriented so that the claim reads "effect > margin": ``bound - values`` for ``side="below"``,
    ``values - bound`` for ``side="above"``; otherwise as `paired`."""
    if side not in ("below", "above"):
        raise ValueError(f"side must be 'below' or 'above', got {side!r}")
    values = np.asarray(values, dtype=float)
    bound = np.broadcast_to(np.asarray(bound, dtype=float), values.shape)
    a, b = (bound, values) if side == "below" else (values, bound)
    return paired(a, b, margin=margin, method=method, confidence=confidence, seed=seed, resamples=resamples)


def correlation(x: npt.ArrayLike, y: npt.ArrayLike, *, margin: float = 0.0, confidence: float = 0.95) -> Comparison:
    """The evidence for "x correlates positively with y, r > margin" (e.g. MI and probe accuracy within a
    pairing): Pearson r over the finite pairs of ``x`` and ``y`` (shape ``[n]``), Fisher-z CI and one-sided
    z-tests (``atanh r`` has SE ``1 / sqrt(n - 3)``); ``p_less`` is for r < -margin. n < 4 or a constant
    ``x`` or ``y``: "insufficient". ``|r| = 1``: "exact", decided by the sign as in `paired`."""
    x, y = _vectors(x, y)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    _check(margin, confidence)
    if margin >= 1:
        raise ValueError(f"a correlation margin must be below 1, got {margin}")
    n = x.size
    base = dict(n=n, dropped=int(np.count_nonzero(~keep)), sd=math.nan, confidence=confidence, margin=margin)
    if n < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return _insufficient(math.nan, **base)
    xc, yc = x - x.mean(), y - y.mean()
    r = float(np.clip(xc @ yc / math.sqrt((xc @ xc) * (yc @ yc)), -1.0, 1.0))
    if n < 4:
        return _insufficient(r, **base)
    if abs(r) == 1:
        return Comparison("exact", estimate=r, ci_low=r, ci_high=r, **_by_sign(r, margin), **base)
    z, se, q = math.atanh(r), 1 / math.sqrt(n - 3), sps.norm.ppf((1 + confidence) / 2)
    return Comparison("fisher-z", estimate=r, ci_low=math.tanh(z - q * se), ci_high=math.tanh(z + q * se),
                      p_greater=float(sps.norm.sf((z - math.atanh(margin)) / se)),
                      p_less=float(sps.norm.cdf((z + math.atanh(margin)) / se)), **base)


def all_of(comparisons: Sequence[Comparison]) -> Comparison:
    """The evidence for "every one of these effects > margin" as one comparison, e.g. "A has the smallest
    |bias| of all estimators" from the comparisons of every other estimator's |bias| with A's.

    An intersection-union test: the compound counts as one claim in `decide`'s Holm family (its components do
    not enter the family). ``p_greater`` is the largest component ``p_greater``: the compound is reproduced
    iff every component would be at the same level (no correction is needed when all must pass). ``p_less``
    is the smallest component ``p_less`` times k (Bonferroni, capped at 1): contradicted iff some component is
    significantly below -margin (another estimator significantly better) after correcting for the k chances.
    Estimate, SD, CI, n and dropped are those of the binding component (the largest ``p_greater``, first on
    ties: the closest competitor). The components must share margin and confidence.
    """
    if not comparisons:
        raise ValueError("all_of needs at least one comparison")
    if len({(c.margin, c.confidence) for c in comparisons}) > 1:
        raise ValueError("all_of needs comparisons with the same margin and confidence")
    binding = max(comparisons, key=lambda c: c.p_greater)
    k = len(comparisons)
    return replace(binding, method=f"all of {k} ({binding.method})",
                   p_less=min(1.0, k * min(c.p_less for c in comparisons)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order: the i-th smallest of m is multiplied by
    ``m - i + 1``, made non-decreasing along the sorted order and capped at 1."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * (p.size - np.arange(p.size))))
    return [float(v) for v in adjusted]


def decide(claims: Sequence[Claim], alpha: float = 0.05) -> list[Claim]:
    """One stage's claims with Holm-adjusted p-values and verdicts, in the input order.

    Holm runs over the stage's claims twice, once on the ``p_greater`` family (giving ``p_adjusted``) and
    once on the ``p_less`` family (``p_adjusted_opposite``), so the chance of any false "reproduced" in the
    stage is at most ``alpha``, and so is the chance of any false "contradicted". The verdict is "reproduced"
    if ``p_adjusted < alpha``, else "contradicted" if ``p_adjusted_opposite < alpha``, else "not
    established". A claim cannot be both: each comparison has ``p_greater + p_less >= 1``, adjusting only
    raises p-values, and ``alpha <= 0.5`` is required.
    """
    if not 0 < alpha <= 0.5:
        raise ValueError(f"alpha must be in (0, 0.5], got {alpha}")
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"claim ids must be unique within a stage, got {ids}")
    greater = holm([c.comparison.p_greater for c in claims])
    less = holm([c.comparison.p_less for c in claims])
    return [replace(c, p_adjusted=g, p_adjusted_opposite=lo, verdict=_verdict(g, lo, alpha))
            for c, g, lo in zip(claims, greater, less)]


def to_json(claims: Sequence[Claim]) -> list[dict]:
    """The decided claims as strict-JSON metrics.json entries (a NaN or infinite number becomes None)."""
    undecided = [c.id for c in claims if c.verdict is None]
    if undecided:
        raise ValueError(f"claims {undecided} have no verdict yet: pass them through decide() first")
    return [{"id": c.id, "claim": c.text, "statistic": c.statistic, "n": c.comparison.n,
             "n_dropped": c.comparison.dropped, "estimate": _finite(c.comparison.estimate),
             "ci_low": _finite(c.comparison.ci_low), "ci_high": _finite(c.comparison.ci_high),
             "confidence": float(c.comparison.confidence), "margin": float(c.comparison.margin),
             "p_adjusted": _finite(c.p_adjusted), "p_adjusted_opposite": _finite(c.p_adjusted_opposite),
             "verdict": c.verdict, "method": c.comparison.method} for c in claims]


def markdown_table(entries: Sequence[Mapping], digits: int = 3) -> str:
    """One markdown table of metrics.json claim entries (the dicts of `to_json`, e.g. read back from the
    file): claim | statistic | n | estimate [CI] | verdict, every number with ``digits`` decimals."""
    lines = ["| claim | statistic | n | estimate [CI] | verdict |", "|---|---|---|---|---|"]
    for e in entries:
        n = f"{e['n']} ({e['n_dropped']} dropped)" if e["n_dropped"] else str(e["n"])
        effect = (f"{_number(e['estimate'], digits)} "
                  f"[{_number(e['ci_low'], digits)}, {_number(e['ci_high'], digits)}]")
        lines.append(f"| {_cell(e['claim'])} | {_cell(e['statistic'])} | {n} | {effect} | {e['verdict']} |")
    return "\n".join(lines) + "\n"


def _vectors(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Two float vectors of the same length, else a ValueError."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D sequences of the same length (matched pairs), got shapes {a.shape} "
                         f"and {b.shape}")
    return a, b


def _check(margin: float, confidence: float) -> None:
    """A ValueError unless ``margin >= 0`` is finite and ``0 < confidence < 1``."""
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _mean_effect(d: np.ndarray, dropped: int, *, margin: float, method: str, confidence: float, seed: int,
                 resamples: int) -> Comparison:
    """The comparison of finite differences ``d`` (shape ``[n]``) for `paired`."""
    _check(margin, confidence)
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    base = dict(n=d.size, dropped=dropped, confidence=confidence, margin=margin)
    if d.size < 2:
        return _insufficient(float(d[0]) if d.size else math.nan, sd=math.nan, **base)
    if np.ptp(d) == 0:
        effect = float(d[0])
        return Comparison("exact", estimate=effect, sd=0.0, ci_low=effect, ci_high=effect,
                          **_by_sign(effect, margin), **base)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if method == "bootstrap" and d.size >= BOOTSTRAP_MIN_N:
        return Comparison("bootstrap", estimate=mean, sd=sd, **_bootstrap(d, margin, confidence, seed, resamples),
                          **base)
    se, df = sd / math.sqrt(d.size), d.size - 1
    half = float(sps.t.ppf((1 + confidence) / 2, df)) * se
    return Comparison("t", estimate=mean, sd=sd, ci_low=mean - half, ci_high=mean + half,
                      p_greater=float(sps.t.sf((mean - margin) / se, df)),
                      p_less=float(sps.t.cdf((mean + margin) / se, df)), **base)


def _bootstrap(d: np.ndarray, margin: float, confidence: float, seed: int, resamples: int) -> dict:
    """Percentile-bootstrap CI and p-values of the mean of ``d``; the draws are the same for every block size."""
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK // d.size)
    means = np.concatenate([d[rng.integers(0, d.size, size=(min(rows, resamples - start), d.size))].mean(axis=1)
                            for start in range(0, resamples, rows)])
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return dict(ci_low=float(low), ci_high=float(high),
                p_greater=(1 + int(np.count_nonzero(means <= margin))) / (1 + resamples),
                p_less=(1 + int(np.count_nonzero(means >= -margin))) / (1 + resamples))


def _insufficient(estimate: float, **base) -> Comparison:
    """Too few pairs for a test: the estimate if any, no CI, no evidence either way."""
    return Comparison("insufficient", estimate=estimate, ci_low=math.nan, ci_high=math.nan, p_greater=1.0,
                      p_less=1.0, **base)


def _by_sign(effect: float, margin: float) -> dict:
    """p-values of an effect known without spread: 0 for the side of the margin band it lies beyond, else 1."""
    return dict(p_greater=0.0 if effect > margin else 1.0, p_less=0.0 if effect < -margin else 1.0)


def _verdict(p_adjusted: float, p_adjusted_opposite: float, alpha: float) -> str:
    if p_adjusted < alpha:
        return REPRODUCED
    return CONTRADICTED if p_adjusted_opposite < alpha else NOT_ESTABLISHED


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _number(value: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals ("n/a" for None); a negative zero prints as zero."""
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell ("|bias|" would split it)."""
    return text.replace("|", r"\|").replace("\n", " ")
