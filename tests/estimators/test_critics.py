"""Batched R-run critics equal R separate critics, and the joint critic's first-layer split is exact."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import estimators
from estimators.critics import build_critic

R, B, DX, DY = 4, 6, 5, 3
KWARGS = {"joint": {"width": 16, "depth": 2}, "separable": {"width": 16, "depth": 1, "embed": 8, "temperature": 0.5},
          "bilinear": {}, "joint_shallow": {"width": 16, "depth": 0},
          "separable_gaussian": {"width": 16, "depth": 2, "embed": 8, "gaussian": True}}


def _kind(name):
    return name.removesuffix("_shallow").removesuffix("_gaussian")


def _random_bases(critic, generator):
    """Random (not Gaussian: only the arithmetic is checked) base terms for every run of a gaussian critic."""
    for r in range(critic.f.layers[0].weight.shape[0]):
        dx, dy = critic.base[2].shape[1:]
        terms = [torch.randn(*shape, generator=generator, dtype=torch.float64) for shape in
                 ((dx,), (dy,), (dx, dy), (dx, dx), (dy, dy))]
        critic.set_base(r, *terms, constant=float(torch.randn(1, generator=generator)))


def _single(critic, kind, r):
    """A one-run critic holding run r's parameters (copies, so gradients are separate)."""
    one = build_critic(_kind(kind), 1, DX, DY, **KWARGS[kind]).double()
    with torch.no_grad():
        for (name, p1), (_, pR) in zip(one.named_parameters(), critic.named_parameters()):
            p1.copy_(pR[r:r + 1])
    return one


@pytest.mark.parametrize("kind", sorted(KWARGS))
def test_batched_equals_separate_outputs_and_gradients(kind):
    critic = build_critic(_kind(kind), R, DX, DY, **KWARGS[kind]).double()
    if kind.endswith("_gaussian"):
        _random_bases(critic, torch.Generator().manual_seed(1))
    x, y = torch.randn(R, B, DX, dtype=torch.float64), torch.randn(R, B, DY, dtype=torch.float64)
    est = estimators.build("infonce_anchor")
    scores = critic(x, y)
    assert scores.shape == (R, B, B)
    est.loss(scores).sum().backward()
    for r in range(R):
        one = _single(critic, kind, r)
        s1 = one(x[r:r + 1], y[r:r + 1])
        assert torch.allclose(s1, scores[r:r + 1].detach(), atol=1e-12)
        est.loss(s1).sum().backward()
        for (name, p1), (_, pR) in zip(one.named_parameters(), critic.named_parameters()):
            if pR.requires_grad:  # the gaussian base takes no gradient
                assert torch.allclose(p1.grad, pR.grad[r:r + 1], atol=1e-12), name


@pytest.mark.parametrize("kind", ["joint", "joint_shallow"])
def test_runs_do_not_touch_each_other(kind):
    critic = build_critic("joint", R, DX, DY, **KWARGS[kind]).double()
    x, y = torch.randn(R, B, DX, dtype=torch.float64), torch.randn(R, B, DY, dtype=torch.float64)
    loss = estimators.build("nwj").loss(critic(x, y))
    loss[1].backward()  # only run 1's loss
    for p in critic.parameters():
        others = torch.cat([p.grad[:1], p.grad[2:]])
        assert others.abs().max() == 0 and p.grad[1].abs().max() > 0


@pytest.mark.parametrize("width", [16, 128])
def test_joint_first_layer_split_equals_concatenated_pairs(width):
    critic = build_critic("joint", 1, DX, DY, width=width, depth=1).double()
    x, y = torch.randn(1, B, DX, dtype=torch.float64), torch.randn(1, B, DY, dtype=torch.float64)
    # the textbook way: concatenate every (x_i, y_j) pair and apply the full first layer
    pairs = torch.cat([x[0][:, None, :].expand(B, B, DX), y[0][None, :, :].expand(B, B, DY)], -1)  # [B, B, dx+dy]
    w = torch.cat([critic.first_x.weight[0], critic.first_y.weight[0]], 0)  # [dx+dy, W]
    h = F.relu(pairs @ w + critic.first_x.bias[0])
    for layer in critic.rest.layers[:-1]:
        h = F.relu(h @ layer.weight[0] + layer.bias[0])
    last = critic.rest.layers[-1]
    expected = (h @ last.weight[0] + last.bias[0])[..., 0]
    assert torch.allclose(critic(x, y)[0], expected, atol=1e-12)


