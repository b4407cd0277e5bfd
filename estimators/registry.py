"""Estimator registry: one name per (training objective, MI readout) pair.

``build(name, **hparams)`` returns an :class:`Estimator` whose ``loss(scores)`` is the training
objective (minimise; shape ``[...]``, one value per run) and ``estimate(scores)`` the MI readout in
nats (shape ``[...]``). The names are the keys used in params.yaml, MLflow tags and the CLI.
"""

from __future__ import annotations

import abc
import inspect
import itertools
import json
import math
import re

import torch
import yaml

from estimators import bounds, scoring_rules
from estimators._shapes import Tensor, check_scores, offdiag_logmeanexp

_REGISTRY: dict[str, type["Estimator"]] = {}


def register(cls: type["Estimator"]) -> type["Estimator"]:
    _REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    """Sorted names of every registered estimator."""
    return sorted(_REGISTRY)


def hyperparameters(name: str) -> list[str]:
    """The hyperparameters estimator ``name`` takes (its constructor's arguments)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; available: {', '.join(available())}")
    return list(inspect.signature(_REGISTRY[name].__init__).parameters)[1:]


def build(name: str, **hparams) -> "Estimator":
    """Instantiate estimator ``name``; unknown names or hyperparameters raise ValueError."""
    allowed = hyperparameters(name)
    cls = _REGISTRY[name]
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ValueError(f"estimator {name!r} takes hyperparameters {allowed or 'none'}, got unknown {unknown}")
    return cls(**hparams)


def label(name: str, hparams: dict | None = None) -> str:
    """The one name of an estimator with fixed hyperparameters, used in params.yaml, tables, MLflow tags and
    figures: ``infonce_anchor``, ``infonce_anchor(K=1)``, ``spherical(parametrization=pd)``. Hyperparameters equal
    to the estimator's defaults are left out and the rest sorted, so one configuration has exactly one label."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; available: {', '.join(available())}")
    defaults = {k: p.default for k, p in inspect.signature(_REGISTRY[name].__init__).parameters.items()}
    shown = {k: v for k, v in sorted((hparams or {}).items()) if k not in defaults or v != defaults[k]}
    return name + (f"({', '.join(f'{k}={_format(v)}' for k, v in shown.items())})" if shown else "")


def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    return str(value)


_LABEL = re.compile(r"([a-z][a-z0-9_]*)(?:\((.*)\))?")


