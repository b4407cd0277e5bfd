"""The experiment spec: what every experiment provides, once, so stages, studies, tracking, resume and names are
written in one place (``tasks/experiment.py`` and ``flows/experiment.py`` build the Prefect side from it).

An experiment ``key`` (e.g. ``protein``) names everything it owns: its params sections ``<key>_data``,
``<key>_tune`` and ``<key>``, its DVC stages of the same names, its outputs ``data/<key>``, ``results/<key>/tune``
and ``results/<key>``, its MLflow experiments ``<key>`` and ``<key>_tune``, its flows ``<key>-data``,
``<key>-tune`` and ``<key>-train``, and its CLI name (``anchorbench run <key>``, ``_`` written ``-``).

A stage's work, top to bottom:
- data: ``prepare`` writes the data under ``data/<key>`` and returns what the manifest should say beside the
  sha256 of every file (the generic code writes ``manifest.json``);
- tune: ``studies`` are typed :class:`Study` specs; each trial's objective returns a :class:`TrialResult` or
  raises :class:`Diverged` (the trial fails and counts; it is never scored);
- train: ``plan`` gives frozen named units, ``run_unit`` computes one into a folder (kept content-keyed by
  ``anchorbench.resume``, so a rerun after a kill reuses it), ``summarise`` writes tables, figures and
  ``metrics.json`` atomically, ``children`` are the MLflow child runs as data, ``report`` the run's markdown.
No Prefect, MLflow or DVC here.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anchorbench import paths
from anchorbench.io import write_manifest

if TYPE_CHECKING:
    import optuna

    from anchorbench.config import Params
    from anchorbench.sections import StudyParams

STAGES = ("data", "tune", "train")


class Diverged(RuntimeError):
    """A run's loss or readout turned NaN or inf: the run (or Optuna trial) is recorded as failed, never scored."""


@dataclass(frozen=True)
class TrialResult:
    """What a tuning trial scored: ``value`` (the study's metric) and other metrics to record beside it."""

    value: float
    metrics: dict[str, float] = field(default_factory=dict)


Log = Callable[[dict[str, float], int | None], None]  # log(metrics, step): the trial's record (an MLflow child run)


@dataclass(frozen=True)
class Study:
    """One Optuna study of a tuning stage.

    ``key`` names it in ``best_params.json`` and in the Optuna study name ``<study_name>-<key>-<profile>``;
    ``metric`` names its value; ``tags`` label its MLflow runs. ``objective(trial, log)`` suggests values
    (Optuna's ``trial.suggest_*``), trains, may ``trial.report`` and raise ``optuna.TrialPruned``, and returns a
    :class:`TrialResult` or raises :class:`Diverged`.
    """

    key: str
    params: StudyParams
    metric: str
    objective: Callable[[optuna.Trial, Log], TrialResult]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChildRun:
    """One MLflow child run of a training stage, as data: its name, tags, params, final metrics and stepped
    series (``{metric: [(step, value), ...]}``); ``status`` ok | diverged | failed."""

    name: str
    tags: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    status: str = "ok"


@dataclass(frozen=True)
class Summary:
    """What ``summarise`` wrote: ``files`` (name -> path, every one written atomically; ``metrics`` is
    ``metrics.json``) and ``headline``, the stage's few key numbers under the shared metric names of
    ``anchorbench.names`` (logged on the parent run, shown in the flow's report)."""

    files: dict[str, str]
    headline: dict[str, float] = field(default_factory=dict)


