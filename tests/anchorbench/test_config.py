"""params.yaml validation: profiles fill nulls, explicit values win, bad keys and values are named."""

import pytest

from anchorbench.config import PROFILES, load_params, parse_params
from anchorbench.paths import REPO

BASE = {"mi_benchmark": {"estimators": ["nwj", "infonce_anchor"]}}


def test_repo_params_file_is_valid():
    params = load_params(REPO / "params.yaml")
    assert params.mi_benchmark.steps_per_level == PROFILES[params.profile]["mi_benchmark.steps_per_level"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profile_fills_nulls(profile):
    p = parse_params(BASE | {"profile": profile})
    for dotted, value in PROFILES[profile].items():
        node = p
        for name in dotted.split("."):  # "section.key" or "section.study.key"
            node = getattr(node, name)
        assert node == value, dotted


def test_explicit_value_beats_the_profile():
    p = parse_params({"profile": "paper", "mi_benchmark": {"estimators": ["nwj"], "seeds": 3}})
    assert p.mi_benchmark.seeds == 3 and p.mi_benchmark.steps_per_level == 4000


@pytest.mark.parametrize("raw,match", [
    ({"mi_benchmark": {"estimators": ["nwj"], "lrr": 0.1}}, r"mi_benchmark\.lrr: unknown key"),
    ({"mi_benchmark": {"estimators": ["foo"]}}, r"unknown estimator 'foo'; available: .*infonce_anchor"),
    ({"mi_benchmark": {"estimators": ["infonce_anchor(mu=1)"]}},
     r"estimator 'infonce_anchor' takes hyperparameters \['nu', 'K', 'parametrization'\], got unknown \['mu'\]"),
    ({"mi_benchmark": {"estimators": ["infonce_anchor(nu"]}}, r"must look like name or name\(key=value, \.\.\.\)"),
    ({"mi_benchmark": {"estimators": ["nwj"], "critics": ["mlp"]}},
     r"mi_benchmark\.critics\.0: .*'joint', 'separable' or 'bilinear'"),
    ({"mi_benchmark": {"estimators": ["nwj"], "lr": -1}}, r"mi_benchmark\.lr: .*greater than 0"),
    ({"mi_benchmark": {"estimators": ["infonce_anchor(nu=-2)"]}}, "nu must be"),
    ({"profile": "huge", "mi_benchmark": {"estimators": ["nwj"]}},
     r"params.yaml: profile: must be one of \['smoke', 'default', 'paper'\], got 'huge'"),
    ({"mi_benchmark": {"estimators": []}}, r"mi_benchmark\.estimators"),
    ({"mi_benchmark": {"estimators": ["nwj"], "sources": 4}}, r"levels_bits must lie in \[0, sources = 4\]"),
    ({"mi_benchmark_tune": {"critics": ["mlp"]}, "mi_benchmark": {"estimators": ["nwj"]}},
     r"mi_benchmark_tune\.critics\.0"),
    ({"mi_benchmark_tune": {"study": {"direction": "maximize"}}, "mi_benchmark": {"estimators": ["nwj"]}},
     r"mi_benchmark_tune\.study\.direction: Input should be 'minimize'"),
    ({"mi_benchmark": {"estimators": ["nwj"], "precision": "fp16"}}, r"mi_benchmark\.precision: .*'fp32' or 'bf16'"),
    ({"mi_benchmark_data": {"domains": ["cifar"]}, "mi_benchmark": {"estimators": ["nwj"]}},
     r"mi_benchmark_data\.domains\.0: .*'mnist' or 'imdb_bert'"),
])
def test_bad_params_name_the_key_and_allowed_values(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_params(raw)


def test_section_hash_changes_with_the_section_only():
    a = parse_params(BASE)
    b = parse_params({**BASE, "mi_benchmark_tune": {"study": {"n_trials": 99}}})
    assert a.section_hash("mi_benchmark") == b.section_hash("mi_benchmark")
    assert a.section_hash("mi_benchmark_tune") != b.section_hash("mi_benchmark_tune")


def test_labels_are_stored_canonical():
    p = parse_params({"mi_benchmark": {"estimators": ["infonce_anchor(nu=1)", "smile(tau=5.0)", "smile(tau=1)"]}})
    assert p.mi_benchmark.estimators == ["infonce_anchor", "smile", "smile(tau=1)"]
