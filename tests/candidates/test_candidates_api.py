"""The notebook API: your own events in, a DataFrame of recommendations out, similar items,
save and load; wrong input gets a message about your columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.candidates import CandidateGenerator, TrainData, make_generator
from recsys.errors import ConfigError


def block_events() -> pd.DataFrame:
    """Users 1-50 play items 100-109, users 51-100 items 200-209 (7 each); user 999 100-104."""
    rng = np.random.default_rng(5)
    rows = [(u, (100 if u <= 50 else 200) + int(i)) for u in range(1, 101)
            for i in rng.choice(10, size=7, replace=False)]
    rows += [(999, 100 + i) for i in range(5)]
    frame = pd.DataFrame(rows, columns=["uid", "item_id"])
    frame["timestamp"] = np.arange(len(frame), dtype=np.int64) * 5
    return frame


def test_own_events_to_a_frame_of_recommendations():
    data = TrainData.from_events(block_events())
    model = make_generator("itemknn", seed=0, params={"k": 20}).fit(data)
    frame = model.recommend_frame([999, 1], n=5, exclude_seen=True)
    assert list(frame.columns) == ["uid", "item_id", "rank", "score"]
    assert sorted(frame.loc[frame.uid == 999, "item_id"]) == [105, 106, 107, 108, 109]
    assert frame.groupby("uid")["rank"].apply(list).loc[999] == [1, 2, 3, 4, 5]
    assert model.params["exclude_seen"] is False  # the option applied to this call only
    with_seen = model.recommend_frame([999], n=5)
    assert set(with_seen.item_id) & {100, 101, 102, 103, 104}


def test_cutoff_keeps_the_history_before_it():
    events = block_events()
    cut = int(events.timestamp.median())
    data = TrainData.from_events(events, cutoff=cut)
    assert int(data.interactions["target_events"].sum()) == int((events.timestamp < cut).sum())
    assert data.history_end_ts == cut


@pytest.mark.parametrize("name", ["itemknn", "ials", "bpr"])
def test_similar_items_stay_in_the_block(name):
    params = {"itemknn": {"k": 20}, "ials": {"factors": 2, "iterations": 15},
              "bpr": {"factors": 2, "iterations": 200}}[name]
    model = make_generator(name, seed=1, params=params).fit(TrainData.from_events(block_events()))
    similar = model.similar_items(103, n=5)
    assert list(similar.columns) == ["item_id", "rank", "score"]
    assert 103 not in set(similar.item_id) and set(similar.item_id) <= set(range(100, 110))


@pytest.mark.parametrize("name", ["itemknn", "ials", "audio"])
def test_similar_items_are_the_top_of_the_whole_similarity_row(name):
    """Each model's answer equals the dense row (its similarity to every item, the item itself
    left out) cut by top_n_dense: ItemKNN reads only its sparse neighbours, the vector models a
    product with their unit vectors."""
    from candidate_fixtures import train_data

    from recsys.candidates.base import top_n_dense

    params = {"itemknn": {"k": 3}, "ials": {"factors": 4, "iterations": 3},
              "audio": {"profile_items": 3}}[name]
    model = make_generator(name, seed=1, params=params).fit(train_data())
    for item in model.data.items.to_external(np.arange(len(model.data.items))):
        idx = int(model.data.items.to_internal(np.array([item]))[0])
        if name == "itemknn":
            row = np.full(len(model.data.items), -np.inf)
            row[model.similarity[idx].indices] = model.similarity[idx].data
        else:
            columns, unit = model.similarity_vectors()
            row = np.full(len(model.data.items), -np.inf)
            at = np.searchsorted(columns, idx)
            if at < len(columns) and columns[at] == idx:
                row[columns] = unit @ unit[at]
        row[idx] = -np.inf
        _, cols, values = top_n_dense(row[None, :], 4)
        got = model.similar_items(int(item), n=4)
        assert got["item_id"].tolist() == model.data.items.to_external(cols).tolist(), item
        assert got["score"].to_numpy() == pytest.approx(values)


def test_similar_items_needs_an_item_representation():
    model = make_generator("history", seed=0).fit(TrainData.from_events(block_events()))
    with pytest.raises(ConfigError, match="no item-to-item similarity"):
        model.similar_items(103)
    knn = make_generator("itemknn", seed=0).fit(TrainData.from_events(block_events()))
    with pytest.raises(ConfigError, match="not in the data"):
        knn.similar_items(555)


def test_save_and_load_give_the_same_recommendations(tmp_path):
    model = make_generator("ials", seed=1, params={"factors": 2, "iterations": 5}).fit(
        TrainData.from_events(block_events()))
    model.save(tmp_path / "ials.pkl")
    loaded = CandidateGenerator.load(tmp_path / "ials.pkl")
    pd.testing.assert_frame_equal(loaded.recommend_frame([1, 999], 5), model.recommend_frame([1, 999], 5))


@pytest.mark.parametrize(("events", "match"), [
    (pd.DataFrame({"user": [1], "item_id": [2], "timestamp": [3]}), r"lack column\(s\) uid.*they have user"),
    (pd.DataFrame({"uid": [1.5], "item_id": [2], "timestamp": [3]}), r"uid: float64"),
    (pd.DataFrame({"uid": [1], "item_id": [2], "timestamp": [3]}).iloc[:0], "No event"),
    ([(1, 2, 3)], "must be a pandas DataFrame"),
])  # fmt: skip
def test_wrong_events_name_the_problem(events, match):
    with pytest.raises(ValueError, match=match):
        TrainData.from_events(events)


@pytest.mark.parametrize("uid", [2**32 + 1, -1, 2**40])
def test_ids_outside_uint32_are_refused_never_wrapped(uid):
    """uid 2**32 + 1 once became user 1 and got user 1's list; now it is an error naming it."""
    events = block_events()
    model = make_generator("mostpop", seed=0).fit(TrainData.from_events(events))
    with pytest.raises(ConfigError, match=f"uid {uid} is outside 0 .. 4,294,967,295"):
        model.recommend_frame([uid])
    with pytest.raises(ConfigError, match="item_id .* is outside"):
        make_generator("itemknn", seed=0).fit(TrainData.from_events(events)).similar_items(uid)
    wide = events.astype({"uid": "int64"})
    wide.loc[0, "uid"] = abs(uid)
    if abs(uid) > 2**32 - 1:
        with pytest.raises(ValueError, match=f"uid {abs(uid)} is outside"):
            TrainData.from_events(wide)


