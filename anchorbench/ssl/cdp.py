"""CDP: 32x32 RGB images carrying three independent uniform attributes (Lee et al., 2308.15704).

Design (the seed paper gives no exact construction; this one is documented in the README):
- colour c in {red, green, blue, yellow}: the glyph's RGB colour on a black background;
- digit d in 4 glyph classes (MNIST digits 0-3 by default; sklearn's 8x8 digits when MNIST is absent):
  a 16x16 grey-level glyph, one instance drawn uniformly from the bank of that digit;
- position p in the 4 quadrants of the 32x32 canvas: the quadrant holding the glyph.
Each attribute is uniform over 4 values (2 bits) and drawn independently of the others.

Same-class pairs share the attributes in ``shared`` (e.g. "cd") and draw every other attribute and the
glyph instance independently per view, so X1 and X2 are independent given C = the shared attributes,
and C is a function of either view: I(X1; X2) = H(C) = 2 |shared| bits exactly.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

Tensor = torch.Tensor

ATTRIBUTES = ("colour", "digit", "position")
LETTERS = {"c": 0, "d": 1, "p": 2}  # pairing letters -> attribute column
VALUES = 4  # values per attribute (2 bits)
SIZE, GLYPH = 32, 16  # canvas and glyph side
PALETTE = torch.tensor([[1.0, 0.15, 0.15], [0.15, 1.0, 0.15], [0.2, 0.35, 1.0], [1.0, 1.0, 0.15]])  # [4, RGB]


def true_mi_bits(shared: str) -> float:
    """H(C) of a same-class pairing: 2 bits per shared attribute."""
    return math.log2(VALUES) * len(shared_columns(shared))


def shared_columns(shared: str) -> list[int]:
    """"cd" -> [0, 1]; ValueError for anything but a non-empty subset of the letters c, d, p."""
    if not shared or set(shared) - set(LETTERS) or len(set(shared)) != len(shared):
        raise ValueError(f"a same-class pairing is a non-empty subset of the letters 'c', 'd', 'p', got {shared!r}")
    return sorted(LETTERS[ch] for ch in shared)


def mnist_glyphs(images: np.ndarray) -> np.ndarray:
    """MNIST ``uint8 [N, 28, 28]`` -> glyphs ``float32 [N, 16, 16]`` in [0, 1] (the central 20x20 box, area-resized)."""
    x = torch.from_numpy(images[:, 4:24, 4:24].astype(np.float32) / 255.0)[:, None]
    return F.adaptive_avg_pool2d(x, GLYPH)[:, 0].numpy()


def sklearn_glyphs(images: np.ndarray) -> np.ndarray:
    """sklearn digits ``[N, 8, 8]`` in 0..16 -> glyphs ``float32 [N, 16, 16]`` in [0, 1] (nearest 2x upsampling)."""
    return np.kron(images.astype(np.float32) / 16.0, np.ones((2, 2), np.float32))


def glyph_bank(glyphs: np.ndarray, labels: np.ndarray, digits: list[int], per_digit: int,
               rng: np.random.Generator) -> np.ndarray:
    """``[4, n, 16, 16]`` glyphs: ``n = min(per_digit, fewest available)`` random instances of each digit."""
    pools = [np.flatnonzero(labels == d) for d in digits]
    n = min([per_digit] + [len(p) for p in pools])
    if n < 2:
        raise ValueError(f"glyph source has fewer than 2 images of some digit in {digits}")
    return np.stack([glyphs[rng.choice(p, n, replace=False)] for p in pools])


class CDPSampler:
    """Draws CDP images on ``glyphs.device`` from a glyph bank ``[4, n, 16, 16]`` (float in [0, 1])."""

    def __init__(self, glyphs: Tensor) -> None:
        if glyphs.ndim != 4 or glyphs.shape[0] != VALUES or glyphs.shape[2:] != (GLYPH, GLYPH):
            raise ValueError(f"glyph bank must have shape [4, n, {GLYPH}, {GLYPH}], got {tuple(glyphs.shape)}")
        self.glyphs = glyphs.float()
        self.palette = PALETTE.to(glyphs.device)

    def attributes(self, n: int, generator: torch.Generator) -> Tensor:
        """``[n, 3]`` long: colour, digit, position, each uniform on 0..3 and independent."""
        return torch.randint(VALUES, (n, 3), generator=generator, device=self.glyphs.device)

    def render(self, attrs: Tensor, generator: torch.Generator) -> Tensor:
        """``[n, 3]`` attributes -> images ``[n, 3, 32, 32]`` in [0, 1]; glyph instances drawn uniformly."""
        n = attrs.shape[0]
        instance = torch.randint(self.glyphs.shape[1], (n,), generator=generator, device=self.glyphs.device)
        glyph = self.glyphs[attrs[:, 1], instance]  # [n, 16, 16]
        colour = self.palette[attrs[:, 0]]  # [n, 3]
        quadrant = F.one_hot(attrs[:, 2], VALUES).float().view(n, 2, 2)  # [n, row, col]
        # canvas[n, ch, row, y, col, x] = colour * glyph * [quadrant == (row, col)]
        canvas = torch.einsum("nc,nyx,nrq->ncryqx", colour, glyph, quadrant)
        return canvas.reshape(n, 3, SIZE, SIZE)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` independent images ``[n, 3, 32, 32]`` and their attributes ``[n, 3]``."""
        attrs = self.attributes(n, generator)
        return self.render(attrs, generator), attrs

    def pairs(self, n: int, shared: str, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Same-class pairs: views ``x1, x2 [n, 3, 32, 32]`` agreeing on the ``shared`` attributes only,
        and their attributes ``a1, a2 [n, 3]``. I(X1; X2) = true_mi_bits(shared)."""
        cols = shared_columns(shared)
        a1, a2 = self.attributes(n, generator), self.attributes(n, generator)
        a2[:, cols] = a1[:, cols]
        return self.render(a1, generator), self.render(a2, generator), a1, a2


def decode_colour_position(images: Tensor) -> tuple[Tensor, Tensor]:
    """Read colour and position back from images ``[n, 3, 32, 32]`` (the recoverability check).

    Position: the quadrant holding the most ink. Colour: the palette entry nearest (in direction) to the
    mean RGB of the inked pixels.
    """
    n = images.shape[0]
    ink = images.amax(1)  # [n, 32, 32]
    mass = ink.view(n, 2, GLYPH, 2, GLYPH).sum((2, 4)).reshape(n, VALUES)  # [n, 4] quadrants row-major
    rgb = (images * (ink > 0.2)[:, None]).sum((2, 3))  # [n, 3]
    similarity = F.normalize(rgb, dim=1) @ F.normalize(PALETTE.to(images.device), dim=1).T  # [n, 4]
    return similarity.argmax(1), mass.argmax(1)


def crop_glyph(images: Tensor, position: Tensor) -> Tensor:
    """The grey-level glyph ``[n, 16, 16]`` in the quadrant ``position [n]`` of images ``[n, 3, 32, 32]``."""
    n = images.shape[0]
    quads = images.amax(1).view(n, 2, GLYPH, 2, GLYPH).permute(0, 1, 3, 2, 4).reshape(n, VALUES, GLYPH, GLYPH)
    return quads[torch.arange(n, device=images.device), position]
