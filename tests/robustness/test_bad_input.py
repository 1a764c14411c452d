"""Bad input: a clear message naming the problem, a non-zero exit, nothing written.

Data problems are checked through ``recsys validate`` and ``recsys build`` (which validates the
files dbt reads before dbt starts); warehouse and config problems through ``recsys evaluate``.
Soft problems (timestamps off the 5 s grid or beyond the span) warn and pass; valid oddities
(played_ratio_pct > 100, duplicate events) pass and are counted the documented way.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from robust_fixtures import copy_settings, data_options

from recsys.cli import main

FILES = ["flat/tiny/listens.parquet", "flat/tiny/likes.parquet", "flat/tiny/dislikes.parquet",
         "flat/tiny/unlikes.parquet", "flat/tiny/undislikes.parquet", "flat/tiny/multi_event.parquet",
         "embeddings.parquet", "artist_item_mapping.parquet", "album_item_mapping.parquet"]


def linked_dataset(source: Path, root: Path) -> Path:
    """A dataset root of symlinks to ``source`` (replace one file to break it cheaply)."""
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(source / name)
    return root


def replace_file(root: Path, name: str, table: pa.Table | None = None, raw: bytes | None = None):
    (root / name).unlink()
    if table is not None:
        pq.write_table(table, root / name)
    elif raw is not None:
        (root / name).write_bytes(raw)


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def previous(tiny_warehouse, tmp_path_factory):
    """A complete warehouse that a failed `recsys build` must leave byte-for-byte as it is."""
    settings = copy_settings(tiny_warehouse, tmp_path_factory.mktemp("bad_input_previous"))
    return settings, digest(settings.warehouse)


def likes(tiny_dataset: Path) -> pa.Table:
    return pq.read_table(tiny_dataset / "flat/tiny/likes.parquet")


def _drop(t):
    return t.drop_columns(["is_organic"])


def _extra(t):
    return t.append_column("source", pa.array(["app"] * t.num_rows))


def _string_ids(t):
    return t.set_column(0, "uid", pc.cast(t["uid"], pa.string()))


def _negative_ts(t):
    ts = pc.cast(t["timestamp"], pa.int64()).to_pylist()
    return t.set_column(1, "timestamp", pa.array([-5] + ts[1:], pa.int64()))


def _float_ts(t):
    return t.set_column(1, "timestamp", pc.cast(t["timestamp"], pa.float64()))


# (case, how the likes file is broken, what the message must say)
BROKEN = [
    ("missing file", None, "flat/tiny/likes.parquet: file is missing"),
    ("not parquet", b"uid,timestamp,item_id\n1,5,7\n", "flat/tiny/likes.parquet: not a readable parquet file"),
    ("truncated", "truncate", "flat/tiny/likes.parquet: not a readable parquet file"),
    ("missing column", _drop, "column 'is_organic' is missing (expected uint8)"),
    ("extra column", _extra, "unexpected column 'source' (string)"),
    ("ids as strings", _string_ids, "column 'uid' has dtype string, expected uint32"),
    ("negative timestamps", _negative_ts, "column 'timestamp' has dtype int64, expected uint32"),
    ("float timestamps", _float_ts, "column 'timestamp' has dtype double, expected uint32"),
]


@pytest.mark.parametrize("case, breakage, message", BROKEN, ids=[c for c, _, _ in BROKEN])
def test_broken_data_file_is_named_and_nothing_is_written(case, breakage, message, tiny_dataset,
                                                          tmp_path, previous):
    root = linked_dataset(tiny_dataset, tmp_path / "data")
    source = tiny_dataset / "flat/tiny/likes.parquet"
    if breakage is None:
        replace_file(root, "flat/tiny/likes.parquet")
    elif breakage == "truncate":
        data = source.read_bytes()
        replace_file(root, "flat/tiny/likes.parquet", raw=data[: len(data) // 2])
    elif isinstance(breakage, bytes):
        replace_file(root, "flat/tiny/likes.parquet", raw=breakage)
    else:
        replace_file(root, "flat/tiny/likes.parquet", table=breakage(likes(tiny_dataset)))

    checked = cli("validate", str(root), "--size", "tiny")
    assert checked.exit_code == 1 and message in checked.output, checked.output
    assert "Traceback" not in checked.output

    # a fresh build writes no warehouse at all
    fresh = tmp_path / "fresh.duckdb"
    run = cli("build", "-q", "--data-dir", str(root), "--size", "tiny", "--warehouse", str(fresh))
    assert run.exit_code == 1 and (message in run.output or "dataset files" in run.output)
    assert "Traceback" not in run.output
    assert not list(tmp_path.glob("fresh.duckdb*"))  # no warehouse, staging copy or lock file

    # a build over an existing warehouse leaves it exactly as it was
    settings, before = previous
    again = cli("build", "-q", "--data-dir", str(root), "--size", "tiny",
                "--warehouse", str(settings.warehouse))
    assert again.exit_code == 1
    assert digest(settings.warehouse) == before


def test_missing_data_directory(tmp_path):
    nowhere = tmp_path / "nowhere"
    checked = cli("validate", str(nowhere), "--size", "tiny")
    assert checked.exit_code == 1
    assert "dataset root does not exist" in checked.output and "recsys generate" in checked.output
    profiled = cli("profile", str(nowhere), "--size", "tiny")
    assert profiled.exit_code == 1 and "dataset root does not exist" in profiled.output
    run = cli("build", "-q", "--data-dir", str(nowhere), "--size", "tiny",
                "--warehouse", str(tmp_path / "w.duckdb"))
    assert run.exit_code == 1 and "recsys generate --size tiny" in run.output
    assert not list(tmp_path.glob("w.duckdb*"))  # no warehouse, staging copy or lock file


def _shift(t, delta):
    ts = pc.add(pc.cast(t["timestamp"], pa.int64()), delta)
    return t.set_column(1, "timestamp", pc.cast(ts, pa.uint32()))


def test_timestamps_off_grid_or_out_of_range_warn_but_pass(tiny_dataset, tmp_path):
    root = linked_dataset(tiny_dataset, tmp_path / "data")
    table = likes(tiny_dataset)
    replace_file(root, "flat/tiny/likes.parquet", table=_shift(table, 2))  # off the 5 s grid
    dislikes = pq.read_table(tiny_dataset / "flat/tiny/dislikes.parquet")
    replace_file(root, "flat/tiny/dislikes.parquet", table=_shift(dislikes, 1_000_000))  # past the span
    result = CliRunner().invoke(main, ["validate", str(root), "--size", "tiny"])
    assert result.exit_code == 0, result.output
    assert f"flat/tiny/likes.parquet: column 'timestamp': {table.num_rows:,} of {table.num_rows:,} values " \
           "are not multiples of 5" in result.output
    assert "flat/tiny/dislikes.parquet: column 'timestamp':" in result.output and "exceed 26,000,000" in result.output
    assert "all files, columns and dtypes match the schema" in result.output


def test_played_ratio_above_100_is_valid_and_counts_as_listen_plus(tiny_dataset, tiny_warehouse):
    """Rewinds: ratio > 100 is no error, and such listens in a target window are Listen+ targets."""
    listens = pq.read_table(tiny_dataset / "flat/tiny/listens.parquet")
    assert pc.max(listens["played_ratio_pct"]).as_py() > 100  # the generator makes rewinds
    result = CliRunner().invoke(main, ["validate", str(tiny_dataset), "--size", "tiny"])
    assert result.exit_code == 0 and "played_ratio" not in result.output
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        over, found = con.execute("""
            select count(*), count(t.uid) from stg_listens l
            join folds f on l.timestamp >= f.target_start_ts and l.timestamp < f.target_end_ts
            join (select distinct fold, uid from eval_targets where target = 'listen_plus') u
              on u.fold = f.fold and u.uid = l.uid
            left join eval_targets t on t.fold = f.fold and t.target = 'listen_plus'
              and t.uid = l.uid and t.item_id = l.item_id
            where l.played_ratio_pct > 100""").fetchone()
    finally:
        con.close()
    assert over > 0 and found == over


def test_duplicate_events_are_counted_but_never_duplicate_a_key(tiny_warehouse, tmp_path):
    """Every event twice: eval_targets keeps one row per (fold, target, uid, item) with the count
    doubled (metrics use distinct target items), train_interactions counts double. The project's
    compiled SQL is run on a copy whose staging views read every event twice."""
    settings = copy_settings(tiny_warehouse, tmp_path)
    compiled = tiny_warehouse.warehouse.parent / "dbt_target" / "compiled" / "recsys" / "models"
    con = duckdb.connect(str(settings.warehouse))
    try:
        before = con.execute("select * from eval_targets order by all").df()
        for name in ("listens", "likes", "dislikes", "unlikes", "undislikes"):
            con.execute(f"create table dup_{name} as select * from stg_{name} union all "
                        f"select * from stg_{name}")
            con.execute(f"create or replace view stg_{name} as select * from dup_{name}")
        # the tables the events reach (int_user_item_history_joined is a view over two of them)
        for layer, name in [("intermediate", "int_user_item_listens_aggregated"),
                            ("intermediate", "int_user_item_reactions_resolved"),
                            ("marts", "train_interactions"), ("marts", "eval_targets")]:
            sql = (compiled / layer / f"{name}.sql").read_text()
            con.execute(f"create or replace table {name} as {sql}")
        after = con.execute("select * from eval_targets order by all").df()
        dup_keys = con.execute("select count(*) from (select 1 from eval_targets group by fold, "
                               "target, uid, item_id having count(*) > 1)").fetchone()[0]
    finally:
        con.close()
    assert dup_keys == 0 and len(after) == len(before) > 0
    keys = ["fold", "target", "uid", "item_id"]
    assert (after[keys].to_numpy() == before[keys].to_numpy()).all()
    assert (after["target_events"].to_numpy() == 2 * before["target_events"].to_numpy()).all()


# ------------------------------------------------------------------ warehouse-level problems

def evaluate_on(settings, *args):
    return CliRunner().invoke(main, [
        "evaluate", *data_options(settings), "--reports-dir", str(settings.reports_dir),
        "--no-two-stage", "--quiet", "--bootstrap-samples", "5", *args])


def test_missing_warehouse_is_named(tmp_path):
    result = CliRunner().invoke(main, ["evaluate", "--warehouse", str(tmp_path / "none.duckdb"),
                                       "--models", "mostpop", "--no-two-stage"])
    assert result.exit_code == 1 and "does not exist. Build it first" in result.output
    assert not (tmp_path / "none.duckdb").exists()


def test_empty_target_window_fails_with_a_message_and_no_report(tiny_warehouse, tmp_path):
    settings = copy_settings(tiny_warehouse, tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("delete from eval_targets where fold = 'test'")
    before = digest(settings.warehouse)
    result = evaluate_on(settings, "--models", "mostpop")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Fold 'test' has no listen_plus or like targets" in result.output
    assert "target window [25,913,600, " in result.output
    assert digest(settings.warehouse) == before  # no candidates fitted, nothing written
    assert not (settings.reports_dir / "metrics.csv").exists()


def test_a_target_type_with_no_events_is_named(tiny_warehouse, tmp_path):
    settings = copy_settings(tiny_warehouse, tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("delete from eval_targets where target = 'like'")
        con.execute("delete from train_interactions where target = 'like'")
    before = digest(settings.warehouse)
    result = evaluate_on(settings, "--models", "mostpop")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Fold 'test' has no like targets" in result.output
    assert digest(settings.warehouse) == before
    assert not (settings.reports_dir / "metrics.csv").exists()


def test_items_without_embeddings_leave_the_audio_model_empty_with_a_note(tiny_warehouse, tmp_path):
    settings = copy_settings(tiny_warehouse, tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("delete from item_embeddings")
    result = evaluate_on(settings, "--models", "audio,mostpop")
    assert result.exit_code == 0, result.output
    assert "no recommendations for fold test from: audio" in result.output
    assert "mostpop" in result.output


# ------------------------------------------------------------------ config and option values

CONFIGS = [
    ("evaluation:\n  kss: [10]\n", "Unknown config key 'evaluation.kss'"),
    ("candidates:\n  models: [mostpop, nosuch]\n", "Unknown candidate model(s): nosuch"),
    ("candidates:\n  models: mostpop\n", "Config key 'candidates.models' must be a list ([a, b]), got 'mostpop'"),
    ("seed: abc\n", "Config key 'seed' must be an integer"),
    ("evaluation:\n  ks: ten\n", "Config key 'evaluation.ks' must be a list"),
    ("evaluation:\n  bootstrap_samples: many\n", "'evaluation.bootstrap_samples' must be an integer"),
    ("evaluation:\n  ks: [10, 1000]\n", "must be positive and at most evaluation.top_k=100"),
    ("evaluation:\n  confidence: 1.5\n", "evaluation.confidence must lie in (0, 1)"),
    ("candidates:\n  top_n: -5\n  models: [mostpop]\n", "must be a positive integer, got -5"),
    ("candidates:\n  top_n: 1000000000\n", "'candidates.top_n' = 1,000,000,000 is above its limit 10,000"),
    (": : :\n  - [", "is not valid YAML"),
    ("- just\n- a list\n", "must hold a mapping"),
]


@pytest.mark.parametrize("text, message", CONFIGS, ids=[m for _, m in CONFIGS])
def test_bad_config_values(text, message, tiny_warehouse, tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text(text)
    settings = copy_settings(tiny_warehouse, tmp_path / "work") if "top_n" in text else tiny_warehouse
    before = digest(settings.warehouse)
    result = evaluate_on(settings.with_(reports_dir=tmp_path / "reports"), "--config", str(config))
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert digest(settings.warehouse) == before and not (tmp_path / "reports").exists()


OPTIONS = [
    (["--models", "nosuch"], 1, "Unknown candidate model(s): nosuch. Valid names: random"),
    (["--ks", "10,abc"], 2, "--ks must be integers separated by commas, got '10,abc'"),
    (["--ks", "0"], 1, "evaluation.ks=[0] must be positive"),
    (["--fold", "train"], 1, "Unknown fold 'train': the warehouse has folds test, val"),
    (["--bootstrap-samples", "0"], 2, "0 is not in the range x>=1"),
    (["--bootstrap-samples", "1000000000"], 1,
     "'evaluation.bootstrap_samples' = 1,000,000,000 is above its limit 100,000"),
    (["--config", "nosuch.yml"], 1, "Config file nosuch.yml does not exist"),
]


@pytest.mark.parametrize("args, code, message", OPTIONS, ids=[" ".join(a) for a, _, _ in OPTIONS])
def test_bad_cli_options(args, code, message, tiny_warehouse, tmp_path):
    before = digest(tiny_warehouse.warehouse)
    result = evaluate_on(tiny_warehouse.with_(reports_dir=tmp_path / "reports"), *args)
    assert result.exit_code == code and message in result.output, result.output
    assert digest(tiny_warehouse.warehouse) == before and not (tmp_path / "reports").exists()


def test_bad_environment_values(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_THREADS", "many")
    result = CliRunner().invoke(main, ["build", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "RECSYS_THREADS='many' must be a positive integer" in result.output
    monkeypatch.delenv("RECSYS_THREADS")
    monkeypatch.setenv("RECSYS_SIZE", "../x")
    result = CliRunner().invoke(main, ["build", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "is not a size name" in result.output


def test_linked_dataset_is_valid(tiny_dataset, tmp_path):
    """The symlinked copy itself passes (so each broken case fails for its one change)."""
    root = linked_dataset(tiny_dataset, tmp_path / "data")
    assert cli("validate", str(root), "--size", "tiny", "--no-values").exit_code == 0
    shutil.rmtree(root)


@pytest.mark.slow
def test_a_build_selection_that_matches_nothing_is_an_error(previous, tmp_path, monkeypatch):
    settings, before = previous
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))  # not dbt_project/target
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt_logs"))
    result = cli("build", "-q", "--select", "eval_targetz", "--data-dir", str(settings.data_dir),
                 "--size", "tiny", "--warehouse", str(settings.warehouse))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "--select eval_targetz matched no dbt model or test" in result.output
    assert digest(settings.warehouse) == before


def metrics_on(settings, *args):
    return CliRunner().invoke(main, [
        "metrics", *data_options(settings), "--reports-dir", str(settings.reports_dir),
        "--quiet", "--bootstrap-samples", "5", *args])


def reports_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fault, message", [
    ("no targets", "Fold 'test' has no listen_plus or like targets"),
    ("unknown model", "No test recommendations from foo; the models that have them: ials, mostpop, random"),
])
def test_metrics_writes_nothing_unless_it_has_something_to_score(fault, message, evaluated, tmp_path):
    settings = copy_settings(evaluated[0], tmp_path)
    if fault == "no targets":
        with duckdb.connect(str(settings.warehouse)) as con:
            con.execute("delete from eval_targets where fold = 'test'")
    before, reports = digest(settings.warehouse), reports_digest(settings.reports_dir)
    result = metrics_on(settings, *(["--models", "foo"] if fault == "unknown model" else []))
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert digest(settings.warehouse) == before  # metrics tables as they were
    assert reports_digest(settings.reports_dir) == reports  # metrics.csv, report.html, ... kept


def test_a_build_without_targets_in_a_window_keeps_the_previous_warehouse(tiny_dataset,
                                                                          tiny_warehouse, tmp_path):
    """Data that passes validation but leaves test without like targets: the likes in its window
    come from users with no like before the cut-off (so none is evaluated). dbt succeeds, the
    build is refused and the previous warehouse stays."""
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset, root)
    likes = root / "flat" / "tiny" / "likes.parquet"
    table = pq.read_table(likes)
    late = pc.greater_equal(table["timestamp"], 25_911_800)
    uid = pc.if_else(late, pc.add(table["uid"], pa.scalar(1_000_000, pa.uint32())), table["uid"])
    pq.write_table(table.set_column(table.schema.get_field_index("uid"), "uid", uid), likes)
    settings = copy_settings(tiny_warehouse, tmp_path / "work")
    before = digest(settings.warehouse)
    result = CliRunner().invoke(main, ["build", "-q", "--data-dir", str(root), "--size", "tiny",
                                       "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "test has no like targets in its window [25,913,600, 26,000,001)" in result.output
    assert "left as it was" in result.output
    assert digest(settings.warehouse) == before
    assert not list(settings.warehouse.parent.glob("*.building*"))
