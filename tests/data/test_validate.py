from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.data.validate import content_checks, require_valid_dataset, validate_dataset
from recsys.errors import DataValidationError
from recsys.schema import EVENT_FILES, LISTENS, ROOT_FILES


def _rewrite(root: Path, rel: str, change) -> None:
    path = root / rel
    table = pq.read_table(path.resolve())
    path.unlink()  # it is a symlink into the shared dataset: replace, never edit through it
    pq.write_table(change(table), path)


def _validate_cli(root: Path) -> object:
    return CliRunner().invoke(main, ["validate", str(root), "--size", "tiny"])


def test_generated_dataset_is_valid(tiny_dataset):
    assert validate_dataset(tiny_dataset, "tiny") == []
    require_valid_dataset(tiny_dataset, "tiny")
    assert content_checks(tiny_dataset, "tiny") == ([], [])
    result = _validate_cli(tiny_dataset)
    assert result.exit_code == 0, result.output
    assert "match the schema" in result.output


def test_dtypes_are_exactly_the_public_ones(tiny_dataset):
    for name, schema in EVENT_FILES.items():
        actual = pq.read_schema(tiny_dataset / "flat" / "tiny" / name)
        assert [(f.name, f.type) for f in actual] == [(f.name, f.type) for f in schema], name
    for name, schema in ROOT_FILES.items():
        actual = pq.read_schema(tiny_dataset / name)
        assert [(f.name, f.type) for f in actual] == [(f.name, f.type) for f in schema], name


def test_missing_column_is_named(dataset_copy):
    root = dataset_copy()
    _rewrite(root, "flat/tiny/likes.parquet", lambda t: t.drop_columns(["is_organic"]))
    problems = validate_dataset(root, "tiny")
    assert problems == ["flat/tiny/likes.parquet: column 'is_organic' is missing (expected uint8)"]
    result = _validate_cli(root)
    assert result.exit_code != 0
    assert "flat/tiny/likes.parquet" in result.output and "'is_organic'" in result.output


def test_wrong_dtype_is_named(dataset_copy):
    root = dataset_copy()
    _rewrite(root, "flat/tiny/listens.parquet", lambda t: t.set_column(0, "uid", t["uid"].cast(pa.int64())))
    result = _validate_cli(root)
    assert result.exit_code != 0
    assert "flat/tiny/listens.parquet: column 'uid' has dtype int64, expected uint32" in result.output


def test_missing_file_and_every_problem_reported_at_once(dataset_copy):
    root = dataset_copy()
    (root / "flat/tiny/dislikes.parquet").unlink()
    (root / "album_item_mapping.parquet").unlink()
    _rewrite(root, "embeddings.parquet", lambda t: t.append_column("extra", pa.array([1] * t.num_rows)))
    with pytest.raises(DataValidationError) as err:
        require_valid_dataset(root, "tiny")
    problems = err.value.problems
    assert len(problems) == 3
    assert any(p.startswith("flat/tiny/dislikes.parquet: file is missing") for p in problems)
    assert any(p.startswith("album_item_mapping.parquet: file is missing") for p in problems)
    assert "embeddings.parquet: unexpected column 'extra' (int64)" in problems
    result = _validate_cli(root)
    assert result.exit_code != 0
    assert "3 problem(s)" in result.output


def test_not_parquet_and_missing_root(dataset_copy, tmp_path):
    root = dataset_copy()
    path = root / "flat/tiny/unlikes.parquet"
    path.unlink()
    path.write_text("uid,timestamp\n1,2\n")
    assert validate_dataset(root, "tiny")[0].startswith("flat/tiny/unlikes.parquet: not a readable parquet file")
    missing = validate_dataset(tmp_path / "nowhere", "tiny")
    assert len(missing) == 1 and "does not exist" in missing[0] and "recsys generate" in missing[0]


