"""The Optuna objective's pieces: search space, trial groups on validation seeds, MSE, failure."""

import math

import numpy as np
import optuna
import pytest

from anchorbench.config import parse_params
from anchorbench.experiment import Diverged
from anchorbench.mi_benchmark.tuning import VALIDATION_SEED_OFFSET, search_space, tail_mse, trial_group

PARAMS = parse_params({"profile": "smoke", "mi_benchmark": {"estimators": ["infonce_anchor"], "device": "cpu"},
                       "mi_benchmark_tune": {"critics": ["separable"]}})


def test_search_space_follows_estimator_and_critic():
    trial = optuna.trial.FixedTrial({"nu": 2.0, "temperature": 0.5, "width": 64})
    assert search_space(trial, "infonce_anchor", "separable", PARAMS) == {"nu": 2.0, "temperature": 0.5, "width": 64}
    assert search_space(trial, "nwj", "joint", PARAMS) == {"width": 64}  # no nu, no temperature
    assert search_space(trial, "scoring_rule(nu=0)", "joint", PARAMS) == {"width": 64}  # nu fixed by the label


def test_trial_group_uses_validation_seeds_and_the_chosen_values():
    g = trial_group("infonce_anchor", "separable", {"nu": 2.0, "temperature": 0.5, "width": 64}, PARAMS)
    assert [r.seed for r in g.runs] == [VALIDATION_SEED_OFFSET]
    assert g.critic.temperature == 0.5 and g.critic.width == 64 and g.runs[0].hparams == {"nu": 2.0}
    assert g.schedule.steps_per_level == PARAMS.mi_benchmark_tune.steps_per_level


def test_tail_mse_uses_the_last_quarter_and_fails_on_nan():
    est = np.zeros((8, 1))
    est[6:] = 3.0  # last quarter of level 0 (4 steps per level -> 1 step)... 2 levels of 4 steps
    est[3] = 1.0
    assert tail_mse(est, [2.0, 4.0], [2.0, 4.0], 4) == pytest.approx(((1 - 2) ** 2 + (3 - 4) ** 2) / 2)
    est[7] = math.nan
    with pytest.raises(Diverged, match="diverged at level 4 bits"):
        tail_mse(est, [2.0, 4.0], [2.0, 4.0], 4)