def test_pd_output_is_positive_and_cosine_is_bounded():
    x, y = torch.randn(2, B, DX) * 10, torch.randn(2, B, DY) * 10
    assert (build_critic("joint", 2, DX, DY, width=8, output="pd")(x, y) > 0).all()
    s = build_critic("separable", 2, DX, DY, width=8, temperature=0.1, cosine=True)(x, y)
    assert s.abs().max() <= 10.0 + 1e-5


@pytest.mark.parametrize("kind,kwargs,match", [("mlp", {}, "critic type must be one of"),
                                               ("joint", {"output": "prob"}, "output must be one of"),
                                               ("separable", {"temperature": 0.0}, "temperature must be > 0"),
                                               ("joint", {"width": 0}, "width >= 1")])
def test_bad_critic_settings_raise(kind, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_critic(kind, 2, DX, DY, **kwargs)


@pytest.mark.parametrize("kind", ["joint", "separable", "bilinear"])
def test_scores_stay_float32_under_bf16_autocast(kind):
    """Hidden layers run in bf16, the output layer in fp32: scores are float32 and close to fp32's."""
    critic = build_critic(kind, R, DX, DY, **KWARGS[kind])
    x, y = torch.randn(R, B, DX), torch.randn(R, B, DY)
    exact = critic(x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = critic(x, y)
    assert low.dtype == torch.float32
    assert (low - exact).abs().max() < 0.05 * exact.abs().max() + 1e-2


def test_gaussian_critic_starts_as_its_base_the_exact_gaussian_log_ratio():
    """gaussian=True: f's output layer starts at zero (also after seed_runs), so the scores are the base; with the
    terms of anchorbench.fit.gaussian the base is log N(x, y) - log N(x) - log N(y) of every pair."""
    from scipy import stats

    from anchorbench.fit.gaussian import gaussian_terms
    from estimators.critics import seed_runs

    rng = torch.Generator().manual_seed(0)
    a = torch.randn(DX + DY, DX + DY, generator=rng, dtype=torch.float64)
    cov = (a @ a.T / (DX + DY) + 0.5 * torch.eye(DX + DY, dtype=torch.float64)).numpy()
    mean = torch.randn(DX + DY, generator=rng, dtype=torch.float64).numpy()
    critic = build_critic("separable", 2, DX, DY, width=16, depth=1, embed=8, gaussian=True).double()
    seed_runs(critic, [3, 4])
    cross, px, py, constant = gaussian_terms(cov, DX)
    for r in range(2):
        critic.set_base(r, mean[:DX], mean[DX:], cross, px, py, constant)
    x = torch.randn(2, B, DX, dtype=torch.float64)
    y = torch.randn(2, B, DY, dtype=torch.float64)
    scores = critic(x, y)
    xi, yj = x[0].numpy()[:, None, :].repeat(B, 1), y[0].numpy()[None, :, :].repeat(B, 0)  # [B, B, d]
    joint = stats.multivariate_normal(mean, cov).logpdf(np.concatenate([xi, yj], -1))
    expected = (joint - stats.multivariate_normal(mean[:DX], cov[:DX, :DX]).logpdf(xi)
                - stats.multivariate_normal(mean[DX:], cov[DX:, DX:]).logpdf(yj))
    assert np.allclose(scores[0].detach().numpy(), expected, atol=1e-10)
    assert (critic.f.layers[-1].weight == 0).all() and (critic.f.layers[-1].bias == 0).all()
    scores.sum().backward()
    assert all(p.grad is None for p in critic.base) and critic.f.layers[-1].weight.grad.abs().max() > 0


def test_set_base_needs_a_gaussian_critic():
    with pytest.raises(ValueError, match="gaussian=True"):
        build_critic("separable", 1, DX, DY).set_base(0, *([None] * 5), constant=0.0)


def test_gaussian_critic_needs_pmi_output():
    with pytest.raises(ValueError, match="output 'pmi'"):
        build_critic("separable", 1, DX, DY, gaussian=True, output="pd")
