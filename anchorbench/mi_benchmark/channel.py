"""The binary symmetric channel behind same-class sampling, solved exactly.

ds independent source bits c_k ~ Bernoulli(1/2) for X; Y's bits are c_k xor n_k with
n_k ~ Bernoulli(p). I(C_X; C_Y) = ds (1 - H_b(p)) bits.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq


def binary_entropy(p: float) -> float:
    """H_b(p) in bits."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def class_channel_mi_bits(sources: int, p: float) -> float:
    """True MI of ds sources through a BSC with crossover p, in bits."""
    return sources * (1.0 - binary_entropy(p))


def bsc_crossover(sources: int, target_bits: float) -> float:
    """The crossover p in [0, 1/2] with ds (1 - H_b(p)) = target_bits, by root finding (not a grid)."""
    if not 0.0 <= target_bits <= sources:
        raise ValueError(f"target MI must be in [0, {sources}] bits for {sources} binary sources, got {target_bits}")
    if target_bits == sources:
        return 0.0
    if target_bits == 0:
        return 0.5
    return brentq(lambda p: class_channel_mi_bits(sources, p) - target_bits, 1e-300, 0.5, xtol=1e-15, rtol=1e-15)
