"""The SSL experiment's params.yaml sections (``ssl_data``, ``ssl_tune``, ``ssl``) and their profiles.

Objectives are estimator labels (``anchorbench.sections.Label``). Every objective whose label leaves ``K`` unset
trains with K = B - 1 candidates per row (the positive and B - 2 negatives: seed 001's 2K - 1 convention with
K = B/2 pairs), and every one that takes ``nu`` without fixing it gets ``ssl.nu``.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

import estimators
from anchorbench.sections import DataSection, Label, StudyParams, TrainSection, TuneSection, ordered_range

# A pairing: the CDP attributes two views share (c colour, d digit, p position; H(C) = 2 bits each) or
# SimCLR augmentations of one image ("aug"; true MI unknown).
Pairing = Literal["c", "d", "p", "cd", "cp", "dp", "cdp", "aug"]
# The paper's five objectives (Sec. 4.3), as labels: InfoNCE, InfoNCE-anchor, JS (K = 1), Spherical and chi2,
# the last two in the PD parametrization r = c > 0 (anchorbench.ssl.objectives).
OBJECTIVES: tuple[str, ...] = ("scoring_rule(nu=0)", "infonce_anchor", "infonce_anchor(K=1)",
                               "spherical(parametrization=pd)", "binary_rule(alpha=2, parametrization=pd, rule=power)")
INFONCE = "scoring_rule(nu=0)"  # the in-training InfoNCE bound log K - loss, capped at log K
RANDOM_INIT = "random_init"  # the baseline row: the untrained encoder of a seed (no objective), probed and read out

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config).
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"ssl_data.glyphs_per_digit": 40, "ssl_data.probe_sizes": [256, 128, 256],
              "ssl.dataset": "cdp", "ssl.pairings": ["c", "cdp"], "ssl.seeds": 1, "ssl.steps": 4, "ssl.batch_size": 16,
              "ssl.encoder": "convnet", "ssl.width": 4, "ssl.probe_steps": 50, "ssl.post_pairs": 256,
              "ssl.post_batch_size": 64, "ssl.post_steps": 20, "ssl_tune.study.n_trials": 2, "ssl_tune.steps": 3},
    "default": {"ssl_data.glyphs_per_digit": 400, "ssl_data.probe_sizes": [2048, 512, 1024],
                "ssl.dataset": "cdp", "ssl.pairings": ["c", "cd", "cdp"], "ssl.seeds": 7, "ssl.steps": 80,
                "ssl.batch_size": 64, "ssl.encoder": "convnet", "ssl.width": 8, "ssl.probe_steps": 300,
                "ssl.post_pairs": 2048, "ssl.post_batch_size": 256, "ssl.post_steps": 200,
                "ssl_tune.study.n_trials": 3, "ssl_tune.steps": 60},
    "paper": {"ssl_data.glyphs_per_digit": 800, "ssl_data.probe_sizes": [40000, 10000, 10000],
              "ssl.dataset": "cifar100", "ssl.pairings": ["aug"], "ssl.seeds": 1, "ssl.steps": 195_000,
              "ssl.batch_size": 256, "ssl.encoder": "resnet18", "ssl.width": 64, "ssl.probe_steps": 3000,
              "ssl.post_pairs": 50000, "ssl.post_batch_size": 1024, "ssl.post_steps": 5000,
              "ssl_tune.study.n_trials": 20, "ssl_tune.steps": 10_000},
}


class CDPDataParams(DataSection):
    """``ssl_data`` stage: the glyph bank and the labelled probe images of the CDP dataset (MNIST glyphs from the
    mirror; CIFAR-100 for the paper profile)."""

    glyph_source: Literal["auto", "mnist", "sklearn"] = "auto"  # auto: MNIST from the mirror, else sklearn digits
    digits: list[int] = Field([0, 1, 2, 3], min_length=4, max_length=4)  # the 4 glyph classes
    glyphs_per_digit: int | None = Field(None, ge=8)  # instances per digit (half train, half test glyphs)
    probe_sizes: list[int] | None = Field(None, min_length=3, max_length=3)  # probe [train, val, test] images
    seed: int = 0

    @field_validator("digits")
    @classmethod
    def _distinct_digits(cls, digits: list[int]) -> list[int]:
        if len(set(digits)) != 4 or not all(0 <= d <= 9 for d in digits):
            raise ValueError(f"digits must be 4 distinct values in 0..9, got {digits}")
        return digits

    @field_validator("probe_sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int] | None) -> list[int] | None:
        if sizes is not None and min(sizes) < 16:
            raise ValueError(f"probe_sizes [train, val, test] must each be >= 16, got {sizes}")
        return sizes


class SSLParams(TrainSection):
    """``ssl`` stage: pretraining of every (objective, pairing, seed) and the untrained baseline per (pairing, seed),
    linear probe and post-training MI."""

    dataset: Literal["cdp", "cifar100"] | None = None
    objectives: list[Label] = list(OBJECTIVES)
    pairings: list[Pairing] | None = None
    seeds: int | None = Field(None, ge=1)
    steps: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=4)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    encoder: Literal["resnet18", "convnet"] | None = None  # anchorbench.ssl.encoders (convnet: the CPU default)
    width: int | None = Field(None, ge=1)  # first-stage channels (ResNet-18: 64 = standard; convnet: 4 width features)
    proj_hidden: int = Field(256, ge=1)
    proj_dim: int = Field(64, ge=1)
    temperature: float = Field(0.2, gt=0)  # tau of the cosine critic (the paper's 0.2)
    temperatures: dict[Label, float] = {OBJECTIVES[-1]: 0.1}  # per-objective tau where it differs
    nu: float = Field(1.0, gt=0)  # anchor weight of the objectives that take nu and leave it unset
    pd_critic_lr: float = Field(0.05, gt=0)  # Adam lr of the PD critic's scale and shift (ssl.objectives.CosineCritic)
    # seed 001's K_train = 2: B = 4, K = B - 1 = 3 = 2K - 1 candidates; run for steps * batch_size / small_batch
    # steps, so it sees as many pairs as the batch_size units
    small_batch: int | None = Field(4, ge=2)
    small_batch_objectives: list[Label] = [INFONCE]
    probe_steps: int | None = Field(None, ge=1)
    probe_lr: float = Field(0.05, gt=0)
    # InfoNCE (seed 001's post-training estimator, the claims') and InfoNCE-anchor; each more costs ~0.5 s per unit
    post_estimators: list[Label] = ["infonce", "infonce_anchor"]
    post_pairs: int | None = Field(None, ge=32)  # training pairs of the post-training critic (val: a quarter)
    post_batch_size: int | None = Field(None, ge=8)
    post_steps: int | None = Field(None, ge=1)
    post_lr: float = Field(5e-4, gt=0)
    post_critic: dict = {"type": "separable", "width": 128, "depth": 1, "embed": 32}
    random_init: bool = True  # a baseline row per pairing and seed: the untrained encoder, probed and read out
    use_tuned: bool = True  # the tuned objectives take tau (and nu) from the ssl_tune stage

    @field_validator("temperatures")
    @classmethod
    def _positive_tau(cls, taus: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in taus.items() if not v > 0}
        if bad:
            raise ValueError(f"temperatures must be > 0, got {bad}")
        return taus

    @field_validator("post_critic")
    @classmethod
    def _critic(cls, critic: dict) -> dict:
        from anchorbench.fit.train import check_critic

        return check_critic(critic)

    @model_validator(mode="after")
    def _consistent(self) -> "SSLParams":
        if self.dataset == "cifar100" and self.pairings and set(self.pairings) != {"aug"}:
            raise ValueError(f"pairings: cifar100 has no CDP attributes; only ['aug'] is allowed, got {self.pairings}")
        if self.post_batch_size and self.batch_size and self.post_batch_size <= self.batch_size:
            raise ValueError(f"post_batch_size ({self.post_batch_size}) must exceed the training batch_size "
                             f"({self.batch_size}): post-training MI uses a larger batch than training")
        if self.post_pairs and self.post_batch_size and self.post_batch_size > self.post_pairs:
            raise ValueError(f"post_batch_size ({self.post_batch_size}) must be <= post_pairs ({self.post_pairs})")
        return self

    def steps_at(self, batch_size: int) -> int:
        """Pretraining steps of a unit at ``batch_size``: ``steps`` at the training batch size, else as many as see
        ``steps * batch_size`` pairs (rounded up): a small batch is compared at equal pairs seen, not equal steps."""
        return self.steps if batch_size == self.batch_size else math.ceil(self.steps * self.batch_size / batch_size)

    def tau(self, objective: str) -> float:
        return self.temperatures.get(objective, self.temperature)

    def nu_of(self, objective: str) -> float | None:
        """The anchor weight ``objective`` trains with: ``ssl.nu`` where it takes nu and its label leaves it unset."""
        name, fixed = estimators.parse_label(objective)
        return self.nu if "nu" in estimators.hyperparameters(name) and "nu" not in fixed else None


class TuneStudy(StudyParams):
    study_name: str = "ssl"
    direction: Literal["maximize"] = "maximize"  # the joint top-1 of a linear probe on the validation split


class SSLTuneParams(TuneSection):
    """``ssl_tune`` stage: Optuna over tau (and nu where the objective takes it) on the validation probe accuracy."""

    study: TuneStudy = TuneStudy()
    objectives: list[Label] = [INFONCE, "infonce_anchor"]
    pairing: Pairing = "cdp"
    steps: int | None = Field(None, ge=1)  # pretraining steps of a trial
    tau_range: tuple[float, float] = (0.05, 1.0)
    nu_range: tuple[float, float] = (0.1, 10.0)
    seed: int = 1000  # pretraining seed of every trial (the final runs use 0..seeds-1)

    @field_validator("tau_range", "nu_range")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return ordered_range(bounds)


SECTIONS = {"ssl_data": CDPDataParams, "ssl_tune": SSLTuneParams, "ssl": SSLParams}
