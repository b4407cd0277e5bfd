"""The SSL experiment's params.yaml sections (``cdp_data``; ``ssl``, whose ``tune_*`` keys drive ``ssl_tune``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from anchorbench.sections import Section, known_estimators, ordered_range

Objective = Literal["infonce", "infonce_anchor", "js", "spherical", "chi2"]
# A pairing: the CDP attributes two views share (c colour, d digit, p position; H(C) = 2 bits each) or
# SimCLR augmentations of one image ("aug"; true MI unknown).
Pairing = Literal["c", "d", "p", "cd", "cp", "dp", "cdp", "aug"]
OBJECTIVES: tuple[str, ...] = ("infonce", "infonce_anchor", "js", "spherical", "chi2")

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config).
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"cdp_data.glyphs_per_digit": 40, "cdp_data.probe_sizes": [256, 128, 256],
              "ssl.dataset": "cdp", "ssl.pairings": ["c", "cdp"], "ssl.seeds": 1, "ssl.steps": 4, "ssl.batch_size": 16,
              "ssl.width": 4, "ssl.probe_steps": 50, "ssl.post_pairs": 256, "ssl.post_batch_size": 64,
              "ssl.post_steps": 20, "ssl.tune_trials": 2, "ssl.tune_steps": 3},
    "default": {"cdp_data.glyphs_per_digit": 400, "cdp_data.probe_sizes": [2048, 512, 1024],
                "ssl.dataset": "cdp", "ssl.pairings": ["c", "cd", "cdp"], "ssl.seeds": 2, "ssl.steps": 80,
                "ssl.batch_size": 64, "ssl.width": 8, "ssl.probe_steps": 300, "ssl.post_pairs": 2048,
                "ssl.post_batch_size": 512, "ssl.post_steps": 200, "ssl.tune_trials": 3, "ssl.tune_steps": 60},
    "paper": {"cdp_data.glyphs_per_digit": 800, "cdp_data.probe_sizes": [40000, 10000, 10000],
              "ssl.dataset": "cifar100", "ssl.pairings": ["aug"], "ssl.seeds": 1, "ssl.steps": 195_000,
              "ssl.batch_size": 256, "ssl.width": 64, "ssl.probe_steps": 3000, "ssl.post_pairs": 50000,
              "ssl.post_batch_size": 1024, "ssl.post_steps": 5000, "ssl.tune_trials": 20, "ssl.tune_steps": 10_000},
}


class CDPDataParams(Section):
    """``cdp_data`` stage: the glyph bank and the labelled probe images of the CDP dataset."""

    mirror: str | None = None  # null: $ANCHORBENCH_DATA_MIRROR, else ../shared/data beside the repo
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


class SSLParams(Section):
    """``ssl`` stage: pretraining of every (objective, pairing, seed), linear probe and post-training MI."""

    dataset: Literal["cdp", "cifar100"] | None = None
    objectives: list[Objective] = list(OBJECTIVES)
    pairings: list[Pairing] | None = None
    seeds: int | None = Field(None, ge=1)
    steps: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=4)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    width: int | None = Field(None, ge=1)  # ResNet-18 first-stage channels (64 = standard)
    proj_hidden: int = Field(256, ge=1)
    proj_dim: int = Field(64, ge=1)
    temperature: dict[Objective, float] = {"infonce": 0.2, "infonce_anchor": 0.2, "js": 0.2, "spherical": 0.2,
                                           "chi2": 0.1}
    nu: float = Field(1.0, gt=0)  # anchor weight of infonce_anchor, js and spherical
    small_batch: int | None = Field(4, ge=2)  # seed 001's K_train = 2: B = 4, K = B - 1 = 3 = 2K - 1 candidates
    small_batch_objectives: list[Objective] = ["infonce"]
    probe_steps: int | None = Field(None, ge=1)
    probe_lr: float = Field(0.05, gt=0)
    post_estimators: list[str] = ["infonce", "infonce_anchor", "js_plugin", "nwj_plugin"]
    post_pairs: int | None = Field(None, ge=32)  # training pairs of the post-training critic (val: a quarter)
    post_batch_size: int | None = Field(None, ge=8)
    post_steps: int | None = Field(None, ge=1)
    post_lr: float = Field(5e-4, gt=0)
    post_critic: dict = {"type": "separable", "width": 128, "depth": 1, "embed": 32}
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # stage ssl_tune: Optuna over tau (and nu for the anchor) on the validation probe accuracy
    tune_objectives: list[Objective] = ["infonce", "infonce_anchor"]
    tune_pairing: Pairing = "cdp"
    tune_trials: int | None = Field(None, ge=1)
    tune_steps: int | None = Field(None, ge=1)  # pretraining steps of a trial
    tune_tau_range: tuple[float, float] = (0.05, 1.0)
    tune_nu_range: tuple[float, float] = (0.1, 10.0)
    tune_storage: str | None = None  # null: sqlite:///<repo>/optuna.db; any RDB URL or a *.log journal file
    tune_study_name: str = "ssl"
    tune_sampler_seed: int = 0
    tune_seed: int = 1000  # pretraining seed of every trial (the final runs use 0..seeds-1)

    @field_validator("post_estimators")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_estimators(names)

    @field_validator("temperature")
    @classmethod
    def _positive_tau(cls, taus: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in taus.items() if not v > 0}
        if bad:
            raise ValueError(f"temperatures must be > 0, got {bad}")
        return taus

    @field_validator("tune_tau_range", "tune_nu_range")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return ordered_range(bounds)

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

    def tau(self, objective: str) -> float:
        return self.temperature.get(objective, 0.2)  # the paper's default tau = 0.2
