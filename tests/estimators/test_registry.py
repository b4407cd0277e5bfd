"""Registry names, hyperparameters and bad input."""

import math

import pytest
import torch

import estimators

EXPECTED = {"dv", "nwj", "nwj_plugin", "infonce", "mine", "js", "js_plugin", "smile", "chi2", "fdime",
            "infonce_anchor", "spherical", "brier", "inverse_log", "scoring_rule", "binary_rule"}


def test_every_table1_estimator_is_registered():
    assert set(estimators.available()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_and_gradients(name):
    scores = torch.randn(3, 2, 8, 8, requires_grad=True)
    est = estimators.build(name)
    loss, value = est.loss(scores), est.estimate(scores)
    assert loss.shape == value.shape == (3, 2)
    loss.sum().backward()
    assert torch.isfinite(scores.grad).all() and scores.grad.abs().sum() > 0


@pytest.mark.parametrize("bad", [torch.randn(4), torch.randn(3, 4), torch.randn(2, 1, 1),
                                 torch.tensor([[1.0, math.nan], [0.0, 1.0]]),
                                 torch.tensor([[1.0, math.inf], [0.0, 1.0]]), torch.ones(3, 3, dtype=torch.long)])
def test_bad_scores_raise(bad):
    with pytest.raises(ValueError, match="scores"):
        estimators.build("infonce_anchor").loss(bad)


@pytest.mark.parametrize("name,kwargs,match", [
    ("no_such", {}, "unknown estimator 'no_such'; available: .*infonce_anchor"),
    ("infonce_anchor", {"nu": -1.0}, "nu must be"),
    ("infonce_anchor", {"K": 0}, "K must be"),
    ("infonce_anchor", {"temperature": 1}, "takes hyperparameters"),
    ("infonce_anchor", {"parametrization": "odds"}, "parametrization must be"),
    ("smile", {"tau": 0}, "tau must be"),
    ("mine", {"ema": 2}, "ema must be"),
    ("fdime", {"divergence": "tv"}, "divergence must be"),
    ("scoring_rule", {"rule": "hinge"}, "rule must be one of"),
    ("scoring_rule", {"rule": "power", "alpha": -1.0}, "alpha > 0"),
    ("scoring_rule", {"rule": "power", "alpha": 1.0}, "alpha > 0"),
    ("scoring_rule", {"rule": "pseudo_spherical", "alpha": 1.0}, "alpha > 1"),
    ("binary_rule", {"rule": "power"}, "alpha"),
])
def test_bad_hyperparameters_raise(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        estimators.build(name, **kwargs)


def test_k_larger_than_the_batch_allows_raises():
    with pytest.raises(ValueError, match=r"K must be an integer in \[1, 7\]"):
        estimators.build("infonce_anchor", K=8).loss(torch.randn(8, 8))


def test_pd_needs_positive_scores():
    with pytest.raises(ValueError, match="strictly positive"):
        estimators.build("infonce_anchor", parametrization="pd").loss(torch.randn(4, 4))


def test_mine_moving_average_is_a_real_ema():
    est = estimators.build("mine", ema=0.25)
    a, b = torch.zeros(2, 4, 4), torch.full((2, 4, 4), math.log(5.0))
    est.loss(a)
    est.loss(b)  # partition 1 then 5 -> ma = 0.75 * 1 + 0.25 * 5 = 2
    assert est.log_moving_average.exp().tolist() == pytest.approx([2.0, 2.0])
    # gradient of the partition term is grad E_q[e^c] / ma, not / E_q[e^c]
    s2 = torch.full((4, 4), math.log(5.0), requires_grad=True)
    est2 = estimators.build("mine", ema=0.25)
    est2.loss(torch.zeros(4, 4))  # ma = 1
    est2.loss(s2).backward()  # ma = 0.75 + 1.25 = 2: off-diagonal grad = (1/12) * 5 / 2 each
    off = s2.grad[~torch.eye(4, dtype=torch.bool)]
    assert off.tolist() == pytest.approx([5.0 / 12 / 2.0] * 12)
