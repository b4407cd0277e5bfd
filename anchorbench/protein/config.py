"""The protein experiment's params.yaml sections (``protein_data``, ``protein_tune``, ``protein``) and their profiles.

Scale keys default to ``None`` and take the chosen profile's value (``anchorbench.config``); an explicit
value in params.yaml always wins.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

import estimators
from anchorbench.sections import DataSection, StudyParams, TrainSection, TuneSection, ordered_range, positive_widths

DatasetName = Literal["kinase", "ligand"]
LMI = "lmi"  # the LMI baseline of Gowri et al. (the latentmi package), beside the registered estimators
# The paper's five objectives plus plain InfoNCE, as labels; "js_plugin" is the paper's JS (= InfoNCE-anchor, K = 1,
# nu = 1) with the plug-in PMI readout c(x, y); spherical in the PD parametrization r = c > 0 (this project's choice).
OBJECTIVES = ("infonce_anchor", "js_plugin", "chi2", "spherical(parametrization=pd)", "infonce", LMI)

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config).
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"protein_data.source": "synthetic", "protein_data.scale": 0.12,
              "protein.datasets": ["ligand"], "protein.trials": 2, "protein.held_out": 40, "protein.max_steps": 40,
              "protein.check_every": 20, "protein.patience": 20, "protein.width": 32, "protein.lmi_epochs": 2,
              "protein.lr": 1e-4,
              "protein_tune.study.n_trials": 2, "protein_tune.steps": 20},
    "default": {"protein_data.source": "synthetic", "protein_data.scale": 1.0,
                "protein.datasets": ["kinase", "ligand"], "protein.trials": 10, "protein.held_out": 170,
                "protein.max_steps": 600, "protein.check_every": 100, "protein.patience": 200, "protein.width": 256,
                "protein.lr": 3e-4,
                "protein.lmi_epochs": 3, "protein_tune.study.n_trials": 4, "protein_tune.steps": 400},
    "paper": {"protein_data.source": "real", "protein_data.scale": 1.0,
              "protein.datasets": ["kinase", "ligand"], "protein.trials": 20, "protein.held_out": 170,
              "protein.max_steps": 10_000, "protein.check_every": 500, "protein.patience": 500, "protein.width": 256,
              "protein.lr": 1e-4,
              "protein.lmi_epochs": 300, "protein_tune.study.n_trials": 30, "protein_tune.steps": 5000},
}


class ProteinDataParams(DataSection):
    """``protein_data`` stage: the synthetic stand-in (default) or the real ProtT5 + OmniPath files (``mirror``)."""

    source: Literal["synthetic", "real"] | None = None
    datasets: list[DatasetName] = Field(["kinase", "ligand"], min_length=1)
    scale: float | None = Field(None, gt=0, le=1)  # synthetic: fraction of the real sets' protein and pair counts
    seed: int = Field(0, ge=0)


def _objective(text: str) -> str:
    return text if text == LMI else estimators.canonical(text)


class ProteinParams(TrainSection):
    """``protein`` stage: the held-out-protein AUROC protocol (paper App. G.2)."""

    datasets: list[DatasetName] | None = None
    objectives: list[str] = Field(list(OBJECTIVES), min_length=1)  # estimator labels, or "lmi"
    trials: int | None = Field(None, ge=1)
    held_out: int | None = Field(None, ge=2)  # proteins held out per trial (without replacement)
    seed: int = Field(0, ge=0)  # seeds the held-out draws and the critics' initialisation
    # Separable critic: an MLP per side, depth + 1 hidden layers of width, embed-d output.
    width: int | None = Field(None, ge=1)
    depth: int = Field(3, ge=0)
    embed: int = Field(32, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float | None = Field(None, gt=0)
    max_steps: int | None = Field(None, ge=1)
    check_every: int | None = Field(None, ge=1)
    patience: int | None = Field(None, ge=1)
    clip: float = Field(10.0, gt=0)
    # LMI baseline (latentmi AECross + out-of-sample KSG), Gowri et al.'s settings.
    lmi_epochs: int | None = Field(None, ge=1)
    lmi_patience: int = Field(30, ge=1)
    lmi_latent: int = Field(8, ge=1)
    lmi_batch_size: int = Field(512, ge=2)
    lmi_k: int = Field(3, ge=1)
    use_tuned: bool = True  # tuned objectives get a second row with the protein_tune stage's values
    trials_per_unit: int = Field(5, ge=1)  # trials fitted together (one batched fit per critic width)

    @field_validator("objectives")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        try:
            labels = [_objective(n) for n in names]
        except ValueError as exc:
            raise ValueError(f"{exc} (or {LMI!r}, the LMI baseline)") from None
        if len(set(labels)) != len(labels):
            raise ValueError(f"objectives must be distinct, got {labels}")
        return labels

    @model_validator(mode="after")
    def _patience_is_checked(self) -> "ProteinParams":
        if self.patience is not None and self.check_every is not None and self.patience < self.check_every:
            raise ValueError(f"patience ({self.patience}) must be >= check_every ({self.check_every}): "
                             "early stopping can only act at a check")
        return self



class TuneStudy(StudyParams):
    study_name: str = "protein"
    direction: Literal["maximize"] = "maximize"  # the AUROC on an inner split of training proteins


class ProteinTuneParams(TuneSection):
    """``protein_tune`` stage: Optuna over each tuned objective's width (and nu where it takes one), scored on an
    inner split of training proteins (``anchorbench.protein.tuning``). Every critic objective of ``protein`` with
    the same budget, or none (the paper: one fixed critic)."""

    study: TuneStudy = TuneStudy()
    objectives: list[str] = []  # [] or every critic objective of protein.objectives
    steps: int | None = Field(None, ge=1)  # training steps of a trial
    nu_range: tuple[float, float] = (0.05, 20.0)
    widths: list[int] = [64, 128, 256]

    @field_validator("nu_range")
    @classmethod
    def _nu_range(cls, r: tuple[float, float]) -> tuple[float, float]:
        return ordered_range(r)

    @field_validator("widths")
    @classmethod
    def _widths(cls, widths: list[int]) -> list[int]:
        return positive_widths(widths)


def check(params) -> None:
    """Across the protein sections: every critic objective is tuned or none is; and, the stand-in's protein counts
    being known before it is built, a trial's held-out proteins leave at least half of each dataset's proteins to
    train on (the real sets are checked when they are read)."""
    critics = [o for o in params.protein.objectives if o != LMI]
    tuned = [_objective(o) for o in params.protein_tune.objectives]
    if tuned and sorted(tuned) != sorted(critics):
        raise ValueError(f"protein_tune.objectives must be every critic objective of protein.objectives "
                         f"({critics}), each with the same budget, or [] (none tuned), got {tuned}")
    data, p = params.protein_data, params.protein
    if data.source != "synthetic" or p.held_out is None:
        return
    from anchorbench.protein.synthetic import SETTINGS, scaled

    for name in p.datasets or data.datasets:
        n = scaled(SETTINGS[name], data.scale or 1.0).n_proteins
        if 2 * p.held_out > n:
            raise ValueError(f"protein.held_out ({p.held_out}) must be at most half the {n} proteins of dataset "
                             f"{name!r} (protein_data.scale {data.scale}): the other proteins train the critic")


SECTIONS = {"protein_data": ProteinDataParams, "protein_tune": ProteinTuneParams, "protein": ProteinParams}
