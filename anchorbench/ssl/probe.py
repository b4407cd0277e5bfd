"""Linear probe on frozen encoder features: top-1 / top-k accuracy of a linear classifier per target."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


@torch.no_grad()
def features(encoder: nn.Module, images: Tensor, batch_size: int = 512) -> Tensor:
    """Frozen features ``[N, D]`` of images ``[N, 3, H, W]`` (uint8 0..255 or float in [0, 1]), eval mode.

    The encoder is put in eval mode (BatchNorm uses its running statistics) and no gradient is kept,
    so nothing the probe does can change it.
    """
    encoder.eval()
    device = next(encoder.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        out.append(encoder(x.float() / 255.0 if x.dtype == torch.uint8 else x))
    return torch.cat(out)


def topk_accuracy(logits: Tensor, labels: Tensor, k: int) -> float:
    """Fraction of rows whose label is among the k largest logits ``[N, C]``."""
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == labels[:, None]).any(1).float().mean().item()


def linear_probe(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, classes: int,
                 steps: int = 300, lr: float = 0.05, weight_decay: float = 1e-4, seed: int = 0) -> dict[str, float]:
    """Fit a linear classifier ``[D] -> [classes]`` on standardised features (full-batch Adam, cross-entropy)
    and return ``{"top1", "top5"}`` on the test split (top-5 is 1 when there are <= 5 classes)."""
    return linear_probes(train_x, train_y[:, None], test_x, test_y[:, None], [classes], steps, lr, weight_decay,
                         seed)[0]


def linear_probes(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, classes: list[int],
                  steps: int = 300, lr: float = 0.05, weight_decay: float = 1e-4, seed: int = 0) -> list[dict]:
    """One linear probe per target column of ``train_y [N, T]`` / ``test_y [M, T]`` (target t has ``classes[t]``
    classes), fitted in one loop: the heads share the standardised features ``[N, D]`` and nothing else (the loss is
    their sum and Adam is elementwise, so each head follows its own gradient). ``[{"top1", "top5"}]`` per target."""
    train_x, test_x = train_x.detach(), test_x.detach()  # features are inputs: no gradient reaches the encoder
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    generator = torch.Generator().manual_seed(seed)
    weight = (torch.randn(train_x.shape[1], sum(classes), generator=generator) * 0.01).to(train_x.device)
    weight.requires_grad_()
    bias = torch.zeros(sum(classes), device=train_x.device, requires_grad=True)
    heads = list(zip(torch.tensor([0, *classes]).cumsum(0).tolist(), classes))  # (first logit, classes) per target
    optimizer = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        logits = train_x @ weight + bias  # [N, sum(classes)]
        loss = sum(F.cross_entropy(logits[:, a:a + c], train_y[:, t]) for t, (a, c) in enumerate(heads))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        logits = test_x @ weight + bias
    return [{"top1": topk_accuracy(logits[:, a:a + c], test_y[:, t], 1),
             "top5": topk_accuracy(logits[:, a:a + c], test_y[:, t], 5)} for t, (a, c) in enumerate(heads)]
