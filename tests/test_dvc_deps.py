"""dvc.yaml's code deps against the import graph: every module a stage's command can import (statically, plus
what the experiment registry imports by name) must be covered by one of the stage's deps, so editing any of
them re-runs the stage. A miss here is a stage that ``dvc repro`` would wrongly call up to date."""

import ast
from pathlib import Path

import pytest
import yaml

from anchorbench import experiments
from anchorbench.paths import REPO

PACKAGES = ("estimators", "anchorbench", "tasks", "flows")


def module_file(name: str) -> Path | None:
    """The project file of module ``name`` (``a.b`` -> a/b.py or a/b/__init__.py), None outside the project."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[Path]:
    """Project files that ``path`` imports anywhere in its body (function-level imports included), the packages on
    the way (``import a.b.c`` runs a/__init__ and a/b/__init__), and, for a package that loads submodules by name
    (``importlib.import_module`` in its ``__init__``), all of its submodules."""
    tree, package = ast.parse(path.read_text()), module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: ``from . import x`` in package a.b is a.b.x
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        parts = name.split(".")
        found |= {f for i in range(1, len(parts) + 1) if (f := module_file(".".join(parts[:i])))}
    if path.name == "__init__.py" and "import_module" in path.read_text() and path.parent.name != "anchorbench":
        found |= set(path.parent.glob("*.py"))
    return found - {path}


def closure(start: set[Path]) -> set[Path]:
    seen, todo = set(), list(start)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports(path)
    return seen


def stage_modules(key: str) -> set[Path]:
    """What ``python -m flows <key> <stage>`` imports: the entry, every experiment's config (the params model), and
    this experiment's adapter (both loaded by name through anchorbench.experiments)."""
    entries = experiments.REGISTRY.values()
    start = {REPO / "flows/__main__.py", module_file(f"{experiments.entry(key).package}.experiment")}
    start |= {module_file(f"{e.package}.config") for e in entries}
    return closure(start)


def covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(REPO)
    return any(rel == Path(d) or Path(d) in rel.parents for d in deps)


def _stages():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for entry in experiments.REGISTRY.values():
        for stage in entry.stages:
            name = entry.key if stage == "train" else f"{entry.key}_{stage}"
            yield pytest.param(entry.key, stage, stages.get(name), id=name)


@pytest.mark.parametrize("key,stage,spec", list(_stages()))
def test_every_imported_module_is_a_dep(key, stage, spec):
    assert spec is not None, "dvc.yaml has no such stage"
    assert spec["cmd"] == f"python -m flows {key} {stage}"
    deps = [d for d in spec["deps"] if d.split("/")[0] in PACKAGES]
    missing = sorted(str(p.relative_to(REPO)) for p in stage_modules(key) if not covered(p, deps))
    assert not missing, f"dvc.yaml stage misses code deps: {missing}"
    assert all((REPO / d).exists() for d in deps), [d for d in deps if not (REPO / d).exists()]


def test_the_graph_sees_a_new_import(tmp_path, monkeypatch):
    """The check itself can fail: a module that imports another is followed to it."""
    graph = closure({REPO / "anchorbench/mi_benchmark/experiment.py"})
    assert REPO / "anchorbench/mi_benchmark/effective_mi.py" in graph
    assert REPO / "anchorbench/protein/synthetic.py" not in graph
    assert not covered(REPO / "anchorbench/mi_benchmark/effective_mi.py", ["anchorbench/mi_benchmark/plots.py"])


def test_the_committed_lock_has_exactly_the_stages_of_dvc_yaml():
    """dvc repro never drops a renamed stage from dvc.lock: a stale entry would survive into every fresh clone; and
    a stage that never ran into the lock has no committed results."""
    stages = set(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])
    locked = set(yaml.safe_load((REPO / "dvc.lock").read_text())["stages"])
    assert locked == stages, f"stale in dvc.lock: {sorted(locked - stages)}; never run: {sorted(stages - locked)}"


def test_uncached_outputs_are_not_git_ignored():
    """An output with ``cache: false`` is committed to git: a .gitignore line that DVC left from when it was cached
    would keep it out of every commit (the per-trial tables were lost that way)."""
    ignored = []
    for spec in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].values():
        for kind in ("outs", "metrics", "plots"):
            for out in spec.get(kind, []):
                if isinstance(out, dict):
                    (path, opts), = out.items()
                    gitignore = REPO / path.rpartition("/")[0] / ".gitignore"
                    if opts.get("cache") is False and gitignore.is_file() and \
                            "/" + path.rpartition("/")[2] in gitignore.read_text().split():
                        ignored.append(path)
    assert not ignored, f"uncached outputs listed in a .gitignore: {ignored}"
