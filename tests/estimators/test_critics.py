"""Batched R-run critics equal R separate critics, and the joint critic's first-layer split is exact."""

import pytest
import torch
import torch.nn.functional as F

import estimators
from estimators.critics import build_critic

R, B, DX, DY = 4, 6, 5, 3
KWARGS = {"joint": {"width": 16, "depth": 2}, "separable": {"width": 16, "depth": 1, "embed": 8, "temperature": 0.5},
          "bilinear": {}, "joint_shallow": {"width": 16, "depth": 0}}


def _kind(name):
    return name.removesuffix("_shallow")


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
