"""Check a dataset root against the public Yambda layout, columns and dtypes.

``validate_dataset`` reads only parquet footers (fast at any size) and returns every problem at
once, each naming the file and the column. ``require_valid_dataset`` raises
``DataValidationError`` with that list; every command that reads the data calls it first.
``value_warnings`` scans the timestamps with DuckDB (column push-down) for soft problems.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from recsys.errors import DataValidationError
from recsys.schema import EVENT_FILES, ROOT_FILES, TIMESTAMP_MAX, TIMESTAMP_STEP


def expected_files(root: Path | str, size: str) -> dict[Path, pa.Schema]:
    """Every file of a dataset root for ``size``, with its schema."""
    root = Path(root)
    files = {root / "flat" / size / name: schema for name, schema in EVENT_FILES.items()}
    files.update({root / name: schema for name, schema in ROOT_FILES.items()})
    return files


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Exact dtype match, tolerating encodings that carry the same values.

    list/large_list of the same element type, and string/large_string/dictionary-of-strings
    (``event_type`` is an enum), are accepted.
    """
    if actual == expected:
        return True
    if pa.types.is_dictionary(expected):
        if pa.types.is_dictionary(actual):
            actual = actual.value_type
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_list(expected) or pa.types.is_large_list(expected):
        return (
            pa.types.is_list(actual) or pa.types.is_large_list(actual) or pa.types.is_fixed_size_list(actual)
        ) and actual.value_type == expected.value_type
    return False


def _file_problems(path: Path, expected: pa.Schema, label: str) -> list[str]:
    if not path.exists():
        return [f"{label}: file is missing (expected at {path})"]
    try:
        actual = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as exc:
        return [f"{label}: not a readable parquet file ({exc})"]
    problems = []
    names = set(actual.names)
    for f in expected:
        if f.name not in names:
            problems.append(f"{label}: column '{f.name}' is missing (expected {f.type})")
            continue
        got = actual.field(f.name).type
        if not _same_type(got, f.type):
            problems.append(f"{label}: column '{f.name}' has dtype {got}, expected {f.type}")
    for name in actual.names:
        if name not in expected.names:
            problems.append(f"{label}: unexpected column '{name}' ({actual.field(name).type})")
    return problems


def validate_dataset(root: Path | str, size: str) -> list[str]:
    """Every problem with the files, columns and dtypes of ``root`` for ``size`` (empty if valid)."""
    root = Path(root)
    if not root.is_dir():
        return [
            f"{root}: dataset root does not exist. Generate data with `recsys generate --size {size}` "
            "or download it with `recsys download`, or point RECSYS_DATA_DIR at your files."
        ]
    problems: list[str] = []
    for path, schema in expected_files(root, size).items():
        problems += _file_problems(path, schema, str(path.relative_to(root)))
    return problems


def require_valid_dataset(root: Path | str, size: str) -> None:
    """Raise ``DataValidationError`` listing every problem, or return if the dataset is valid."""
    problems = validate_dataset(root, size)
    if problems:
        raise DataValidationError(problems)


def value_warnings(root: Path | str, size: str) -> list[str]:
    """Soft problems: event timestamps off the 5-second grid or outside [0, 26,000,000].

    Call on a dataset that passed ``validate_dataset``.
    """
    root = Path(root)
    warnings = []
    con = duckdb.connect()
    try:
        for name in EVENT_FILES:
            path = root / "flat" / size / name
            off, high, n = con.execute(
                "select count(*) filter (where timestamp % $step <> 0), "
                "count(*) filter (where timestamp > $max), count(*) from read_parquet($path)",
                {"step": TIMESTAMP_STEP, "max": TIMESTAMP_MAX, "path": str(path)},
            ).fetchone()
            if off:
                warnings.append(f"flat/{size}/{name}: column 'timestamp': {off:,} of {n:,} values are not multiples of {TIMESTAMP_STEP}")
            if high:
                warnings.append(f"flat/{size}/{name}: column 'timestamp': {high:,} of {n:,} values exceed {TIMESTAMP_MAX:,}")
    finally:
        con.close()
    return warnings
