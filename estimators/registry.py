"""Estimator registry: one name per (training objective, MI readout) pair.

``build(name, **hparams)`` returns an :class:`Estimator` whose ``loss(scores)`` is the training
objective (minimise; shape ``[...]``, one value per run) and ``estimate(scores)`` the MI readout in
nats (shape ``[...]``). The names are the keys used in params.yaml, MLflow tags and the CLI.
"""

from __future__ import annotations

import abc
import inspect
import math
from typing import Callable

import torch

from estimators import bounds, scoring_rules
from estimators._shapes import Tensor, check_scores, offdiag_logmeanexp

_REGISTRY: dict[str, type["Estimator"]] = {}


def register(cls: type["Estimator"]) -> type["Estimator"]:
    _REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    """Sorted names of every registered estimator."""
    return sorted(_REGISTRY)


def build(name: str, **hparams) -> "Estimator":
    """Instantiate estimator ``name``; unknown names or hyperparameters raise ValueError."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; available: {', '.join(available())}")
    cls = _REGISTRY[name]
    allowed = list(inspect.signature(cls.__init__).parameters)[1:]
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ValueError(f"estimator {name!r} takes hyperparameters {allowed or 'none'}, got unknown {unknown}")
    return cls(**hparams)


class Estimator(abc.ABC):
    """Base class. Subclasses set ``name``/``kind`` and implement ``_loss`` and ``_estimate``.

    ``parametrization`` says how scores map to the density ratio: ``pmi`` (r = e^c, the default)
    or ``pd`` (r = c, scores must be > 0; critics ensure it with a softplus output).
    """

    name: str = ""
    kind: str = ""  # "bound" (Type 1), "surrogate" (Type 2) or "plugin" (Type 3)
    parametrization: str = "pmi"

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


def _simple(name: str, kind: str, loss: Callable, estimate: Callable, doc: str) -> type[Estimator]:
    """An estimator without hyperparameters from a loss and a readout function."""
    cls = type(name, (Estimator,), {
        "name": name, "kind": kind, "__doc__": doc,
        "_loss": lambda self, s: loss(s), "_estimate": lambda self, s: estimate(s),
    })
    return register(cls)


DV = _simple("dv", "bound", lambda s: -bounds.dv_bound(s), bounds.dv_bound,
             "Donsker-Varadhan bound, trained and read out as DV.")
NWJ = _simple("nwj", "bound", lambda s: -bounds.nwj_bound(s), bounds.nwj_bound,
              "NWJ bound (e^(c-1) convention), trained and read out as NWJ.")
NWJPlugin = _simple("nwj_plugin", "plugin", lambda s: -bounds.nwj_bound(s), lambda s: bounds.plugin(s) - 1.0,
                    "NWJ-trained critic read out by plug-in: log r = c - 1 in the e^(c-1) convention.")
InfoNCE = _simple("infonce", "bound", lambda s: -bounds.infonce_bound(s), bounds.infonce_bound,
                  "InfoNCE with K = B (all in-row negatives); the value is <= log B.")
JS = _simple("js", "surrogate", lambda s: -bounds.js_fgan_bound(s), lambda s: bounds.nwj_bound(s + 1.0),
             "f-GAN JS training; readout NWJ(c + 1), which is tight for the JS optimum c = log r "
             "(the reference code's NWJ(c) is 1/e nat low).")
JSPlugin = _simple("js_plugin", "plugin", lambda s: -bounds.js_fgan_bound(s), bounds.plugin,
                   "f-GAN JS training, plug-in readout mean c_ii (= InfoNCE-anchor with K = 1, nu = 1).")
Chi2 = _simple("chi2", "plugin", bounds.chi2_loss, bounds.plugin,
               "chi2 density-ratio fitting (PCC / D-RFC), plug-in readout.")


@register
class SMILE(Estimator):
    """SMILE-tau: JS training, DV readout with the partition scores clipped to [-tau, tau]."""

    name, kind = "smile", "surrogate"

    def __init__(self, tau: float = 5.0) -> None:
        super().__init__()
        if not (isinstance(tau, (int, float)) and tau > 0):
            raise ValueError(f"smile tau must be > 0 (use dv for no clipping), got {tau!r}")
        self.tau = float(tau)
        self._set(tau=self.tau)

    def _loss(self, scores: Tensor) -> Tensor:
        return -bounds.js_fgan_bound(scores)

    def _estimate(self, scores: Tensor) -> Tensor:
        return bounds.smile_bound(scores, self.tau)


@register
class MINE(Estimator):
    """MINE: DV readout; the partition gradient uses an exponential moving average of E_q[e^c].

    The moving average is state: one value per run (shape ``[...]``), started from the first
    batch and updated at every ``loss`` call as ma <- (1 - ema) ma + ema E_q[e^c].
    """

    name, kind = "mine", "surrogate"

    def __init__(self, ema: float = 0.1) -> None:
        super().__init__()
        if not (isinstance(ema, (int, float)) and 0 < ema <= 1):
            raise ValueError(f"mine ema must be in (0, 1], got {ema!r}")
        self.ema = float(ema)
        self._set(ema=self.ema)
        self.log_moving_average: Tensor | None = None

    def reset(self) -> None:
        self.log_moving_average = None

    def _loss(self, scores: Tensor) -> Tensor:
        log_partition = offdiag_logmeanexp(scores).detach()
        previous = self.log_moving_average
        if previous is None or previous.shape != log_partition.shape or self.ema == 1:
            self.log_moving_average = log_partition
        else:  # the moving average in log space, so a large partition never overflows
            self.log_moving_average = torch.logaddexp(previous + math.log1p(-self.ema),
                                                      log_partition + math.log(self.ema))
        return bounds.mine_loss(scores, self.log_moving_average)

    def _estimate(self, scores: Tensor) -> Tensor:
        return bounds.dv_bound(scores)


@register
class FDIME(Estimator):
    """f-DIME (Letizia et al. 2024): an f-divergence variational loss, plug-in readout mean c_ii."""

    name, kind = "fdime", "plugin"

    def __init__(self, divergence: str = "kl") -> None:
        super().__init__()
        if divergence not in ("kl", "gan", "hd"):
            raise ValueError(f"fdime divergence must be one of 'kl', 'gan', 'hd', got {divergence!r}")
        self.divergence = divergence
        self._set(divergence=divergence)

    def _loss(self, scores: Tensor) -> Tensor:
        return bounds.fdime_loss(scores, self.divergence)


@register
class ScoringRule(Estimator):
    """Tensorized DRE with a symmetric proper scoring rule and an anchor (Tables 6-7).

    nu > 0: anchor-type, Fisher consistent, plug-in readout of log r. nu = 0: InfoNCE-type; r is
    identified only up to C(y), so the plug-in readout is biased by E[log C(y)] (the log rule's
    readout is then the InfoNCE bound log K - loss instead).
    """

    name, kind = "scoring_rule", "plugin"

    def __init__(self, rule: str = "log", alpha: float | None = None, nu: float = 1.0,
                 K: int | None = None, parametrization: str = "pmi") -> None:
        super().__init__()
        scoring_rules.check_rule(rule, alpha, scoring_rules.SYMMETRIC_RULES)
        self.rule, self.alpha, self.nu, self.K = rule, alpha, _check_nu(nu), K
        if K is not None and not (isinstance(K, int) and K >= 1):
            raise ValueError(f"K must be an integer >= 1 (default B - 1 with an anchor, B without), got {K!r}")
        self.parametrization = _check_parametrization(parametrization)
        self._set(rule=rule, alpha=alpha, nu=self.nu, K=K, parametrization=parametrization)

    def _loss(self, scores: Tensor) -> Tensor:
        return scoring_rules.tensorized_loss(self._log_ratio(scores), self.rule, self.alpha, self.nu, self.K)

    def _estimate(self, scores: Tensor) -> Tensor:
        if self.nu == 0 and self.rule == "log":
            B = scores.shape[-1]
            K = self.K or B
            return math.log(K) - self._loss(scores)
        return super()._estimate(scores)


def _preset(name: str, doc: str, **fixed) -> type[Estimator]:
    """A named ScoringRule with some hyperparameters fixed (the rest stay tunable)."""
    def __init__(self, nu: float = 1.0, K: int | None = None, parametrization: str = "pmi") -> None:
        ScoringRule.__init__(self, nu=nu, K=K, parametrization=parametrization, **fixed)
    return register(type(name, (ScoringRule,), {"name": name, "__doc__": doc, "__init__": __init__}))


InfoNCEAnchor = _preset("infonce_anchor", "InfoNCE-anchor (Eq. 4, App. B): log score with anchor nu; plug-in readout.",
                        rule="log")
Spherical = _preset("spherical", "Spherical-score anchor objective (pseudo-spherical, alpha = 2).",
                    rule="pseudo_spherical", alpha=2.0)
Brier = _preset("brier", "Brier-score anchor objective (power rule, alpha = 2).", rule="power", alpha=2.0)
InverseLog = _preset("inverse_log", "Symmetric inverse-log-score anchor objective.", rule="inverse_log")


@register
class BinaryRule(Estimator):
    """Asymmetric binary scoring rule DRE (Table 5): independent of K and nu; plug-in readout."""

    name, kind = "binary_rule", "plugin"

    def __init__(self, rule: str = "log", alpha: float | None = None, parametrization: str = "pmi") -> None:
        super().__init__()
        if rule not in scoring_rules.BINARY_RULES:
            raise ValueError(f"binary rule must be one of {list(scoring_rules.BINARY_RULES)}, got {rule!r}")
        if rule == "power" and (alpha is None or alpha in (0, 1) or not math.isfinite(alpha)):
            raise ValueError(f"binary power rule needs a finite alpha not in {{0, 1}} (2 is LSIF/chi2), got {alpha!r}")
        self.rule, self.alpha = rule, alpha
        self.parametrization = _check_parametrization(parametrization)
        self._set(rule=rule, alpha=alpha, parametrization=parametrization)

    def _loss(self, scores: Tensor) -> Tensor:
        return scoring_rules.binary_rule_loss(self._log_ratio(scores), self.rule, self.alpha)
