"""recsys: a leakage-safe benchmark and two-stage recommender for Yambda-style music logs."""

__version__ = "0.1.0"