class Experiment(abc.ABC):
    """An experiment adapter (see the module docstring). Subclasses set ``key`` and ``title`` and implement the
    abstract methods; the hooks have defaults. ``stages`` drops ``tune`` for an experiment without studies."""

    key: str = ""
    title: str = ""
    stages: tuple[str, ...] = STAGES
    # whether a unit's files are stage outputs: copied to results/<key>/ (else they stay in the unit cache)
    publish_units: bool = True

    # ------------------------------------------------------------------ names

    def stage_name(self, stage: str) -> str:
        """The DVC stage and params section of ``stage``: ``<key>_data``, ``<key>_tune``, ``<key>``."""
        if stage not in self.stages:
            raise ValueError(f"experiment {self.key!r} has stages {list(self.stages)}, got {stage!r}")
        return self.key if stage == "train" else f"{self.key}_{stage}"

    def section(self, params: Params, stage: str):
        return getattr(params, self.stage_name(stage))

    def flow_name(self, stage: str) -> str:
        return f"{self.key.replace('_', '-')}-{stage}"

    @property
    def cli_name(self) -> str:
        return self.key.replace("_", "-")

    def data_dir(self) -> Path:
        return paths.outputs() / "data" / self.key

    def tune_dir(self) -> Path:
        return paths.outputs() / "results" / self.key / "tune"

    def results_dir(self) -> Path:
        return paths.outputs() / "results" / self.key

    def units_dir(self) -> Path:
        return paths.outputs() / ".cache" / "units" / self.key

    def params_hash(self, params: Params) -> str:
        """Hash of this experiment's sections (MLflow tag ``params_hash``)."""
        return params.section_hash(*(self.stage_name(s) for s in self.stages))

    # ------------------------------------------------------------------ stages

    def check(self, params: Params, stage: str) -> None:
        """Pre-flight check before any flow or server starts (e.g. the data stage's input files); raise
        ValueError or FileNotFoundError with a one-line message naming the setting or file."""

    @abc.abstractmethod
    def prepare(self, params: Params, out: Path) -> dict:
        """Data stage: write the data under ``out``; return the manifest's description (settings, counts). The
        generic code adds the sha256 of every file written and writes ``manifest.json``."""

    def prepare_data(self, params: Params) -> dict:
        """The whole data stage: ``prepare`` into ``data/<key>``, then its manifest (every file's sha256, the
        section's settings, the adapter's description), written last, so a manifest means complete data."""
        out = self.data_dir()
        info = self.prepare(params, out)
        return write_manifest(out, info, self.section(params, "data").model_dump(mode="json"))

    def studies(self, params: Params) -> list[Study]:
        """Tune stage: the studies (none by default)."""
        return []

    @abc.abstractmethod
    def plan(self, params: Params, tuned: dict) -> list:
        """Train stage: frozen units with a ``name`` (plain values only: a unit is part of its resume key).
        ``tuned``: ``{study key: best params}`` from the tune stage (empty if none ran or ``use_tuned`` is off)."""

    def unit_key(self, params: Params) -> object:
        """What besides the unit, the data and the code determines a unit's result (part of its resume key):
        by default the train section."""
        return self.section(params, "train")

    @abc.abstractmethod
    def run_unit(self, params: Params, unit, data_dir: Path, folder: Path) -> dict:
        """Compute one unit: write its files into ``folder``, return its JSON-able result."""

    @abc.abstractmethod
    def summarise(self, params: Params, results: list[dict], data_dir: Path, out: Path) -> Summary:
        """Write the stage's tables, figures and ``metrics.json`` under ``out`` (atomically, ``anchorbench.io``).
        ``results[i]`` is unit i's result plus ``folder``, the unit's cache folder."""

    @abc.abstractmethod
    def children(self, params: Params, results: list[dict]) -> list[ChildRun]:
        """The MLflow child runs of the train stage."""

    def view_columns(self, params: Params) -> tuple[list[str], list[str]]:
        """The MLflow runs table's columns for comparing this experiment's child runs: (metric names, tag names).
        Metrics should use the shared names of ``anchorbench.names`` (default: none)."""
        return [], []

    def parent_params(self, params: Params) -> dict[str, Any]:
        """MLflow params of the train stage's parent run: the train section's scalar settings."""
        section = self.section(params, "train").model_dump(mode="json")
        return {k: v for k, v in section.items() if v is None or isinstance(v, (str, int, float, bool))}

    def tables(self, metrics: dict) -> dict[str, str]:
        """Markdown tables made from the train stage's ``metrics.json`` (the docs pages embed them, regenerated by
        ``anchorbench docs``): ``claims`` (every claim with its n, CI and verdict) and the experiment's own."""
        from anchorbench import stats

        return {"claims": stats.markdown_table(metrics.get("claims", [])), "verdicts": verdict_counts(metrics)}

    def report(self, params: Params, summary: Summary, run_id: str) -> str:
        """The train flow's markdown artifact (default: the headline numbers)."""
        lines = [f"## {self.title} (profile `{params.profile}`)", "", f"MLflow parent run `{run_id}`.", ""]
        lines += [f"- {k}: {v:.4g}" for k, v in summary.headline.items()]
        return "\n".join(lines)


def markdown_table(frame, digits: int | None = 3, missing: str | None = None, **options) -> str:
    """A pandas DataFrame as a markdown table (the one renderer of every report and docs table): floats to
    ``digits`` (None: as tabulate prints them), empty cells as ``missing`` (None: NaN stays "nan"), ``options``
    for ``DataFrame.to_markdown``."""
    if missing is not None:  # object columns first: pandas deprecates filling float columns with text
        frame = frame.astype(object).fillna(missing)
    return frame.to_markdown(index=False, **({} if digits is None else {"floatfmt": f".{digits}f"}), **options)


def verdict_counts(metrics: dict) -> str:
    """One line: how many of the stage's claims each verdict got (``metrics["claims"]``)."""
    claims = metrics.get("claims", [])
    counts = {v: sum(c["verdict"] == v for c in claims) for v in ("reproduced", "contradicted", "not established")}
    return f"{len(claims)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items())
