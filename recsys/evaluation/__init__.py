"""Evaluation: SQL metrics over ``recommendations``, uncertainty, reports, ``recsys evaluate``."""
