"""The public Yambda file layout and dtypes (flat format), as pyarrow schemas."""

from __future__ import annotations

import pyarrow as pa

from recsys.protocol import last_timestamp

EVENT_TYPES = ("listen", "dislike", "like", "undislike", "unlike")
EMBEDDING_DIM = 128

_BASE = [
    ("uid", pa.uint32()),
    ("timestamp", pa.uint32()),
    ("item_id", pa.uint32()),
    ("is_organic", pa.uint8()),
]
_LISTEN_EXTRA = [
    ("played_ratio_pct", pa.uint16()),
    ("track_length_seconds", pa.uint32()),
]

LISTENS = pa.schema(_BASE + _LISTEN_EXTRA)
LIKE_LIKE = pa.schema(_BASE)  # likes, dislikes, unlikes, undislikes
MULTI_EVENT = pa.schema(
    _BASE + _LISTEN_EXTRA + [("event_type", pa.dictionary(pa.int8(), pa.string()))]
)
EMBEDDINGS = pa.schema(
    [
        ("item_id", pa.uint32()),
        ("embed", pa.list_(pa.float32())),
        ("normalized_embed", pa.list_(pa.float32())),
    ]
)
ARTIST_ITEM_MAPPING = pa.schema([("artist_id", pa.uint32()), ("item_id", pa.uint32())])
ALBUM_ITEM_MAPPING = pa.schema([("album_id", pa.uint32()), ("item_id", pa.uint32())])

# file name -> schema, for files under flat/<size>/
EVENT_FILES: dict[str, pa.Schema] = {
    "listens.parquet": LISTENS,
    "likes.parquet": LIKE_LIKE,
    "dislikes.parquet": LIKE_LIKE,
    "unlikes.parquet": LIKE_LIKE,
    "undislikes.parquet": LIKE_LIKE,
    "multi_event.parquet": MULTI_EVENT,
}
# file name -> schema, for files at the dataset root
ROOT_FILES: dict[str, pa.Schema] = {
    "embeddings.parquet": EMBEDDINGS,
    "artist_item_mapping.parquet": ARTIST_ITEM_MAPPING,
    "album_item_mapping.parquet": ALBUM_ITEM_MAPPING,
}

# Timestamps: seconds since dataset start, multiples of 5, at most about 26,000,000.
TIMESTAMP_STEP = 5
TIMESTAMP_MAX = last_timestamp()  # dbt var last_timestamp (recsys.protocol)
