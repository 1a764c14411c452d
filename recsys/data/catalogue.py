"""The generated item catalogue: items, artists, albums, genres, popularity, releases, embeddings.

Items are generated in fixed blocks of ``BLOCK`` items, each block from its own random stream
``(seed, block)``. The first ``n`` items of a seed are therefore the same whatever ``n`` is: the
catalogue of a bigger size is a superset of a smaller one's, so several sizes generated with one
seed can share one set of root files.

Structure that models can feel:

- genres (``cluster``): a few dozen taste clusters of very different sizes; an artist belongs to
  one genre, its items mostly too; inside a genre, artists form scenes (similar artists), the
  grain at which users' tastes are specific;
- artists and albums are contiguous runs of items (lognormal sizes); popularity is
  artist weight x album weight x item weight, all lognormal, so it is Zipf-like with a long tail;
- about 12% of albums are new releases with a release time inside the log (they cannot be played
  before it and get a popularity burst right after it);
- a latent factor per item = genre centroid + artist offset + noise; the audio embedding is a
  random linear map of that factor plus noise, so audio neighbours share genre and artist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from recsys.schema import EMBEDDING_DIM, TIMESTAMP_MAX

BLOCK = 4096
ID_SPACE_PER_BLOCK = 10 * BLOCK  # item ids are sparse: ~1 in 10 ids of the range is used
N_CLUSTERS = 64  # genres; fits a uint64 taste mask
SCENES_PER_GENRE = 16  # scenes: groups of similar artists inside a genre
N_SCENES = N_CLUSTERS * SCENES_PER_GENRE
FACTOR_DIM = 32
EMBEDDING_COVERAGE = 7.72 / 9.39  # share of items with an embedding (public 5b: 7.72M of 9.39M)
NEW_ALBUM_SHARE = 0.12
DAY = 86_400
N_DAYS = TIMESTAMP_MAX // DAY + 1

_STREAM_CATALOGUE = 7
_STREAM_EMBEDDINGS = 8
_STREAM_GLOBAL = 9
_STREAM_LIKEABILITY = 10
_STREAM_ERA = 11
LIKEABILITY_SIGMA = 1.0  # spread of the items' lognormal like appeal (events.LIKEABILITY_WEIGHT)


@dataclass(frozen=True)
class Catalogue:
    """Per-item arrays (row i = i-th item of the seed's item sequence)."""

    item_id: np.ndarray  # uint32, sorted, sparse
    artist_id: np.ndarray  # uint32
    album_id: np.ndarray  # uint32
    artist_idx: np.ndarray  # int64, contiguous 0..n_artists-1, runs in item order
    album_start: np.ndarray  # int64, index of the first item of the item's album
    album_size: np.ndarray  # int64, items in the item's album
    cluster: np.ndarray  # int64 in [0, N_CLUSTERS)
    scene: np.ndarray  # int64 in [0, N_SCENES): genre * SCENES_PER_GENRE + the artist's scene
    weight: np.ndarray  # float64 popularity weight
    is_new: np.ndarray  # bool, released during the log
    release_ts: np.ndarray  # float64 seconds (0 for back-catalogue items)
    track_length: np.ndarray  # uint32 seconds, multiple of 5
    factor: np.ndarray  # float32 (n, FACTOR_DIM)
    has_embedding: np.ndarray  # bool
    seed: int

    def likeability(self) -> np.ndarray:
        """Each item's appeal to the users who play it, lognormal with median 1: the same for
        every listener, so people of one taste like the same tracks (co-liked items). Drawn from
        a stream of its own per block, so the other item columns (and prefix stability) do not
        depend on it."""
        return self._per_block(_STREAM_LIKEABILITY,
                               lambda rng: rng.lognormal(0.0, LIKEABILITY_SIGMA, BLOCK))

    def era_peak(self) -> np.ndarray:
        """Each item's moment of fashion (seconds): a new release's lies in its first month, a
        back-catalogue item's anywhere from half a log before it to its end. Drawn from a stream
        of its own per block, like :meth:`likeability`."""
        u = self._per_block(_STREAM_ERA, lambda rng: rng.random((2, BLOCK)))
        back = (1.5 * u[0] - 0.5) * TIMESTAMP_MAX
        return np.where(self.is_new, self.release_ts + 30 * DAY * u[1], back)

    def _per_block(self, stream: int, draw) -> np.ndarray:
        """``draw(rng)`` (last axis ``BLOCK`` long) for every block from the block's own stream
        of ``stream``, joined along the last axis and cut to the items: prefix-stable, and
        independent of the other item columns."""
        n_blocks = -(-self.n_items // BLOCK)
        draws = [draw(np.random.default_rng([self.seed, stream, b])) for b in range(n_blocks)]
        return np.concatenate(draws, axis=-1)[..., : self.n_items]

    @property
    def n_items(self) -> int:
        return len(self.item_id)

    @property
    def n_artists(self) -> int:
        return int(self.artist_idx[-1]) + 1


def _global_structure(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Genre size shares, genre centroids and the factor -> embedding map (depend on seed only)."""
    rng = np.random.default_rng([seed, _STREAM_GLOBAL])
    shares = 1.0 / np.arange(1, N_CLUSTERS + 1) ** 0.7
    shares = rng.permutation(shares / shares.sum())
    centroids = rng.normal(0.0, 1.0, (N_CLUSTERS, FACTOR_DIM))
    projection = rng.normal(0.0, 1.0 / np.sqrt(FACTOR_DIM), (FACTOR_DIM, EMBEDDING_DIM))
    return shares, centroids, projection


def _runs(rng: np.random.Generator, n: int, median: float, sigma: float) -> np.ndarray:
    """Start offsets of consecutive runs with lognormal lengths covering ``range(n)``."""
    sizes = np.ceil(rng.lognormal(np.log(median), sigma, n)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return starts[starts < n]


def _block(seed: int, b: int, shares: np.ndarray, centroids: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, _STREAM_CATALOGUE, b])
    n = BLOCK
    local = np.sort(rng.choice(ID_SPACE_PER_BLOCK, n, replace=False))
    item_id = b * ID_SPACE_PER_BLOCK + local

    artist_starts = _runs(rng, n, 7.0, 1.0)
    album_own = _runs(rng, n, 5.0, 0.7)
    album_starts = np.union1d(artist_starts, album_own)
    artist_local = np.searchsorted(artist_starts, np.arange(n), side="right") - 1
    album_local = np.searchsorted(album_starts, np.arange(n), side="right") - 1
    n_art, n_alb = len(artist_starts), len(album_starts)

    artist_cluster = rng.choice(N_CLUSTERS, n_art, p=shares)
    cluster = artist_cluster[artist_local]
    stray = rng.random(n) < 0.05
    cluster = np.where(stray, rng.choice(N_CLUSTERS, n, p=shares), cluster)

    weight = (
        rng.lognormal(0.0, 2.2, n_art)[artist_local]
        * rng.lognormal(0.0, 0.6, n_alb)[album_local]
        * rng.lognormal(0.0, 0.8, n)
    )
    album_new = rng.random(n_alb) < NEW_ALBUM_SHARE
    album_release = rng.uniform(0, TIMESTAMP_MAX - DAY, n_alb)
    is_new = album_new[album_local]
    release_ts = np.where(is_new, album_release[album_local], 0.0)
    track_length = np.clip(np.round(rng.lognormal(np.log(205), 0.3, n) / 5) * 5, 30, 900)

    artist_offset = rng.normal(0.0, 1.0, (n_art, FACTOR_DIM))[artist_local]
    factor = centroids[cluster] + 0.7 * artist_offset + 0.5 * rng.normal(0.0, 1.0, (n, FACTOR_DIM))
    has_embedding = rng.random(n) < EMBEDDING_COVERAGE
    artist_scene = rng.integers(0, SCENES_PER_GENRE, n_art)
    return {
        "scene": (cluster * SCENES_PER_GENRE + artist_scene[artist_local]).astype(np.int64),
        "item_id": item_id.astype(np.uint32),
        "artist_id": ((b * BLOCK + artist_local) * 3 + 1).astype(np.uint32),
        "album_id": ((b * BLOCK + album_local) * 2 + 1).astype(np.uint32),
        "cluster": cluster.astype(np.int64),
        "weight": weight,
        "is_new": is_new,
        "release_ts": release_ts,
        "track_length": track_length.astype(np.uint32),
        "factor": factor.astype(np.float32),
        "has_embedding": has_embedding,
    }


def build_catalogue(seed: int, n_items: int) -> Catalogue:
    """The first ``n_items`` items of the seed's item sequence (vectorised per block)."""
    shares, centroids, _ = _global_structure(seed)
    n_blocks = -(-n_items // BLOCK)
    blocks = [_block(seed, b, shares, centroids) for b in range(n_blocks)]
    cols = {k: np.concatenate([blk[k] for blk in blocks])[:n_items] for k in blocks[0]}
    artist_idx = np.concatenate([[0], np.cumsum(np.diff(cols["artist_id"].astype(np.int64)) != 0)])
    album_idx = np.concatenate([[0], np.cumsum(np.diff(cols["album_id"].astype(np.int64)) != 0)])
    starts = np.flatnonzero(np.diff(album_idx, prepend=-1))
    sizes = np.diff(np.append(starts, n_items))
    return Catalogue(
        artist_idx=artist_idx, album_start=starts[album_idx], album_size=sizes[album_idx],
        seed=seed, **cols,
    )


def embedding_batches(cat: Catalogue, batch_blocks: int = 16):
    """Yield ``pa.RecordBatch`` es of the embeddings file (items that have an embedding).

    ``embed`` = factor x projection + noise, scaled by a per-item loudness; ``normalized_embed``
    is its unit-norm version. Noise comes from a per-block stream, so rows are prefix-stable.
    """
    projection = _global_structure(cat.seed)[2].astype(np.float32)
    n_blocks = -(-cat.n_items // BLOCK)
    for first in range(0, n_blocks, batch_blocks):
        parts = []
        for b in range(first, min(first + batch_blocks, n_blocks)):
            rng = np.random.default_rng([cat.seed, _STREAM_EMBEDDINGS, b])
            noise = rng.standard_normal((BLOCK, EMBEDDING_DIM), dtype=np.float32)
            scale = rng.lognormal(0.0, 0.25, BLOCK).astype(np.float32)[:, None]
            lo, hi = b * BLOCK, min((b + 1) * BLOCK, cat.n_items)
            keep = cat.has_embedding[lo:hi]
            emb = cat.factor[lo:hi][keep] @ projection + 0.6 * noise[: hi - lo][keep]
            parts.append((cat.item_id[lo:hi][keep], emb * scale[: hi - lo][keep]))
        ids = np.concatenate([p[0] for p in parts])
        emb = np.concatenate([p[1] for p in parts])
        norm = emb / np.sqrt(np.einsum("ij,ij->i", emb, emb))[:, None]
        yield pa.record_batch(
            [
                pa.array(ids, pa.uint32()),
                _list_column(emb),
                _list_column(norm),
            ],
            names=["item_id", "embed", "normalized_embed"],
        )


def _list_column(matrix: np.ndarray) -> pa.ListArray:
    n, d = matrix.shape
    offsets = pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1), pa.float32()))
