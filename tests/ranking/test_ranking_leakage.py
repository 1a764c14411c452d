"""The ranker's training table holds no information from at or after the val cut-off.

End to end on generated ``tiny`` data: build the marts, fit two deterministic generators on the
val fold and build ``candidate_features`` (warehouse A). Then delete every event with
``timestamp >= history_end_ts(val)`` from the parquet files, build the marts again on what is
left and the feature mart for the *same* val candidates (warehouse B). Every column the ranker
trains on (``feature_columns``) must be identical in A and B: a feature that read one event at
or after the cut-off would differ. (Labels are the val targets, which lie after the cut-off by
definition, so they are compared only in A: they must not be among the features.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from recsys.config import DBT_PROJECT_DIR, Settings
from recsys.ranking.dataset import KEY_COLUMNS, column_types, feature_columns, generators_in

pytestmark = pytest.mark.slow

MODELS = ["mostpop", "history"]
EVENT_FILES = ["listens", "likes", "dislikes", "unlikes", "undislikes", "multi_event"]


def dbt(settings: Settings, work: Path, *args: str) -> None:
    env = {**os.environ, **settings.env(), "RECSYS_THREADS": "2"}
    dbt_bin = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt_bin), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def settings_for(root: Path, work: Path, name: str) -> Settings:
    return Settings(data_dir=root, size="tiny", warehouse=work / f"{name}.duckdb",
                    reports_dir=work / "reports", temp_dir=work / "tmp", memory_limit="2GB", threads=2)


@pytest.fixture(scope="module")
def two_warehouses(tmp_path_factory):
    pytest.importorskip("recsys.data.generate")
    pytest.importorskip("recsys.candidates")
    return build_two_warehouses(tmp_path_factory.mktemp("leak"))


def build_two_warehouses(work: Path) -> tuple[Path, Path, int]:
    """Warehouse A (all events) and B (events before val's cut-off), same val candidates."""
    from recsys import candidates
    from recsys.data.generate import generate_dataset
    from recsys.pipeline_config import load_config

    full_root, cut_root = work / "full", work / "cut"
    generate_dataset(full_root, "tiny", seed=3)
    full = settings_for(full_root, work, "full")
    dbt(full, work, "run")
    config = load_config()
    candidates.run_candidates(full, config, folds=("val",), targets=("listen_plus", "like"),
                              models=MODELS, progress=False)
    dbt(full, work, "run", "--select", "candidate_features")

    con = duckdb.connect(str(full.warehouse))
    cut = con.execute("select history_end_ts from folds where fold = 'val'").fetchone()[0]
    shutil.copytree(full_root, cut_root)
    for name in EVENT_FILES:
        path = cut_root / "flat" / "tiny" / f"{name}.parquet"
        con.execute(f"copy (select * from read_parquet('{path}') where timestamp < {cut}) "
                    f"to '{path}.new' (format parquet)")
        os.replace(f"{path}.new", path)
    truncated = settings_for(cut_root, work, "cut")
    con.execute(f"attach '{truncated.warehouse}' as cut")
    con.execute("create table cut.candidates as select * from candidates")
    con.close()
    dbt(truncated, work, "run", "--select", "+candidate_features")
    return full.warehouse, truncated.warehouse, cut


def test_training_features_are_identical_without_post_cutoff_events(two_warehouses):
    full, truncated, cut = two_warehouses
    con = duckdb.connect(str(full), read_only=True)
    con.execute(f"attach '{truncated}' as cut (read_only)")
    types = column_types(con, "candidate_features")
    features = feature_columns(types, generators_in(list(types)))
    assert len(features) > 20  # the mart's features, not just the generator ranks
    assert "ui_listen_share" in features  # the ratio columns of the mart are compared too
    select = ", ".join(f'cast(cf."{c}" as double) as "{c}"' for c in ["uid", "item_id", *features])
    where = " as cf where cf.fold = 'val' order by cf.fold, cf.target, cf.uid, cf.item_id"
    a = con.execute(f"select {select} from candidate_features" + where).to_arrow_table()
    b = con.execute(f"select {select} from cut.candidate_features" + where).to_arrow_table()
    assert a.num_rows > 1000 and a.num_rows == b.num_rows
    for column in ["uid", "item_id", *features]:
        left, right = a.column(column).to_numpy(), b.column(column).to_numpy()
        # float32 tolerance: DuckDB may sum a list aggregate in another order (content_cosine
        # differs by ~1e-7 between two builds of the same data); a leak changes values far more
        assert np.allclose(left, right, equal_nan=True, rtol=1e-5, atol=1e-6), f"{column} changed"
    # the events removed were real: the full data has events at or after the cut-off
    later = con.execute(f"select count(*) from stg_listens where timestamp >= {cut}").fetchone()[0]
    assert later > 0


def test_no_label_column_is_a_feature(two_warehouses):
    full, _, _ = two_warehouses
    con = duckdb.connect(str(full), read_only=True)
    types = column_types(con, "candidate_features")
    labels = set(column_types(con, "eval_targets")) - set(KEY_COLUMNS)
    assert labels and not labels & set(feature_columns(types, generators_in(list(types))))
