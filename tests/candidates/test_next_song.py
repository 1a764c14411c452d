"""The next-song model, checked by hand on four transitions."""

import numpy as np
import pytest

from recsys.candidates.next_song import NextSongModel
from recsys.errors import ConfigError

# 1 -> 2 (3 times), 1 -> 3 (once), 2 -> 3 (twice), 4 -> 1 (once)
FROM, TO, COUNT = np.array([1, 1, 2, 4]), np.array([2, 3, 3, 1]), np.array([3, 1, 2, 1])


def test_transition_shares_decay_by_position_and_popularity_breaks_ties():
    model = NextSongModel.fit(FROM, TO, COUNT, popularity_weight=0.0)
    # after [1]: 2 with 3/4, 3 with 1/4; the rest (1, 4) score 0, ordered by item id
    assert model.next([1], n=4) == [(2, 0.75), (3, 0.25), (1, 0.0), (4, 0.0)]
    # after [2, 1]: the last listen weighs 1, the one before 0.5: 3 = 0.25 + 0.5 * 1
    got = dict(model.next([2, 1], n=2))
    assert got == pytest.approx({3: 0.75, 2: 0.75})
    assert [i for i, _ in model.next([2, 1], n=2)] == [2, 3]  # a tie: item id
    # popularity (transitions into an item: 3 gets 3, 2 gets 3, 1 gets 1) breaks the tie too
    ranked = NextSongModel.fit(FROM, TO, COUNT, popularity_weight=1e-3).next([2, 1], n=4)
    assert [i for i, _ in ranked] == [2, 3, 1, 4]


def test_unknown_items_are_ignored_and_a_session_of_them_gets_popularity():
    model = NextSongModel.fit(FROM, TO, COUNT)
    assert model.next([99, 1], n=2) == model.next([1], n=2)
    assert [i for i, _ in model.next([99], n=3)] == [2, 3, 1]  # popularity, ties by id
    with pytest.raises(ConfigError, match="0 < decay <= 1"):
        NextSongModel.fit(FROM, TO, COUNT, decay=0.0)


def test_many_sessions_at_once_are_each_session_alone():
    model = NextSongModel.fit(FROM, TO, COUNT)
    sessions = [[1], [2, 1], [99], [4, 2], []]
    rows, items, scores = model.next_many(sessions, n=3)
    for i, session in enumerate(sessions):
        alone = model.next(session, n=3)
        assert list(zip(items[rows == i].tolist(), scores[rows == i].tolist(), strict=True)) == alone
    # [4, 2]: after 2 (weight 1) item 3 with share 1; after 4 (weight 0.5) item 1; then popularity
    assert items[rows == 3].tolist() == [3, 1, 2]
    assert scores[rows == 3].tolist() == pytest.approx([1 + 1e-3, 0.5 + 1e-3 / 3, 1e-3])
