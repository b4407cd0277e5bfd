"""The protein experiment (see README)."""
