"""Loading a fold's data: only the requested columns, events shared across folds."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from candidate_fixtures import FOLDS, build_warehouse

from recsys.candidates import GENERATORS, store
from recsys.errors import ConfigError


@pytest.fixture
def con(tmp_path):
    build_warehouse(tmp_path / "wh.duckdb")
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    yield con
    con.close()


def test_only_the_requested_columns_are_fetched(con):
    data = store.load_train_data(con, "val", "listen_plus", columns={"target_events"})
    assert list(data.interactions.columns) == ["uid", "item_id", "target_events", "user", "item"]
    with pytest.raises(ValueError, match="'is_disliked' .* was not loaded"):
        data.column("is_disliked")
    full = store.load_train_data(con, "val", "listen_plus")
    np.testing.assert_array_equal(data.column("target_events"), full.column("target_events"))


def test_every_generators_columns_exist_in_the_mart():
    for cls in GENERATORS.values():
        assert cls.needed_columns() <= set(store.INTERACTION_COLUMNS), cls.name


def test_unknown_column_is_a_clear_error(con):
    with pytest.raises(ConfigError, match="Unknown train_interactions column"):
        store.load_train_data(con, "val", "like", columns={"plays"})


@pytest.mark.parametrize("target", ["listen_plus", "like"])
def test_events_loaded_up_to_the_later_cut_serve_the_earlier_fold(con, target):
    shared = store.load_events(con, target, FOLDS["test"][0])
    assert shared["timestamp"].max() >= FOLDS["val"][0]  # holds events after val's cut-off
    own = store.load_train_data(con, "val", target, load={"events"})
    reused = store.load_train_data(con, "val", target, load={"events"}, events=shared)
    for name in ("user", "item", "timestamp"):
        np.testing.assert_array_equal(getattr(reused.events, name), getattr(own.events, name))
    assert reused.events.timestamp.max() < FOLDS["val"][0]


def test_shared_embeddings_equal_a_per_fold_load(con):
    shared = store.load_embeddings(con)
    a = store.load_train_data(con, "test", "like", load={"embeddings"})
    b = store.load_train_data(con, "test", "like", load={"embeddings"}, embeddings=shared)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    np.testing.assert_array_equal(a.has_embedding, b.has_embedding)
