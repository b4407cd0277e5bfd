"""Unit rows as ``anchorbench.ssl.run.run_unit`` returns them, for the summary and claims tests."""

import math

from anchorbench.ssl.cdp import true_mi_bits
from anchorbench.ssl.config import INFONCE, RANDOM_INIT


def unit_row(objective: str, pairing: str, seed: int, top1: float, post: float, batch: int = 64,
             train: float | None = None, cap: float | None = None) -> dict:
    """A finished unit: headline ``top1``, post-training InfoNCE ``post`` (bits) and, unless the untrained
    baseline, the in-training readout ``train`` (bits) with its cap (default log2 K for InfoNCE, else 7.21 bits)."""
    row = {"objective": objective, "pairing": pairing, "batch_size": batch, "seed": seed, "tau": 0.2, "nu": None,
           "steps": 0 if objective == RANDOM_INIT else 80, "name": f"{objective}-{pairing}-B{batch}-s{seed}",
           "files": {}, "diverged_step": None, "true_mi_bits": true_mi_bits(pairing),
           "probe": {"top1": top1, "top5": 1.0, "top1_joint": top1 / 2},
           "post_mi_bits": {"infonce": post, "infonce_anchor": post + 0.5}, "seconds": {"total": 1.0}}
    if objective != RANDOM_INIT:
        default = math.log2(batch - 1) if objective == INFONCE else 5 / math.log(2)
        row |= {"train_mi_bits": post - 1 if train is None else train,
                "train_cap_bits": default if cap is None else cap,
                "train_cap": f"log K (K = {batch - 1})" if objective == INFONCE else "1/tau", "final_loss": 0.0}
    return row
