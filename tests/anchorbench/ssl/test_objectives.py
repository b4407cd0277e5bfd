"""The five SSL objectives are registry labels and build the estimators the paper's App. G.3 says."""

import math

import pytest
import torch
import torch.nn.functional as F

from anchorbench.ssl.config import OBJECTIVES
from anchorbench.ssl.objectives import build_objective, cosine_scores, in_training_cap

INFONCE, ANCHOR, JS, SPHERICAL, CHI2 = OBJECTIVES


def _cos(B=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 16, generator=g), torch.randn(B, 16, generator=g)


def test_mapping():
    cases = {INFONCE: ("scoring_rule", "pmi", 0.0, 7), ANCHOR: ("infonce_anchor", "pmi", 1.0, 7),
             JS: ("infonce_anchor", "pmi", 1.0, 1), SPHERICAL: ("spherical", "pd", 1.0, 7)}
    for objective, (name, param, nu, K) in cases.items():
        est = build_objective(objective, batch_size=8, nu=1.0)
        assert (est.name, est.parametrization, est.nu, est.K) == (name, param, nu, K)
    chi2 = build_objective(CHI2, 8, nu=1.0)  # takes no nu: the asymmetric rules do not depend on nu or K
    assert (chi2.name, chi2.rule, chi2.alpha, chi2.parametrization) == ("binary_rule", "power", 2, "pd")
    assert build_objective(ANCHOR, 8, nu=3.0).nu == 3.0 and build_objective(INFONCE, 8, nu=3.0).nu == 0.0
    assert [in_training_cap(build_objective(o, 8)) for o in (INFONCE, ANCHOR)] == [pytest.approx(math.log(7)), None]
    with pytest.raises(ValueError, match="unknown estimator 'simclr'"):
        build_objective("simclr", 8)


def test_infonce_is_cross_entropy_and_capped_at_log_k():
    z1, z2 = _cos()
    s = cosine_scores(z1, z2, 0.2, "pmi")
    est = build_objective(INFONCE, 8)  # K = B - 1 = 7: the positive and 6 negatives per row
    joint = torch.stack([torch.cat([s[i, i:], s[i, :i]])[:7] for i in range(8)])
    expected = F.cross_entropy(joint, torch.zeros(8, dtype=torch.long))
    assert est.loss(s).item() == pytest.approx(expected.item(), rel=1e-5)
    perfect = torch.eye(8) * 50
    assert est.estimate(perfect).item() == pytest.approx(math.log(7), abs=1e-4)


def test_js_is_logistic_loss():
    z1, z2 = _cos()
    s = cosine_scores(z1, z2, 0.2, "pmi")
    off = ~torch.eye(8, dtype=torch.bool)
    # K = 1, nu = 1: half the positive pairs' softplus(-c), half the negatives' softplus(c), one negative per row
    neg = torch.stack([s[i, (i + 1) % 8] for i in range(8)])
    expected = 0.5 * F.softplus(-s.diag()).mean() + 0.5 * F.softplus(neg).mean()
    assert build_objective(JS, 8, nu=1.0).loss(s).item() == pytest.approx(expected.item(), rel=1e-5)
    assert off.sum() == 56


def test_pd_scores_positive_and_chi2_is_lsif():
    z1, z2 = _cos()
    r = cosine_scores(z1, z2, 0.1, "pd")
    assert (r > 0).all()
    off = ~torch.eye(8, dtype=torch.bool)
    expected = -r.diag().mean() + 0.5 * r[off].pow(2).mean()
    assert build_objective(CHI2, 8).loss(r).item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.isfinite(build_objective(SPHERICAL, 8, nu=1.0).loss(r))
