"""End to end on a tiny DuckDB file: read the marts, write `candidates`, tune on val, CLI."""

from __future__ import annotations

import duckdb
import pytest
from candidate_fixtures import build_warehouse
from click.testing import CliRunner

from recsys.candidates import run_candidates
from recsys.candidates.tuned import data_hash, resolve_params
from recsys.cli import main
from recsys.config import Settings
from recsys.errors import ConfigError, WarehouseError
from recsys.pipeline_config import load_config

ALL = ["random", "mostpop", "decaypop", "history", "itemknn", "ials", "bpr", "audio"]


@pytest.fixture
def settings(tmp_path) -> Settings:
    build_warehouse(tmp_path / "wh.duckdb")
    return Settings(warehouse=tmp_path / "wh.duckdb", temp_dir=tmp_path / "tmp", threads=1)


def small_config(space=None, **candidates) -> dict:
    config = load_config()
    config["candidates"]["top_n"] = 3
    config["candidates"]["params"] = {"ials": {"factors": 4, "iterations": 2}, "bpr": {"factors": 4, "iterations": 3}}
    config["candidates"].update(candidates)
    if space is not None:
        config["candidates"]["tuning"]["search_space"] = space
    return config


def query(settings, sql):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_writes_every_model_fold_and_target(settings):
    summary = run_candidates(settings, small_config(), models=ALL, progress=False)
    assert len(summary) == 2 * 2 * len(ALL)
    assert all(run.users > 0 for run in summary)
    rows = query(settings, "select fold, target, model, count(*), max(rank) from candidates group by all")
    assert len(rows) == sum(1 for run in summary if run.rows > 0)
    assert all(max_rank <= 3 for *_, max_rank in rows)
    served = query(settings, """
        select fold, count(*) from (select distinct fold, target, uid from candidates where model = 'mostpop') c
        full join (select distinct fold, target, uid from eval_targets where fold = 'val'
                   union all
                   select distinct fold, target, uid from train_interactions
                   where fold = 'test' and target_events > 0) e using (fold, target, uid)
        where c.uid is null or e.uid is null group by fold""")
    assert served == []  # val: the evaluated users; test: every user with target-type history
    extra = query(settings, """select count(*) from (select distinct target, uid from candidates
        where fold = 'test' and model = 'mostpop') anti join (select distinct target, uid from
        eval_targets where fold = 'test') using (target, uid)""")
    assert extra[0][0] > 0  # the fixture has ranked users without targets
    ranks_ok = query(settings, """
        select bool_and(rank = rn) from (select rank, row_number() over (
            partition by fold, target, model, uid order by score desc, item_id) as rn from candidates)""")
    assert ranks_ok == [(True,)]


def test_rerun_replaces_the_slice(settings):
    config = small_config()
    run_candidates(settings, config, folds=["test"], targets=["like"], models=["mostpop"], progress=False)
    config["candidates"]["top_n"] = 2
    run_candidates(settings, config, folds=["test"], targets=["like"], models=["mostpop"], progress=False)
    assert query(settings, "select max(rank), count(distinct fold) from candidates") == [(2, 1)]


def test_tune_saves_params_and_they_are_reused(settings):
    config = small_config({"history": {"half_life_days": [1.0, 30.0]}})
    run_candidates(settings, config, folds=["test"], targets=["listen_plus"], models=["history"],
                   tune=True, progress=False)  # fmt: skip
    saved = query(settings, "select target, model, tuned_on, metric, trials, sampler from candidate_params")
    assert saved == [("listen_plus", "history", "val", "ndcg@100", 2, "grid")]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        digest = data_hash(settings)
        tuned = resolve_params(con, config, "listen_plus", "history", digest)
        config["candidates"]["params"] = {"history": {"half_life_days": 3.0}}
        explicit = resolve_params(con, config, "listen_plus", "history", digest)
    finally:
        con.close()
    assert tuned["half_life_days"] in (1.0, 30.0)
    assert explicit["half_life_days"] == 3.0  # the config's explicit value wins


def test_a_discovery_source_is_tuned_on_the_discovery_targets(settings, monkeypatch):
    import recsys.candidates.tuned as tuned_module

    seen = {}
    real = tuned_module.tune_model

    def spy(model, space, data, targets, **kwargs):
        seen[model] = targets
        return real(model, space, data, targets, **kwargs)

    monkeypatch.setattr(tuned_module, "tune_model", spy)
    config = small_config({"history": {"half_life_days": [1.0, 30.0]},
                           "album": {"top_groups": [1, 2]}})
    run_candidates(settings, config, folds=["test"], targets=["listen_plus"],
                   models=["history", "album"], tune=True, progress=False)
    assert set(seen["history"]["is_repeat"]) == {0, 1}  # the fixture has both kinds
    assert len(seen["album"]) and set(seen["album"]["is_repeat"]) == {0}
    assert len(seen["album"]) == (seen["history"]["is_repeat"] == 0).sum()


def test_bad_choices_are_clear_errors(settings):
    with pytest.raises(ConfigError, match="Valid names: random, mostpop"):
        run_candidates(settings, small_config(), models=["sasrec"], progress=False)
    with pytest.raises(ConfigError, match="the warehouse has folds test, val"):
        run_candidates(settings, small_config(), folds=["train"], progress=False)


