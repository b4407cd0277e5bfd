"""InfoNCE-anchor and the scoring-rule family against literal, independent implementations."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F

import estimators
from estimators import scoring_rules


def paper_infonce_with_anchor(scores, nu=1.0):
    """Appendix B pseudocode of the main paper, transcribed line by line (one [B, B] matrix)."""
    B = scores.size(0)
    K = B - 1
    mask = torch.zeros(B, B, dtype=scores.dtype)
    i = torch.arange(1, B + 1)
    mask[i - 1, i - 2] = -torch.inf
    scores_aug = torch.cat([np.log(nu) * torch.ones(B, 1, dtype=scores.dtype), mask + scores], dim=1)
    joint_term = -(scores.diag().mean() - scores_aug.logsumexp(dim=1).mean())
    neg_inf_diag_mask = torch.zeros(B, B, dtype=scores.dtype).fill_diagonal_(-torch.inf)
    scores_aug_neg = torch.cat([np.log(nu) * torch.ones(B, 1, dtype=scores.dtype), neg_inf_diag_mask + scores], dim=1)
    marginal_term = -(np.log(nu) - scores_aug_neg.logsumexp(dim=1).mean())
    return (K / (K + nu)) * joint_term + (nu / (K + nu)) * marginal_term


def eq4_literal(scores, nu, K):
    """Eq. 4 with explicit loops: tuples (positive, K-1 cyclic negatives) and (K cyclic negatives)."""
    B = scores.shape[0]
    r = scores.exp()
    joint, marginal = [], []
    for i in range(B):
        tup = [r[i, (i + k) % B] for k in range(K)]
        joint.append(-torch.log(tup[0] / (nu + sum(tup))))
        neg = [r[i, (i + k) % B] for k in range(1, K + 1)]
        marginal.append(-torch.log(nu / (nu + sum(neg))))
    return K / (K + nu) * torch.stack(joint).mean() + nu / (K + nu) * torch.stack(marginal).mean()


@pytest.mark.parametrize("nu", [0.1, 1.0, 7.5])
@pytest.mark.parametrize("B", [2, 5, 16])
def test_anchor_matches_the_paper_pseudocode(B, nu):
    scores = torch.randn(B, B, dtype=torch.float64) * 2
    ours = estimators.build("infonce_anchor", nu=nu).loss(scores)
    assert ours.item() == pytest.approx(paper_infonce_with_anchor(scores, nu).item(), rel=1e-12)


@pytest.mark.parametrize("K", [1, 3, 7])
def test_anchor_matches_literal_eq4_for_any_k(K):
    scores = torch.randn(8, 8, dtype=torch.float64)
    ours = estimators.build("infonce_anchor", nu=2.0, K=K).loss(scores)
    assert ours.item() == pytest.approx(eq4_literal(scores, 2.0, K).item(), rel=1e-12)


def test_batched_runs_equal_per_matrix_loss():
    scores = torch.randn(3, 4, 6, 6, dtype=torch.float64)
    est = estimators.build("infonce_anchor")
    batched = est.loss(scores)
    assert batched.shape == (3, 4)
    for a in range(3):
        for b in range(4):
            assert batched[a, b].item() == pytest.approx(paper_infonce_with_anchor(scores[a, b]).item(), rel=1e-12)


def test_nu_to_zero_recovers_infonce():
    """nu -> 0: the K/(K+nu) weight -> 1 and the anchor vanishes, leaving InfoNCE's cross-entropy on K entries."""
    B = 10
    scores = torch.randn(B, B, dtype=torch.float64)
    K = B - 1
    tuples = torch.stack([scores[i, [(i + k) % B for k in range(K)]] for i in range(B)])  # [B, K]
    infonce_ce = -(tuples[:, 0] - tuples.logsumexp(-1)).mean()
    near_zero = estimators.build("infonce_anchor", nu=1e-9).loss(scores)
    assert near_zero.item() == pytest.approx(infonce_ce.item(), abs=1e-6)
    # exactly zero is the InfoNCE-type objective; with K = B its readout is the InfoNCE bound
    assert estimators.build("infonce_anchor", nu=0.0, K=K).loss(scores).item() == pytest.approx(
        infonce_ce.item(), rel=1e-12)
    assert estimators.build("scoring_rule", nu=0.0).estimate(scores).item() == pytest.approx(
        estimators.build("infonce").estimate(scores).item(), rel=1e-12)


