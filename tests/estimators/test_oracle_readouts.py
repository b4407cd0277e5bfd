"""Every readout against closed-form truth: oracle critics on correlated Gaussians."""

import math

import pytest
import torch

import estimators
from estimators import bounds
from estimators.oracles import CorrelatedGaussian

RUNS, B, DIM = 200, 128, 10
TRUE_MI = 2.0 * math.log(2.0)  # 2 bits, in nats

PLUGINS = ["js_plugin", "chi2", "fdime", "infonce_anchor", "spherical", "brier", "inverse_log",
           "binary_rule", "scoring_rule"]


@pytest.fixture(scope="module")
def oracle_scores():
    """[RUNS, B, B] oracle log density ratios of independent batches, and the problem."""
    problem = CorrelatedGaussian.from_mi(TRUE_MI, DIM)
    x, y = problem.sample(RUNS, B, generator=torch.Generator().manual_seed(1), device="cpu")
    return problem.log_ratio(x.double(), y.double()), problem


def _within_clt(values: torch.Tensor, truth: float, z: float = 5.0):
    mean, se = values.mean().item(), values.std().item() / math.sqrt(values.numel())
    assert abs(mean - truth) < z * se + 1e-3, f"mean {mean:.4f} vs truth {truth:.4f} (se {se:.4f})"


def test_problem_carries_its_mi(oracle_scores):
    _, problem = oracle_scores
    assert problem.mi == pytest.approx(TRUE_MI)
    assert problem.rho == pytest.approx(0.492, abs=1e-3)  # benchmarks.md A.4, ds = 10 at 2 bits


@pytest.mark.parametrize("name", PLUGINS + ["js", "dv"])
def test_log_ratio_critic_reads_true_mi(oracle_scores, name):
    scores, _ = oracle_scores
    _within_clt(estimators.build(name).estimate(scores), TRUE_MI)


@pytest.mark.parametrize("name", ["nwj", "nwj_plugin"])
def test_nwj_reads_true_mi_at_its_optimum_c_equals_1_plus_log_r(oracle_scores, name):
    scores, _ = oracle_scores
    _within_clt(estimators.build(name).estimate(scores + 1.0), TRUE_MI)


def test_reference_js_readout_is_one_over_e_nat_low(oracle_scores):
    """The reference code's NWJ(c) readout of a JS critic: I - 1/e (benchmarks.md A.3)."""
    scores, _ = oracle_scores
    _within_clt(bounds.nwj_bound(scores), TRUE_MI - math.exp(-1))


def test_mine_readout_is_dv_and_smile_clipping_is_harmless_here(oracle_scores):
    scores, _ = oracle_scores
    dv = estimators.build("dv").estimate(scores)
    assert torch.allclose(estimators.build("mine").estimate(scores), dv)
    _within_clt(estimators.build("smile", tau=5.0).estimate(scores), TRUE_MI)
    # a tight clip biases the partition term: SMILE-1 reads differently from DV
    assert (estimators.build("smile", tau=1.0).estimate(scores) - dv).abs().mean() > 0.05


def test_infonce_never_exceeds_log_b(oracle_scores):
    scores, _ = oracle_scores
    est = estimators.build("infonce")
    assert (est.estimate(scores) <= math.log(B) + 1e-9).all()
    assert (est.estimate(scores * 50.0) <= math.log(B) + 1e-9).all()  # even for a wildly confident critic


def test_pd_parametrization_reads_the_same(oracle_scores):
    scores, _ = oracle_scores
    pmi = estimators.build("infonce_anchor").estimate(scores)
    pd = estimators.build("infonce_anchor", parametrization="pd").estimate(scores.exp())
    assert torch.allclose(pmi, pd)
    assert torch.allclose(estimators.build("infonce_anchor").loss(scores),
                          estimators.build("infonce_anchor", parametrization="pd").loss(scores.exp()))


