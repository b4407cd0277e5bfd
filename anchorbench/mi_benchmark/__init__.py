"""Data domains of the MI benchmark: Gaussian, MNIST and IMDB-BERT, each with its true MI.

Pure torch/numpy. Sampling is vectorised on the training device: pools are preloaded tensors and
every batch is a few index gathers, never a per-sample Python loop.
"""
