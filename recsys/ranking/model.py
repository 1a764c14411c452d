"""The ranker interface and its LightGBM LambdaRank implementation, with save and load.

A :class:`Ranker` learns from rows grouped by query (here: by user) and scores rows; larger
scores rank first. :class:`LightGBMRanker` is deterministic for a given seed: LightGBM runs with
``deterministic=True``, ``force_row_wise=True`` and a fixed thread count.

A saved model is two files side by side: ``<stem>.txt`` (LightGBM's text model) and
``<stem>.json`` (feature list, parameters, seed, best iteration and any extra metadata such as
the pipeline config), both written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import lightgbm as lgb
import numpy as np

from recsys.atomic import write_texts_atomic
from recsys.errors import RecsysError

FORMAT_VERSION = 1


class RankerError(RecsysError):
    """The ranker cannot be trained, applied or loaded."""


@runtime_checkable
class Ranker(Protocol):
    """Learning-to-rank model: rows grouped by query, larger score = better."""

    feature_names: list[str]

    def fit(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        groups: np.ndarray,
        *,
        valid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> Ranker:
        """Learn from ``features`` (n x f), ``labels`` (n) and ``groups`` (rows per query, in order).

        ``valid`` = (features, labels, groups) of held-out queries for early stopping.
        """
        ...

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One float score per row of ``features`` (n x f, same columns as in ``fit``)."""
        ...


class LightGBMRanker:
    """LightGBM LambdaRank with early stopping on held-out queries.

    Parameters
    ----------
    params
        LightGBM parameters (see ``RankerConfig.lightgbm_params``); ``seed``, ``deterministic``
        and ``num_threads`` should be set for reproducible runs.
    feature_names
        Column names of the feature matrix (kept with the saved model).
    num_boost_round, early_stopping_rounds
        Rounds at most; stop after this many rounds without gain on ``valid``.
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        feature_names: Sequence[str],
        *,
        num_boost_round: int = 500,
        early_stopping_rounds: int = 50,
    ):
        self.params = dict(params)
        self.feature_names = list(feature_names)
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.booster: lgb.Booster | None = None
        self.best_iteration = 0

    def _check(self, features: np.ndarray) -> None:
        if features.ndim != 2 or features.shape[1] != len(self.feature_names):
            raise RankerError(
                f"Feature matrix has shape {features.shape}; expected {len(self.feature_names)} "
                f"columns ({', '.join(self.feature_names[:5])}, ...)."
            )

    def _dataset(self, features, labels, groups, reference=None) -> lgb.Dataset:
        self._check(features)
        groups = np.asarray(groups, dtype=np.int64)
        if groups.sum() != len(labels) or len(labels) != len(features):
            raise RankerError(
                f"Group sizes sum to {groups.sum()} but there are {len(labels)} labels and "
                f"{len(features)} feature rows; they must all agree."
            )
        return lgb.Dataset(
            features, label=labels, group=groups, feature_name=self.feature_names,
            reference=reference, params={"verbosity": -1}, free_raw_data=True,
        )

    def fit(self, features, labels, groups, *, valid=None, on_iteration: Callable[[], None] | None = None):
        if len(labels) == 0:
            raise RankerError("No training rows: no user has a positive candidate.")
        train = self._dataset(features, labels, groups)
        callbacks = []
        valid_sets = []
        if valid is not None and len(valid[1]) > 0:
            valid_sets = [self._dataset(*valid, reference=train)]
            callbacks.append(
                lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)
            )
        if on_iteration is not None:
            callbacks.append(lambda env: on_iteration())
        self.booster = lgb.train(
            self.params, train, num_boost_round=self.num_boost_round,
            valid_sets=valid_sets, valid_names=["valid"] * len(valid_sets), callbacks=callbacks,
        )
        self.best_iteration = int(self.booster.best_iteration or self.booster.current_iteration())
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.booster is None:
            raise RankerError("The ranker is not trained: call fit() or load a saved model first.")
        self._check(features)
        return self.booster.predict(
            features, num_iteration=self.best_iteration,
            num_threads=int(self.params.get("num_threads", 2)),
        ).astype(np.float64)

    def feature_importance(self) -> dict[str, float]:
        """Total gain of the splits on each feature (up to the best iteration)."""
        if self.booster is None:
            raise RankerError("The ranker is not trained.")
        gains = self.booster.feature_importance("gain", iteration=self.best_iteration)
        return {name: float(g) for name, g in zip(self.feature_names, gains, strict=True)}

    def save(self, stem: Path | str, metadata: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
        """Write ``<stem>.txt`` (model) and ``<stem>.json`` (features, params, metadata)."""
        if self.booster is None:
            raise RankerError("The ranker is not trained: nothing to save.")
        stem = Path(stem)
        model_path, meta_path = stem.with_suffix(".txt"), stem.with_suffix(".json")
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": "lightgbm_lambdarank",
            "feature_names": self.feature_names,
            "params": self.params,
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "best_iteration": self.best_iteration,
            "lightgbm_version": lgb.__version__,
            **dict(metadata or {}),
        }
        write_texts_atomic({  # both or neither: a model never sits beside another's metadata
            model_path: self.booster.model_to_string(num_iteration=self.best_iteration),
            meta_path: json.dumps(meta, indent=2, sort_keys=True, default=str)})
        return model_path, meta_path

    @classmethod
    def load(cls, stem: Path | str) -> tuple[LightGBMRanker, dict[str, Any]]:
        """Read a model written by :meth:`save`; returns the ranker and its metadata."""
        stem = Path(stem)
        model_path, meta_path = stem.with_suffix(".txt"), stem.with_suffix(".json")
        if not model_path.is_file() or not meta_path.is_file():
            raise RankerError(
                f"No saved ranker at {model_path} (+ {meta_path.name}). Train one first: `recsys train-ranker`."
            )
        meta = json.loads(meta_path.read_text())
        ranker = cls(
            meta["params"], meta["feature_names"], num_boost_round=meta["num_boost_round"],
            early_stopping_rounds=meta["early_stopping_rounds"],
        )
        ranker.booster = lgb.Booster(model_str=model_path.read_text())
        ranker.best_iteration = int(meta["best_iteration"])
        if ranker.booster.feature_name() != ranker.feature_names:
            raise RankerError(f"{model_path} and {meta_path} disagree on the feature list; retrain.")
        return ranker, meta


def top_k_per_user(
    uids: np.ndarray, item_ids: np.ndarray, scores: np.ndarray, k: int, *,
    unseen: np.ndarray | None = None, slots: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Row order of each user's top-``k`` (score desc, ties by item_id asc) and their 1-based ranks.

    With ``unseen`` (a flag per row: the user never listened to the item) and ``slots`` > 0,
    a user whose top ``k`` holds fewer than ``slots`` unseen items gets the best-scored unseen
    ones in place of the lowest-scored others (as many as the user has), at the end of the list.

    >>> order, ranks = top_k_per_user(np.array([1, 1, 1, 2]), np.array([7, 5, 6, 9]),
    ...                               np.array([0.5, 0.5, 0.9, 0.1]), 2)
    >>> order.tolist(), ranks.tolist()
    ([2, 1, 3], [1, 2, 1])
    >>> order, ranks = top_k_per_user(np.array([1, 1, 1, 1]), np.array([1, 2, 3, 4]),
    ...                               np.array([0.9, 0.8, 0.7, 0.6]), 3,
    ...                               unseen=np.array([False, False, False, True]), slots=1)
    >>> order.tolist(), ranks.tolist()
    ([0, 1, 3], [1, 2, 3])
    """
    order = np.lexsort((item_ids, -scores, uids))
    sorted_uids = uids[order]
    group_start = _group_starts(sorted_uids)
    ranks = np.arange(len(order)) - group_start + 1
    keep = ranks <= k
    if unseen is not None and slots > 0 and len(order):
        keep = _reserve(np.asarray(unseen, dtype=bool)[order], group_start, ranks, k, slots)
        order = order[keep]
        ranks = np.arange(len(order)) - _group_starts(uids[order]) + 1
        return order, ranks
    return order[keep], ranks[keep]


