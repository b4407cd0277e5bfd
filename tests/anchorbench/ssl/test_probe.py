"""The linear probe: accuracy on separable features, top-k, and a really frozen encoder."""

import torch

from anchorbench.ssl.probe import features, linear_probe, topk_accuracy
from anchorbench.ssl.resnet import ResNet18


def test_separable_features_are_classified():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 8, generator=g) * 4
    y = torch.randint(5, (600,), generator=g)
    x = centres[y] + torch.randn(600, 8, generator=g)
    acc = linear_probe(x[:400], y[:400], x[400:], y[400:], classes=5, steps=200)
    assert acc["top1"] > 0.95 and acc["top5"] == 1.0
    chance = linear_probe(x[:400], y[:400], torch.randn(200, 8, generator=g), y[400:], classes=5, steps=200)
    assert chance["top1"] < 0.45


def test_topk():
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    labels = torch.tensor([1, 0])
    assert topk_accuracy(logits, labels, 1) == 0.0
    assert topk_accuracy(logits, labels, 2) == 0.5
    assert topk_accuracy(logits, labels, 5) == 1.0


def test_encoder_stays_frozen():
    torch.manual_seed(0)
    net = ResNet18(width=2)
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}  # weights and BatchNorm running statistics
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8)
    f = features(net, images, batch_size=16)
    assert f.shape == (40, 16) and not f.requires_grad
    assert not net.training  # eval mode: BatchNorm uses (and does not update) its running statistics
    linear_probe(f[:30], torch.arange(30) % 2, f[30:], torch.arange(10) % 2, classes=2, steps=20)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in net.parameters())
