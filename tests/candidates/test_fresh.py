"""Fresh items, checked by hand on six events."""

import numpy as np
import pandas as pd
import pytest

from recsys.candidates import TrainData, make_generator
from recsys.errors import ConfigError

DAY = 86_400
# items 1, 2: first played on day 0; items 3, 4: released on day 9. Cut-off: day 10
EVENTS = pd.DataFrame({
    "uid":       [1, 2, 2, 3, 4, 5],
    "item_id":   [1, 2, 4, 3, 4, 1],
    "timestamp": [0, 0, 9 * DAY, 9 * DAY, 9 * DAY, 9 * DAY]})  # fmt: skip
# 2-d unit embeddings: items 1 and 3 point one way, 2 and 4 the other
EMBEDDINGS = pd.DataFrame({"item_id": [1, 2, 3, 4],
                           "normalized_embed": [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]})
# popularity half-lives of years: every event weighs 1, an item's popularity is its event count
SLOW = {"max_age_days": 5.0, "popularity_days": 1e6}


def fitted(**params):
    data = TrainData.from_events(EVENTS, cutoff=10 * DAY, embeddings=EMBEDDINGS)
    return make_generator("fresh", seed=0, params={**SLOW, **params}).fit(data)


def test_only_fresh_items_by_popularity_plus_taste():
    # user 1 played item 1 (profile (1, 0)): item 3 = log 1 + 5 * cos 1 = 5, item 4 = log 2 + 0
    recs = fitted(taste_weight=5.0).recommend_frame([1], n=10)
    assert recs["item_id"].tolist() == [3, 4]
    assert recs["score"].tolist() == pytest.approx([5.0, np.log(2)], rel=1e-6)
    # taste_weight 0: popularity alone (item 4 has two events)
    assert fitted(taste_weight=0.0).recommend_frame([1], n=10)["item_id"].tolist() == [4, 3]


def test_age_window_and_the_users_own_items():
    # user 2 played items 2 and 4: item 4 is left out, item 3 remains
    assert fitted().recommend_frame([2], n=10)["item_id"].tolist() == [3]
    assert 4 in fitted(exclude_seen=False).recommend_frame([2], n=10)["item_id"].tolist()
    # a window of 20 days makes the old items fresh too
    assert {1, 2, 3, 4} == set(fitted(max_age_days=20.0, exclude_seen=False)
                               .recommend_frame([5], n=10)["item_id"])


def test_bad_parameters_and_missing_embeddings():
    with pytest.raises(ConfigError, match="max_age_days > 0"):
        fitted(max_age_days=0)
    with pytest.raises(ConfigError, match="embeddings"):
        make_generator("fresh", seed=0).fit(TrainData.from_events(EVENTS, cutoff=10 * DAY))
