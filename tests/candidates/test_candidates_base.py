"""Top-n selection, tie-breaking and id mapping shared by every generator."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.candidates.base import (
    Recommendations,
    _candidates_by_chunk_maxima,
    run_positions,
    top_n_dense,
    top_n_sparse,
)
from recsys.candidates.data import IdMap

NEG = -np.inf


def as_rows(result) -> list[tuple[int, int, float]]:
    return list(zip(*(a.tolist() for a in result), strict=True))


def test_top_n_dense_breaks_ties_by_column_at_the_boundary():
    scores = np.array([
        [1.0, 5.0, 5.0, 2.0, 5.0],   # three 5s, n = 2: columns 1 and 2
        [0.0, 0.0, 0.0, 0.0, 3.0],   # one 3, then ties at 0 by column
    ])  # fmt: skip
    assert as_rows(top_n_dense(scores, 2)) == [(0, 1, 5.0), (0, 2, 5.0), (1, 4, 3.0), (1, 0, 0.0)]


def test_top_n_dense_drops_minus_inf_and_caps_at_columns():
    scores = np.array([[NEG, 2.0, NEG], [1.0, 1.0, 1.0]])
    assert as_rows(top_n_dense(scores, 10)) == [(0, 1, 2.0), (1, 0, 1.0), (1, 1, 1.0), (1, 2, 1.0)]


def test_top_n_dense_equals_a_full_sort():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(6, 30)).astype(float)  # many ties
    rows, cols, values = top_n_dense(scores, 7)
    for r in range(6):
        expected = sorted(range(30), key=lambda c: (-scores[r, c], c))[:7]
        assert cols[rows == r].tolist() == expected


def test_top_n_sparse_uses_explicit_entries_only():
    m = sp.csr_matrix(np.array([[0.0, 2.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 3.0, 0.0]]))
    assert as_rows(top_n_sparse(m, 1)) == [(0, 1, 2.0), (2, 2, 3.0)]
    assert as_rows(top_n_sparse(m, 5)) == [(0, 1, 2.0), (0, 3, 2.0), (2, 2, 3.0), (2, 0, 1.0)]


def test_run_positions_and_ranks():
    assert run_positions(np.array([5, 5, 5, 2, 2, 9])).tolist() == [0, 1, 2, 0, 1, 0]
    recs = Recommendations(np.array([7, 7, 3]), np.array([1, 2, 1]), np.array([2.0, 1.0, 4.0]))
    assert recs.ranks().tolist() == [1, 2, 1]
    uids, items, scores = recs
    assert uids.tolist() == [7, 7, 3] and items.tolist() == [1, 2, 1] and scores.tolist() == [2, 1, 4]


def test_id_map_round_trip_and_unknown():
    ids = IdMap(np.array([40, 10, 30, 10], dtype=np.uint32))
    assert ids.ids.tolist() == [10, 30, 40] and len(ids) == 3
    assert ids.to_internal(np.array([30, 10, 99, 5, 40])).tolist() == [1, 0, -1, -1, 2]
    assert ids.to_external(np.array([2, 0])).tolist() == [40, 10]


@pytest.mark.parametrize("ids", [np.array([], dtype=np.uint32)])
def test_empty_id_map(ids):
    assert IdMap(ids).to_internal(np.array([1, 2])).tolist() == [-1, -1]


def test_id_map_lookup_table_and_sorted_paths_agree():
    small = IdMap(np.array([40, 10, 30, 10], dtype=np.uint32))
    assert small.lookup is not None  # small ids: direct lookup table
    big_ids = np.array([40, 10, 30, 10, 1 << 30], dtype=np.uint32)
    big = IdMap(big_ids)
    assert big.lookup is None  # one huge id: sorted ids and binary search
    query = np.array([30, 10, 99, 5, 40, 1 << 30, (1 << 30) + 1], dtype=np.uint32)
    assert small.to_internal(query).tolist() == [1, 0, -1, -1, 2, -1, -1]
    assert big.to_internal(query).tolist() == [1, 0, -1, -1, 2, 3, -1]


@pytest.mark.parametrize("seed", [0, 1])
def test_top_n_dense_wide_rows_equal_a_full_sort(seed):
    """Rows wide enough for the chunk-maxima shortcut, with ties and -inf, as a full sort."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((5, 400)), 2)  # ties
    scores[rng.random(scores.shape) < 0.3] = NEG
    scores[4, 5:] = NEG  # a row with fewer finite values than n
    assert _candidates_by_chunk_maxima(scores, 6) is not None  # the shortcut is taken
    rows, cols, values = top_n_dense(scores, 6)
    for r in range(5):
        finite = [c for c in range(400) if scores[r, c] != NEG]
        expected = sorted(finite, key=lambda c: (-scores[r, c], c))[:6]
        assert cols[rows == r].tolist() == expected
        assert values[rows == r].tolist() == scores[r, expected].tolist()


@pytest.mark.parametrize("density", [0.02, 0.5])  # the sorted path and the dense-block path
def test_top_n_sparse_equals_a_brute_force_ranking_on_both_paths(density):
    rng = np.random.default_rng(3)
    m = sp.random(40, 300, density=density, random_state=4, format="csr")
    m.data = rng.integers(1, 4, size=m.nnz).astype(float)  # many ties: broken by column
    rows, cols, values = top_n_sparse(m, 3)
    dense = m.toarray()
    for r in range(40):
        entries = [c for c in range(300) if m[r, c] != 0]
        expected = sorted(entries, key=lambda c: (-dense[r, c], c))[:3]
        assert cols[rows == r].tolist() == expected
