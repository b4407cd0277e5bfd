"""The MI benchmark's params.yaml sections: ``data``, ``mi_benchmark`` and ``tune``, with their profiles."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from anchorbench.sections import Section, buildable, known_estimators, ordered_range, positive_widths

DomainName = Literal["gaussian", "mnist", "imdb_bert"]
CriticType = Literal["joint", "separable", "bilinear"]

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config).
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"mi_benchmark.domains": ["gaussian", "mnist"], "mi_benchmark.critics": ["joint"],
              "mi_benchmark.seeds": 2, "mi_benchmark.steps_per_level": 30, "mi_benchmark.width": 32,
              "mi_benchmark.img_size": 16, "mi_benchmark.sources": 10,
              "tune.critics": ["joint"], "tune.n_trials": 3, "tune.steps_per_level": 20, "tune.val_seeds": 1},
    "default": {"mi_benchmark.domains": ["gaussian", "mnist", "imdb_bert"], "mi_benchmark.critics": ["joint"],
                "mi_benchmark.seeds": 2, "mi_benchmark.steps_per_level": 300, "mi_benchmark.width": 64,
                "mi_benchmark.img_size": 32, "mi_benchmark.sources": 10,
                "tune.critics": ["joint"], "tune.n_trials": 8, "tune.steps_per_level": 150, "tune.val_seeds": 2},
    "paper": {"mi_benchmark.domains": ["gaussian", "mnist", "imdb_bert"],
              "mi_benchmark.critics": ["joint", "separable"],
              "mi_benchmark.seeds": 20, "mi_benchmark.steps_per_level": 4000, "mi_benchmark.width": 256,
              "mi_benchmark.img_size": 64, "mi_benchmark.sources": 10,
              "tune.critics": ["joint", "separable"], "tune.n_trials": 40, "tune.steps_per_level": 1000,
              "tune.val_seeds": 3},
}


class DataParams(Section):
    """``data`` stage: which pools to prepare and where the public-data mirror is."""

    mirror: str | None = None  # null: $ANCHORBENCH_DATA_MIRROR, else ../shared/data beside the repo
    domains: list[Literal["mnist", "imdb_bert"]] = ["mnist", "imdb_bert"]
    verify_hashes: bool = True  # check each mirror file against its published sha256 (anchorbench.mirror)


class MIBenchmarkParams(Section):
    """``mi_benchmark`` stage: the staircase protocol and the estimators to run."""

    domains: list[DomainName] | None = None
    critics: list[CriticType] | None = None
    estimators: list[str] = Field(min_length=1)
    estimator_params: dict[str, dict] = {}
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
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"

    @field_validator("estimators")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_estimators(names)

    @field_validator("estimator_params")
    @classmethod
    def _buildable(cls, params: dict[str, dict]) -> dict[str, dict]:
        return buildable(params)

    @model_validator(mode="after")
    def _levels_fit_the_channel(self) -> "MIBenchmarkParams":
        if set(self.domains or []) & {"mnist", "imdb_bert"} and self.sources is not None:
            if max(self.levels_bits) > self.sources or min(self.levels_bits) < 0:
                raise ValueError(f"levels_bits must lie in [0, sources = {self.sources}] bits for the mnist/imdb_bert "
                                 f"channel of {self.sources} binary sources, got {self.levels_bits}")
        return self

    def hparams(self, name: str) -> dict:
        return dict(self.estimator_params.get(name, {}))


class TuneParams(Section):
    """``tune`` stage: the Optuna study (validation seeds are disjoint from the final runs' seeds)."""

    estimators: list[str] = ["infonce_anchor"]
    domain: DomainName = "gaussian"
    critics: list[CriticType] | None = None  # one study per (estimator, critic); temperature only for separable
    n_trials: int | None = Field(None, ge=1)
    steps_per_level: int | None = Field(None, ge=1)
    val_seeds: int | None = Field(None, ge=1)
    nu_range: tuple[float, float] = (0.05, 20.0)
    temperature_range: tuple[float, float] = (0.1, 10.0)
    widths: list[int] = [32, 64, 128, 256]
    storage: str | None = None  # null: sqlite:///<repo>/optuna.db; any RDB URL or a journal file path
    study_name: str = "mi_benchmark"
    sampler_seed: int = 0
    heartbeat_seconds: int | None = Field(60, ge=1)  # a killed worker's trial fails after 2x this and is retried
    trial_retries: int = Field(2, ge=0)  # retries of one trial's params after its worker died

    @field_validator("estimators")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_estimators(names)

    @field_validator("nu_range", "temperature_range")
    @classmethod
    def _ordered_positive(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        return ordered_range(bounds)

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        return positive_widths(widths)