def _group_starts(sorted_uids: np.ndarray) -> np.ndarray:
    """Per row (rows sorted by user): the index of its user's first row."""
    starts = np.r_[True, sorted_uids[1:] != sorted_uids[:-1]] if len(sorted_uids) else np.zeros(0, bool)
    return np.maximum.accumulate(np.where(starts, np.arange(len(sorted_uids)), 0))


def _reserve(unseen: np.ndarray, group_start: np.ndarray, ranks: np.ndarray, k: int,
             slots: int) -> np.ndarray:
    """The rows :func:`top_k_per_user` keeps with ``slots`` reserved for unseen items (rows in
    score order within each user)."""
    group = np.cumsum(group_start == np.arange(len(group_start))) - 1

    def within(flags: np.ndarray) -> np.ndarray:  # 1-based count of flagged rows so far, per user
        total = np.cumsum(flags)
        return total - (total[group_start] - flags[group_start])

    unseen_rank, seen_rank = within(unseen), within(~unseen)
    n_unseen = np.bincount(group, weights=unseen)
    n_seen = np.bincount(group, weights=~unseen)
    in_top = np.bincount(group, weights=unseen & (ranks <= k))
    wanted = np.minimum(np.minimum(slots, n_unseen), k)
    short = (in_top < wanted)[group]
    seen_quota = np.minimum(n_seen, k - wanted)[group]
    reserved = np.where(unseen, unseen_rank <= k - seen_quota, seen_rank <= seen_quota)
    return np.where(short, reserved, ranks <= k)
