"""Settings that follow the data (recsys/scale.py, recsys/scaled.yml): the tier a size reaches,
the footer it is measured from, and their place between the defaults and a user's file."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recsys.pipeline_config as pipeline_config_module
from recsys.config import Settings
from recsys.evaluation.scoring import derived_line
from recsys.pipeline_config import pipeline_config
from recsys.scale import DataScale, derived_settings, flatten, measure, tiers_reached

SMALL = DataScale(4_646_721, "flat/small/listens.parquet")
FIFTY = DataScale(46_467_212, "flat/50m/listens.parquet")


def test_small_reaches_no_tier_and_50m_the_large_one():
    assert derived_settings(SMALL) == {} and tiers_reached(SMALL) == []
    assert derived_settings(None) == {}
    large = derived_settings(FIFTY)
    assert [t["name"] for t in tiers_reached(FIFTY)] == ["large"]
    assert large["ranker.train_folds"] == ["val"]
    assert large["candidates.params.itemknn.recent_items"] == 100
    assert "audio" not in large["candidates.models"]


def test_flatten_names_each_value_by_its_dotted_key():
    flat = flatten({"ranker": {"max_train_queries": 1500},
                    "candidates": {"params": {"ials": {"iterations": 5}},
                                   "tuning": {"model_trials": {"decaypop": 7}}}})
    assert flat == {"ranker.max_train_queries": 1500, "candidates.params.ials.iterations": 5,
                    "candidates.tuning.model_trials": {"decaypop": 7}}


def test_measure_reads_the_listens_footer(tmp_path):
    folder = tmp_path / "flat" / "tiny"
    folder.mkdir(parents=True)
    assert measure(tmp_path, "tiny") is None
    pq.write_table(pa.table({"uid": pa.array([1, 2, 3], pa.uint32())}), folder / "listens.parquet")
    assert measure(tmp_path, "tiny") == DataScale(3, "flat/tiny/listens.parquet")


@pytest.fixture
def fifty(monkeypatch, tmp_path):
    """Settings whose input measures as generated 50m (the footer read is replaced)."""
    monkeypatch.setattr(pipeline_config_module, "measure", lambda data_dir, size: FIFTY)
    return Settings(data_dir=tmp_path, size="50m")


def test_derived_values_lie_between_the_defaults_and_a_file(fifty, tmp_path):
    config = pipeline_config(settings=fifty)
    assert config.ranker.train_folds == ("val",) or list(config.ranker.train_folds) == ["val"]
    assert config.ranker.max_train_queries == 1500
    assert config.candidates.params_of("bpr") == {"recent_items": 100, "iterations": 50}
    assert config.derived["ranker.max_train_queries"] == 1500
    assert config.scale == {"listens": FIFTY.listens, "source": FIFTY.source, "tiers": ["large"]}
    assert "tier large" in derived_line(config) and "ranker.max_train_queries = 1500" in derived_line(config)
    # a file's value wins and is no longer reported as derived; a model the tier does not name
    # can be given parameters, and a named model's parameters merge
    user = tmp_path / "mine.yml"
    user.write_text("ranker: {max_train_queries: 99}\n"
                    "candidates: {params: {itemknn: {k: 50}, history: {half_life_days: 3.0}},\n"
                    "             tuning: {model_trials: {fresh: 3}}}\n")
    mine = pipeline_config(user, settings=fifty)
    assert mine.ranker.max_train_queries == 99 and "ranker.max_train_queries" not in mine.derived
    assert mine.candidates.params_of("itemknn") == {"recent_items": 100, "k": 50}
    assert mine.candidates.params_of("history") == {"half_life_days": 3.0}
    assert mine.candidates.tuning.trials_of("fresh") == 3
    assert mine.candidates.tuning.trials_of("decaypop") == 7
    # an option over both, and a copy with overrides, drop what they change from `derived`
    optioned = pipeline_config(user, {"candidates.tuning.trials": 4}, settings=fifty)
    assert optioned.candidates.tuning.trials == 4
    assert "candidates.tuning.trials" not in optioned.derived
    copy = config.with_({"ranker.candidates_per_model": 50})
    assert "ranker.candidates_per_model" not in copy.derived and copy.scale == config.scale
    assert copy.derived["ranker.max_train_users"] == 3000


def test_derivation_can_be_turned_off_and_needs_the_data(fifty, tmp_path):
    off = tmp_path / "off.yml"
    off.write_text("derive_from_data: false\n")
    plain = pipeline_config()
    config = pipeline_config(off, settings=fifty)
    assert config.derived == {} and config.scale is None
    assert {k: v for k, v in config.raw.items() if k != "derive_from_data"} == \
        {k: v for k, v in plain.raw.items() if k != "derive_from_data"}
    assert "config alone" in derived_line(config)


def test_small_input_changes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline_config_module, "measure", lambda data_dir, size: SMALL)
    config = pipeline_config(settings=Settings(data_dir=tmp_path, size="small"))
    assert config.raw == pipeline_config().raw and config.derived == {}
    assert "below every tier" in derived_line(config)
