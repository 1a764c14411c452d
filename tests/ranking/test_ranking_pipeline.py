import duckdb
import pytest

from recsys.pipeline import missing_candidate_slices, run_two_stage, stale_feature_slices
from recsys.ranking import rank, train_ranker
from recsys.ranking.recall import candidate_recall

N_USERS = 30  # as in conftest.py


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        # N = 6: mostpop proposes all six items (both targets); history items 1, 3, 5 (one target of two)
        (6, {"mostpop": 1.0, "history": 0.5, "merged": 1.0}),
        # N = 3: mostpop proposes items 4-6 (no target); history still items 1, 3, 5
        (3, {"mostpop": 0.0, "history": 0.5, "merged": 0.5}),
    ],
)
def test_candidate_recall_per_generator_and_merged(warehouse, n, expected):
    con = duckdb.connect(str(warehouse), read_only=True)
    recall = candidate_recall(con, "test", "listen_plus", ["mostpop", "history"], n)
    assert dict(zip(recall["source"], recall["recall"], strict=True)) == expected
    assert (recall["targets"] == 2 * N_USERS).all()
    # the fixture's repeat target is the item ending in 1 (history proposes it), its discovery
    # target the one ending in 2 (only mostpop, at N = 6)
    segments = recall.set_index("source")[["repeat_recall", "discovery_recall"]]
    assert segments.loc["history"].tolist() == [1.0, 0.0]
    assert segments.loc["mostpop"].tolist() == ([1.0, 1.0] if n == 6 else [0.0, 0.0])
    assert segments.loc["merged"].tolist() == ([1.0, 1.0] if n == 6 else [1.0, 0.0])


def test_train_then_rank_writes_two_stage_recommendations(settings, config):
    summary = train_ranker(settings, config, targets=["listen_plus"], progress=False)
    info = summary["listen_plus"]
    assert info["rows"] == 6 * N_USERS and info["train_folds"] == ["val"]
    assert info["train_queries"]["val"] + info["valid_queries"]["val"] == N_USERS
    assert info["valid_queries"]["val"] == round(0.2 * N_USERS)
    assert (settings.reports_dir / "ranker" / "two_stage" / "listen_plus.txt").is_file()
    ranked = rank(settings, config, fold="test", targets=["listen_plus"], progress=False)
    assert ranked["listen_plus"]["candidate_recall"]["merged"] == 1.0
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    recs = con.execute(
        "select uid, item_id, rank, score from recommendations "
        "where fold = 'test' and target = 'listen_plus' and model = 'two_stage' order by uid, rank"
    ).df()
    evaluated = {u for (u,) in con.execute(
        "select distinct uid from eval_targets where fold = 'test' and target = 'listen_plus'").fetchall()}
    # every user with candidates is ranked: the evaluated ones and the fixture's one without targets
    assert recs["uid"].nunique() == N_USERS + 1 and len(evaluated) == N_USERS
    assert len(recs) == 6 * (N_USERS + 1)
    recs = recs[recs["uid"].isin(evaluated)]
    # the perfect feature puts each user's two targets (items ending in 1 and 2) on top
    top2 = recs[recs["rank"] <= 2]
    assert sorted(set((top2["item_id"] % 10).tolist())) == [1, 2]
    assert (recs.groupby("uid")["rank"].apply(list) == [list(range(1, 7))] * N_USERS).all()
    gains = con.execute(
        "select feature from ranker_feature_importance where target = 'listen_plus' order by gain desc"
    ).fetchall()
    # user_item_listens and the mostpop rank/score (targets are mostpop's last two) separate perfectly
    assert gains[0][0] in {"user_item_listens", "rank_mostpop", "score_mostpop"}
    assert {g for (g,) in gains} == {"rank_mostpop", "score_mostpop", "rank_history", "score_history", "user_item_listens"}


def test_rank_is_reproducible(settings, config):
    def run():
        train_ranker(settings, config, targets=["listen_plus"], progress=False)
        rank(settings, config, targets=["listen_plus"], progress=False)
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            return con.execute("select * from recommendations order by uid, rank").fetchall()

    assert run() == run()


def test_run_two_stage_uses_existing_fresh_inputs(settings, config):
    summary = run_two_stage(settings, config, fold="test", targets=("listen_plus",), progress=False)
    assert summary["inputs"] == {"candidates_generated": [], "features_rebuilt": False}
    assert summary["rank"]["listen_plus"]["recommendations"] == 6 * (N_USERS + 1)  # + the user without targets
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    folds = con.execute("select distinct fold from candidate_recall order by fold").fetchall()
    assert folds == [("test",), ("val",)]


def test_stale_and_missing_inputs_are_detected(settings, config, warehouse):
    con = duckdb.connect(str(warehouse))
    assert missing_candidate_slices(settings, config, con, ["val"], ["listen_plus", "like"],
                                    ["mostpop"], ["test"]) == [("val", "like", "mostpop")]
    # a slice written with other settings (here: another list length) is stale, not reused
    other = {**config, "candidates": {**config["candidates"], "top_n": 7}}
    assert missing_candidate_slices(settings, other, con, ["val"], ["listen_plus"], ["mostpop"],
                                    ["test"]) == [("val", "listen_plus", "mostpop")]
    assert stale_feature_slices(con, ["val", "test"], ["listen_plus"]) == []
    con.execute("delete from candidate_features where fold = 'test' and uid = 1")
    assert stale_feature_slices(con, ["val", "test"], ["listen_plus"]) == [("test", "listen_plus")]


def test_changed_candidate_rank_makes_features_stale(warehouse):
    con = duckdb.connect(str(warehouse))
    # same (uid, item_id) pairs, one rank swapped: a row count alone would not notice
    con.execute(
        "update candidates set rank = case rank when 1 then 2 else 1 end "
        "where fold = 'val' and model = 'mostpop' and uid = 4 and rank in (1, 2)"
    )
    assert stale_feature_slices(con, ["val", "test"], ["listen_plus"]) == [("val", "listen_plus")]


def test_rank_in_user_blocks_equals_one_block(settings, config, monkeypatch):
    import recsys.ranking.ranker as ranker

    train_ranker(settings, config, targets=["listen_plus"], progress=False)

    def ranked(block):
        monkeypatch.setattr(ranker, "RANK_BLOCK_USERS", block)
        summary = rank(settings, config, targets=["listen_plus"], progress=False)["listen_plus"]
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            rows = con.execute("select uid, item_id, rank, score from recommendations order by uid, rank").fetchall()
        return summary, rows

    (one, rows_one), (blocks, rows_blocks) = ranked(10_000), ranked(7)  # 31 users: 5 blocks
    assert rows_one == rows_blocks and len(rows_one) == 6 * (N_USERS + 1)
    assert one["users"] == blocks["users"] == N_USERS + 1
