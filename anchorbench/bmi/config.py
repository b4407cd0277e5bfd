"""The bmi benchmark's params.yaml sections (``bmi_data``, ``bmi``) and their profiles.

The bmi stage measures what a user gets with no flags: every estimator goes through the fit core with its
defaults (``anchorbench.fit``: critic, training settings, readout, 5 seeds), as ``anchorbench estimate`` runs it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator

from anchorbench.paths import REPO
from anchorbench.sections import Label, Section, TrainSection

PYTHON_ENV = "ANCHORBENCH_BMI_PYTHON"  # the bmi environment's python, where it is not <repo>/.venv-bmi
DEFAULT_ESTIMATOR = "infonce_anchor"  # anchorbench estimate's default
REFERENCES = ("ksg", "cca")  # bmi's own estimators on the same arrays (anchorbench/bmi/reference.py)

# Scale presets, "section.key" -> value, applied where params.yaml says null (anchorbench.config). The default
# profile runs the default estimator alone: 40 tasks x 3 data seeds x 5 seeds is 600 runs, which fill the stage's
# 15-minute budget on 2 CPU cores; the paper profile runs every estimator with an MI readout.
PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"bmi_data.tasks": ["1v1-normal-0.75", "multinormal-sparse-3-3-2-2.0", "student-identity-2-2-1"],
              "bmi_data.sizes": [2000], "bmi_data.seeds": 1, "bmi_data.reference_seeds": 1,
              "bmi.estimators": [DEFAULT_ESTIMATOR], "bmi.seeds": 2},
    "default": {"bmi_data.sizes": [10_000], "bmi_data.seeds": 3, "bmi_data.reference_seeds": 1,
                "bmi.estimators": [DEFAULT_ESTIMATOR], "bmi.seeds": 5},
    "paper": {"bmi_data.sizes": [5000, 10_000], "bmi_data.seeds": 10, "bmi_data.reference_seeds": 10,
              "bmi.estimators": ["infonce_anchor", "infonce", "nwj", "js", "js_plugin", "smile", "chi2", "dv",
                                 "mine", "spherical", "brier", "fdime"], "bmi.seeds": 5},
}


class BmiDataParams(Section):
    """``bmi_data`` stage: the bmi package samples every task (in its own environment) and runs its KSG and CCA
    on the same arrays."""

    python: str | None = None  # null: $ANCHORBENCH_BMI_PYTHON, else <repo>/.venv-bmi/bin/python (make setup-bmi)
    tasks: list[str] | None = None  # task ids of bmi.benchmark.BENCHMARK_TASKS; null: all 40
    sizes: list[int] | None = None  # samples per task (N)
    seeds: int | None = Field(None, ge=1)  # data seeds 0..seeds-1
    references: list[str] = list(REFERENCES)
    reference_seeds: int | None = Field(None, ge=0)  # the first data seeds the references run on (KSG is slow)
    reference_jobs: int = Field(2, ge=1)  # reference estimates computed at once (KSG uses one core each)

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: list[int] | None) -> list[int] | None:
        if sizes is not None and (not sizes or min(sizes) < 500):
            raise ValueError(f"must be a non-empty list of sample sizes >= 500, got {sizes}")
        return sizes

    @field_validator("references")
    @classmethod
    def _references(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(REFERENCES))
        if unknown:
            raise ValueError(f"unknown reference estimator(s) {unknown}; allowed: {list(REFERENCES)}")
        return names

    def interpreter(self) -> Path:
        """The bmi environment's python; FileNotFoundError saying how to make it when it is missing."""
        path = Path(self.python or os.environ.get(PYTHON_ENV) or REPO / ".venv-bmi" / "bin" / "python")
        if not path.is_file():
            raise FileNotFoundError(f"bmi_data.python: no bmi environment at {path}: run `make setup-bmi` (it "
                                    f"installs benchmark-mi 0.1.3 with jax 0.4.30 into .venv-bmi), or point "
                                    f"bmi_data.python or ${PYTHON_ENV} at that environment's python")
        return path


class BmiParams(TrainSection):
    """``bmi`` stage: the estimators, each with the fit core's defaults, on every task, size and data seed."""

    estimators: list[Label] | None = None
    seeds: int | None = Field(None, ge=1)  # fit seeds per estimate (anchorbench estimate's default: 5)


SECTIONS = {"bmi_data": BmiDataParams, "bmi": BmiParams}
