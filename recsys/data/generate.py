"""``recsys generate``: write a Yambda-schema dataset (public layout and dtypes) from a seed.

Layout: ``<root>/flat/<size>/{listens,likes,dislikes,unlikes,undislikes,multi_event}.parquet``
and ``<root>/{embeddings,artist_item_mapping,album_item_mapping}.parquet``.

Root files and several sizes in one root: the item catalogue depends on the seed only (items are
generated in prefix-stable blocks), and a size uses the first ``catalogue_items`` items. The root
files record the seed and their item count in their parquet metadata. Generating a size into a
root whose root files come from the same seed keeps them if they are big enough and otherwise
replaces them by the bigger catalogue, a superset, so the other sizes stay consistent. Root files
from another seed, or not written by this generator (e.g. downloaded), are never replaced
silently: that raises ``ConfigError`` unless ``force=True``.

Every file is written into a temporary folder next to the target and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recsys.data.catalogue import build_catalogue, embedding_batches
from recsys.data.events import build_samplers, generate_chunk
from recsys.data.presets import get_preset
from recsys.data.users import build_users
from recsys.errors import ConfigError
from recsys.progress import progress_bar
from recsys.schema import (
    ALBUM_ITEM_MAPPING,
    ARTIST_ITEM_MAPPING,
    EMBEDDINGS,
    EVENT_FILES,
    EVENT_TYPES,
    LIKE_LIKE,
    LISTENS,
    MULTI_EVENT,
    ROOT_FILES,
)

META_KEY = b"recsys.generator"
ROW_GROUP = 1_000_000
_SIZE_STREAM = {"tiny": 1, "small": 2, "50m": 3, "500m": 4}
_LIKE_FILES = ("likes", "dislikes", "unlikes", "undislikes")
_TYPE_OF = {"listens": "listen", "likes": "like", "dislikes": "dislike", "unlikes": "unlike",
            "undislikes": "undislike"}


@dataclass
class GenerateResult:
    """What ``generate_dataset`` wrote."""

    root: Path
    size: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    root_files_written: bool = False
    catalogue_items: int = 0
    seconds: float = 0.0


def read_generator_meta(path: Path) -> dict | None:
    """The generator metadata of a parquet file, or None (missing file, foreign file)."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    raw = meta.get(META_KEY)
    return json.loads(raw) if raw else None


def _plan_root_files(root: Path, seed: int, n_items: int, force: bool) -> int | None:
    """Item count to (re)write the root files with, or None to keep the existing ones."""
    paths = [root / name for name in ROOT_FILES]
    existing = [p for p in paths if p.exists()]
    if not existing:
        return n_items
    metas = [read_generator_meta(p) for p in paths]
    if all(m is not None and m.get("seed") == seed for m in metas):
        have = min(int(m["catalogue_items"]) for m in metas)
        return None if have >= n_items else n_items
    if force:
        return n_items
    raise ConfigError(
        f"The root files in {root} ({', '.join(p.name for p in existing)}) were not generated with "
        f"seed {seed} (another seed, downloaded, or incomplete). Generating would make them "
        "disagree with the events. Use another --out folder, the seed they were made with, or "
        "--force to replace them (event files of other sizes in that root then become stale)."
    )


def _write_root_files(tmp: Path, cat, n_items: int) -> None:
    meta = {META_KEY: json.dumps({"seed": cat.seed, "catalogue_items": n_items}).encode()}
    artist = pa.table(
        [pa.array(cat.artist_id, pa.uint32()), pa.array(cat.item_id, pa.uint32())],
        schema=ARTIST_ITEM_MAPPING.with_metadata(meta),
    )
    pq.write_table(artist, tmp / "artist_item_mapping.parquet", row_group_size=ROW_GROUP)
    album = pa.table(
        [pa.array(cat.album_id, pa.uint32()), pa.array(cat.item_id, pa.uint32())],
        schema=ALBUM_ITEM_MAPPING.with_metadata(meta),
    )
    pq.write_table(album, tmp / "album_item_mapping.parquet", row_group_size=ROW_GROUP)
    # random floats do not benefit from dictionaries or list statistics: skip both (2x faster)
    with pq.ParquetWriter(
        tmp / "embeddings.parquet", EMBEDDINGS.with_metadata(meta), use_dictionary=False,
        write_statistics=["item_id"],
    ) as writer:
        for batch in embedding_batches(cat):
            writer.write_batch(batch.cast(EMBEDDINGS), row_group_size=65_536)


