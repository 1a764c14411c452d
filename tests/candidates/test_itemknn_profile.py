"""ItemKNN's user profile by hand: decay from the user's own last event, unit vs count vectors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys.candidates import TrainData, make_generator
from recsys.errors import ConfigError

A, B, C = 201, 202, 203
# one row per event (uid, item_id, timestamp); user 3 plays C three times
EVENTS = [(1, A, 100), (1, B, 200), (2, A, 100), (2, C, 200), (3, B, 50), (3, C, 50), (3, C, 60),
          (3, C, 70)]
HALF_LIFE_DAYS = 100 / 86_400  # 100 seconds: user 1's A (100 s before their last event) weighs 0.5


def data(cut: int) -> TrainData:
    events = pd.DataFrame(EVENTS, columns=["uid", "item_id", "timestamp"])
    return TrainData.from_events(events, cutoff=cut)


def scores(cut: int, **params) -> dict[int, float]:
    params = {"k": 10, "recent_items": 0, "half_life_days": HALF_LIFE_DAYS, **params}
    model = make_generator("itemknn", seed=1, params=params).fit(data(cut))
    _, items, values = model.recommend(np.array([1], dtype=np.uint32), 3)
    return dict(zip(items.tolist(), values.tolist(), strict=True))


# counts: A = (u1 1, u2 1), B = (u1 1, u3 1), C = (u2 1, u3 3): |A| = |B| = sqrt 2, |C| = sqrt 10;
# cos(A, B) = 1/2, cos(A, C) = 1/sqrt 20, cos(B, C) = 3/sqrt 20; user 1's profile A 0.5, B 1
UNIT = {A: 0.5 + 0.5, B: 0.5 * 0.5 + 1, C: (0.5 + 3) / math.sqrt(20)}
COUNTS = {A: math.sqrt(2), B: 1.25 * math.sqrt(2), C: 3.5 / math.sqrt(10)}


def test_unit_profile_vectors_sum_the_cosines_of_the_decayed_profile():
    assert scores(201) == pytest.approx(UNIT, rel=1e-5)


def test_count_profile_vectors_weigh_each_item_by_its_count_norm_as_the_official_code():
    assert scores(201, profile_vectors="counts") == pytest.approx(COUNTS, rel=1e-5)


def test_the_decay_runs_from_the_users_last_event_so_a_far_cut_off_does_not_underflow():
    # 1e9 s after the last event is ~1e7 half-lives: measured from the cut-off every weight is 0
    assert scores(10**9) == pytest.approx(UNIT, rel=1e-5)


def test_decayed_events_from_the_user_last_event_by_hand():
    d = data(1_000)
    cut_based = d.decayed_events(100.0).toarray()
    own = d.decayed_events(100.0, from_user_last=True).toarray()
    u1, (a, b) = d.users.to_internal(np.array([1]))[0], d.items.to_internal(np.array([A, B]))
    assert cut_based[u1, [a, b]] == pytest.approx([0.5**9, 0.5**8])
    assert own[u1, [a, b]] == pytest.approx([0.5, 1.0])


def test_an_unknown_profile_vectors_value_is_a_clear_error():
    with pytest.raises(ConfigError, match="profile_vectors"):
        scores(201, profile_vectors="norms")
