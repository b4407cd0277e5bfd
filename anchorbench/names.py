"""MLflow names in one place: experiments, tags and metric names, for logging and for reading back.

Both the writers (``tasks/``) and the readers (``anchorbench.mi_benchmark.compare``) use these, so a
renamed metric cannot silently break a comparison.
"""

from __future__ import annotations

import re

# Experiments (one per experiment; tuning studies get their own).
MI_BENCHMARK = "mi_benchmark"
MI_BENCHMARK_TUNE = "mi_benchmark_tune"
PROTEIN = "protein"
SSL = "ssl"

# Tags every run carries (tasks.tracking.base_tags) and the role of a parent run.
TAG_ROLE = "role"
TAG_STATUS = "status"
ROLE_BENCHMARK = "benchmark"
ROLE_STUDY = "study"
RUN_KEYS = ("domain", "critic", "estimator", "seed")  # tags of one MI-benchmark child run

# Per-level statistics of an MI-benchmark child run, e.g. ``bias_4bits``.
LEVEL_STATISTICS = ("mean", "bias", "sd")
_LEVEL_METRIC = re.compile(r"(mean|bias|sd)_([0-9.]+)bits")


def level_metric(statistic: str, level_bits: float) -> str:
    """``bias``, 4.0 -> ``bias_4bits``."""
    if statistic not in LEVEL_STATISTICS:
        raise ValueError(f"statistic must be one of {list(LEVEL_STATISTICS)}, got {statistic!r}")
    return f"{statistic}_{level_bits:g}bits"


def parse_level_metric(name: str) -> tuple[str, float] | None:
    """``bias_4bits`` -> ("bias", 4.0); None for any other metric name."""
    m = _LEVEL_METRIC.fullmatch(name)
    return (m.group(1), float(m.group(2))) if m else None


# Protein experiment (anchorbench/protein, tasks/protein.py).
PROTEIN_TUNE = "protein_tune"  # Optuna studies of the protein task (a parent per study, a child per trial)
PROTEIN_RUN_KEYS = ("dataset", "objective", "trial")  # tags of one protein child run

# SSL experiment (anchorbench.ssl): the parent run's role and the tags of one child (unit) run.
ROLE_SSL = "ssl"
ROLE_SSL_STUDY = "ssl_study"
SSL_TUNE = "ssl_tune"
SSL_RUN_KEYS = ("objective", "pairing", "batch_size", "seed")