def parse_label(text: str) -> tuple[str, dict]:
    """``"infonce_anchor(K=1, nu=0.5)"`` -> ``("infonce_anchor", {"K": 1, "nu": 0.5})``: the registry name and
    hyperparameters of a label (values read as YAML scalars); ValueError naming what is wrong, including
    hyperparameters the estimator does not take."""
    match = _LABEL.fullmatch(str(text).replace(" ", ""))
    if not match:
        raise ValueError(f"estimator {text!r} must look like name or name(key=value, ...), e.g. infonce_anchor(K=1)")
    name, args = match.group(1), match.group(2)
    hparams = {}
    for item in filter(None, (args or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"estimator {text!r}: {item!r} must look like key=value")
        hparams[key] = yaml.safe_load(value)
    build(name, **hparams)  # unknown names and hyperparameters raise here, naming the allowed ones
    return name, hparams


def canonical(text: str) -> str:
    """The canonical label of ``text`` (defaults dropped, keys sorted): infonce_anchor(nu=1) -> infonce_anchor."""
    return label(*parse_label(text))


# The papers' names of the configurations the experiments run (a display column only: labels are the names).
PAPER_NAMES = {
    "dv": "DV", "nwj": "NWJ", "nwj_plugin": "NWJ (plug-in)", "mine": "MINE", "infonce": "InfoNCE",
    "js": "JS (f-GAN, NWJ readout)", "js_plugin": "JS (K = 1, nu = 1)", "smile": "SMILE (tau = 5)",
    "chi2": "chi2 (PCC)", "fdime": "f-DIME (KL)", "infonce_anchor": "InfoNCE-anchor",
    "infonce_anchor(K=1)": "JS (K = 1)", "spherical": "Spherical", "spherical(parametrization=pd)": "Spherical (PD)",
    "brier": "Brier", "inverse_log": "inverse log", "scoring_rule(nu=0)": "InfoNCE",
    "binary_rule(alpha=2, parametrization=pd, rule=power)": "chi2 (LSIF, PD)",
}


def paper_name(text: str) -> str:
    """The paper's name of a label (``infonce_anchor(K=1)`` -> ``JS (K = 1)``); the label itself if it has none."""
    return PAPER_NAMES.get(canonical(text), text)


def run_key(run) -> tuple[str, str]:
    """Runs (anything with ``estimator`` and ``hparams``) with equal keys can share one estimator object."""
    return run.estimator, json.dumps(run.hparams, sort_keys=True, default=str)


def build_slices(runs: list) -> list[tuple["Estimator", int, int]]:
    """One estimator object per contiguous block of runs with equal ``run_key`` (sort the runs by it first):
    ``(estimator, first run, end run)``. A batched module evaluates each slice of its score stack with its own
    object (MINE keeps a moving average per slice)."""
    slices, start = [], 0
    for _, same in itertools.groupby(runs, key=run_key):
        first, n = next(same), 1 + sum(1 for _ in same)
        slices.append((build(first.estimator, **first.hparams), start, start + n))
        start += n
    return slices


class Estimator(abc.ABC):
    """Base class of every estimator: a registered subclass sets ``name`` and implements ``_loss``
    (the training objective) and, unless the plug-in readout applies, ``_estimate`` (the MI readout).

    ``parametrization`` says how scores map to the density ratio: ``pmi`` (r = e^c, the default)
    or ``pd`` (r = c, scores must be > 0; critics ensure it with a softplus output).
    ``identifies_ratio`` says whether the trained critic identifies the pointwise ratio itself
    (Fisher consistency: its optimum is log r up to nothing), so that ``log_ratio`` is the PMI; where
    it is False the critic's optimum is log r only up to a constant (DV, MINE) or up to a function
    C(y) of y (InfoNCE), and ``log_ratio`` is not a PMI a threshold can be put on.
    """

    name: str = ""
    parametrization: str = "pmi"
    identifies_ratio: bool = True

    def __init__(self) -> None:
        self.hparams: dict = {}

    def _set(self, **hparams) -> None:
        self.hparams.update(hparams)

    def _log_ratio(self, scores: Tensor) -> Tensor:
        return scores if self.parametrization == "pmi" else scores.log()

    def _check(self, scores: Tensor, validate: bool) -> None:
        if validate:
            check_scores(scores, positive=self.parametrization == "pd")
        else:
            check_scores(scores, finite=False)

    def loss(self, scores: Tensor, validate: bool = True) -> Tensor:
        """Training loss, ``[..., B, B] -> [...]``. ``validate=False`` skips the (syncing) finiteness check."""
        self._check(scores, validate)
        return self._loss(scores)

    def estimate(self, scores: Tensor, validate: bool = True) -> Tensor:
        """MI readout in nats, ``[..., B, B] -> [...]``."""
        self._check(scores, validate)
        return self._estimate(scores)

    def log_ratio(self, scores: Tensor) -> Tensor:
        """Pointwise log density ratio (PMI, nats) implied by critic outputs, elementwise: any shape.

        Meaningful as a PMI only where ``identifies_ratio``; otherwise the critic's value up to C(y)
        or a constant (see the class docstring).
        """
        if self.parametrization == "pd" and not bool((scores > 0).all()):
            raise ValueError("pd-parametrized scores must be > 0 (use a critic with output='pd')")
        return self._log_ratio(scores)

    @abc.abstractmethod
    def _loss(self, scores: Tensor) -> Tensor:
        """Training loss of valid scores, ``[..., B, B] -> [...]``."""

    def _estimate(self, scores: Tensor) -> Tensor:
        return bounds.plugin(self._log_ratio(scores))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams.items())
        return f"{type(self).__name__}({args})"


def _check_parametrization(parametrization: str) -> str:
    if parametrization not in ("pmi", "pd"):
        raise ValueError(f"parametrization must be 'pmi' (r = e^c) or 'pd' (r = c > 0), got {parametrization!r}")
    return parametrization


def _check_nu(nu: float) -> float:
    if not (isinstance(nu, (int, float)) and math.isfinite(nu) and nu >= 0):
        raise ValueError(f"nu must be a finite number >= 0 (0 drops the anchor), got {nu!r}")
    return float(nu)


