"""params.yaml, validated: one model per stage section, unknown keys and bad values rejected.

Scale keys left ``null`` in params.yaml are filled from the chosen ``profile`` (smoke, default,
paper); an explicit value always wins, so ``dvc exp run -S mi_benchmark.seeds=5`` works under any
profile. Errors name the key and the allowed values.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import estimators

DomainName = Literal["gaussian", "mnist", "imdb_bert"]
CriticType = Literal["joint", "separable", "bilinear"]
Profile = Literal["smoke", "default", "paper"]

# Scale presets. Keys are "section.key"; applied where params.yaml says null.
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"mi_benchmark.domains": ["gaussian", "mnist"], "mi_benchmark.critics": ["joint"],
              "mi_benchmark.seeds": 2, "mi_benchmark.steps_per_level": 30, "mi_benchmark.width": 32,
              "mi_benchmark.img_size": 16, "mi_benchmark.sources": 10,
              "tune.critics": ["joint"], "tune.n_trials": 3, "tune.steps_per_level": 20, "tune.val_seeds": 1},
    "default": {"mi_benchmark.domains": ["gaussian", "mnist", "imdb_bert"], "mi_benchmark.critics": ["joint"],
                "mi_benchmark.seeds": 2, "mi_benchmark.steps_per_level": 300, "mi_benchmark.width": 64,
                "mi_benchmark.img_size": 32, "mi_benchmark.sources": 10,
                "tune.critics": ["joint"], "tune.n_trials": 8, "tune.steps_per_level": 150, "tune.val_seeds": 2},
    "paper": {"mi_benchmark.domains": ["gaussian", "mnist", "imdb_bert"], "mi_benchmark.critics": ["joint", "separable"],
              "mi_benchmark.seeds": 20, "mi_benchmark.steps_per_level": 4000, "mi_benchmark.width": 256,
              "mi_benchmark.img_size": 64, "mi_benchmark.sources": 10,
              "tune.critics": ["joint", "separable"], "tune.n_trials": 40, "tune.steps_per_level": 1000, "tune.val_seeds": 3},
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Section):
    """``data`` stage: which pools to prepare and where the public-data mirror is."""

    mirror: str | None = None  # null: $ANCHORBENCH_DATA_MIRROR, else ../shared/data beside the repo
    domains: list[Literal["mnist", "imdb_bert"]] = ["mnist", "imdb_bert"]


class MIBenchmarkParams(_Section):
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
    def _known_estimators(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in estimators.available()]
        if unknown:
            raise ValueError(f"unknown estimator(s) {unknown}; allowed: {estimators.available()}")
        return names

    @field_validator("estimator_params")
    @classmethod
    def _params_buildable(cls, params: dict[str, dict]) -> dict[str, dict]:
        for name, hp in params.items():
            estimators.build(name, **hp)  # raises ValueError naming the bad hyperparameter
        return params

    @model_validator(mode="after")
    def _levels_fit_the_channel(self) -> "MIBenchmarkParams":
        if set(self.domains or []) & {"mnist", "imdb_bert"} and self.sources is not None:
            if max(self.levels_bits) > self.sources or min(self.levels_bits) < 0:
                raise ValueError(f"levels_bits must lie in [0, sources = {self.sources}] bits for the mnist/imdb_bert "
                                 f"channel of {self.sources} binary sources, got {self.levels_bits}")
        return self

    def hparams(self, name: str) -> dict:
        return dict(self.estimator_params.get(name, {}))


class TuneParams(_Section):
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

    @field_validator("estimators")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return MIBenchmarkParams._known_estimators(names)


class Params(_Section):
    profile: Profile = "default"
    data: DataParams = DataParams()
    mi_benchmark: MIBenchmarkParams
    tune: TuneParams = TuneParams()

    def section_hash(self, *sections: str) -> str:
        """Short hash of the named sections, for MLflow tags and cache keys."""
        blob = json.dumps({s: getattr(self, s).model_dump(mode="json") for s in sections}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _apply_profile(raw: dict) -> dict:
    profile = raw.get("profile", "default")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    for dotted, value in PROFILES[profile].items():
        section, key = dotted.split(".")
        block = raw.setdefault(section, {}) or {}
        raw[section] = block
        if block.get(key) is None:
            block[key] = value
    return raw


def parse_params(raw: dict) -> Params:
    """Validate a params dict; raise ValueError whose message names the bad key and the allowed values."""
    try:
        return Params.model_validate(_apply_profile(copy.deepcopy(raw)))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling against params.yaml)"
            lines.append(f"params.yaml: {key}: {msg}")
        raise ValueError("\n".join(lines)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    with open(path) as fh:
        return parse_params(yaml.safe_load(fh) or {})
