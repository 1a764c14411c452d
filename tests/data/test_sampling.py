import numpy as np
import pytest

from recsys.data.sampling import SegmentedSampler, calibrated_bernoulli, truncated_exponential


def test_segmented_sampler_follows_weights_within_each_segment():
    # segment 0: values 10, 11 with weights 1:3; segment 1: empty; segment 2: value 30 only
    sampler = SegmentedSampler.build(np.array([0, 0, 2]), np.array([10, 11, 30]), np.array([1.0, 3.0, 2.0]), 3)
    assert sampler.nonempty.tolist() == [True, False, True]
    rng = np.random.default_rng(0)
    draws = sampler.sample(rng, np.zeros(20_000, dtype=np.int64))
    assert set(np.unique(draws)) == {10, 11}
    assert (draws == 11).mean() == pytest.approx(3 / 4, abs=0.01)
    assert (sampler.sample(rng, np.full(50, 2)) == 30).all()


def test_zero_weight_values_are_never_drawn():
    sampler = SegmentedSampler.build(np.array([0, 0, 0]), np.array([1, 2, 3]), np.array([0.0, 1.0, 0.0]), 1)
    assert (sampler.sample(np.random.default_rng(1), np.zeros(1_000, dtype=np.int64)) == 2).all()


def test_truncated_exponential_respects_the_bound():
    rng = np.random.default_rng(2)
    upper = np.array([0.0, 1.0, 10.0, 1e9] * 2_500)
    x = truncated_exponential(rng, np.full(len(upper), 5.0), upper)
    assert (x >= 0).all() and (x <= upper + 1e-9).all()
    assert x[3::4].mean() == pytest.approx(5.0, rel=0.1)  # untruncated: exponential mean


def test_calibrated_bernoulli_hits_the_expected_count():
    score = np.random.default_rng(3).lognormal(0, 2, 100_000)
    draws = calibrated_bernoulli(np.random.default_rng(4), score, 5_000)
    assert draws.sum() == pytest.approx(5_000, rel=0.05)
    assert score[draws].mean() > score.mean()  # higher score, more likely
