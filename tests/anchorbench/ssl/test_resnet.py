"""ResNet-18 with the CIFAR stem: shapes, the stem, forward/backward, width multiplier."""

import torch

from anchorbench.ssl.resnet import ResNet18, projection_head


def test_cifar_stem_and_stages():
    net = ResNet18(width=4)
    first = net.stem[0]
    assert first.kernel_size == (3, 3) and first.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    assert len(net.blocks) == 8  # 4 stages x 2 basic blocks = 16 convs + stem conv + fc = 18 layers
    h = net.stem(torch.zeros(2, 3, 32, 32))
    assert h.shape == (2, 4, 32, 32)  # full resolution after the stem


def test_forward_backward():
    torch.manual_seed(0)
    net, head = ResNet18(width=4), projection_head(32, 16, 8)
    assert net.feature_dim == 32
    x = torch.rand(6, 3, 32, 32)
    z = head(net(x))
    assert z.shape == (6, 8)
    z.pow(2).sum().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.stem[0].weight.grad.abs().sum() > 0


def test_standard_width_size():
    n = sum(p.numel() for p in ResNet18(width=64).parameters())
    assert 11_000_000 < n < 11_300_000  # ResNet-18 CIFAR variant without the fc layer: 11.17M parameters
