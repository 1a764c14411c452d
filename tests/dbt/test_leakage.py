"""The suite's one end-to-end leakage test: a fold's features, down to the ranker's training
table, must not change when every event at or after its cut-off is removed.

Builds the project on a small synthetic dataset and on copies truncated at each fold's
history_end_ts, gives every warehouse the same ``candidates`` (two generators' lists, written
once from the full build) and builds ``candidate_features`` on each, then compares every
fold-keyed table (features, organic ratios, train_interactions, content profiles and
candidate_features: every column the ranker trains on) row by row. A build whose features may
look one day past the cut-off (var leakage_test_shift_seconds) must be caught by the same
comparison, and no label column may be a ranker feature.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt_fixtures import copy_before, write_synthetic_yambda
from dbt_helpers import dbt_paths, tiny_settings

from recsys.dbt_runner import run_dbt
from recsys.ranking.dataset import KEY_COLUMNS, column_types, feature_columns, generators_in

pytestmark = pytest.mark.slow

CUTOFFS = {"val": 25_823_600, "test": 25_911_800}
# tables whose rows depend on the future by design, or that are not features (candidates: the
# same copy in every warehouse, the input of candidate_features; next_song_queries: the target
# window's sessions)
NOT_FEATURES = {"folds", "eval_targets", "int_target_events", "candidates", "next_song_queries"}
KEY_CANDIDATES = ("fold", "target", "uid", "item_id", "artist_id", "album_id", "event_type",
                  "from_item", "to_item")


# the same candidates in every warehouse: each fold's 20 most popular items for every user with
# target-type history ("mostpop"), and the user's own items ("history"), from the full build
CANDIDATES_SQL = """
create table candidates as
with users as (
    select distinct fold, target, uid from train_interactions where target_events > 0
),
popular as (
    select fold, target, item_id,
           row_number() over (partition by fold, target order by count(*) desc, item_id) as r
    from train_interactions group by fold, target, item_id qualify r <= 20
)
select u.fold, u.target, 'mostpop' as model, u.uid, p.item_id, p.r::integer as rank,
       1.0 / p.r as score
from users as u join popular as p using (fold, target)
union all
select fold, target, 'history', uid, item_id,
       row_number() over (partition by fold, target, uid order by target_events desc, item_id)::integer,
       target_events::double
from train_interactions where target_events > 0
"""


def _settings(data_dir: Path, work: Path):
    # a distinct file name per build: dbt-duckdb's views name their catalog (the file's stem), so
    # two attached warehouses with the same stem would make one's views read the other's tables
    return tiny_settings(data_dir, work).with_(warehouse=work / f"{work.name}.duckdb")


def _build(data_dir: Path, work: Path, vars_json: str | None = None) -> Path:
    run_dbt(_settings(data_dir, work), ["run"] + (["--vars", vars_json] if vars_json else []),
            **dbt_paths(work))
    return _settings(data_dir, work).warehouse


def _with_candidates(warehouse: Path, source: Path, data_dir: Path, vars_json: str | None) -> None:
    """Copy ``source``'s candidates into ``warehouse`` and build its candidate_features."""
    if warehouse != source:
        con = duckdb.connect(str(warehouse))
        try:
            con.execute(f"attach '{source}' as source (read_only)")
            con.execute("create or replace table candidates as select * from source.candidates")
        finally:
            con.close()
    args = ["run", "--select", "candidate_features"] + (["--vars", vars_json] if vars_json else [])
    run_dbt(_settings(data_dir, warehouse.parent), args, **dbt_paths(warehouse.parent))


