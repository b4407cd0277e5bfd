"""anchorbench estimators: MI objectives, readouts, critics and theory, in pure PyTorch.

Quick use::

    import estimators
    est = estimators.build("infonce_anchor", nu=1.0)
    scores = critic(x, y)            # [R, B, B], scores[r, i, j] = c_r(x_i, y_j)
    est.loss(scores).sum().backward()
    mi_nats = est.estimate(scores)   # [R]
"""

from estimators.critics import BilinearCritic, JointCritic, SeparableCritic, build_critic
from estimators.oracles import CorrelatedGaussian
from estimators.registry import (
    Estimator,
    available,
    build,
    canonical,
    hyperparameters,
    label,
    paper_name,
    parse_label,
)

__all__ = ["available", "build", "hyperparameters", "label", "parse_label", "canonical", "paper_name", "Estimator",
           "build_critic", "JointCritic", "SeparableCritic", "BilinearCritic", "CorrelatedGaussian"]
