"""The ranking table: merged candidates with their features and labels, grouped by user.

One row per (uid, item_id) candidate of a (fold, target), read from the dbt mart
``candidate_features``:

* **merging**: a candidate enters if any merged generator ranks it at ``<= N``
  (``ranker.candidates_per_model``); rows are sorted by ``uid`` then ``item_id``, so the rows of
  a user are contiguous (LambdaRank query groups) and the order is deterministic;
* **users**: only users evaluated on that fold/target (those in ``eval_targets``);
* **features**: every numeric column (``candidate_models`` recounted over the merged
  generators) except the keys, id columns (``*_id``), absolute
  timestamps (``*_ts``: their values differ between the val and test folds) and
  ``ranker.exclude_features``, in the mart's column order (its last columns are the ratio
  features dbt computes, e.g. ``ui_listen_share``); read as float32, SQL ``NULL`` becomes
  ``NaN``, which LightGBM treats as *missing* (it learns which side of each split missing
  values go; a generator that did not propose an item therefore has ``rank_<model> = NaN``,
  not a fill value);
* **label**: 1 if (fold, target, uid, item_id) is in ``eval_targets``, else 0; with
  ``graded_cap`` = c, the target's event count capped at c (1..c; 0 = not a target).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from recsys.columns import Columns, Tables
from recsys.errors import RecsysError
from recsys.warehouse import require_tables

KEY_COLUMNS = (Columns.fold, Columns.target, Columns.uid, Columns.item_id)
# the user's listens of the item before the cut-off (user_item_features): 0 or NULL = unseen, the
# discovery segment of the metrics (eval_targets.is_repeat = 0)
SEEN_COLUMN = "ui_listen_events"
RANK_PREFIX = "rank_"
SCORE_PREFIX = "score_"
_NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "BOOLEAN",
)


class RankingDataError(RecsysError):
    """The candidate features cannot be turned into a ranking table."""


@dataclass
class RankingFrame:
    """Candidates of one or more folds of a target as arrays, rows sorted by (fold, uid, item_id).

    A query group (LambdaRank) is one user of one fold: the rows of equal (``folds``, ``uids``).

    Attributes
    ----------
    uids, item_ids
        Keys of each row (uint32).
    features
        float32 matrix, one column per name in ``feature_names``; ``NaN`` = missing.
    labels
        1 if the candidate is a target of its user, else 0 (uint8).
    feature_names
        Column names, in matrix order.
    folds
        Fold position of each row (uint8, 0 = the first fold loaded); ``None``: one fold.
    unseen
        Whether the user never listened to the item before the cut-off (:data:`SEEN_COLUMN`
        is 0 or NULL); ``None`` when the mart has no such column.
    """

    uids: np.ndarray
    item_ids: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    folds: np.ndarray | None = None
    unseen: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.uids)

    def group_sizes(self) -> np.ndarray:
        """Rows per (fold, user) in row order (the LambdaRank query groups); they sum to ``len(self)``."""
        return group_sizes(self.uids, self.folds)

    def take(self, mask: np.ndarray) -> RankingFrame:
        """The rows where ``mask`` is true (order kept)."""
        return RankingFrame(
            self.uids[mask], self.item_ids[mask], self.features[mask], self.labels[mask],
            list(self.feature_names), None if self.folds is None else self.folds[mask],
            None if self.unseen is None else self.unseen[mask],
        )

    @classmethod
    def stack(cls, frames: Sequence[RankingFrame]) -> RankingFrame:
        """Frames of different folds, one after the other; ``folds`` = position in ``frames``."""
        if not frames:
            raise RankingDataError("No frames to stack.")
        names = frames[0].feature_names
        if any(f.feature_names != names for f in frames):
            raise RankingDataError("Frames of different folds have different feature columns.")
        return cls(
            np.concatenate([f.uids for f in frames]),
            np.concatenate([f.item_ids for f in frames]),
            np.concatenate([f.features for f in frames]) if len(frames) > 1 else frames[0].features,
            np.concatenate([f.labels for f in frames]),
            list(names),
            np.concatenate([np.full(len(f), i, dtype=np.uint8) for i, f in enumerate(frames)]),
            None if any(f.unseen is None for f in frames)
            else np.concatenate([f.unseen for f in frames]),
        )


def group_sizes(uids: np.ndarray, folds: np.ndarray | None = None) -> np.ndarray:
    """Lengths of the runs of equal (``folds``, ``uids``); requires rows sorted by (fold, user).

    >>> group_sizes(np.array([3, 3, 5, 9, 9, 9])).tolist()
    [2, 1, 3]
    >>> group_sizes(np.array([3, 5, 3, 5]), np.array([0, 0, 1, 1])).tolist()
    [1, 1, 1, 1]
    """
    if len(uids) == 0:
        return np.zeros(0, dtype=np.int64)
    uids = np.asarray(uids, dtype=np.int64)
    if folds is None:
        new_fold = np.zeros(len(uids) - 1, dtype=bool)
    else:
        folds = np.asarray(folds, dtype=np.int64)
        if np.any(folds[1:] < folds[:-1]):
            raise RankingDataError("Rows are not sorted by fold; each fold's rows must be contiguous.")
        new_fold = folds[1:] != folds[:-1]
    if np.any((uids[1:] < uids[:-1]) & ~new_fold):
        raise RankingDataError("Rows are not sorted by uid; LambdaRank query groups need contiguous users.")
    starts = np.flatnonzero(np.r_[True, (uids[1:] != uids[:-1]) | new_fold])
    return np.diff(np.r_[starts, len(uids)])


def users_with_positive(frame: RankingFrame) -> np.ndarray:
    """Row mask keeping only users with at least one positive candidate."""
    sizes = frame.group_sizes()
    if len(sizes) == 0:
        return np.zeros(0, dtype=bool)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    has_positive = np.maximum.reduceat(frame.labels, starts) > 0
    return np.repeat(has_positive, sizes)


def split_users(frame: RankingFrame, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row masks (train, valid): a seeded ``share`` of the users goes to valid, whole users only."""
    sizes = frame.group_sizes()
    n_users = len(sizes)
    n_valid = int(round(share * n_users))
    if share > 0 and n_users >= 2:
        n_valid = min(max(n_valid, 1), n_users - 1)
    else:
        n_valid = 0
    rng = np.random.default_rng(seed)
    valid_users = np.zeros(n_users, dtype=bool)
    valid_users[rng.permutation(n_users)[:n_valid]] = True
    valid_rows = np.repeat(valid_users, sizes)
    return ~valid_rows, valid_rows


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_name = ? "
        "order by ordinal_position",
        [table],
    ).fetchall()
    return {name: dtype.upper() for name, dtype in rows}


