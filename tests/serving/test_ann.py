"""The ANN index behind /items/{id}/similar: equal to exact search when it scans every cluster,
measured against it otherwise, and used by the service only where asked or where large."""

from __future__ import annotations

import numpy as np
import pytest
from serving_fixtures import MODELS

from recsys.serving import Service
from recsys.serving.ann import ItemIndex, compare


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_scanning_every_cluster_is_exact_search():
    vectors = _unit(2_000, 8)
    columns = np.arange(0, 4_000, 2)  # index rows map to internal items 0, 2, 4, ...
    index = ItemIndex.build(columns, vectors, nprobe=10_000)
    found, scores = index.nearest(10, 5)
    truth = np.argsort(-(vectors @ vectors[5]))[1:6]  # item 10 is row 5; itself left out
    assert found.tolist() == columns[truth].tolist()
    assert scores == pytest.approx(vectors[truth] @ vectors[5], abs=1e-5)
    assert index.exact(10, 5)[0].tolist() == found.tolist()
    assert compare(index, queries=50).recall == 1.0
    assert index.nearest(11, 5)[0].size == 0  # an item without a vector


def test_a_few_clusters_trade_recall_for_time():
    index = ItemIndex.build(np.arange(5_000), _unit(5_000, 16), nprobe=2)
    result = compare(index, queries=100, n=10)
    assert result.queries == 100 and 0 < result.recall < 1
    assert result.exact_ms > 0 and result.ann_ms > 0


def test_the_service_answers_similar_items_from_the_index_where_asked(served):
    settings, config = served
    exact = Service.load(settings, config, models=MODELS, targets=["listen_plus"])
    assert exact.indexes == {"listen_plus": {}}  # 7 items: exact search
    approximate = Service.load(settings, config, models=MODELS, targets=["listen_plus"], ann=True)
    assert set(approximate.indexes["listen_plus"]) == {"ials", "bpr", "audio"}
    for model in ("ials", "bpr", "audio"):
        want, got = exact.similar(101, model=model, n=3), approximate.similar(101, model=model, n=3)
        assert want.retrieval == "exact" and got.retrieval == "ann"
        # one cluster holds the 7 items: the index scans them all
        assert [i for i, _ in got.items] == [i for i, _ in want.items]
        assert [s for _, s in got.items] == pytest.approx([s for _, s in want.items], abs=1e-5)


def test_the_bench_measures_each_index_against_exact_search(served):
    from recsys.bench.load import ann_check

    settings, config = served
    result = ann_check(settings, config, queries=5)
    assert set(result) == {"ials", "bpr", "audio"}
    for measured in result.values():
        assert measured["items"] >= 2 and measured["queries"] == 5
        assert measured["recall_at_10"] == 1.0  # one cluster: the index scans every item
        assert measured["exact_ms"] > 0 and measured["ann_ms"] > 0
        assert measured["users"]["recall_at_10"] == 1.0 and measured["users"]["queries"] > 0


def test_user_lists_from_the_index_where_asked(served):
    settings, config = served
    exact = Service.load(settings, config, models=MODELS, targets=["listen_plus"])
    assert exact.user_indexes == {"listen_plus": {}}  # the default: the offline lists
    approximate = Service.load(settings, config, models=MODELS, targets=["listen_plus"],
                               ann_users=True)
    assert set(approximate.user_indexes["listen_plus"]) == {"ials", "bpr", "audio"}
    for model in ("ials", "bpr", "audio"):
        for exclude in (None, True):
            want = exact.recommend(11, model=model, n=3, exclude_seen=exclude)
            got = approximate.recommend(11, model=model, n=3, exclude_seen=exclude)
            assert want.retrieval == "exact" and got.retrieval == "ann"
            # one cluster holds the 7 items: the index scans them all
            assert [i for i, _ in got.items] == [i for i, _ in want.items], (model, exclude)
            assert [s for _, s in got.items] == pytest.approx([s for _, s in want.items],
                                                              abs=1e-5)
    # a user the fold does not know still gets the popularity fallback
    assert approximate.recommend(4_000_000_000, model="ials").fallback


def test_vectors_of_unequal_length_are_searched_by_inner_product():
    """Factor-model items (inner product, not cosine): with every cluster scanned the index
    answers the exact largest inner products, the query's extra coordinate being 0."""
    rng = np.random.default_rng(3)
    vectors = (rng.normal(size=(1_500, 6)) * rng.lognormal(0, 0.5, (1_500, 1))).astype(np.float32)
    index = ItemIndex.build(np.arange(1_500), vectors, nprobe=10_000)
    assert index.augmented
    query = rng.normal(size=6).astype(np.float32)
    found, scores = index.search(query, 7)
    truth = np.argsort(-(vectors @ query), kind="stable")[:7]
    assert found.tolist() == truth.tolist()
    assert scores == pytest.approx(vectors[truth] @ query, rel=1e-4)
    assert not ItemIndex.build(np.arange(2_000), _unit(2_000, 8)).augmented
