"""Approximate nearest neighbours for ``/items/{id}/similar`` once a catalogue is large (faiss).

The exact answer scores the item against every item (a ``items x d`` product and a top-n over
all of them: 768k items at 50m). An inverted-file index (faiss ``IndexIVFFlat``, inner product
on the unit vectors a generator's :meth:`similarity_vectors` gives, i.e. cosine) splits the items
into ``nlist`` clusters by k-means and scans only the ``nprobe`` clusters nearest the query.
IVF, not HNSW: it is built in seconds at start-up (k-means on a sample, one assignment pass),
where a graph over 768k items takes minutes on 2 cores. :func:`compare` measures what it costs
in recall against the exact answer and what it saves in time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from recsys.candidates.base import top_n_dense

# an index is built for a model with at least this many items with a vector; below, exact search
# over all of them is already fast
MIN_ITEMS = 50_000
NPROBE = 32  # clusters scanned per query


def _faiss():
    import faiss

    return faiss


@dataclass
class ItemIndex:
    """One model's items in an IVF index; ``columns`` maps index rows to internal item indices."""

    columns: np.ndarray
    vectors: np.ndarray  # float32, row i is item columns[i] (unit for cosine)
    index: object  # faiss.IndexIVFFlat
    build_s: float = 0.0  # seconds the build took
    augmented: bool = False  # indexed with one more coordinate (vectors of unequal length)

    @classmethod
    def build(cls, columns: np.ndarray, vectors: np.ndarray, *, nprobe: int = NPROBE,
              seed: int = 42) -> ItemIndex:
        """An index of ``vectors`` with about ``4 * sqrt(items)`` clusters, k-means on at most
        64 points per cluster, ``seed`` for its sampling."""
        faiss = _faiss()
        start = time.perf_counter()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        indexed, augmented = _equal_length(vectors)
        n, dim = indexed.shape
        nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        sample = indexed
        if n > 64 * nlist:
            sample = indexed[np.random.default_rng(seed).choice(n, 64 * nlist, replace=False)]
        index.train(sample)
        index.add(indexed)
        index.nprobe = min(nprobe, nlist)
        return cls(np.asarray(columns), vectors, index, time.perf_counter() - start, augmented)

    def __len__(self) -> int:
        return len(self.columns)

    def __getstate__(self) -> dict:  # a faiss index pickles as its serialised bytes
        return {**self.__dict__, "index": _faiss().serialize_index(self.index)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({**state, "index": _faiss().deserialize_index(state["index"])})

    def position(self, item_idx: int) -> int | None:
        """The index row of internal item ``item_idx``; None for an item without a vector."""
        at = int(np.searchsorted(self.columns, item_idx))
        return at if at < len(self.columns) and self.columns[at] == item_idx else None

    def search(self, vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(internal item indices, inner product)`` of the ``n`` items the index finds with
        the largest inner product with ``vector``, best first."""
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if self.augmented:  # the extra coordinate of a query is 0: inner products unchanged
            query = np.hstack([query, np.zeros((1, 1), dtype=np.float32)])
        query = np.ascontiguousarray(query)
        scores, rows = self.index.search(query, min(n, len(self)))
        keep = rows[0] >= 0
        return self.columns[rows[0][keep]], scores[0][keep]

    def nearest(self, item_idx: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(internal item indices, cosine)`` of the ``n`` items nearest ``item_idx`` found by
        the index, the item itself left out, best first."""
        at = self.position(item_idx)
        if at is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        columns, scores = self.search(self.vectors[at], n + 1)
        keep = columns != item_idx
        return columns[keep][:n], scores[keep][:n]

    def exact(self, item_idx: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The same by scoring every item (ties by index row, as the generators break them)."""
        at = self.position(item_idx)
        if at is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = self.vectors @ self.vectors[at]
        scores[at] = -np.inf
        _, top, values = top_n_dense(scores[None, :], n)
        return self.columns[top], values


def _equal_length(vectors: np.ndarray) -> tuple[np.ndarray, bool]:
    """``vectors`` as indexed: unit vectors as they are; vectors of unequal length (a factor
    model's items, scored by inner product) with one more coordinate ``sqrt(M^2 - |x|^2)``
    (``M`` the longest), so that every indexed vector has length ``M`` and the largest inner
    product with a query (extra coordinate 0) is also the nearest by angle, which is what the
    clusters are made for (the MIPS-to-nearest-neighbour reduction of Bachrach et al., 2014)."""
    norms = np.linalg.norm(vectors, axis=1)
    if not len(vectors) or np.allclose(norms, 1.0, atol=1e-3):
        return vectors, False
    longest = float(norms.max())
    extra = np.sqrt(np.maximum(longest**2 - norms**2, 0.0)).astype(np.float32)[:, None]
    return np.ascontiguousarray(np.hstack([vectors, extra])), True


@dataclass(frozen=True)
class Comparison:
    """The index against exact search on the same queries."""

    queries: int
    recall: float  # mean share of the exact top-n the index found
    exact_ms: float  # median milliseconds per query
    ann_ms: float

    @property
    def speedup(self) -> float:
        return self.exact_ms / self.ann_ms if self.ann_ms else float("inf")


def measure(pairs) -> Comparison:
    """Recall of the ANN answers against the exact ones and the median time of each, over
    ``pairs`` of calls ``(exact, ann)`` that each return a list of item ids (a query whose exact
    list is empty is timed but left out of the recall)."""
    recalls, exact_t, ann_t = [], [], []
    for exact, ann in pairs:
        start = time.perf_counter()
        truth = list(exact())
        middle = time.perf_counter()
        found = list(ann())
        exact_t.append(middle - start)
        ann_t.append(time.perf_counter() - middle)
        if truth:
            recalls.append(len(set(truth) & set(found)) / len(truth))
    return Comparison(len(recalls), float(np.mean(recalls)) if recalls else float("nan"),
                      1e3 * float(np.median(exact_t)), 1e3 * float(np.median(ann_t)))


def compare(index: ItemIndex, *, queries: int = 500, n: int = 10, seed: int = 42) -> Comparison:
    """Recall@``n`` of the index against exact search for ``queries`` items drawn at random,
    and the median time of each."""
    rng = np.random.default_rng(seed)
    picks = index.columns[rng.choice(len(index), min(queries, len(index)), replace=False)]
    return measure((lambda i=int(i): index.exact(i, n)[0].tolist(),
                    lambda i=int(i): index.nearest(i, n)[0].tolist()) for i in picks)
