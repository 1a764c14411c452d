"""Artist and album continuation, checked by hand on eight events."""

import numpy as np
import pandas as pd
import pytest

from recsys.candidates import TrainData, make_generator
from recsys.candidates.continuation import top_per_row
from recsys.errors import ConfigError

# artist A: items 1, 2, 3; B: 4, 5, 7; C: 6. Every event at t = 0..7 s: with half-lives of days
# each weighs 1 (to 1e-5), so an item's popularity is its number of events
GROUPS = pd.DataFrame({"item_id": [1, 2, 3, 4, 5, 6, 7], "artist": [0, 0, 0, 1, 1, 2, 1],
                       "album": [5, 5, 6, 7, 7, 8, 7]})
EVENTS = pd.DataFrame({
    "uid":     [1, 1, 1, 2, 2, 2, 2, 3, 3],
    "item_id": [1, 4, 5, 2, 2, 2, 6, 3, 7],
    "timestamp": [0, 1, 2, 3, 4, 5, 6, 0, 7]})  # fmt: skip


def fitted(name="artist", **params):
    data = TrainData.from_events(EVENTS, groups=GROUPS)
    return make_generator(name, seed=0, params=params).fit(data)


def test_unseen_items_of_the_strongest_artists_by_popularity_within():
    recs = fitted().recommend_frame([1, 2], n=5)
    # user 1: B holds two of its items (affinity 2): item 7 (popular as its artist's best) = 2;
    # A holds one (affinity 1): item 2 (3 events, A's best) = 1, item 3 (1 event of 3) = 1/3
    one = recs[recs["uid"] == 1]
    assert one["item_id"].tolist() == [7, 2, 3]
    assert one["score"].tolist() == pytest.approx([2, 1, 1 / 3], rel=1e-4)
    # user 2: A (one distinct item, however often played) and C (nothing unseen): items 1 and 3
    # tie at 1/3, broken by item id
    two = recs[recs["uid"] == 2]
    assert two["item_id"].tolist() == [1, 3]
    assert two["score"].tolist() == pytest.approx([1 / 3, 1 / 3], rel=1e-4)


def test_top_groups_popularity_power_and_albums():
    assert fitted(top_groups=1).recommend_frame([1], n=5)["item_id"].tolist() == [7]
    flat = fitted(popularity_power=0.0).recommend_frame([1], n=5)
    assert flat["score"].tolist() == pytest.approx([2, 1, 1], rel=1e-4)  # popularity ignored
    # user 1's albums: 5 (item 1) and 7 (items 4, 5): unseen album mates 7 (of 7) and 2 (of 5)
    assert fitted("album").recommend_frame([1], n=5)["item_id"].tolist() == [7, 2]


def test_seen_items_only_when_asked_and_groups_required():
    recs = fitted(exclude_seen=False).recommend_frame([1], n=10)
    assert {1, 4, 5} <= set(recs["item_id"])
    with pytest.raises(ConfigError, match="needs groups"):
        make_generator("artist", seed=0).fit(TrainData.from_events(EVENTS))
    with pytest.raises(ConfigError, match="top_groups >= 1"):
        fitted(top_groups=0)


def test_top_per_row_keeps_the_largest_ties_by_column():
    import scipy.sparse as sp

    m = sp.csr_matrix(np.array([[0.0, 2.0, 2.0, 1.0], [4.0, 0.0, 0.0, 0.0]]))
    assert top_per_row(m, 2).toarray().tolist() == [[0, 2, 2, 0], [4, 0, 0, 0]]
    assert top_per_row(m, 1).toarray().tolist() == [[0, 2, 0, 0], [4, 0, 0, 0]]
