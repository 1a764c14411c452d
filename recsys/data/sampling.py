"""Vectorised weighted sampling within many groups at once (one ``searchsorted`` per call)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SegmentedSampler:
    """Draw a value from segment ``s`` with probability proportional to its weight.

    All segments live in one sorted key array: element ``j`` of segment ``s`` has key
    ``s + (cumulative weight up to and including j) / (segment total)``, so a draw for segment
    ``s`` is ``searchsorted(keys, s + u)``. Empty segments (or zero total weight) cannot be
    sampled: check ``nonempty`` first.
    """

    keys: np.ndarray  # float64
    values: np.ndarray  # int64
    bounds: np.ndarray  # int64, len n_segments + 1: element range of each segment

    @classmethod
    def build(
        cls, segment: np.ndarray, values: np.ndarray, weights: np.ndarray, n_segments: int
    ) -> SegmentedSampler:
        """``segment`` must be sorted ascending (0..n_segments-1); weights >= 0."""
        segment = np.asarray(segment, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        bounds = np.searchsorted(segment, np.arange(n_segments + 1), side="left").astype(np.int64)
        cum = np.cumsum(weights)
        before = np.concatenate([[0.0], cum])[bounds[:-1]]  # cumulative weight before each segment
        total = cum[bounds[1:] - 1] - before if len(cum) else np.zeros(n_segments)
        total = np.where(bounds[1:] > bounds[:-1], total, 0.0)
        seg_total = np.where(total > 0, total, 1.0)[segment]
        keys = segment + (cum - before[segment]) / seg_total
        # zero-weight segments keep keys equal to the segment id: they are never drawn
        keys = np.where((total > 0)[segment], keys, segment.astype(np.float64))
        return cls(keys=keys, values=np.asarray(values, dtype=np.int64), bounds=bounds)

    @property
    def nonempty(self) -> np.ndarray:
        """Per segment: True when it can be sampled."""
        lo, hi = self.bounds[:-1], self.bounds[1:]
        last = np.maximum(hi - 1, 0)
        ok = hi > lo
        ok[ok] = self.keys[last[ok]] > np.arange(len(lo))[ok]
        return ok

    def sample(self, rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
        """One draw per entry of ``segment`` (segments must be non-empty)."""
        segment = np.asarray(segment, dtype=np.int64)
        needles = segment + rng.random(len(segment))
        order = np.argsort(needles)  # sorted needles: cache-friendly binary searches
        pos = np.empty(len(segment), dtype=np.int64)
        pos[order] = np.searchsorted(self.keys, needles[order], side="right")
        pos = np.clip(pos, self.bounds[segment], np.maximum(self.bounds[segment + 1] - 1, 0))
        return self.values[pos]


def truncated_exponential(
    rng: np.random.Generator, scale: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Exponential draws with mean-parameter ``scale`` conditioned on being <= ``upper``."""
    upper = np.maximum(upper, 0.0)
    u = rng.random(len(scale))
    return -scale * np.log1p(-u * -np.expm1(-upper / scale))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrated_bernoulli(
    rng: np.random.Generator, score: np.ndarray, expected: float, iterations: int = 6
) -> np.ndarray:
    """Bernoulli draws with p = min(1, c * score), c chosen so that sum(p) is about ``expected``."""
    score = np.asarray(score, dtype=np.float64)
    total = score.sum()
    if total <= 0 or expected <= 0:
        return np.zeros(len(score), dtype=bool)
    c = expected / total
    for _ in range(iterations):
        got = np.minimum(1.0, c * score).sum()
        if got <= 0:
            break
        c *= expected / got
    return rng.random(len(score)) < np.minimum(1.0, c * score)
