"""The base of every ``params.yaml`` section model, and validators shared by experiments.

Each experiment package defines its sections (``anchorbench/<experiment>/config.py``) as frozen
pydantic models that reject unknown keys, plus a ``PROFILES`` fragment; ``anchorbench.config``
assembles them into the root ``Params``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

import estimators


class Section(BaseModel):
    """A params.yaml section: immutable, unknown keys rejected (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def known_estimators(names: list[str]) -> list[str]:
    """Field validator body: every name is a registered estimator (the error lists the allowed ones)."""
    unknown = [n for n in names if n not in estimators.available()]
    if unknown:
        raise ValueError(f"unknown estimator(s) {unknown}; allowed: {estimators.available()}")
    return names


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


def buildable(params: dict[str, dict]) -> dict[str, dict]:
    """Field validator body: ``{estimator: hyperparameters}`` that ``estimators.build`` accepts."""
    for name, hp in params.items():
        estimators.build(name, **hp)  # raises ValueError naming the bad hyperparameter
    return params
