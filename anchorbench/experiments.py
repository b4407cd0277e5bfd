"""The registry of experiments: the one list the params model, the CLI, the flows and the DVC entry read.

An entry names the experiment's package; ``<package>.config`` holds its params sections (``SECTIONS``) and
profile presets (``PROFILES``), light to import; ``<package>.experiment`` holds its adapter (``EXPERIMENT``, an
``anchorbench.experiment.Experiment``), imported only when a stage of it runs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from anchorbench.experiment import STAGES, Experiment

PROFILE_NAMES = ("smoke", "default", "paper")  # params.yaml's profile: each experiment's PROFILES presets


@dataclass(frozen=True)
class Entry:
    key: str  # the experiment's name everywhere (sections, stages, outputs, MLflow, flows)
    package: str
    stages: tuple[str, ...] = STAGES
    title: str = ""


REGISTRY: dict[str, Entry] = {e.key: e for e in (
    Entry("mi_benchmark", "anchorbench.mi_benchmark", title="MI benchmark (Gaussian, MNIST, IMDB-BERT; 2-10 bits)"),
    Entry("protein", "anchorbench.protein", title="Protein interaction AUROC from pointwise MI"),
    Entry("ssl", "anchorbench.ssl", title="Self-supervised pretraining, linear probe, post-training MI"),
    Entry("bmi", "anchorbench.bmi", ("data", "train"), title="bmi benchmark (40 tasks, exact MI)"),
)}


def entry(key: str) -> Entry:
    """The entry of ``key`` (``mi_benchmark`` or its CLI spelling ``mi-benchmark``); ValueError listing the keys."""
    name = key.replace("-", "_")
    if name not in REGISTRY:
        raise ValueError(f"unknown experiment {key!r}; registered: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def config(key: str) -> ModuleType:
    """The experiment's ``config`` module (``SECTIONS``, ``PROFILES``)."""
    return importlib.import_module(f"{entry(key).package}.config")


def get(key: str) -> Experiment:
    """The experiment's adapter."""
    experiment = importlib.import_module(f"{entry(key).package}.experiment").EXPERIMENT
    assert experiment.key == entry(key).key and experiment.stages == entry(key).stages, experiment.key
    return experiment
