"""Multi-fold training: stacked query groups, the same held-out users in every fold, caps, errors."""

import duckdb
import numpy as np
import pytest

from recsys.candidates.registry import GENERATORS
from recsys.errors import ConfigError
from recsys.pipeline import stale_feature_slices
from recsys.pipeline import train_ranker_stage as train_ranker
from recsys.ranking.dataset import RankingDataError, group_sizes
from recsys.ranking.settings import dbt_vars
from recsys.ranking.training import load_training_set, plan_queries
from recsys.sections.ranker import ranker_config, required_n_folds

MODELS = ["mostpop", "history"]
N_USERS = 30  # as in conftest.py


def _cfg(config, **ranker):
    config["ranker"].update(ranker)
    return ranker_config(config)


def test_training_frame_has_query_groups_from_every_fold(three_folds, config):
    cfg = _cfg(config, train_folds=["val", "val_2"])
    with duckdb.connect(str(three_folds)) as con:
        frame, valid, plan = load_training_set(con, "listen_plus", cfg, MODELS)
    # 30 users x 2 folds, 6 candidates each; fold 0 = val, 1 = val_2, each fold's rows contiguous
    assert len(frame) == 2 * 6 * N_USERS
    assert frame.folds.tolist() == [0] * 6 * N_USERS + [1] * 6 * N_USERS
    assert len(frame.group_sizes()) == 2 * N_USERS
    assert (frame.group_sizes() == 6).all()
    assert plan.folds == ("val", "val_2")
    # every query has a positive (items ending in 1 and 2)
    assert frame.labels.sum() == 2 * 2 * N_USERS


def test_held_out_users_are_the_same_in_every_fold(three_folds, config):
    cfg = _cfg(config, train_folds=["val", "val_2"], valid_share=0.2)
    with duckdb.connect(str(three_folds)) as con:
        frame, valid, plan = load_training_set(con, "listen_plus", cfg, MODELS)
    held_val = set(frame.uids[valid & (frame.folds == 0)].tolist())
    held_val2 = set(frame.uids[valid & (frame.folds == 1)].tolist())
    trained = set(frame.uids[~valid].tolist())
    assert held_val == held_val2 and len(held_val) == round(0.2 * N_USERS)
    assert not held_val & trained
    assert set(plan.valid["val"].tolist()) == held_val


def test_max_train_queries_caps_and_is_seeded(config):
    positives = {"val": np.arange(1, 101, dtype=np.uint32), "val_2": np.arange(51, 151, dtype=np.uint32)}
    cfg = _cfg(config, train_folds=["val", "val_2"], valid_share=0.2, max_train_queries=40)
    plan = plan_queries(positives, cfg)
    assert sum(len(u) for u in plan.train.values()) == 40
    # held-out capped in proportion: ceil(40 * 0.2 / 0.8) = 10
    assert sum(len(u) for u in plan.valid.values()) == 10
    again = plan_queries(positives, cfg)
    assert all((plan.train[f] == again.train[f]).all() for f in plan.folds)
    other = plan_queries(positives, _cfg(config, seed=7))
    assert any(len(plan.train[f]) != len(other.train[f]) or (plan.train[f] != other.train[f]).any()
               for f in plan.folds)
    for fold in plan.folds:
        assert (np.diff(plan.train[fold].astype(np.int64)) > 0).all()
        assert not set(plan.train[fold].tolist()) & set(plan.valid[fold].tolist())


def test_train_ranker_on_two_folds_reports_queries_per_fold(three_folds, config, tmp_path):
    from ranking_fixtures import mark_candidates_fresh

    from recsys.config import Settings

    settings = Settings(warehouse=three_folds, reports_dir=tmp_path / "reports",
                        temp_dir=tmp_path / "tmp", memory_limit="1GB", threads=1)
    mark_candidates_fresh(settings, config)  # as if the generators had written them
    config["ranker"]["train_folds"] = ["val", "val_2"]
    info = train_ranker(settings, config, targets=["listen_plus"], progress=False)["listen_plus"]
    assert info["train_folds"] == ["val", "val_2"]
    assert info["rows"] == 2 * 6 * N_USERS
    assert info["train_queries"] == {"val": 24, "val_2": 24}
    assert info["valid_queries"] == {"val": 6, "val_2": 6}


def test_a_missing_training_fold_is_a_clear_error(warehouse, config):
    cfg = _cfg(config, train_folds=["val", "val_3"])
    with duckdb.connect(str(warehouse)) as con, pytest.raises(RankingDataError) as err:
        load_training_set(con, "listen_plus", cfg, MODELS)
    message = str(err.value)
    assert "val_3" in message and "n_folds = 4" in message and "recsys build --config" in message


def test_a_fold_without_candidates_is_a_clear_error(warehouse, config):
    with duckdb.connect(str(warehouse)) as con:  # candidates for val and test only
        con.execute("insert into folds values ('val_2', 500, 600, 1000)")
        cfg = _cfg(config, train_folds=["val", "val_2"])
        with pytest.raises(RankingDataError, match="val_2"):
            load_training_set(con, "listen_plus", cfg, MODELS)


