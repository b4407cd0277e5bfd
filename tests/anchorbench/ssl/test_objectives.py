"""The five SSL objectives are registry labels and build the estimators the paper's App. G.3 says; the PD critic
reaches the true same-class ratio; the caps and the reachable ceiling of an InfoNCE readout."""

import math

import pytest
import torch
import torch.nn.functional as F

from anchorbench.ssl.config import OBJECTIVES
from anchorbench.ssl.objectives import (
    CosineCritic,
    build_objective,
    infonce_candidates,
    infonce_ceiling_bits,
    readout_cap,
)
from anchorbench.ssl.pretrain import PretrainConfig, _optimizer

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
    assert [infonce_candidates(build_objective(o, 8), 8) for o in (INFONCE, ANCHOR)] == [7, None]
    assert infonce_candidates(build_objective("infonce", 8), 8) == 8  # the registry's InfoNCE: K = B
    assert readout_cap(build_objective(INFONCE, 8), CosineCritic(0.2, "pmi"), 8) == (pytest.approx(math.log(7)),
                                                                                    "log K (K = 7)")
    assert readout_cap(build_objective(ANCHOR, 8), CosineCritic(0.2, "pmi"), 8)[0] == pytest.approx(5.0)  # 1 / tau
    with pytest.raises(ValueError, match="unknown estimator 'simclr'"):
        build_objective("simclr", 8)


def test_infonce_is_cross_entropy_and_capped_at_log_k():
    z1, z2 = _cos()
    s = CosineCritic(0.2, "pmi")(z1, z2)
    est = build_objective(INFONCE, 8)  # K = B - 1 = 7: the positive and 6 negatives per row
    joint = torch.stack([torch.cat([s[i, i:], s[i, :i]])[:7] for i in range(8)])
    expected = F.cross_entropy(joint, torch.zeros(8, dtype=torch.long))
    assert est.loss(s).item() == pytest.approx(expected.item(), rel=1e-5)
    perfect = torch.eye(8) * 50
    assert est.estimate(perfect).item() == pytest.approx(math.log(7), abs=1e-4)


def test_js_is_logistic_loss():
    z1, z2 = _cos()
    s = CosineCritic(0.2, "pmi")(z1, z2)
    off = ~torch.eye(8, dtype=torch.bool)
    # K = 1, nu = 1: half the positive pairs' softplus(-c), half the negatives' softplus(c), one negative per row
    neg = torch.stack([s[i, (i + 1) % 8] for i in range(8)])
    expected = 0.5 * F.softplus(-s.diag()).mean() + 0.5 * F.softplus(neg).mean()
    assert build_objective(JS, 8, nu=1.0).loss(s).item() == pytest.approx(expected.item(), rel=1e-5)
    assert off.sum() == 56


def test_pd_scores_positive_and_chi2_is_lsif():
    z1, z2 = _cos()
    r = CosineCritic(0.1, "pd")(z1, z2)
    assert (r > 0).all()
    off = ~torch.eye(8, dtype=torch.bool)
    expected = -r.diag().mean() + 0.5 * r[off].pow(2).mean()
    assert build_objective(CHI2, 8).loss(r).item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.isfinite(build_objective(SPHERICAL, 8, nu=1.0).loss(r))


def test_pd_critic_starts_at_the_fixed_tau_critic_and_is_unbounded():
    z1, z2 = _cos()
    critic = CosineCritic(0.2, "pd")
    cos = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T
    assert torch.allclose(critic(z1, z2), F.softplus(cos / 0.2) + 1e-6)  # step 0: the paper's tau
    assert math.exp(critic.max_log_ratio()) == pytest.approx(F.softplus(torch.tensor(5.0)).item(), rel=1e-5)
    with torch.no_grad():  # scale 70, shift -6: a same-class pair (cos 1) at 64, an orthogonal one at ~0
        critic.log_scale.fill_(math.log(70.0)), critic.shift.fill_(-6.0)
    same = critic(torch.ones(1, 3), torch.ones(1, 3))
    other = critic(torch.tensor([[1.0, 0, 0]]), torch.tensor([[0, 1.0, 0]]))
    assert same.item() == pytest.approx(64.0, rel=1e-4) and other.item() < 0.01
    assert list(CosineCritic(0.2, "pmi").parameters()) == []  # the PMI critic keeps the paper's fixed tau


@pytest.fixture
def one_thread():
    """64 x 64 matrices gain nothing from a second thread, and on a loaded machine its waits cost 10x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("objective, tau, steps", [(CHI2, 0.1, 300), (SPHERICAL, 0.2, 1500)])
def test_pd_objectives_learn_the_true_ratio_64(objective, tau, steps, one_thread):
    """A toy where the true ratio is 64: 64 equiprobable classes, both views of a pair the class's free embedding
    (so r = 64 for a pair of one class, 0 otherwise); the embeddings and the PD critic train with pretraining's
    optimizer. The old fixed critic could not exceed softplus(1 / tau) = 5.0 (tau 0.2) or 10.0 (tau 0.1)."""
    torch.manual_seed(0)
    embed, critic = torch.nn.Embedding(64, 64), CosineCritic(tau, "pd")
    optimizer = _optimizer(PretrainConfig(objective, 64, steps, tau, lr=0.05, pd_critic_lr=0.05), [embed], critic)
    est, g = build_objective(objective, 64, nu=1.0), torch.Generator().manual_seed(1)
    for _ in range(steps):
        z = embed(torch.randint(64, (64,), generator=g))
        loss = est.loss(critic(z, z))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        r = critic(embed.weight, embed.weight)  # [64, 64]: class i's view 1 against class j's view 2
    assert r.diag().mean().item() == pytest.approx(64, rel=0.1)
    assert r[~torch.eye(64, dtype=torch.bool)].mean().item() < 0.1


def test_reachable_infonce_ceiling():
    # K = 3 at H = 2: 2 negatives, each of the positive's class with p = 1/4: log2 3 - E[log2(1 + Bin(2, 1/4))]
    expected = math.log2(3) - (2 * 0.25 * 0.75 * 1 + 0.25 ** 2 * math.log2(3))
    assert infonce_ceiling_bits(3, 2.0) == pytest.approx(expected)
    for K in (3, 63, 512):
        values = [infonce_ceiling_bits(K, h) for h in (2.0, 4.0, 6.0)]
        assert all(v < min(math.log2(K), h) for v, h in zip(values, (2.0, 4.0, 6.0))) and values == sorted(values)
    assert infonce_ceiling_bits(63, 6.0) == pytest.approx(5.17, abs=0.005)  # vs log2 63 = 5.98
    assert infonce_ceiling_bits(1 << 20, 6.0) == pytest.approx(6.0, abs=0.01)  # tends to H(C) as K grows
    assert math.isnan(infonce_ceiling_bits(63, math.nan))
