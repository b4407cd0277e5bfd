"""protein_data / protein params: profiles fill them, bad values name the key and the allowed values."""

import pytest

from anchorbench.config import parse_params

BASE = {"mi_benchmark": {"estimators": ["nwj"]}}


def test_profiles_fill_the_protein_sections():
    smoke = parse_params(BASE | {"profile": "smoke"})
    paper = parse_params(BASE | {"profile": "paper"})
    assert smoke.protein_data.source == "synthetic" and paper.protein_data.source == "real"
    assert paper.protein.trials == 20 and paper.protein.max_steps == 10_000 and paper.protein.held_out == 170
    assert paper.protein.width == 256 and paper.protein.depth == 3  # four hidden layers of 256
    assert smoke.protein.trials < paper.protein.trials


@pytest.mark.parametrize("raw,match", [
    ({"protein": {"objectives": ["infonce_anchor", "bogus"]}},
     r"protein\.objectives: unknown estimator 'bogus'; available: .*\(or 'lmi', the LMI baseline\)"),
    ({"protein": {"objectives": ["js", "js"]}}, r"protein\.objectives: objectives must be distinct"),
    ({"protein": {"datasets": ["yeast"]}}, r"protein\.datasets\.0: .*'kinase' or 'ligand'"),
    ({"protein_data": {"source": "web"}}, r"protein_data\.source: .*'synthetic' or 'real'"),
    ({"protein_data": {"scale": 2}}, r"protein_data\.scale: .*less than or equal to 1"),
    ({"protein": {"patience": 100, "check_every": 500}}, r"patience \(100\) must be >= check_every \(500\)"),
    ({"protein": {"objectives": ["spherical(parametrization=pdf)"]}}, "parametrization must be"),
    ({"protein_tune": {"nu_range": [2.0, 1.0]}},
     r"protein_tune\.nu_range: must be \[low, high\] with 0 < low < high"),
    ({"protein_tune": {"study": {"n_trials": 0}}}, r"protein_tune\.study\.n_trials: .*greater than or equal to 1"),
    ({"protein": {"held_out": 1}}, r"protein\.held_out: .*greater than or equal to 2"),
    ({"protein": {"lr": 0.1, "lrr": 1}}, r"protein\.lrr: unknown key"),
])
def test_bad_protein_params_are_named(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_params(BASE | raw)