def test_timestamp_warnings(dataset_copy):
    root = dataset_copy()

    def shift(table):
        ts = pa.array([7, 26_000_005] + [5] * (table.num_rows - 2), pa.uint32())
        return table.set_column(LISTENS.get_field_index("timestamp"), "timestamp", ts)

    _rewrite(root, "flat/tiny/listens.parquet", shift)
    assert validate_dataset(root, "tiny") == []
    _, warnings = content_checks(root, "tiny")
    assert any("listens.parquet: column 'timestamp': 1 of" in w and "multiples of 5" in w for w in warnings)
    assert any("listens.parquet: column 'timestamp': 1 of" in w and "exceed 26,000,000" in w for w in warnings)


# ---------------------------------------------------------------- values: what the protocol needs
def _null_first(column: str):
    def change(table: pa.Table) -> pa.Table:
        values = table.column(column).to_pylist()
        values[0] = None
        fields = [f.with_nullable(True) for f in table.schema]
        return pa.table({n: (values if n == column else table.column(n)) for n in table.column_names},
                        schema=pa.schema(fields))
    return change


def _vectors(dims_of):
    def change(table: pa.Table) -> pa.Table:
        embed = [[0.1] * dims_of(i) for i in range(table.num_rows)]
        return table.set_column(table.schema.get_field_index("embed"), "embed",
                                pa.array(embed, table.schema.field("embed").type))
    return change


def _nan_first(table: pa.Table) -> pa.Table:
    embed = table.column("embed").to_pylist()
    embed[0] = [float("nan")] * len(embed[0])
    return table.set_column(table.schema.get_field_index("embed"), "embed",
                            pa.array(embed, table.schema.field("embed").type))


def _before(cut: int):
    return lambda table: table.filter(pa.compute.less(table["timestamp"], cut))


def _duplicated(share: float):
    """The first ``share`` of the rows appended again: exact duplicate events."""
    return lambda table: pa.concat_tables([table, table.slice(0, int(table.num_rows * share))])


def _ratio_first(value: int):
    def change(table: pa.Table) -> pa.Table:
        ratio = table.column("played_ratio_pct").to_pylist()
        ratio[0] = value
        return table.set_column(table.schema.get_field_index("played_ratio_pct"), "played_ratio_pct",
                                pa.array(ratio, pa.uint16()))
    return change


def _zero_first(column: str):
    def change(table: pa.Table) -> pa.Table:
        vectors = table.column(column).to_pylist()
        vectors[0] = [0.0] * len(vectors[0])
        return table.set_column(table.schema.get_field_index(column), column,
                                pa.array(vectors, table.schema.field(column).type))
    return change


VALUE_FAULTS = [
    ("flat/tiny/likes.parquet", lambda t: t.slice(0, 0), "likes.parquet: the file has no rows"),
    ("flat/tiny/listens.parquet", _null_first("uid"), "column 'uid' has 1 null values"),
    ("flat/tiny/dislikes.parquet", _null_first("item_id"), "column 'item_id' has 1 null values"),
    ("embeddings.parquet", _vectors(lambda i: 64), "has dimension(s) 64; every vector must have 128"),
    ("embeddings.parquet", _vectors(lambda i: 64 if i % 2 else 128), "dimension(s) 64, 128"),
    ("embeddings.parquet", _nan_first, "vectors hold NaN or infinite values"),
    ("embeddings.parquet", _null_first("embed"), "rows have a null or all-zero vector"),
    ("embeddings.parquet", _zero_first("normalized_embed"), "rows have a null or all-zero vector"),
    ("flat/tiny/listens.parquet", _ratio_first(65535),
     "column 'played_ratio_pct': 1 of 1,0"),  # of the file's rows
    ("flat/tiny/listens.parquet", _duplicated(0.1), "are exact duplicates of another row"),
    ("flat/tiny/likes.parquet", _before(25_825_400),
     "fold val: its target window [25,825,400, 25,911,800) holds no like event"),
]


@pytest.mark.parametrize("rel, change, message", VALUE_FAULTS, ids=[m for _, _, m in VALUE_FAULTS])
def test_values_the_benchmark_cannot_use_are_errors_before_dbt(rel, change, message, dataset_copy,
                                                               tmp_path):
    root = dataset_copy()
    _rewrite(root, rel, change)
    assert validate_dataset(root, "tiny") == []  # footers: files, columns and dtypes are fine
    result = _validate_cli(root)
    assert result.exit_code == 1 and message in result.output, result.output
    warehouse = tmp_path / "w.duckdb"
    built = CliRunner().invoke(main, ["build", "-q", "--data-dir", str(root), "--size", "tiny",
                                      "--warehouse", str(warehouse)])
    assert built.exit_code == 1 and message in built.output and "Traceback" not in built.output
    assert not warehouse.exists()  # stopped before dbt ran


