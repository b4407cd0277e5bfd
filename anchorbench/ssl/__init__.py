"""The ssl experiment (see README)."""
