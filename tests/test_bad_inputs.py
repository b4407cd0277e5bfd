"""Bad input, each one a case: a one-line error naming the setting or file and what is allowed, exit
status 2, no traceback, and nothing left behind (no output files, no MLflow or Optuna store).

Params cases go through ``anchorbench run <experiment>`` (validated before any flow or server starts);
mirror cases through the data stage's pre-flight check; argument cases through argparse.
"""

import copy
import functools
import re
import shutil
from pathlib import Path

import pytest
import yaml

from anchorbench.paths import REPO
from flows.cli import main

BASE = yaml.safe_load((REPO / "params.yaml").read_text())


def _with(dotted: str, value):
    raw = copy.deepcopy(BASE)
    *parents, key = dotted.split(".")
    block = raw
    for name in parents:
        block = block.setdefault(name, {})
    block[key] = value
    return raw


def _case(experiment: str, dotted: str, value, pattern: str):
    """A case: (experiment, params.yaml with ``dotted`` set to ``value``, what the one-line error must say)."""
    return experiment, _with(dotted, value), pattern


_mi, _protein, _ssl = (functools.partial(_case, e) for e in ("mi-benchmark", "protein", "ssl"))


PARAMS_CASES = [
    _mi("mi_benchmark.lr", "fast", r"mi_benchmark\.lr: Input should be a valid number"),
    _mi("mi_benchmark.lr", -1, r"mi_benchmark\.lr: Input should be greater than 0"),
    _mi("mi_benchmark.lrr", 0.1, r"mi_benchmark\.lrr: unknown key"),
    _mi("mi_benchmark_tune.nu_range", [20, 0.05], r"mi_benchmark_tune\.nu_range: must be \[low, high\] with 0 < low"),
    _mi("mi_benchmark_tune.temperature_range", [0, 1], r"mi_benchmark_tune\.temperature_range: must be \[low, high\]"),
    _mi("mi_benchmark.estimators", ["foo"],
        r"mi_benchmark\.estimators\.0: unknown estimator 'foo'; available: .*nwj"),
    _mi("mi_benchmark.estimators", ["infonce_anchor(mu=1)"],
        r"mi_benchmark\.estimators\.0: estimator 'infonce_anchor' takes hyperparameters "
        r"\['nu', 'K', 'parametrization'\], got unknown \['mu'\]"),
    _mi("mi_benchmark.estimators", ["infonce_anchor(nu=-2)"], r"mi_benchmark\.estimators\.0: nu must be a finite"),
    _mi("mi_benchmark.sources", 4, r"mi_benchmark: levels_bits must lie in \[0, sources = 4\] bits"),
    _mi("mi_benchmark.levels_bits", [2, 12], r"mi_benchmark: levels_bits must lie in \[0, sources = 10\]"),
    _mi("mi_benchmark.critics", ["mlp"], r"mi_benchmark\.critics\.0: .*'joint', 'separable'"),
    _mi("mi_benchmark.domains", ["cifar"], r"mi_benchmark\.domains\.0: .*'gaussian', 'mnist'"),
    _mi("mi_benchmark.precision", "fp16", r"mi_benchmark\.precision: .*'fp32' or 'bf16'"),
    _mi("mi_benchmark.device", "tpu", r"mi_benchmark\.device: .*'auto', 'cpu' or 'cuda'"),
    _mi("mi_benchmark.batch_size", 1, r"mi_benchmark\.batch_size: .*greater than or equal to 2"),
    _mi("mi_benchmark.seeds", 0, r"mi_benchmark\.seeds: .*greater than or equal to 1"),
    _mi("mi_benchmark.gaussian_transform", "square", r"mi_benchmark\.gaussian_transform: .*'cubic'"),
    _mi("mi_benchmark.estimators", [], r"mi_benchmark\.estimators: .*at least 1 item"),
    _mi("mi_benchmark_tune.widths", [], r"mi_benchmark_tune\.widths: must be a non-empty list"),
    _mi("mi_benchmark_tune.critics", ["mlp"], r"mi_benchmark_tune\.critics\.0: .*'joint', 'separable' or 'bilinear'"),
    _mi("mi_benchmark_tune.domain", "cifar", r"mi_benchmark_tune\.domain: .*'gaussian', 'mnist' or 'imdb_bert'"),
    _mi("mi_benchmark_tune.study.n_trials", 0, r"mi_benchmark_tune\.study\.n_trials: .*greater than or equal to 1"),
    _mi("mi_benchmark_tune.study.direction", "maximize",
        r"mi_benchmark_tune\.study\.direction: Input should be 'minimize'"),
    _mi("mi_benchmark_data.domains", ["cifar"], r"mi_benchmark_data\.domains\.0: .*'mnist' or 'imdb_bert'"),
    _mi("mi_benchmark_data.verify_hashes", "maybe", r"mi_benchmark_data\.verify_hashes: Input should be a valid"),
    _mi("profile", "huge", r"profile: must be one of \['smoke', 'default', 'paper'\]"),
    _mi("mi_benchmark", [1, 2], r"mi_benchmark: Input should be a valid dictionary"),
    _protein("protein.objectives", ["foo"], r"protein\.objectives: unknown estimator 'foo'; .*\(or 'lmi', the LMI"),
    _protein("protein.objectives", ["js", "js"], r"protein\.objectives: objectives must be distinct"),
    _protein("protein.held_out", 1, r"protein\.held_out: .*greater than or equal to 2"),
    _protein("protein.held_out", 1000, r"protein\.held_out \(1000\) must be at most half the 1702 proteins of "
             r"dataset 'ligand'"),
    _protein("protein.lr", 0, r"protein\.lr: Input should be greater than 0"),
    _protein("protein.objectives", ["infonce_anchor(mu=1)"],
             r"protein\.objectives: estimator 'infonce_anchor' takes hyperparameters .* unknown \['mu'\]"),
    _protein("protein.datasets", ["yeast"], r"protein\.datasets\.0: .*'kinase' or 'ligand'"),
    _protein("protein_tune.nu_range", [20, 0.05], r"protein_tune\.nu_range: must be \[low, high\] with 0 < low"),
    _protein("protein_tune.widths", [], r"protein_tune\.widths: must be a non-empty list"),
    _protein("protein_tune.study.heartbeat_seconds", 0,
             r"protein_tune\.study\.heartbeat_seconds: .*greater than or equal to 1"),
    _protein("protein.patience", 50, r"protein: patience \(50\) must be >= check_every \(100\)"),
    _protein("protein.device", "tpu", r"protein\.device: .*'auto', 'cpu' or 'cuda'"),
    _protein("protein_data.scale", 2, r"protein_data\.scale: .*less than or equal to 1"),
    _protein("protein_data.source", "web", r"protein_data\.source: .*'synthetic' or 'real'"),
    _ssl("ssl.objectives", ["foo"], r"ssl\.objectives\.0: unknown estimator 'foo'; available: .*infonce_anchor"),
    _ssl("ssl.pairings", ["xyz"], r"ssl\.pairings\.0: .*'cdp' or 'aug'"),
    _ssl("ssl.dataset", "imagenet", r"ssl\.dataset: .*'cdp' or 'cifar100'"),
    _ssl("ssl.batch_size", 2, r"ssl\.batch_size: .*greater than or equal to 4"),
    _ssl("ssl.small_batch", 1, r"ssl\.small_batch: .*greater than or equal to 2"),
    _ssl("ssl.temperatures", {"infonce_anchor": -1}, r"ssl\.temperatures: temperatures must be > 0"),
    _ssl("ssl.encoder", "vit", r"ssl\.encoder: .*'resnet18' or 'convnet'"),
    _ssl("ssl.pd_critic_lr", 0, r"ssl\.pd_critic_lr: .*greater than 0"),
    _ssl("ssl.random_init", "sometimes", r"ssl\.random_init: Input should be a valid boolean"),
    _ssl("ssl_tune.tau_range", [1, 0.05], r"ssl_tune\.tau_range: must be \[low, high\] with 0 < low < high"),
    _ssl("ssl_tune.study.direction", "minimize", r"ssl_tune\.study\.direction: Input should be 'maximize'"),
    _ssl("ssl.post_estimators", ["bogus"], r"ssl\.post_estimators\.0: unknown estimator 'bogus'"),
    _ssl("ssl.post_critic", {"type": "mlp"}, r"ssl\.post_critic: critic must be a dict with 'type' in "
         r"\['bilinear', 'joint', 'separable'\]"),
    _ssl("ssl.post_critic", {"type": "separable", "widht": 64},
         r"ssl\.post_critic: critic settings \['widht'\] are unknown; allowed: .*'width'"),
    _ssl("ssl.post_critic", {"type": "joint", "embed": 8}, r"ssl\.post_critic: a joint critic takes "
         r"\['depth', 'output', 'width'\], got \['embed'\]"),
    _ssl("ssl.dataset", "cifar100", r"ssl: pairings: cifar100 has no CDP attributes; only \['aug'\] is allowed"),
    _ssl("ssl_data.digits", [1, 1, 2, 3], r"ssl_data\.digits: digits must be 4 distinct values in 0\.\.9"),
    _ssl("ssl_data.probe_sizes", [8, 8, 8], r"ssl_data\.probe_sizes: .*must each be >= 16"),
    _ssl("ssl_data.glyph_source", "emnist", r"ssl_data\.glyph_source: .*'auto', 'mnist' or 'sklearn'"),
]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Every store and output under tmp_path/home; returns it (it must stay empty)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ANCHORBENCH_HOME", str(home))
    monkeypatch.setenv("ANCHORBENCH_OUTPUTS", str(home / "out"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    return home


def _one_line_error(capsys, pattern: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert re.search(pattern, err), err
    return err


@pytest.mark.parametrize("experiment,raw,pattern", PARAMS_CASES,
                         ids=[f"{e}:{p.split(':')[0][:40]}" for e, _, p in PARAMS_CASES])
def test_bad_params(experiment, raw, pattern, sandbox, tmp_path, capsys):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", experiment, "--params", str(path)]) == 2
    _one_line_error(capsys, r"^anchorbench: error: params\.yaml: " + pattern)
    assert list(sandbox.iterdir()) == []  # no outputs, no scratch tree, no MLflow or Optuna store


@pytest.mark.parametrize("content,pattern", [
    ("mi_benchmark: [unclosed\n", r"is not valid YAML"),
    (None, r"params file '.*nowhere\.yaml' not found"),
    ("- a\n- b\n", r"params\.yaml: must be a mapping of sections, got list"),
])
def test_bad_params_files(content, pattern, sandbox, tmp_path, capsys):
    path = tmp_path / ("params.yaml" if content is not None else "nowhere.yaml")
    if content is not None:
        path.write_text(content)
    assert main(["run", "mi-benchmark", "--params", str(path)]) == 2
    _one_line_error(capsys, pattern)
    assert list(sandbox.iterdir()) == []


ARGUMENT_CASES = [
    (["run", "nothing"], "invalid choice: 'nothing'"),
    (["run", "mi-benchmark", "--stage", "deploy"], "invalid choice: 'deploy'"),
    (["run", "mi-benchmark", "--profile", "huge"], "invalid choice: 'huge'"),
    (["run", "mi-benchmark", "--runner", "spark"], "invalid choice: 'spark'"),
    (["run", "pipeline", "--profile", "smoke"], "unrecognized arguments: --profile smoke"),
    (["compare", "--statistic", "median"], "invalid choice: 'median'"),
    (["compare", "--format", "xlsx"], "invalid choice: 'xlsx'"),
    (["serve", "--port", "80"], "unrecognized arguments: --port 80"),
    ([], "the following arguments are required: command"),
]


@pytest.mark.parametrize("argv,needle", ARGUMENT_CASES, ids=[" ".join(a) or "empty" for a, _ in ARGUMENT_CASES])
def test_bad_arguments(argv, needle, sandbox, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and needle in err.splitlines()[-1] and "Traceback" not in err
    assert list(sandbox.iterdir()) == []


def _mirror_copy(tmp_path: Path, data_mirror: Path, monkeypatch) -> Path:
    """A copy of the mirror's MNIST files whose current hashes count as the published ones (so the check
    works on the real mirror and on the fake one alike)."""
    from anchorbench import mirror

    root = tmp_path / "mirror"
    for rel in ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_mirror / rel, root / rel)
        monkeypatch.setitem(mirror.KNOWN_SHA256, rel, mirror.sha256(root / rel))
    return root


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage,pattern", [
    (lambda p: p.unlink(), r"data file 'mnist/t10k-labels-idx1-ubyte\.gz' not found .*data\.mirror"),
    (_truncate, r"t10k-labels-idx1-ubyte\.gz' is truncated or corrupted: sha256"),
    (_flip_a_byte, r"t10k-labels-idx1-ubyte\.gz' is truncated or corrupted: sha256"),
], ids=["missing", "truncated", "corrupted"])
def test_bad_mirror_files(damage, pattern, data_mirror, sandbox, tmp_path, monkeypatch, capsys):
    root = _mirror_copy(tmp_path, data_mirror, monkeypatch)
    damage(root / "mnist/t10k-labels-idx1-ubyte.gz")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(BASE | {"mi_benchmark_data": {"mirror": str(root), "domains": ["mnist"]}}))
    assert main(["run", "mi-benchmark", "--stage", "data", "--params", str(params)]) == 2
    _one_line_error(capsys, r"^anchorbench run: error: .*" + pattern)
    assert list(sandbox.iterdir()) == []  # refused before the flow: no pools, no scratch tree, no stores