def generators_in(columns: Sequence[str]) -> list[str]:
    """Generator names that have a ``rank_<model>`` column, in column order."""
    return [c[len(RANK_PREFIX):] for c in columns if c.startswith(RANK_PREFIX)]


def feature_columns(
    types: dict[str, str], models: Sequence[str], exclude: Sequence[str] = ()
) -> list[str]:
    """The feature columns of ``candidate_features`` (see the module docstring for the rule)."""
    dropped_generators = [g for g in generators_in(list(types)) if g not in models]
    generator_columns = {p + g for g in dropped_generators for p in (RANK_PREFIX, SCORE_PREFIX)}
    out = []
    for name, dtype in types.items():
        if name in KEY_COLUMNS or name in exclude or name in generator_columns:
            continue
        if name.endswith("_id") or name.endswith("_ts"):
            continue
        if dtype.startswith("DECIMAL") or dtype in _NUMERIC_TYPES:
            out.append(name)
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# the mart's count of the generators (of every ranker's, dbt var ranker_models) that proposed a
# candidate: a ranker reads it recounted over its own generators, so two rankers on one mart
# (tuned and untuned candidates) never see each other's sources
COUNT_FEATURE = "candidate_models"


def _column(feature: str, models: Sequence[str]) -> str:
    """The SQL a feature is read with: the mart's column, or for :data:`COUNT_FEATURE` the number
    of ``models`` with a rank for the candidate."""
    if feature != COUNT_FEATURE:
        return f"cf.{_quote(feature)}"
    return " + ".join(f"(cf.{_quote(RANK_PREFIX + m)} is not null)::integer" for m in models)