def _sorted_table(cols: dict[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    key = (cols["uid"].astype(np.int64) << 25) | cols["timestamp"].astype(np.int64)
    order = np.argsort(key, kind="stable")  # by uid, timestamp (ties keep generation order)
    return pa.table([pa.array(cols[f.name][order], f.type) for f in schema], schema=schema)


def _multi_event(tables: dict[str, pa.Table]) -> pa.Table:
    parts = []
    for name, table in tables.items():
        n = table.num_rows
        code = np.full(n, EVENT_TYPES.index(_TYPE_OF[name]), dtype=np.int8)
        cols = {c: table.column(c) for c in ("uid", "timestamp", "item_id", "is_organic")}
        for c in ("played_ratio_pct", "track_length_seconds"):
            cols[c] = table.column(c) if c in table.column_names else pa.nulls(n, MULTI_EVENT.field(c).type)
        cols["event_type"] = pa.array(code)
        parts.append(pa.table(cols))
    merged = pa.concat_tables(parts).combine_chunks()
    key = (merged.column("uid").to_numpy().astype(np.int64) << 28) | (
        merged.column("timestamp").to_numpy().astype(np.int64) << 3
    ) | merged.column("event_type").to_numpy().astype(np.int64)
    order = np.argsort(key, kind="stable")  # by uid, timestamp, event type
    merged = merged.take(pa.array(order))
    codes = merged.column("event_type").combine_chunks()
    event_type = pa.DictionaryArray.from_arrays(codes, pa.array(EVENT_TYPES, pa.string()))
    cols = [merged.column(f.name) for f in MULTI_EVENT if f.name != "event_type"] + [event_type]
    return pa.table(cols, schema=MULTI_EVENT)


def generate_dataset(
    root: Path | str, size: str, seed: int = 42, *, force: bool = False, progress: bool = False
) -> GenerateResult:
    """Generate the ``size`` preset into ``root`` (see the module docstring for the layout rules).

    Parameters
    ----------
    root : dataset root (``RECSYS_DATA_DIR``).
    size : ``tiny``, ``small``, ``50m`` or ``500m``.
    seed : random seed; the same seed gives the same files.
    force : replace root files that belong to another seed or were not generated here.
    progress : show a progress bar on stderr.
    """
    started = time.perf_counter()
    preset = get_preset(size)
    root = Path(root)
    flat = root / "flat" / size
    rewrite_items = _plan_root_files(root, seed, preset.catalogue_items, force)
    flat.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(root=root, size=size, seed=seed, catalogue_items=preset.catalogue_items)

    cat = build_catalogue(seed, preset.catalogue_items)
    samplers = build_samplers(cat)
    rng = np.random.default_rng([seed, _SIZE_STREAM[size], 0])
    users = build_users(rng, preset.users, preset.listens, cat, samplers.by_scene)
    meta = {META_KEY: json.dumps({"seed": seed, "size": size, "catalogue_items": preset.catalogue_items}).encode()}
    schemas = {"listens": LISTENS, **{n: LIKE_LIKE for n in _LIKE_FILES}}

    tmp = Path(tempfile.mkdtemp(prefix=".generate-", dir=root))
    try:
        writers = {
            name: pq.ParquetWriter(tmp / f"{name}.parquet", schema.with_metadata(meta))
            for name, schema in {**schemas, "multi_event": MULTI_EVENT}.items()
        }
        counts = dict.fromkeys(writers, 0)
        chunks = range(0, len(users), preset.chunk_users)
        for i, first in enumerate(progress_bar(chunks, desc=f"generate {size}", unit="chunk", disable=not progress)):
            rows = np.arange(first, min(first + preset.chunk_users, len(users)))
            chunk_rng = np.random.default_rng([seed, _SIZE_STREAM[size], 1, i])
            events = generate_chunk(chunk_rng, cat, samplers, users, rows)
            tables = {name: _sorted_table(cols, schemas[name]) for name, cols in events.items()}
            tables["multi_event"] = _multi_event(tables)
            for name, table in tables.items():
                writers[name].write_table(table.replace_schema_metadata(meta), row_group_size=ROW_GROUP)
                counts[name] += table.num_rows
        for writer in writers.values():
            writer.close()
        if rewrite_items is not None:
            _write_root_files(tmp, cat, rewrite_items)
            result.root_files_written = True
        for name in EVENT_FILES:
            os.replace(tmp / name, flat / name)
        if rewrite_items is not None:
            for name in ROOT_FILES:
                os.replace(tmp / name, root / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result.counts = counts
    result.seconds = time.perf_counter() - started
    return result


__all__ = ["GenerateResult", "generate_dataset", "read_generator_meta"]
