"""anchorbench: the experiment side (data domains, training engine, configuration, CLI).

Pure estimator code lives in the top-level ``estimators`` package; Prefect tasks in ``tasks`` and
flows in ``flows``.
"""

__version__ = "0.1.0"
