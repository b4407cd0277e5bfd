"""MLflow names in one place: experiments, tags and the metric names writers and readers share.

Every experiment ``<key>`` logs its training stage to MLflow experiment ``<key>`` and its studies to
``<key>_tune``. The headline metrics of every experiment use the shared names below, so the runs tables of all
experiments read the same way (``anchorbench compare`` and the UI test read them back).
"""

from __future__ import annotations

import re


def experiment(key: str, stage: str = "train") -> str:
    """The MLflow experiment of an experiment's stage: ``<key>`` for training, ``<key>_tune`` for its studies."""
    return key if stage == "train" else f"{key}_{stage}"


# Tags every run carries (tasks.tracking.base_tags) and the role of a parent run.
TAG_ROLE = "role"
TAG_STATUS = "status"  # a child run: ok | diverged | failed
TAG_STATE = "state"  # an Optuna trial's run: complete | pruned | failed
ROLE_STAGE = "stage"  # the parent run of a training stage's flow run
ROLE_STUDY = "study"  # the parent run of one Optuna study

# Shared headline metric names (bits for MI; "error" = estimate - truth).
MI_BITS = "mi_bits"
TRUE_MI_BITS = "true_mi_bits"
ERROR_BITS = "error_bits"
ABS_ERROR_BITS = "abs_error_bits"
AUROC = "auroc"
TOP1 = "top1"
WITHIN_10PCT = "within_10pct"  # fraction of cases within 10 % (or 0.05 nat) of the truth

# Per-level statistics of an MI-benchmark child run, e.g. ``bias_4bits``.
LEVEL_STATISTICS = ("mean", "bias", "sd")
_LEVEL_METRIC = re.compile(r"(mean|bias|sd)_([0-9.]+)bits")


def slug(label: str) -> str:
    """A label as a file or folder name: ``binary_rule(alpha=2, rule=power)`` -> ``binary_rule-alpha2-rulepower``."""
    return re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9_.-]", "-", label.replace("=", ""))).strip("-")


def level_metric(statistic: str, level_bits: float) -> str:
    """``bias``, 4.0 -> ``bias_4bits``."""
    if statistic not in LEVEL_STATISTICS:
        raise ValueError(f"statistic must be one of {list(LEVEL_STATISTICS)}, got {statistic!r}")
    return f"{statistic}_{level_bits:g}bits"


def parse_level_metric(name: str) -> tuple[str, float] | None:
    """``bias_4bits`` -> ("bias", 4.0); None for any other metric name."""
    m = _LEVEL_METRIC.fullmatch(name)
    return (m.group(1), float(m.group(2))) if m else None
