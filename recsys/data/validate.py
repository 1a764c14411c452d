"""Check a dataset root against the public Yambda layout, columns and dtypes.

``validate_dataset`` reads only parquet footers (fast at any size) and returns every problem at
once, each naming the file and the column. ``require_valid_dataset`` raises
``DataValidationError`` with that list; every command that reads the data calls it first.
``content_checks`` scans the values with DuckDB (column push-down, one pass per file): errors the
benchmark cannot run with, and soft problems as warnings.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from recsys.errors import DataValidationError
from recsys.pipeline_config import ValidationConfig
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


# the share of event items without an artist / album above which a warning is given (the
# ranker's artist and album features lose them)
UNMAPPED_WARNING_SHARE = 0.01
_KEY_COLUMNS = ("uid", "item_id", "timestamp")
# the event files dbt reads (multi_event is not)
_READ_EVENTS = ("listens", "likes", "dislikes", "unlikes", "undislikes")


def content_checks(root: Path | str, size: str, n_folds: int | None = None,
                   limits: ValidationConfig | None = None) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` about the values of a dataset that passed :func:`validate_dataset`.

    Errors (the data cannot make the benchmark): a listens or likes file with no rows, nulls in a key
    column, exact duplicate events above ``limits.max_duplicate_share`` of a file's rows,
    listens with ``played_ratio_pct`` above ``limits.max_played_ratio_pct``, embeddings not of
    dimension 128 (or of mixed dimensions), null, all-zero or non-finite embedding vectors, a
    fold whose target window holds no Listen+ or no like event (naming the fold and window: dbt
    var n_folds folds, the default when ``n_folds`` is None). Warnings: any exact duplicate
    events (their count), timestamps off the 5-second grid or past the protocol's last
    timestamp, event items absent from the artist or album mapping above
    :data:`UNMAPPED_WARNING_SHARE` of the items or of the events. ``limits``: the config's
    ``validation`` section (default: its defaults). One DuckDB pass per file, seconds at 50m.
    """
    from recsys import protocol
    from recsys.schema import EMBEDDING_DIM

    limits = limits or ValidationConfig()
    root = Path(root)
    flat = root / "flat" / size
    errors: list[str] = []
    warnings: list[str] = []
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        folds = protocol.fold_bounds(n_folds or int(protocol.var("n_folds")))
        targets = {"listens": ("Listen+", f"played_ratio_pct >= {protocol.listen_plus_threshold()}"),
                   "likes": ("like", "true")}
        # one scan per file: rows, timestamps off the grid or past the end, nulls per key
        # column and (targets) every fold window's events
        for name in (*_READ_EVENTS, "multi_event"):
            label = f"flat/{size}/{name}.parquet"
            if not (flat / f"{name}.parquet").is_file():  # multi_event is optional for a build
                continue
            windows = [f"count(*) filter (where timestamp >= {int(a)} and timestamp < {int(b)} "
                       f"and {targets[name][1]})" for _, a, b in folds.values()] if name in targets else []
            ratio = (f"count(*) filter (where played_ratio_pct > {int(limits.max_played_ratio_pct)})"
                     if name == "listens" else "0")
            path = {"path": str(flat / f"{name}.parquet")}
            # the distinct rows (exact duplicates) in the same scan: every column is read
            distinct = "count(distinct t)" if name != "multi_event" else "count(*)"
            n, off, high, implausible, unique, *rest = con.execute(
                "select " + ", ".join(["count(*)", f"count(*) filter (where timestamp % {TIMESTAMP_STEP} <> 0)",
                                       f"count(*) filter (where timestamp > {TIMESTAMP_MAX})", ratio,
                                       distinct, *(f"count(*) - count({c})" for c in _KEY_COLUMNS),
                                       *windows])
                + " from read_parquet($path) as t", path).fetchone()
            if off:
                warnings.append(f"{label}: column 'timestamp': {off:,} of {n:,} values are not "
                                f"multiples of {TIMESTAMP_STEP}")
            if high:
                warnings.append(f"{label}: column 'timestamp': {high:,} of {n:,} values exceed "
                                f"{TIMESTAMP_MAX:,}")
            if name == "multi_event":  # not read by dbt: its timestamps only
                continue
            nulls, in_window = rest[:len(_KEY_COLUMNS)], rest[len(_KEY_COLUMNS):]
            if implausible:
                errors.append(f"{label}: column 'played_ratio_pct': {implausible:,} of {n:,} values "
                              f"exceed {limits.max_played_ratio_pct:,}% (validation."
                              "max_played_ratio_pct; 65535 is what -1 becomes in uint16): fix "
                              "or drop those rows")
            duplicates = n - unique
            if duplicates:
                share = duplicates / n
                sentence = (f"{label}: {duplicates:,} of {n:,} rows ({share:.2%}) are exact "
                            "duplicates of another row (`recsys validate --dedupe OUT` writes a "
                            "copy without them)")
                if share > limits.max_duplicate_share:
                    errors.append(f"{sentence}; above validation.max_duplicate_share = "
                                  f"{limits.max_duplicate_share:.2%}")
                else:
                    warnings.append(sentence)
            if name in targets and n == 0:
                errors.append(f"{label}: the file has no rows (the {name} are the benchmark's targets)")
            for column, missing in zip(_KEY_COLUMNS, nulls, strict=True):
                if missing:
                    errors.append(f"{label}: column '{column}' has {missing:,} null values of {n:,}")
            for (fold, (_, start, end)), count in zip(folds.items(), in_window, strict=False):
                if n and not count:
                    target = targets[name][0]
                    errors.append(f"fold {fold}: its target window [{start:,}, {end:,}) holds no "
                                  f"{target} event, so it has no {target} targets (check the log's "
                                  "time range with `recsys profile`, or build fewer folds)")
        embeddings = str(root / "embeddings.parquet")
        dims, bad, empty, rows = con.execute(
            "select list(distinct len(embed)) filter (where embed is not null), "
            "count(*) filter (where list_bool_or(list_transform(embed, x -> isnan(x) or isinf(x))) "
            "   or list_bool_or(list_transform(normalized_embed, x -> isnan(x) or isinf(x)))), "
            "count(*) filter (where embed is null or normalized_embed is null "
            "   or list_bool_and(list_transform(embed, x -> x = 0)) "
            "   or list_bool_and(list_transform(normalized_embed, x -> x = 0))), "
            "count(*) from read_parquet($path)", {"path": embeddings}).fetchone()
        dims = sorted(dims or [])
        if dims and dims != [EMBEDDING_DIM]:
            errors.append(f"embeddings.parquet: column 'embed' has dimension(s) "
                          f"{', '.join(map(str, dims))}; every vector must have {EMBEDDING_DIM}")
        if bad:
            errors.append(f"embeddings.parquet: {bad:,} of {rows:,} vectors hold NaN or infinite values")
        if empty:
            errors.append(f"embeddings.parquet: {empty:,} of {rows:,} rows have a null or all-zero "
                          "vector (embed or normalized_embed): drop those rows (an item without "
                          "an embedding is allowed) or give them their vectors")
        events = " union all ".join(f"select item_id from read_parquet('{flat / f'{n}.parquet'}')"
                                    for n in _READ_EVENTS)
        con.execute(f"create temp table event_items as select item_id, count(*) as events "
                    f"from ({events}) group by item_id")
        for mapping in ("artist", "album"):
            missing, total, missing_events, total_events = con.execute(
                "select count(*) filter (where m.item_id is null), count(*), "
                "coalesce(sum(events) filter (where m.item_id is null), 0), sum(events) "
                "from event_items left join (select distinct item_id from read_parquet($path)) as m "
                "using (item_id)", {"path": str(root / f"{mapping}_item_mapping.parquet")}).fetchone()
            if total and max(missing / total, missing_events / total_events) > UNMAPPED_WARNING_SHARE:
                warnings.append(f"{mapping}_item_mapping.parquet: {missing:,} of {total:,} event items "
                                f"({missing / total:.1%}), with {missing_events:,} of "
                                f"{total_events:,} events ({missing_events / total_events:.1%}), "
                                f"have no {mapping} (their {mapping} features are missing)")
    finally:
        con.close()
    return errors, warnings


