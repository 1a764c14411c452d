from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.data.validate import require_valid_dataset, validate_dataset, value_warnings
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
    assert value_warnings(tiny_dataset, "tiny") == []
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
    warnings = value_warnings(root, "tiny")
    assert any("listens.parquet: column 'timestamp': 1 of" in w and "multiples of 5" in w for w in warnings)
    assert any("listens.parquet: column 'timestamp': 1 of" in w and "exceed 26,000,000" in w for w in warnings)