# Type 1: variational bounds, trained and read out as the same bound.

@register
class DV(Estimator):
    """Donsker-Varadhan bound, trained and read out as DV (critic = log r up to a constant)."""

    name, identifies_ratio = "dv", False

    def _loss(self, s: Tensor) -> Tensor:
        return -bounds.dv_bound(s)

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.dv_bound(s)


@register
class NWJ(Estimator):
    """NWJ bound (e^(c-1) convention), trained and read out as NWJ; optimum c = 1 + log r."""

    name = "nwj"

    def _loss(self, s: Tensor) -> Tensor:
        return -bounds.nwj_bound(s)

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.nwj_bound(s)

    def _log_ratio(self, s: Tensor) -> Tensor:
        return s - 1.0


@register
class NWJPlugin(NWJ):
    """NWJ-trained critic read out by plug-in: log r = c - 1 in the e^(c-1) convention."""

    name = "nwj_plugin"

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.plugin(self._log_ratio(s))


@register
class InfoNCE(Estimator):
    """InfoNCE with K = B (all in-row negatives); the value is <= log B (critic = log r + C(y))."""

    name, identifies_ratio = "infonce", False

    def _loss(self, s: Tensor) -> Tensor:
        return -bounds.infonce_bound(s)

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.infonce_bound(s)


# Type 2: a surrogate objective with a bound readout.

@register
class JS(Estimator):
    """f-GAN JS training; readout NWJ(c + 1), which is tight for the JS optimum c = log r
    (the reference code's NWJ(c) is 1/e nat low)."""

    name = "js"

    def _loss(self, s: Tensor) -> Tensor:
        return -bounds.js_fgan_bound(s)

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.nwj_bound(s + 1.0)


@register
class SMILE(JS):
    """SMILE-tau: JS training, DV readout with the partition scores clipped to [-tau, tau]."""

    name = "smile"

    def __init__(self, tau: float = 5.0) -> None:
        super().__init__()
        if not (isinstance(tau, (int, float)) and tau > 0):
            raise ValueError(f"smile tau must be > 0 (use dv for no clipping), got {tau!r}")
        self.tau = float(tau)
        self._set(tau=self.tau)

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.smile_bound(s, self.tau)


@register
class MINE(Estimator):
    """MINE: DV readout; the partition gradient uses an exponential moving average of E_q[e^c].

    The moving average is state: one value per run (shape ``[...]``), started from the first
    batch and updated at every ``loss`` call as ma <- (1 - ema) ma + ema E_q[e^c].
    """

    name, identifies_ratio = "mine", False

    def __init__(self, ema: float = 0.1) -> None:
        super().__init__()
        if not (isinstance(ema, (int, float)) and 0 < ema <= 1):
            raise ValueError(f"mine ema must be in (0, 1], got {ema!r}")
        self.ema = float(ema)
        self._set(ema=self.ema)
        self.log_moving_average: Tensor | None = None

    def _loss(self, s: Tensor) -> Tensor:
        log_partition = offdiag_logmeanexp(s).detach()
        previous = self.log_moving_average
        if previous is None or previous.shape != log_partition.shape or self.ema == 1:
            self.log_moving_average = log_partition
        else:  # the moving average in log space, so a large partition never overflows
            self.log_moving_average = torch.logaddexp(previous + math.log1p(-self.ema),
                                                      log_partition + math.log(self.ema))
        return bounds.mine_loss(s, self.log_moving_average)

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.dv_bound(s)


# Type 3: density-ratio fitting with the plug-in readout mean(log r_ii).

@register
class JSPlugin(JS):
    """f-GAN JS training, plug-in readout mean c_ii (= InfoNCE-anchor with K = 1, nu = 1)."""

    name = "js_plugin"

    def _estimate(self, s: Tensor) -> Tensor:
        return bounds.plugin(s)


@register
class Chi2(Estimator):
    """chi2 density-ratio fitting (PCC / D-RFC), plug-in readout."""

    name = "chi2"

    def _loss(self, s: Tensor) -> Tensor:
        return bounds.chi2_loss(s)