def require_valid_values(root: Path | str, size: str, n_folds: int | None = None,
                         limits: ValidationConfig | None = None) -> list[str]:
    """:func:`content_checks`: raise ``DataValidationError`` listing the errors, else return the
    warnings (``recsys validate`` prints them, ``recsys build`` records them)."""
    errors, warnings = content_checks(root, size, n_folds, limits)
    if errors:
        raise DataValidationError(errors)
    return warnings


def write_deduplicated(root: Path | str, size: str, out: Path | str) -> dict[str, int]:
    """A copy of the dataset at ``out`` without exact duplicate events: each event file of
    ``flat/<size>/`` with its distinct rows (in uid, timestamp order), the root files copied as
    they are. Returns the rows removed per file. ``out`` must not be ``root``."""
    import shutil

    root, out = Path(root), Path(out)
    if out.resolve() == root.resolve():
        raise DataValidationError([f"--dedupe {out}: the copy must go to another folder than the "
                                   "dataset itself (the original files are kept)"])
    (out / "flat" / size).mkdir(parents=True, exist_ok=True)
    removed = {}
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        for name in EVENT_FILES:
            source = root / "flat" / size / name
            if not source.is_file():
                continue
            target = out / "flat" / size / name
            tmp = target.with_name(f".{name}.tmp")
            written = con.execute(f"copy (select distinct * from read_parquet('{source}') order by all) "
                                  f"to '{tmp}' (format parquet)").fetchone()[0]
            tmp.replace(target)
            removed[name] = pq.read_metadata(source).num_rows - int(written)
    finally:
        con.close()
    for name in ROOT_FILES:
        if (root / name).is_file():
            shutil.copyfile(root / name, out / name)
    return removed
