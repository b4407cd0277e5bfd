"""The MI benchmark's params.yaml sections (``mi_benchmark_data``, ``mi_benchmark_tune``, ``mi_benchmark``) and
their profiles."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from anchorbench.sections import (
    DataSection,
    Label,
    StudyParams,
    TrainSection,
    TuneSection,
    ordered_range,
    positive_widths,
)

DomainName = Literal["gaussian", "mnist", "imdb_bert"]
MIRROR_DOMAINS = ("mnist", "imdb_bert")  # the domains whose pools come from the public-data mirror
CriticType = Literal["joint", "separable", "bilinear"]

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config).
PROFILES: dict[str, dict[str, object]] = {
    # smoke: the Gaussian domain only, so the one-minute run needs no data mirror
    "smoke": {"mi_benchmark.domains": ["gaussian"], "mi_benchmark.critics": ["joint"],
              "mi_benchmark.seeds": 2, "mi_benchmark.steps_per_level": 30, "mi_benchmark.width": 32,
              "mi_benchmark.img_size": 16, "mi_benchmark.sources": 10,
              "mi_benchmark_tune.critics": ["joint"], "mi_benchmark_tune.study.n_trials": 3,
              "mi_benchmark_tune.steps_per_level": 20, "mi_benchmark_tune.val_seeds": 1},
    "default": {"mi_benchmark.domains": ["gaussian", "mnist", "imdb_bert"], "mi_benchmark.critics": ["joint"],
                "mi_benchmark.seeds": 2, "mi_benchmark.steps_per_level": 300, "mi_benchmark.width": 64,
                "mi_benchmark.img_size": 32, "mi_benchmark.sources": 10,
                "mi_benchmark_tune.critics": ["joint"], "mi_benchmark_tune.study.n_trials": 8,
                "mi_benchmark_tune.steps_per_level": 150, "mi_benchmark_tune.val_seeds": 2},
    "paper": {"mi_benchmark.domains": ["gaussian", "mnist", "imdb_bert"],
              "mi_benchmark.critics": ["joint", "separable"],
              "mi_benchmark.seeds": 20, "mi_benchmark.steps_per_level": 4000, "mi_benchmark.width": 256,
              "mi_benchmark.img_size": 64, "mi_benchmark.sources": 10,
              "mi_benchmark_tune.critics": ["joint", "separable"], "mi_benchmark_tune.study.n_trials": 40,
              "mi_benchmark_tune.steps_per_level": 1000, "mi_benchmark_tune.val_seeds": 3},
}


class DataParams(DataSection):
    """``mi_benchmark_data`` stage: which pools to prepare from the public-data mirror."""

    domains: list[Literal["mnist", "imdb_bert"]] | None = None  # null: the mirror domains mi_benchmark.domains uses
    verify_hashes: bool = True  # check each mirror file against its published sha256 (anchorbench.mirror)

    def pool_domains(self, p: "MIBenchmarkParams") -> list[str]:
        """The domains whose pools the data stage prepares."""
        return list(self.domains) if self.domains is not None else [d for d in p.domains or [] if d in MIRROR_DOMAINS]


class MIBenchmarkParams(TrainSection):
    """``mi_benchmark`` stage: the staircase protocol and the estimators to run (labels, e.g. ``smile(tau=1)``)."""

    domains: list[DomainName] | None = None
    critics: list[CriticType] | None = None
    estimators: list[Label] = Field(min_length=1)
    levels_bits: list[float] = [2, 4, 6, 8, 10]
    steps_per_level: int | None = Field(None, ge=1)
    seeds: int | None = Field(None, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(5e-4, gt=0)
    width: int | None = Field(None, ge=1)
    depth: int = Field(2, ge=0)
    embed: int = Field(32, ge=1)
    temperature: float = Field(1.0, gt=0)
    gaussian_dim: int = Field(10, ge=1)
    gaussian_transform: Literal["identity", "cubic", "half_cube", "asinh"] = "identity"
    sources: int | None = Field(None, ge=1)
    img_size: int | None = Field(None, ge=4)
    use_tuned: bool = True
    precision: Literal["fp32", "bf16"] = "fp32"

    @model_validator(mode="after")
    def _levels_fit_the_channel(self) -> "MIBenchmarkParams":
        if set(self.domains or []) & {"mnist", "imdb_bert"} and self.sources is not None:
            if max(self.levels_bits) > self.sources or min(self.levels_bits) < 0:
                raise ValueError(f"levels_bits must lie in [0, sources = {self.sources}] bits for the mnist/imdb_bert "
                                 f"channel of {self.sources} binary sources, got {self.levels_bits}")
        return self


class TuneStudy(StudyParams):
    study_name: str = "mi_benchmark"
    direction: Literal["minimize"] = "minimize"  # the MSE (bits^2) of the estimates against the truth


class TuneParams(TuneSection):
    """``mi_benchmark_tune`` stage: Optuna studies (validation seeds are disjoint from the final runs' seeds)."""

    study: TuneStudy = TuneStudy()
    estimators: list[Label] = ["infonce_anchor"]
    domain: DomainName = "gaussian"
    critics: list[CriticType] | None = None  # one study per (estimator, critic); temperature only for separable
    steps_per_level: int | None = Field(None, ge=1)
    val_seeds: int | None = Field(None, ge=1)
    nu_range: tuple[float, float] = (0.05, 20.0)
    temperature_range: tuple[float, float] = (0.1, 10.0)
    widths: list[int] = [32, 64, 128, 256]

    @field_validator("nu_range", "temperature_range")
    @classmethod
    def _ordered_positive(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return ordered_range(bounds)

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        return positive_widths(widths)


SECTIONS = {"mi_benchmark_data": DataParams, "mi_benchmark_tune": TuneParams, "mi_benchmark": MIBenchmarkParams}