def test_int64_ids_inside_the_range_are_taken_as_they_are():
    events = block_events().astype({"uid": "int64", "item_id": "int64"})
    model = make_generator("mostpop", seed=0).fit(TrainData.from_events(events))
    first = int(events["uid"].iloc[0])
    assert model.recommend_frame(np.array([first], dtype=np.int64))["uid"].unique().tolist() == [first]


@pytest.mark.parametrize("name", ["random", "mostpop", "decaypop", "history", "itemknn", "ials",
                                  "bpr"])
def test_every_generator_takes_exclude_seen(name):
    events = pd.DataFrame({"uid": [1, 1, 2, 2, 3, 3, 3], "item_id": [10, 11, 10, 12, 11, 12, 13],
                           "timestamp": [1, 2, 3, 4, 5, 6, 7]})
    model = make_generator(name, seed=0).fit(TrainData.from_events(events))
    got = model.recommend_frame([1, 2], n=2, exclude_seen=True)
    own = set(zip(events["uid"], events["item_id"], strict=True))
    assert not own & set(zip(got["uid"], got["item_id"], strict=True))
    assert (got.groupby("uid")["rank"].apply(list).map(lambda r: r == list(range(1, len(r) + 1)))).all()
    if name == "mostpop":  # by hand: counts 10:2, 11:2, 12:2, 13:1, ties by item id
        assert got[["uid", "item_id", "rank"]].values.tolist() == [[1, 12, 1], [1, 13, 2],
                                                                  [2, 11, 1], [2, 13, 2]]
    if name == "history":  # it proposes only the user's own items
        assert got.empty


def test_own_items_follow_the_last_fit():
    """The users x items matrix behind exclude_seen is cached per fit, never across fits."""
    events = block_events()
    model = make_generator("history", seed=0)
    model.fit(TrainData.from_events(events))
    user = int(model.data.users.to_internal(np.array([999]))[0])
    assert sorted(model.data.items.to_external(model.own_items(user))) == [100, 101, 102, 103, 104]
    model.fit(TrainData.from_events(events[~((events.uid == 999) & (events.item_id == 100))]))
    user = int(model.data.users.to_internal(np.array([999]))[0])
    assert sorted(model.data.items.to_external(model.own_items(user))) == [101, 102, 103, 104]