def load_frame(
    con: duckdb.DuckDBPyConnection,
    fold: str,
    target: str,
    *,
    models: Sequence[str] | None = None,
    per_model: int = 100,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    uids: np.ndarray | None = None,
    graded_cap: int | None = None,
) -> RankingFrame:
    """Read the ranking table of one (fold, target) from ``candidate_features`` + ``eval_targets``.

    Parameters
    ----------
    models
        Generators to merge (``None``: all with a ``rank_<model>`` column).
    per_model
        N: keep a candidate if any merged generator ranks it at ``<= N``.
    features
        The exact feature list (at inference: the trained model's); ``None`` derives it.
    exclude
        Extra columns never used as features.
    uids
        Read only these users (``None``: every evaluated user); bounds memory at scale. Users
        without targets (ranked for the paper's Coverage) get label 0 everywhere.
    graded_cap
        Graded labels: ``min(target_events, graded_cap)``; ``None``: binary labels.
    """
    require_tables(con, Tables.candidate_features, Tables.eval_targets)
    types = column_types(con, Tables.candidate_features)
    present = generators_in(list(types))
    models = list(present if models is None else models)
    missing = [m for m in models if m not in present]
    if missing or not models:
        raise RankingDataError(
            f"candidate_features has no rank_<model> column for {', '.join(missing) or 'any generator'} "
            f"(it has: {', '.join(present) or 'none'}). Run `recsys candidates` for these models and "
            "rebuild the mart (`recsys build --select candidate_features`), or change ranker.models."
        )
    if features is None:
        features = feature_columns(types, models, exclude)
    absent = [f for f in features if f not in types]
    if absent:
        raise RankingDataError(
            f"candidate_features lacks feature column(s) {', '.join(absent)} that the ranker was "
            "trained with. Rebuild the mart with the same dbt project, or retrain: `recsys train-ranker`."
        )
    if not features:
        raise RankingDataError("candidate_features has no numeric feature columns besides the keys.")
    merged = " or ".join(f"cf.{_quote(RANK_PREFIX + m)} <= $n" for m in models)
    selected = ", ".join(f"cast({_column(f, models)} as float) as {_quote(f)}" for f in features)
    label = "1" if graded_cap is None else f"least(greatest(t.target_events, 1), {int(graded_cap)})"
    # the given users (ranking: every user with target-type history), else the evaluated ones
    user_filter = "and cf.uid in (select uid from eval_targets where fold = $fold and target = $target)"
    if uids is not None:
        con.register("_ranker_uids", pa.table({"uid": pa.array(np.asarray(uids), pa.uint32())}))
        user_filter = "and cf.uid in (select uid from _ranker_uids)"
    unseen = (f"coalesce(cf.{_quote(SEEN_COLUMN)}, 0) = 0" if SEEN_COLUMN in types else "null")
    sql = f"""
        select cf.uid, cf.item_id, {selected}, {unseen} as _unseen,
               cast(coalesce((select {label} from eval_targets t
                              where t.fold = cf.fold and t.target = cf.target
                                and t.uid = cf.uid and t.item_id = cf.item_id), 0) as utinyint) as label
        from candidate_features cf
        where cf.fold = $fold and cf.target = $target and ({merged})
          {user_filter}
        order by cf.uid, cf.item_id
    """
    try:
        table = con.execute(sql, {"fold": fold, "target": target, "n": per_model}).to_arrow_table()
    finally:
        if uids is not None:
            con.unregister("_ranker_uids")
    n = table.num_rows
    matrix = np.empty((n, len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        column = table.column(name)
        matrix[:, j] = column.to_numpy()
        # free each Arrow column once copied: peak memory ~ one matrix, not two
        table = table.drop_columns([name])
        del column
    return RankingFrame(
        uids=table.column(Columns.uid).to_numpy().astype(np.uint32, copy=False),
        item_ids=table.column(Columns.item_id).to_numpy().astype(np.uint32, copy=False),
        features=matrix,
        labels=table.column("label").to_numpy().astype(np.uint8, copy=False),
        feature_names=list(features),
        unseen=table.column("_unseen").to_numpy(zero_copy_only=False).astype(bool)
        if SEEN_COLUMN in types else None,
    )