def fold_tables(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Every table or view with a ``fold`` column, except NOT_FEATURES: name -> {column: type}."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() order by table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        tables.setdefault(table, {})[column] = dtype
    return {t: cols for t, cols in tables.items() if "fold" in cols and t not in NOT_FEATURES}


def _differs(column: str, dtype: str) -> str:
    a, b = f'a."{column}"', f'b."{column}"'
    if dtype.endswith("[]"):
        return f"coalesce(list_distance({a}, {b}) > 1e-5, ({a} is null) != ({b} is null))"
    if dtype in ("FLOAT", "DOUBLE"):
        return f"coalesce(abs({a} - {b}) > 1e-5 * greatest(1, abs({a})), ({a} is null) != ({b} is null))"
    return f"{a} is distinct from {b}"


def feature_differences(full: Path, truncated: Path, fold: str) -> dict[str, int]:
    """Rows of ``fold`` that differ between two warehouses, per fold-keyed table (0 = equal).

    Raises if a table is empty for the fold, so an empty comparison never passes silently.
    """
    assert full.stem != truncated.stem
    con = duckdb.connect()
    try:
        a, b = full.stem, truncated.stem
        con.execute(f"attach '{full}' (read_only)")
        con.execute(f"attach '{truncated}' (read_only)")
        con.execute(f'use "{a}"')
        out = {}
        for table, columns in fold_tables(con).items():
            keys = [c for c in KEY_CANDIDATES if c in columns]
            values = [c for c in columns if c not in keys]
            rows = con.execute(f'select count(*) from "{table}" where fold = ?', [fold]).fetchone()[0]
            assert rows > 0, f"{table} has no rows for fold {fold}: nothing would be compared"
            on = " and ".join(f'a."{k}" = b."{k}"' for k in keys)
            differs = " or ".join(["a.fold is null", "b.fold is null"] + [_differs(c, columns[c]) for c in values])
            out[table] = con.execute(
                f'select count(*) from (select * from "{a}".main."{table}" where fold = $1) a '
                f'full outer join (select * from "{b}".main."{table}" where fold = $1) b on {on} '
                f"where {differs}",
                [fold],
            ).fetchone()[0]
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def leakage_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("leakage")
    data = write_synthetic_yambda(root / "data")
    full = _build(data, root / "full")
    with duckdb.connect(str(full)) as con:
        con.execute(CANDIDATES_SQL)
    builds = {"full": full}
    _with_candidates(full, full, data, None)
    for fold, cutoff in CUTOFFS.items():
        truncated = copy_before(data, root / f"data_before_{fold}", "tiny", cutoff)
        builds[fold] = _build(truncated, root / f"before_{fold}")
        _with_candidates(builds[fold], full, truncated, None)
    leaky = '{"leakage_test_shift_seconds": 86400}'
    builds["leaky"] = _build(data, root / "leaky", leaky)
    _with_candidates(builds["leaky"], full, data, leaky)
    return builds


@pytest.mark.parametrize("fold", list(CUTOFFS))
def test_features_ignore_events_at_or_after_the_cut_off(leakage_builds, fold):
    diffs = feature_differences(leakage_builds["full"], leakage_builds[fold], fold)
    expected_tables = {"train_interactions", "user_features", "item_features", "user_item_features",
                       "user_artist_features", "user_album_features", "user_organic_ratios",
                       "item_organic_ratios", "artist_organic_ratios", "int_user_content_profiles",
                       "candidate_features"}
    assert expected_tables <= set(diffs)
    assert diffs == dict.fromkeys(diffs, 0)
    # the events removed were real: the full data has events at or after the cut-off
    with duckdb.connect(str(leakage_builds["full"]), read_only=True) as con:
        later = con.execute("select count(*) from stg_listens where timestamp >= ?",
                            [CUTOFFS[fold]]).fetchone()[0]
    assert later > 0


def test_every_ranker_feature_is_compared_and_no_label_is_one(leakage_builds):
    with duckdb.connect(str(leakage_builds["full"]), read_only=True) as con:
        types = column_types(con, "candidate_features")
        labels = set(column_types(con, "eval_targets")) - set(KEY_COLUMNS)
        rows = con.execute("select count(*) from candidate_features where fold = 'val'").fetchone()[0]
    features = feature_columns(types, generators_in(list(types)))
    # the comparison above covers every column of the mart, so every feature the ranker reads:
    # the generator ranks, the point-in-time features and the ratio columns
    assert len(features) > 20 and {"rank_mostpop", "rank_history", "ui_listen_share"} <= set(features)
    assert rows > 100
    assert labels and not labels & set(features)


def test_the_comparison_catches_a_feature_that_looks_past_the_cut_off(leakage_builds):
    diffs = feature_differences(leakage_builds["leaky"], leakage_builds["val"], "val")
    leaking = {table for table, n in diffs.items() if n > 0}
    assert {"user_features", "item_features", "train_interactions", "user_item_features",
            "candidate_features"} <= leaking