@register
class FDIME(Estimator):
    """f-DIME (Letizia et al. 2024): an f-divergence variational loss, plug-in readout mean c_ii."""

    name = "fdime"

    def __init__(self, divergence: str = "kl") -> None:
        super().__init__()
        if divergence not in ("kl", "gan", "hd"):
            raise ValueError(f"fdime divergence must be one of 'kl', 'gan', 'hd', got {divergence!r}")
        self.divergence = divergence
        self._set(divergence=divergence)

    def _loss(self, s: Tensor) -> Tensor:
        return bounds.fdime_loss(s, self.divergence)


@register
class ScoringRule(Estimator):
    """Tensorized DRE with a symmetric proper scoring rule and an anchor (Tables 6-7).

    nu > 0: anchor-type, Fisher consistent, plug-in readout of log r. nu = 0: InfoNCE-type; r is
    identified only up to C(y), so the plug-in readout is biased by E[log C(y)] (the log rule's
    readout is then the InfoNCE bound log K - loss instead).
    """

    name = "scoring_rule"

    def __init__(self, rule: str = "log", alpha: float | None = None, nu: float = 1.0,
                 K: int | None = None, parametrization: str = "pmi") -> None:
        super().__init__()
        scoring_rules.check_rule(rule, alpha, scoring_rules.SYMMETRIC_RULES)
        self.rule, self.alpha, self.nu, self.K = rule, alpha, _check_nu(nu), K
        if K is not None and not (isinstance(K, int) and K >= 1):
            raise ValueError(f"K must be an integer >= 1 (default B - 1 with an anchor, B without), got {K!r}")
        self.parametrization = _check_parametrization(parametrization)
        self._set(rule=rule, alpha=alpha, nu=self.nu, K=K, parametrization=parametrization)

    @property
    def identifies_ratio(self) -> bool:
        return self.nu > 0

    def _loss(self, s: Tensor) -> Tensor:
        return scoring_rules.tensorized_loss(self._log_ratio(s), self.rule, self.alpha, self.nu, self.K)

    def _estimate(self, s: Tensor) -> Tensor:
        if self.nu == 0 and self.rule == "log":
            return math.log(self.K or s.shape[-1]) - self._loss(s)
        return super()._estimate(s)


class AnchorRule(ScoringRule):
    """A ScoringRule whose rule (and alpha) the subclass fixes; nu, K and the parametrization stay tunable."""

    rule: str = "log"
    alpha: float | None = None

    def __init__(self, nu: float = 1.0, K: int | None = None, parametrization: str = "pmi") -> None:
        super().__init__(type(self).rule, type(self).alpha, nu, K, parametrization)


@register
class InfoNCEAnchor(AnchorRule):
    """InfoNCE-anchor (Eq. 4, App. B): log score with anchor nu; plug-in readout."""

    name, rule = "infonce_anchor", "log"


@register
class Spherical(AnchorRule):
    """Spherical-score anchor objective (pseudo-spherical, alpha = 2)."""

    name, rule, alpha = "spherical", "pseudo_spherical", 2.0


@register
class Brier(AnchorRule):
    """Brier-score anchor objective (power rule, alpha = 2)."""

    name, rule, alpha = "brier", "power", 2.0


@register
class InverseLog(AnchorRule):
    """Symmetric inverse-log-score anchor objective."""

    name, rule = "inverse_log", "inverse_log"


@register
class BinaryRule(Estimator):
    """Asymmetric binary scoring rule DRE (Table 5): independent of K and nu; plug-in readout."""

    name = "binary_rule"

    def __init__(self, rule: str = "log", alpha: float | None = None, parametrization: str = "pmi") -> None:
        super().__init__()
        if rule not in scoring_rules.BINARY_RULES:
            raise ValueError(f"binary rule must be one of {list(scoring_rules.BINARY_RULES)}, got {rule!r}")
        if rule == "power" and (alpha is None or alpha in (0, 1) or not math.isfinite(alpha)):
            raise ValueError(f"binary power rule needs a finite alpha not in {{0, 1}} (2 is LSIF/chi2), got {alpha!r}")
        self.rule, self.alpha = rule, alpha
        self.parametrization = _check_parametrization(parametrization)
        self._set(rule=rule, alpha=alpha, parametrization=parametrization)

    def _loss(self, s: Tensor) -> Tensor:
        return scoring_rules.binary_rule_loss(self._log_ratio(s), self.rule, self.alpha)
