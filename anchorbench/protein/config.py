"""The protein experiment's params.yaml sections (``protein_data``, ``protein``) and their profiles.

Scale keys default to ``None`` and take the chosen profile's value (``anchorbench.config``); an explicit
value in params.yaml always wins. The ``protein`` section also holds the ``protein_tune`` stage's keys
(``tune_*``): profiles address keys as ``section.key``, so they stay flat.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from anchorbench.sections import Section, buildable, ordered_range, positive_widths

DatasetName = Literal["kinase", "ligand"]
LMI = "lmi"  # the LMI baseline of Gowri et al. (the latentmi package), beside the registered estimators
# The paper's five objectives plus plain InfoNCE; "js_plugin" is the paper's JS (= InfoNCE-anchor, K = 1, nu = 1)
# with the plug-in PMI readout c(x, y); spherical uses the PD parametrization r = c > 0 as in the paper.
OBJECTIVES = ("infonce_anchor", "js_plugin", "chi2", "spherical", "infonce", LMI)

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config).
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"protein_data.source": "synthetic", "protein_data.scale": 0.12,
              "protein.datasets": ["ligand"], "protein.trials": 2, "protein.held_out": 40, "protein.max_steps": 40,
              "protein.check_every": 20, "protein.patience": 20, "protein.width": 32, "protein.lmi_epochs": 2,
              "protein.tune_trials": 2, "protein.tune_steps": 20},
    "default": {"protein_data.source": "synthetic", "protein_data.scale": 1.0,
                "protein.datasets": ["kinase", "ligand"], "protein.trials": 3, "protein.held_out": 170,
                "protein.max_steps": 1000, "protein.check_every": 250, "protein.patience": 500, "protein.width": 256,
                "protein.lmi_epochs": 3, "protein.tune_trials": 4, "protein.tune_steps": 400},
    "paper": {"protein_data.source": "real", "protein_data.scale": 1.0,
              "protein.datasets": ["kinase", "ligand"], "protein.trials": 20, "protein.held_out": 170,
              "protein.max_steps": 10_000, "protein.check_every": 500, "protein.patience": 500, "protein.width": 256,
              "protein.lmi_epochs": 300, "protein.tune_trials": 30, "protein.tune_steps": 5000},
}


class ProteinDataParams(Section):
    """``protein_data`` stage: the synthetic stand-in (default) or the real ProtT5 + OmniPath files."""

    source: Literal["synthetic", "real"] | None = None
    mirror: str | None = None  # real source: null -> $ANCHORBENCH_DATA_MIRROR, else ../shared/data beside the repo
    datasets: list[DatasetName] = Field(["kinase", "ligand"], min_length=1)
    scale: float | None = Field(None, gt=0, le=1)  # synthetic: fraction of the real sets' protein and pair counts
    seed: int = Field(0, ge=0)


class ProteinParams(Section):
    """``protein`` (and ``protein_tune``) stage: the held-out-protein AUROC protocol (paper App. G.2)."""

    datasets: list[DatasetName] | None = None
    objectives: list[str] = Field(list(OBJECTIVES), min_length=1)
    objective_params: dict[str, dict] = {"spherical": {"parametrization": "pd"}}
    trials: int | None = Field(None, ge=1)
    held_out: int | None = Field(None, ge=2)  # proteins held out per trial (without replacement)
    seed: int = Field(0, ge=0)  # seeds the held-out draws and the critics' initialisation
    # Separable critic: an MLP per side, depth + 1 hidden layers of width, embed-d output.
    width: int | None = Field(None, ge=1)
    depth: int = Field(3, ge=0)
    embed: int = Field(32, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(1e-4, gt=0)
    max_steps: int | None = Field(None, ge=1)
    check_every: int | None = Field(None, ge=1)
    patience: int | None = Field(None, ge=1)
    clip: float = Field(10.0, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # LMI baseline (latentmi AECross + out-of-sample KSG), Gowri et al.'s settings.
    lmi_epochs: int | None = Field(None, ge=1)
    lmi_patience: int = Field(30, ge=1)
    lmi_latent: int = Field(8, ge=1)
    lmi_batch_size: int = Field(512, ge=2)
    lmi_k: int = Field(3, ge=1)
    # protein_tune stage: Optuna over nu and width of infonce_anchor, scored on an inner split of training proteins.
    use_tuned: bool = True
    tune_trials: int | None = Field(None, ge=1)
    tune_steps: int | None = Field(None, ge=1)
    tune_nu_range: tuple[float, float] = (0.05, 20.0)
    tune_widths: list[int] = [64, 128, 256]
    tune_storage: str | None = None  # null: sqlite:///<repo>/optuna.db; an RDB URL or a *.log journal file
    tune_study: str = "protein"

    @field_validator("objectives")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        import estimators

        allowed = estimators.available() + [LMI]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise ValueError(f"unknown objective(s) {unknown}; allowed: {allowed}")
        if len(set(names)) != len(names):
            raise ValueError(f"objectives must be distinct, got {names}")
        return names

    @field_validator("objective_params")
    @classmethod
    def _buildable(cls, params: dict[str, dict]) -> dict[str, dict]:
        return buildable({k: v for k, v in params.items() if k != LMI})

    @field_validator("tune_nu_range")
    @classmethod
    def _nu_range(cls, r: tuple[float, float]) -> tuple[float, float]:
        return ordered_range(r)

    @field_validator("tune_widths")
    @classmethod
    def _widths(cls, widths: list[int]) -> list[int]:
        return positive_widths(widths)

    @model_validator(mode="after")
    def _patience_is_checked(self) -> "ProteinParams":
        if self.patience is not None and self.check_every is not None and self.patience < self.check_every:
            raise ValueError(f"patience ({self.patience}) must be >= check_every ({self.check_every}): "
                             "early stopping can only act at a check")
        return self

    def hparams(self, objective: str) -> dict:
        return dict(self.objective_params.get(objective, {}))


def check_held_out(data: ProteinDataParams, p: ProteinParams) -> None:
    """The stand-in's protein counts are known before it is built: a trial's held-out proteins must leave at
    least half of each dataset's proteins to train on (the real sets are checked when they are read)."""
    if data.source != "synthetic" or p.held_out is None:
        return
    from anchorbench.protein.synthetic import SETTINGS, scaled

    for name in p.datasets or data.datasets:
        n = scaled(SETTINGS[name], data.scale or 1.0).n_proteins
        if 2 * p.held_out > n:
            raise ValueError(f"protein.held_out ({p.held_out}) must be at most half the {n} proteins of dataset "
                             f"{name!r} (protein_data.scale {data.scale}): the other proteins train the critic")