def test_k1_nu1_is_the_js_logistic_loss():
    """K = 1, nu = 1: (1/2) [softplus(-c_ii) + softplus(c_{i,i+1})], the NCE / JS logistic loss."""
    B = 9
    scores = torch.randn(B, B, dtype=torch.float64)
    nxt = scores[torch.arange(B), (torch.arange(B) + 1) % B]
    logistic = 0.5 * (F.softplus(-scores.diag()).mean() + F.softplus(nxt).mean())
    assert estimators.build("infonce_anchor", K=1, nu=1.0).loss(scores).item() == pytest.approx(
        logistic.item(), rel=1e-12)


def test_spherical_closed_form():
    """Spherical (alpha = 2) on p = [nu, r_1..r_K]: lambda_1 = -r_1/||p||, lambda_0 = -nu/||p||."""
    B, nu = 6, 1.5
    scores = torch.randn(B, B, dtype=torch.float64)
    r, K = scores.exp(), B - 1
    joint = torch.stack([-r[i, i] / torch.sqrt(nu ** 2 + sum(r[i, (i + k) % B] ** 2 for k in range(K)))
                         for i in range(B)])
    marg = torch.stack([-nu / torch.sqrt(nu ** 2 + sum(r[i, (i + k) % B] ** 2 for k in range(1, K + 1)))
                        for i in range(B)])
    expected = K / (K + nu) * joint.mean() + nu / (K + nu) * marg.mean()
    assert estimators.build("spherical", nu=nu).loss(scores).item() == pytest.approx(expected.item(), rel=1e-12)


RULES = [("log", None), ("power", 2.0), ("power", 3.0), ("power", 0.5), ("pseudo_spherical", 2.0),
         ("pseudo_spherical", 3.0), ("inverse_log", None)]


@pytest.mark.parametrize("rule,alpha", RULES)
def test_rules_are_strictly_proper(rule, alpha):
    """On a 4-class problem the expected score E_{z~q} lambda_z(eta) is minimised at eta = q."""
    gen = torch.Generator().manual_seed(3)
    score = scoring_rules.SYMMETRIC_RULES[rule]
    for _ in range(5):
        q = torch.distributions.Dirichlet(torch.ones(4, dtype=torch.float64)).sample()
        risk = lambda logp: sum(q[z] * score(logp, z, alpha) for z in range(4))  # noqa: E731
        at_truth = risk(q.log())
        others = q.log() + 0.5 * torch.randn(2000, 4, generator=gen, dtype=torch.float64)
        assert (risk(others) >= at_truth - 1e-12).all()
        # and gradient descent from a uniform guess finds q
        logp = torch.zeros(4, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([logp], max_iter=200, line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad()
            loss = risk(logp)
            loss.backward()
            return loss
        opt.step(closure)
        assert torch.allclose(logp.detach().softmax(-1), q, atol=1e-4)


@pytest.mark.parametrize("rule,alpha", [("log", None), ("power", 2.0), ("power", -1.0), ("inverse_log", None)])
def test_binary_rules_recover_the_ratio_on_a_two_point_space(rule, alpha):
    """q1 = (0.7, 0.3), q0 = (0.2, 0.8) on {a, b}: a batch whose diagonal holds q1 draws in exact
    proportion and whose off-diagonal holds q0 draws; fitting log r(a), log r(b) gives q1/q0."""
    B = 10
    pos_is_a = torch.arange(B) < 7  # 7 of 10 positives are a
    off = ~torch.eye(B, dtype=torch.bool)
    neg_is_a = torch.zeros(B, B, dtype=torch.bool)
    neg_is_a[off.nonzero()[:18].T.unbind()] = True  # 18 of 90 negatives are a
    is_a = torch.where(torch.eye(B, dtype=torch.bool), pos_is_a[:, None].expand(B, B), neg_is_a)
    log_r = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_r], max_iter=500, line_search_fn="strong_wolfe", tolerance_grad=1e-12)
    def closure():
        opt.zero_grad()
        loss = scoring_rules.binary_rule_loss(torch.where(is_a, log_r[0], log_r[1]), rule, alpha)
        loss.backward()
        return loss
    opt.step(closure)
    assert log_r.detach().exp().tolist() == pytest.approx([3.5, 0.375], rel=1e-4)
