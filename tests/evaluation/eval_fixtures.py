"""Tiny warehouses with the contract columns, and the Python reference over them."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from recsys.evaluation import reference as ref

EVAL_TARGETS = "fold varchar, target varchar, uid uinteger, item_id uinteger, is_organic utinyint, target_events integer, first_target_ts uinteger, is_repeat utinyint"
RECOMMENDATIONS = "fold varchar, target varchar, model varchar, uid uinteger, item_id uinteger, rank integer, score double"
TRAIN = "fold varchar, target varchar, uid uinteger, item_id uinteger, target_events integer"
ITEM_FEATURES = "fold varchar, item_id uinteger"
EMBEDDINGS = "item_id uinteger, normalized_embed float[]"


def write_warehouse(
    path: Path,
    *,
    eval_targets: list[tuple],
    recommendations: list[tuple],
    train: list[tuple] = (),
    item_features: list[tuple] = (),
    embeddings: dict[int, list[float]] | None = None,
) -> Path:
    """Create a DuckDB file with the five input tables (rows as tuples in column order) and the
    ``folds`` of their rows (the windows are not read by the metrics)."""
    con = duckdb.connect(str(path))
    con.execute("create table folds as select * from (values ('val', 10, 11, 20, 1), "
                "('test', 20, 21, 30, 0)) t(fold, history_end_ts, target_start_ts, target_end_ts, "
                "fold_index)")
    for name, schema, rows in (
        ("eval_targets", EVAL_TARGETS, eval_targets),
        ("recommendations", RECOMMENDATIONS, recommendations),
        ("train_interactions", TRAIN, train),
        ("item_features", ITEM_FEATURES, item_features),
    ):
        con.execute(f"create table {name} ({schema})")
        if rows:
            columns = [c.split()[0] for c in schema.split(", ")]
            frame = pd.DataFrame(list(rows), columns=columns)  # noqa: F841 (scanned by DuckDB)
            con.execute(f"insert into {name} select * from frame")
    con.execute(f"create table item_embeddings ({EMBEDDINGS})")
    vectors = pd.DataFrame(  # noqa: F841 (scanned by DuckDB)
        {"item_id": list((embeddings or {}).keys()),
         "normalized_embed": [[float(x) for x in v] for v in (embeddings or {}).values()]})
    con.execute("insert into item_embeddings select * from vectors")
    con.close()
    return path


def random_fixture(seed: int, *, n_users: int = 40, n_items: int = 30, models=("a", "b")) -> dict:
    """Random targets (with organic flags and repeats) and lists of random length (0..12)."""
    rng = np.random.default_rng(seed)
    eval_targets, recommendations, train, item_features = [], [], [], []
    for fold in ("val", "test"):
        item_features += [(fold, i) for i in range(1, n_items + 1)]
        for target in ("listen_plus", "like"):
            for uid in range(1, n_users + 1):
                for item in rng.choice(np.arange(1, n_items + 6), size=rng.integers(1, 8), replace=False):
                    eval_targets.append((fold, target, uid, int(item), int(rng.integers(0, 2)),
                                         int(rng.integers(1, 4)), 0, int(rng.integers(0, 2))))
                for item in rng.choice(np.arange(1, n_items + 1), size=rng.integers(0, 6), replace=False):
                    train.append((fold, target, uid + 1000 * int(rng.integers(0, 2)), int(item),
                                  int(rng.integers(0, 3))))
                for model in models:
                    length = int(rng.integers(0, 13))
                    items = rng.choice(np.arange(1, n_items + 6), size=length, replace=False)
                    scores = np.round(rng.random(length), 1)  # coarse scores: many ties
                    order = sorted(range(length), key=lambda j: (-scores[j], items[j]))
                    for rank, j in enumerate(order, start=1):
                        recommendations.append((fold, target, model, uid, int(items[j]), rank,
                                                float(scores[j])))
            # a list for a user who is not evaluated: every query must ignore it
            recommendations.append((fold, target, models[0], n_users + 500, 1, 1, 1.0))
    embeddings = {  # stored as FLOAT: the reference sees the same float32 numbers
        i: (lambda v: (v / np.linalg.norm(v)).astype(np.float32))(rng.normal(size=4))
        for i in range(1, n_items + 1, 2)
    }
    return dict(eval_targets=eval_targets, recommendations=recommendations, train=train,
                item_features=item_features, embeddings=embeddings)


SUBSETS = {
    "all": lambda organic, repeat: True,
    "organic": lambda organic, repeat: organic == 1,
    "recommendation": lambda organic, repeat: organic == 0,
    "repeat": lambda organic, repeat: repeat == 1,
    "discovery": lambda organic, repeat: repeat == 0,
}


def reference_metrics(fixture: dict, ks, *, convention: str = "standard") -> pd.DataFrame:
    """Every aggregate the SQL produces, computed user by user with ``recsys.evaluation.reference``."""
    targets = defaultdict(dict)  # (fold, target, uid) -> {item: (is_organic, events, is_repeat)}
    for fold, target, uid, item, organic, events, _, repeat in fixture["eval_targets"]:
        targets[(fold, target, uid)][item] = (organic, events, repeat)
    lists = defaultdict(list)  # (fold, target, model, uid) -> [(rank, item)]
    for fold, target, model, uid, item, rank, _ in fixture["recommendations"]:
        lists[(fold, target, model, uid)].append((rank, item))
    ranked = {key: [item for _, item in sorted(v)] for key, v in lists.items()}
    models = defaultdict(set)
    for fold, target, model, _ in lists:
        models[(fold, target)].add(model)
    standard = convention == "standard"
    rows = []
    for (fold, target), slice_models in models.items():
        users = sorted(u for (f, t, u) in targets if (f, t) == (fold, target))
        for model in sorted(slice_models):
            for subset, keep in SUBSETS.items():
                per = defaultdict(list)
                per_user = []  # (ranked, target events with repeats) for the paper's NDCG
                for uid in users:
                    items = {i: v for i, v in targets[(fold, target, uid)].items() if keep(v[0], v[2])}
                    if not items:
                        continue
                    size = None if standard else sum(v[1] for v in items.values())
                    r = ranked.get((fold, target, model, uid), [])
                    t = set(items)
                    per_user.append((r, [i for i, v in items.items() for _ in range(v[1])]))
                    for k in ks:
                        if convention == "official":
                            per[("ndcg", k)].append(ref.official_ndcg(r, t, k))
                        elif standard:
                            per[("ndcg", k)].append(ref.ndcg(r, t, k))
                        per[("recall", k)].append(
                            ref.recall(r, t, k, size, capped=convention == "official"))
                        per[("precision", k)].append(ref.precision(r, t, k))
                        per[("hitrate", k)].append(ref.hitrate(r, t, k))
                        if standard:
                            per[("mrr", k)].append(ref.mrr(r, t, k))
                            per[("map", k)].append(ref.average_precision(r, t, k))
                rows += [(fold, target, model, convention, subset, m, k, float(np.mean(v)), len(v))
                         for (m, k), v in per.items()]
                if convention == "paper" and per_user:
                    rows += [(fold, target, model, convention, subset, "ndcg", k,
                              ref.paper_ndcg(per_user, k), len(per_user)) for k in ks]
            rows += _beyond_accuracy(fixture, fold, target, model, users, ranked, ks, convention)
    return pd.DataFrame(rows, columns=["fold", "target", "model", "convention", "subset", "metric",
                                       "k", "value", "users"])


def _beyond_accuracy(fixture, fold, target, model, users, ranked, ks, convention) -> list[tuple]:
    catalog = {i for f, i in fixture["item_features"] if f == fold}
    history = [(u, i) for f, t, u, i, e in fixture["train"] if (f, t) == (fold, target) and e > 0]
    n_users = len({u for u, _ in history})
    item_users = defaultdict(set)
    for u, i in history:
        item_users[i].add(u)
    pop = {i: len(us) for i, us in item_users.items()}
    pct = ref.popularity_percentiles({i: pop.get(i, 0) for i in catalog})
    lists = [ranked[(fold, target, model, u)] for u in users if (fold, target, model, u) in ranked]
    # coverage: the items a model ranks = target-type history items; whose lists: see the SQL
    counted = users if convention == "standard" else sorted({u for u, _ in history})
    counted_lists = [ranked[(fold, target, model, u)] for u in counted
                     if (fold, target, model, u) in ranked]
    rows = []
    for k in ks:
        # every distinct listed item counts, also one outside the ranked catalogue (the
        # official code's numerator); the denominator is the target-type history's items
        if item_users and counted:
            rows.append((fold, target, model, convention, "all", "coverage", k,
                         ref.coverage(counted_lists, k, len(item_users)), len(counted)))
        if convention != "standard":
            continue
        nov = [ref.novelty(r, k, pop, n_users) for r in lists if r]
        bias = [ref.popularity_bias(r, k, pct) for r in lists if r]
        div = [d for r in lists if (d := ref.diversity(r, k, fixture["embeddings"])) is not None]
        for name, values in (("novelty", nov), ("popularity_bias", bias), ("diversity", div)):
            if values:
                rows.append((fold, target, model, convention, "all", name, k, float(np.mean(values)),
                             len(values)))
    return rows


def formula_ndcg(hit_ranks, n_targets, k) -> float:
    """NDCG written out, for hand-built expectations."""
    return sum(1 / math.log2(r + 1) for r in hit_ranks if r <= k) / sum(
        1 / math.log2(i + 1) for i in range(1, min(n_targets, k) + 1))
