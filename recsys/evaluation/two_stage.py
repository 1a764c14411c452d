"""Which two-stage model is the headline: tuned or untuned candidates, chosen on val.

With ``ranker.compare_untuned`` a run trains the ranker twice, on the candidates of the tuned
generators (``two_stage``) and of the same generators with their code defaults
(``two_stage_untuned``). Each ranker's ``model_runs`` row records ``val_ndcg@10``: NDCG@10 of the
held-out val users against all their targets (``recsys.ranking.training.heldout_metrics``; the same
users for both). Per target the higher one is the headline two-stage model (ties: the first
name, the tuned one); the evaluated fold's numbers never enter the choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pandas as pd

VAL_KEY = "val_ndcg@10"
CHOICE_COLUMNS = ("target", "model", "candidates", "val_ndcg@10", "ndcg@10", "recall@100",
                  "chosen")


def _val_scores(runs: pd.DataFrame, names: Sequence[str]) -> dict[tuple[str, str], float]:
    """(target, model) -> the recorded held-out val NDCG@10 of the two-stage rows in ``runs``."""
    out = {}
    for r in runs[runs["model"].isin(list(names))].itertuples():
        value = json.loads(r.params or "{}").get(VAL_KEY)
        if value is not None:
            out[(r.target, r.model)] = float(value)
    return out


def choose(runs: pd.DataFrame, names: Sequence[str], targets: Sequence[str]) -> dict[str, str]:
    """Per target, the two-stage model of ``names`` with the highest recorded val NDCG@10
    (``names[0]`` when none is recorded, or on a tie)."""
    scores = _val_scores(runs, names)
    chosen = {}
    for target in targets:
        best = names[0]
        for name in names[1:]:
            if scores.get((target, name), float("-inf")) > scores.get((target, best), float("-inf")):
                best = name
        chosen[target] = best
    return chosen


def choice_frame(runs: pd.DataFrame, metrics: pd.DataFrame, names: Sequence[str],
                 chosen: Mapping[str, str], fold: str) -> pd.DataFrame:
    """One row per (target, two-stage model) present in ``metrics``: which candidates it
    learned from, its val score, its NDCG@10 and Recall@100 on ``fold`` (standard convention,
    every user) and whether it is the headline model. Empty with fewer than two models."""
    rows = metrics[(metrics["fold"] == fold) & (metrics["convention"] == "standard")
                   & (metrics["subset"] == "all") & metrics["model"].isin(list(names))]
    if rows["model"].nunique() < 2:
        return pd.DataFrame(columns=list(CHOICE_COLUMNS))
    values = rows.set_index(["target", "model", "metric", "k"])["value"]
    scores = _val_scores(runs, names)
    out = []
    for target in chosen:
        for i, name in enumerate(names):
            if (target, name, "ndcg", 10) not in values.index:
                continue
            out.append({
                "target": target, "model": name,
                "candidates": "tuned generators" if i == 0 else "untuned generators (code defaults)",
                "val_ndcg@10": scores.get((target, name), float("nan")),
                "ndcg@10": values.get((target, name, "ndcg", 10), float("nan")),
                "recall@100": values.get((target, name, "recall", 100), float("nan")),
                "chosen": chosen[target] == name})
    return pd.DataFrame(out, columns=list(CHOICE_COLUMNS))