@pytest.mark.parametrize("candidates, match", [
    ({"params": {"itemknn": {"kk": 3}}}, "Known parameters: exclude_seen, half_life_days, k"),
    ({"params": {"knn": {"k": 3}}}, "Valid names: random"),
    ({"tuning": {"search_space": {"itemknn": {"kk": [1, 2]}}}}, "not a parameter of generator"),
    ({"tuning": {"search_space": {"itemknn": {"k": 5}}}}, "a list of values"),
    ({"tuning": {"search_space": {"knn": {"k": [5]}}}}, "search_space names unknown model"),
    ({"tuning": {"metric": "auc@10", "search_space": {}}}, "ndcg, recall"),
    ({"tuning": {"trials": 0, "search_space": {}}}, "trials must be an integer"),
])  # fmt: skip
def test_bad_config_fails_before_reading_data(tmp_path, candidates, match):
    settings = Settings(warehouse=tmp_path / "none.duckdb")  # never opened: the check comes first
    with pytest.raises(ConfigError, match=match):
        run_candidates(settings, small_config(**candidates), models=["itemknn"], tune=True, progress=False)


def test_missing_warehouse(tmp_path):
    with pytest.raises(WarehouseError, match="does not exist"):
        run_candidates(Settings(warehouse=tmp_path / "none.duckdb"), small_config(), progress=False)


def test_cli_runs_and_reports(settings, tmp_path):
    cfg = tmp_path / "c.yml"
    cfg.write_text("candidates:\n  params: {}\n")
    result = CliRunner().invoke(main, [
        "candidates", "--warehouse", str(settings.warehouse), "--fold", "test", "--target", "like",
        "--models", "mostpop,history", "--top-n", "2", "--config", str(cfg), "--seed", "3", "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "mostpop" in result.output and "history" in result.output
    assert query(settings, "select max(rank) from candidates") == [(2,)]


def test_cli_unknown_model_lists_valid_names(settings):
    result = CliRunner().invoke(main, ["candidates", "--warehouse", str(settings.warehouse),
                                       "--models", "mostpop,nope", "--quiet"])  # fmt: skip
    assert result.exit_code == 1
    assert "nope" in result.output and "Valid names: random, mostpop" in result.output


def test_tuning_is_reused_on_the_same_inputs_and_redone_when_one_changes(settings, monkeypatch):
    """No refit for tuning on a rerun with the same inputs; a new space, seed or trial budget
    retunes; --no-tune ignores the saved values."""
    from recsys.candidates import tuned as tuned_module

    calls = []
    original = tuned_module.tune_model
    monkeypatch.setattr(tuned_module, "tune_model", lambda *a, **k: (calls.append(a[0]), original(*a, **k))[1])
    kwargs = dict(folds=["test"], targets=["listen_plus"], models=["itemknn"], progress=False)
    config = small_config({"itemknn": {"k": [2, 5]}})
    run_candidates(settings, config, tune=True, **kwargs)
    run_candidates(settings, config, tune=True, **kwargs)
    assert calls == ["itemknn"]  # the second run reused candidate_params
    for change in ({"itemknn": {"k": [2, 6]}}, ):
        run_candidates(settings, small_config(change), tune=True, **kwargs)
    config["seed"] = 5
    run_candidates(settings, config, tune=True, **kwargs)
    config["candidates"]["tuning"]["trials"] = 1
    run_candidates(settings, config, tune=True, **kwargs)
    assert len(calls) == 4
    config["candidates"]["tune"] = False
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert resolve_params(con, config, "listen_plus", "itemknn", data_hash(settings))["k"] == 100
    finally:
        con.close()


def test_tuning_writes_the_val_slice_a_refit_would_and_skip_existing_keeps_it(settings, monkeypatch):
    """The val candidates written from the tuning's chosen fit equal a fresh `recsys candidates
    --fold val` fit; `ensure_candidates` (`--skip-existing`) then fits only what is missing."""
    from recsys.candidates.tuned import ensure_tuned
    from recsys.pipeline import ensure_candidates

    config = small_config()
    models = ["history", "itemknn", "ials"]
    rows = ensure_tuned(settings, config, targets=["listen_plus"], models=models,
                        val_candidates=["history", "itemknn"], progress=False)
    assert {r.model: r.val_candidates for r in rows} == {"history": True, "itemknn": True, "ials": False}
    sql = ("select model, uid, item_id, rank, score from candidates where fold = 'val' "
           "order by all")
    written = query(settings, sql)
    assert {r[0] for r in written} == {"history", "itemknn"}
    fitted = []
    from recsys.candidates.runner import CandidateGenerator

    original = CandidateGenerator.fit
    monkeypatch.setattr(CandidateGenerator, "fit",
                        lambda self, data: (fitted.append((data.fold, self.name)), original(self, data))[1])
    ensure_candidates(settings, config, folds=["val", "test"], targets=["listen_plus"],
                      models=models, progress=False)
    assert sorted(fitted) == [("test", "history"), ("test", "ials"), ("test", "itemknn"), ("val", "ials")]
    run_candidates(settings, config, folds=["val"], targets=["listen_plus"], models=["history", "itemknn"],
                   progress=False)
    assert query(settings, sql.replace("order by", "and model <> 'ials' order by")) == written
