"""A small Yambda-shaped dataset for the dbt tests, written with the project's pyarrow schemas.

Deterministic (seeded), about 40 users and 300 items over the last 12 days of the log, so both
folds (val and test) have history, a gap and targets. Used when the data generator's
``tiny_dataset`` fixture is not available, and as the base of the leakage test (small enough for several builds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recsys import schema

LAST_TS = 26_000_000
SPAN_S = 12 * 86_400


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _events(rng: np.random.Generator, n: int, n_users: int, n_items: int) -> dict[str, np.ndarray]:
    # popular items are more likely (long tail); users' events spread over the span
    item_p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item_p /= item_p.sum()
    ts = LAST_TS - rng.integers(0, SPAN_S // 5, n) * 5
    return {
        "uid": rng.integers(0, n_users, n).astype(np.uint32) * 7 + 3,  # sparse ids
        "timestamp": ts.astype(np.uint32),
        "item_id": (rng.choice(n_items, n, p=item_p).astype(np.uint32) * 11 + 5),
        "is_organic": rng.integers(0, 2, n).astype(np.uint8),
    }


def write_synthetic_yambda(root: Path, size: str = "tiny", seed: int = 0) -> Path:
    """Write ``root/flat/<size>/*.parquet`` and the root files; return ``root``."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 40, 300
    flat = Path(root) / "flat" / size

    listens = _events(rng, 6_000, n_users, n_items)
    listens["played_ratio_pct"] = rng.integers(0, 120, len(listens["uid"])).astype(np.uint16)
    listens["track_length_seconds"] = (rng.integers(24, 60, len(listens["uid"])) * 5).astype(np.uint32)
    _write(flat / "listens.parquet", pa.table(listens, schema=schema.LISTENS))
    for name, n in [("likes", 600), ("dislikes", 120), ("unlikes", 150), ("undislikes", 40)]:
        _write(flat / f"{name}.parquet", pa.table(_events(rng, n, n_users, n_items), schema=schema.LIKE_LIKE))

    item_ids = np.arange(n_items, dtype=np.uint32) * 11 + 5
    with_embedding = item_ids[rng.random(n_items) < 0.8]
    embed = rng.normal(size=(len(with_embedding), schema.EMBEDDING_DIM)).astype(np.float32)
    normalized = embed / np.linalg.norm(embed, axis=1, keepdims=True)
    _write(
        Path(root) / "embeddings.parquet",
        pa.table(
            {"item_id": with_embedding, "embed": list(embed), "normalized_embed": list(normalized)},
            schema=schema.EMBEDDINGS,
        ),
    )
    _write(
        Path(root) / "artist_item_mapping.parquet",
        pa.table({"artist_id": (item_ids // 7).astype(np.uint32), "item_id": item_ids},
                 schema=schema.ARTIST_ITEM_MAPPING),
    )
    _write(
        Path(root) / "album_item_mapping.parquet",
        pa.table({"album_id": (item_ids // 3).astype(np.uint32), "item_id": item_ids},
                 schema=schema.ALBUM_ITEM_MAPPING),
    )
    return Path(root)


EVENT_FILES = ("listens", "likes", "dislikes", "unlikes", "undislikes")
ROOT_FILES = ("embeddings", "artist_item_mapping", "album_item_mapping")


def copy_before(src: Path, dst: Path, size: str, cutoff: int) -> Path:
    """Copy a dataset root keeping only events with ``timestamp < cutoff`` (root files as they are)."""
    for name in ROOT_FILES:
        _write(Path(dst) / f"{name}.parquet", pq.read_table(Path(src) / f"{name}.parquet"))
    for name in EVENT_FILES:
        table = pq.read_table(Path(src) / "flat" / size / f"{name}.parquet")
        keep = np.asarray(table.column("timestamp")) < cutoff
        _write(Path(dst) / "flat" / size / f"{name}.parquet", table.filter(pa.array(keep)))
    return Path(dst)