# Consistency: each objective's population loss is minimised by the true log ratio. Perturb the
# oracle as c = a log r + b (common random numbers across the grid) and check the centre wins.
CONSISTENT = [(name, {}, (1.0, 0.0)) for name in PLUGINS + ["js"]] + [
    ("nwj", {}, (1.0, 1.0)),  # the e^(c-1) convention: optimum c = 1 + log r
    ("fdime", {"divergence": "gan"}, (1.0, 0.0)), ("fdime", {"divergence": "hd"}, (1.0, 0.0)),
    ("binary_rule", {"rule": "power", "alpha": 2.0}, (1.0, 0.0)),
    # (binary inverse_log is left to the two-point test: E_p[1/r^2] is infinite on these Gaussians)
    ("scoring_rule", {"rule": "power", "alpha": 3.0}, (1.0, 0.0)),
    ("scoring_rule", {"rule": "pseudo_spherical", "alpha": 3.0}, (1.0, 0.0)),
    ("infonce_anchor", {"nu": 5.0, "K": 16}, (1.0, 0.0)),
]


@pytest.fixture(scope="module")
def low_mi_scores():
    """Oracle log ratios at 1 bit: the chi2/power losses' heavy tails (E_q[r^4]) stay tame."""
    problem = CorrelatedGaussian.from_mi(math.log(2.0), DIM)
    x, y = problem.sample(RUNS, B, generator=torch.Generator().manual_seed(2))
    return problem.log_ratio(x.double(), y.double())


@pytest.mark.parametrize("name,kwargs,optimum", CONSISTENT, ids=[f"{n}{k or ''}" for n, k, _ in CONSISTENT])
def test_loss_is_minimised_at_the_true_log_ratio(low_mi_scores, name, kwargs, optimum):
    scores = low_mi_scores
    a0, b0 = optimum
    losses = {}
    for da in (-0.15, 0.0, 0.15):
        for db in (-0.3, 0.0, 0.3):
            est = estimators.build(name, **kwargs)
            losses[(da, db)] = est.loss((a0 + da) * scores + (b0 + db)).mean().item()
    best = min(losses, key=losses.get)
    assert best == (0.0, 0.0), f"{name}: loss minimised at perturbation {best}, losses {losses}"


@pytest.mark.parametrize("name,kwargs,optimum", CONSISTENT, ids=[f"{n}{k or ''}" for n, k, _ in CONSISTENT])
def test_log_ratio_of_the_optimal_critic_is_the_true_pmi(low_mi_scores, name, kwargs, optimum):
    """Where the objective identifies the ratio, ``log_ratio`` maps its optimum back to log r exactly."""
    a0, b0 = optimum
    est = estimators.build(name, **kwargs)
    assert est.identifies_ratio
    assert torch.allclose(est.log_ratio(a0 * low_mi_scores + b0), low_mi_scores, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [("dv", {}), ("mine", {}), ("infonce", {}), ("scoring_rule", {"nu": 0.0})])
def test_unidentified_objectives_say_so(name, kwargs):
    assert not estimators.build(name, **kwargs).identifies_ratio


def test_infonce_critic_is_only_defined_up_to_a_function_of_the_row(low_mi_scores):
    """InfoNCE normalises each row (x_i against every y_j), so adding any a(x_i) leaves its loss unchanged:
    its critic is log r only up to that function (the paper's C(y), in its column convention); the anchor's
    loss moves, which is what pins its critic to log r."""
    shift = torch.randn(low_mi_scores.shape[:-1], dtype=low_mi_scores.dtype)[..., None] * 3.0  # a(x_i) per row
    infonce, anchor = estimators.build("infonce"), estimators.build("infonce_anchor")
    assert torch.allclose(infonce.loss(low_mi_scores + shift), infonce.loss(low_mi_scores), atol=1e-10)
    assert not torch.allclose(anchor.loss(low_mi_scores + shift), anchor.loss(low_mi_scores), atol=1e-3)


def test_pd_log_ratio_is_the_log_of_the_score(low_mi_scores):
    est = estimators.build("spherical", parametrization="pd")
    assert torch.allclose(est.log_ratio(low_mi_scores.exp()), low_mi_scores, atol=1e-12)
    with pytest.raises(ValueError, match="must be > 0"):
        est.log_ratio(low_mi_scores)