def test_items_without_an_artist_are_a_warning_with_their_share(dataset_copy, tmp_path):
    root = dataset_copy()
    _rewrite(root, "artist_item_mapping.parquet", lambda t: t.slice(0, t.num_rows // 2))
    errors, warnings = content_checks(root, "tiny")
    assert errors == []
    assert len(warnings) == 1 and warnings[0].startswith("artist_item_mapping.parquet: ")
    assert "have no artist" in warnings[0] and "%)" in warnings[0]
    result = _validate_cli(root)
    assert result.exit_code == 0 and "warning: artist_item_mapping.parquet" in result.output
    # recsys build prints it and records it; run_manifest.json carries it (warehouse_profile)
    import duckdb

    from recsys.run_manifest import warehouse_profile

    warehouse = tmp_path / "w.duckdb"
    built = CliRunner().invoke(main, ["build", "-q", "--data-dir", str(root), "--size", "tiny",
                                      "--warehouse", str(warehouse), "--select", "stg_listens"])
    assert built.exit_code == 0 and "warning: artist_item_mapping.parquet" in built.output, built.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert warehouse_profile(con, "test")["data_warnings"] == warnings


def test_few_duplicates_are_a_warning_with_their_count_and_dedupe_removes_them(dataset_copy,
                                                                               tmp_path):
    root = dataset_copy()
    _rewrite(root, "flat/tiny/likes.parquet", lambda t: pa.concat_tables([t, t.slice(0, 3)]))
    errors, warnings = content_checks(root, "tiny")
    assert errors == []
    assert len(warnings) == 1 and warnings[0].startswith("flat/tiny/likes.parquet: 3 of ")
    assert "exact duplicates" in warnings[0]
    # a config may forbid any: the same count becomes an error
    from recsys.pipeline_config import ValidationConfig

    errors, _ = content_checks(root, "tiny", limits=ValidationConfig(max_duplicate_share=0.0))
    assert len(errors) == 1 and "above validation.max_duplicate_share = 0.00%" in errors[0]
    out = tmp_path / "deduped"
    result = CliRunner().invoke(main, ["validate", str(root), "--size", "tiny", "--dedupe", str(out)])
    assert result.exit_code == 0 and "likes.parquet: 3 removed" in result.output, result.output
    assert "listens.parquet: 0 removed" in result.output
    assert validate_dataset(out, "tiny") == [] and content_checks(out, "tiny") == ([], [])
    likes = pq.read_table(out / "flat/tiny/likes.parquet")
    assert likes.num_rows == pq.read_table(root / "flat/tiny/likes.parquet").num_rows - 3


def test_unmapped_items_are_measured_by_events_too(dataset_copy):
    """Few items (under 1% of the items) that carry many events still warn, by their events."""
    import pyarrow.compute as pc

    root = dataset_copy()
    listens = pq.read_table(root / "flat/tiny/listens.parquet")
    counts = listens.group_by("item_id").aggregate([("uid", "count")]).sort_by(
        [("uid_count", "descending")])
    heavy = counts.column("item_id").slice(0, 20)  # the 20 most played items: many events
    share_items = 20 / counts.num_rows
    share_events = pc.sum(counts.column("uid_count").slice(0, 20)).as_py() / listens.num_rows
    assert share_items < 0.01 < share_events  # the case: few items, many events
    _rewrite(root, "album_item_mapping.parquet",
             lambda t: t.filter(pc.invert(pc.is_in(t["item_id"], value_set=heavy))))
    errors, warnings = content_checks(root, "tiny")
    assert errors == []
    assert len(warnings) == 1 and warnings[0].startswith("album_item_mapping.parquet: 20 of ")
    assert "events (" in warnings[0] and "have no album" in warnings[0]
