"""The base of every ``params.yaml`` section model, the parts every experiment shares, and shared validators.

Each experiment has three sections, one per DVC stage: ``<key>_data``, ``<key>_tune`` and ``<key>``
(``anchorbench/<experiment>/config.py``), frozen pydantic models that reject unknown keys, plus a ``PROFILES``
fragment; ``anchorbench.config`` assembles them into the root ``Params``. The shared parts are declared once
here: the data mirror (:class:`DataSection`), the training device (:class:`TrainSection`), the Optuna study
(:class:`StudyParams`, embedded as ``study`` in every tuning section) and estimator labels (:data:`Label`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

import estimators

Device = Literal["auto", "cpu", "cuda"]  # auto: cuda when a GPU is visible, else cpu (anchorbench.engine)


class Section(BaseModel):
    """A params.yaml section: immutable, unknown keys rejected (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSection(Section):
    """A data stage's section: where the public-data mirror is (anchorbench.mirror)."""

    mirror: str | None = None  # null: $ANCHORBENCH_DATA_MIRROR, else ../shared/data beside the repo


class TrainSection(Section):
    """A training stage's section: the device every unit trains on."""

    device: Device = "auto"


class StudyParams(Section):
    """One Optuna study (anchorbench.studies): every tuning section embeds it as ``study`` with these keys.

    Workers on one storage finish the study with exactly ``n_trials`` counted trials; a killed worker's trial
    fails after two missed heartbeats and is retried with its params up to ``trial_retries`` times.
    """

    n_trials: int | None = Field(None, ge=1)  # null: the profile's value
    study_name: str = Field(min_length=1)  # the Optuna study is <study_name>-<study key>-<profile>
    storage: str | None = None  # null: sqlite:///<home>/optuna.db; any RDB URL, or a *.log journal file
    sampler_seed: int = 0
    heartbeat_seconds: int | None = Field(60, ge=1)  # null: no heartbeat (a killed worker's trial is not retried)
    trial_retries: int = Field(2, ge=0)
    direction: Literal["minimize", "maximize"]


class TuneSection(Section):
    """A tuning stage's section: its study; the search space is the experiment's own keys."""

    study: StudyParams


def _label(text: str) -> str:
    return estimators.canonical(text)


# An estimator with fixed hyperparameters, written as its label: ``infonce_anchor``, ``infonce_anchor(K=1)``.
# Validated against the registry and stored canonical (defaults dropped), so one configuration has one name.
Label = Annotated[str, AfterValidator(_label)]


def ordered_range(bounds: tuple[float, float]) -> tuple[float, float]:
    """Field validator body: a search range ``[low, high]`` with ``0 < low < high`` (searched on a log scale)."""
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"must be [low, high] with 0 < low < high (searched on a log scale), got [{low}, {high}]")
    return bounds


def positive_widths(widths: list[int]) -> list[int]:
    """Field validator body: a non-empty list of critic widths, each >= 1."""
    if not widths or min(widths) < 1:
        raise ValueError(f"must be a non-empty list of critic widths >= 1, got {widths}")
    return widths
