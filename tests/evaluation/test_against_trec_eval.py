"""Per-user accuracy from accuracy.sql equals trec_eval (through ir-measures) on random data.

trec_eval orders a run by score; we give it score = -rank so the order is exactly our ranks.
Its AP@k divides by |T|, ours by min(|T|, k): the comparison rescales by |T| / min(|T|, k).
"""

import duckdb
import pandas as pd
import pytest

from recsys.evaluation.sql import run_query

ir_measures = pytest.importorskip("ir_measures")
from ir_measures import AP, RR, P, R, Success, nDCG  # noqa: E402


@pytest.mark.parametrize("k", [1, 3, 10])
def test_accuracy_matches_trec_eval(random_warehouse, k):
    path, fixture = random_warehouse
    con = duckdb.connect(str(path), read_only=True)
    ours = run_query(con, "accuracy", {"ks": [k], "per_user": True, "fold": "test"})
    con.close()
    ours = ours[(ours["target"] == "like") & (ours["model"] == "a") & (ours["subset"] == "all")]

    targets = [r for r in fixture["eval_targets"] if r[0] == "test" and r[1] == "like"]
    qrels = [ir_measures.Qrel(str(r[2]), str(r[3]), 1) for r in targets]
    run = [ir_measures.ScoredDoc(str(r[3]), str(r[4]), -float(r[5]))
           for r in fixture["recommendations"] if r[:3] == ("test", "like", "a")]
    sizes = pd.Series([r[2] for r in targets]).value_counts()
    measures = {"ndcg": nDCG @ k, "recall": R @ k, "precision": P @ k, "mrr": RR @ k,
                "hitrate": Success @ k, "map": AP @ k}
    trec = {(m.measure, m.query_id): m.value
            for m in ir_measures.iter_calc(list(measures.values()), qrels, run)}
    compared = 0
    for row in ours.itertuples():
        expected = trec.get((measures[row.metric], str(row.uid)), 0.0)  # no run -> 0
        if row.metric == "map":
            expected *= sizes[row.uid] / min(sizes[row.uid], k)
        assert row.value == pytest.approx(expected, abs=1e-9), (row.metric, row.uid)
        compared += 1
    assert compared == 6 * sizes.size