@pytest.mark.parametrize(
    ("folds", "n"), [(["val"], 2), (["val", "val_2"], 3), (["val_3", "val"], 4), (["val_12"], 13)]
)
def test_train_folds_set_the_dbt_n_folds(config, folds, n):
    config["ranker"]["train_folds"] = folds
    assert required_n_folds(config) == n
    assert dbt_vars(config)["n_folds"] == n
    assert ranker_config(config).train_folds == tuple(sorted(folds, key=lambda f: (len(f), f)))


@pytest.mark.parametrize("folds", [["test"], ["val_1"], ["val", "val"], [], "val", ["val_x"]])
def test_bad_train_folds_are_rejected(config, folds):
    config["ranker"]["train_folds"] = folds
    with pytest.raises(ConfigError, match="train_folds|training fold"):
        ranker_config(config)


def test_group_sizes_split_equal_users_of_different_folds():
    # user 5 ends fold 0 and starts fold 1: two queries, not one
    assert group_sizes(np.array([3, 5, 5, 5, 7]), np.array([0, 0, 1, 1, 1])).tolist() == [1, 1, 2, 1]
    with pytest.raises(RankingDataError, match="sorted by fold"):
        group_sizes(np.array([1, 2]), np.array([1, 0]))


def test_staleness_counts_only_the_ranks_the_ranker_reads(warehouse):
    # a mart built with candidate_max_rank = 6 lacks mostpop's rank-7 row (item 999) of each user
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from candidate_features where fold = 'test' and rank_mostpop = 7")
        assert stale_feature_slices(con, ["val", "test"], ["listen_plus"]) == [("test", "listen_plus")]
        assert stale_feature_slices(con, ["val", "test"], ["listen_plus"], max_rank=6) == []
        # a changed rank within the top 6 is still noticed
        con.execute("update candidates set rank = 9 where fold = 'val' and model = 'mostpop' and uid = 3 and rank = 1")
        assert stale_feature_slices(con, ["val", "test"], ["listen_plus"], max_rank=6) == [("val", "listen_plus")]


@pytest.mark.parametrize(("per_model", "max_rank"), [(100, 100), (200, None), (300, None)])
def test_candidate_max_rank_follows_candidates_per_model(config, per_model, max_rank):
    config["candidates"]["top_n"] = 200
    config["ranker"]["candidates_per_model"] = per_model
    assert dbt_vars(config)["candidate_max_rank"] == max_rank


def test_recsys_build_passes_the_config_folds_to_dbt(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import recsys.dbt_runner
    from recsys.cli import main

    seen = {}

    def fake_build(settings, select=None, *, vars=None, progress=False, limits=None, full=False):
        seen.update(select=select, vars=vars)
        return recsys.dbt_runner.DbtRunSummary(command=["build"])

    monkeypatch.setattr(recsys.dbt_runner, "build", fake_build)
    user = tmp_path / "c.yml"
    user.write_text("ranker: {train_folds: [val, val_2, val_3], candidates_per_model: 100}\n")
    result = CliRunner().invoke(main, ["build", "--config", str(user), "--quiet"],
                                env={"RECSYS_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert result.exit_code == 0, result.output
    merged = ["mostpop", "decaypop", "history", "itemknn", "ials", "bpr", "audio", "fresh"]
    # ranker.compare_untuned: the untuned variants of every tunable merged generator too
    untuned = [f"{m}_untuned" for m in merged if m != "mostpop"]
    assert seen["vars"] == {"n_folds": 4, "candidate_max_rank": 100,
                            "candidate_models": [*GENERATORS, *untuned],
                            "ranker_models": [*merged, *untuned]}


def test_graded_labels_are_capped_event_counts(warehouse, config):
    from recsys.ranking.dataset import load_frame

    with duckdb.connect(str(warehouse)) as con:
        # items ending in 1: 5 target events, ending in 2: 1 event (conftest default)
        con.execute("update eval_targets set target_events = 5 where item_id % 10 = 1")
        binary = load_frame(con, "val", "listen_plus", models=MODELS, per_model=6)
        graded = load_frame(con, "val", "listen_plus", models=MODELS, per_model=6, graded_cap=3)
        cfg = _cfg(config, graded_labels=3)
        stacked, _, _ = load_training_set(con, "listen_plus", cfg, MODELS)
    ends = binary.item_ids % 10
    assert binary.labels.tolist() == [1 if e in (1, 2) else 0 for e in ends]
    assert graded.labels.tolist() == [3 if e == 1 else 1 if e == 2 else 0 for e in ends]
    assert stacked.labels.tolist() == graded.labels.tolist()


def test_train_ranker_skips_the_staleness_scan_when_no_slice_is_missing(settings, config, monkeypatch):
    import recsys.pipeline as pipeline

    def no_scan(*args, **kwargs):
        raise AssertionError("train_ranker scanned candidate_features for staleness")

    monkeypatch.setattr(pipeline, "stale_feature_slices", no_scan)
    info = train_ranker(settings, config, targets=["listen_plus"], progress=False)["listen_plus"]
    assert info["rows"] == 6 * N_USERS
