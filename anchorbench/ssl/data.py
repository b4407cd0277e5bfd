"""The ``cdp_data`` stage: glyph banks (train / test instances) and labelled probe images, in one npz.

``data/cdp/cdp.npz`` holds ``glyphs_train``, ``glyphs_test`` (uint8 ``[4, n, 16, 16]``) and, for each probe
split s in train, val, test: ``probe_<s>_images`` (uint8 ``[N, 3, 32, 32]``) and ``probe_<s>_attrs``
(int64 ``[N, 3]``: colour, digit, position). Probe train/val images use the training glyphs; probe test
images use held-out glyph instances. The data stage's ``manifest.json`` records the source and the sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from anchorbench.io import atomic_path
from anchorbench.ssl.cdp import CDPSampler, glyph_bank, mnist_glyphs, sklearn_glyphs
from anchorbench.ssl.config import CDPDataParams

FILE = "cdp.npz"
SPLITS = ("train", "val", "test")


def load_glyph_source(params: CDPDataParams) -> tuple[np.ndarray, np.ndarray, str]:
    """Glyphs ``float32 [N, 16, 16]``, labels ``[N]`` and the source name (MNIST mirror, else sklearn digits)."""
    if params.glyph_source in ("auto", "mnist"):
        from anchorbench.mi_benchmark.mnist import load_mnist_digits

        try:
            images, labels = load_mnist_digits(params.mirror, tuple(params.digits))
            return mnist_glyphs(images), labels, "mnist"
        except FileNotFoundError:
            if params.glyph_source == "mnist":
                raise
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return sklearn_glyphs(bunch.images), bunch.target.astype(np.int64), "sklearn_digits"


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def build_cdp(params: CDPDataParams, out_dir: str | Path) -> dict:
    """Write ``cdp.npz`` into ``out_dir``; return the manifest's description (source, sizes)."""
    glyphs, labels, source = load_glyph_source(params)
    rng = np.random.default_rng(params.seed)
    bank = glyph_bank(glyphs, labels, params.digits, params.glyphs_per_digit, rng)  # [4, n, 16, 16]
    half = bank.shape[1] // 2
    arrays = {"glyphs_train": _to_uint8(torch.from_numpy(bank[:, :half])),
              "glyphs_test": _to_uint8(torch.from_numpy(bank[:, half:]))}
    generator = torch.Generator().manual_seed(params.seed)
    for split, n in zip(SPLITS, params.probe_sizes):
        sampler = CDPSampler(torch.from_numpy(bank[:, half:] if split == "test" else bank[:, :half]))
        images, attrs = sampler.sample(n, generator)
        arrays[f"probe_{split}_images"], arrays[f"probe_{split}_attrs"] = _to_uint8(images), attrs.numpy()
    out = Path(out_dir)
    with atomic_path(out / FILE) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return {"source": source, "digits": list(params.digits), "glyphs_per_digit": 2 * half, "glyphs_train": half,
            "glyphs_test": bank.shape[1] - half, "probe_sizes": dict(zip(SPLITS, params.probe_sizes))}


def load_cdp(data_dir: str | Path) -> dict[str, torch.Tensor]:
    """The arrays of ``cdp.npz`` as tensors; a missing file names the stage that makes it."""
    path = Path(data_dir) / FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the ssl_data stage first (python -m flows ssl data)")
    with np.load(path) as z:
        return {k: torch.from_numpy(z[k]) for k in z.files}
