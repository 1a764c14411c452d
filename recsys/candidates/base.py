"""The candidate generator interface: ``fit`` on a fold's history, ``recommend`` top-n per user.

Every generator subclasses :class:`CandidateGenerator` and implements two hooks:

* ``_fit(data)``: learn from a :class:`~recsys.candidates.data.TrainData` (internal indices);
* ``_score_block(user_idx, n)``: scores for a block of known users, either a dense
  ``(len(user_idx), n_items)`` array or a CSR matrix of the same shape whose explicit entries are
  the only recommendable items.  Non-personalised generators implement ``_item_scores()`` instead.

The public :meth:`CandidateGenerator.recommend` is a template method shared by all of them: it
validates ``n``, maps external user ids to internal indices, scores users in blocks (bounded
memory), selects the top ``n`` with ties broken by ``item_id`` ascending, drops ``-inf`` scores
(items a model cannot recommend), and maps back to external ids.

Unknown users (absent from the fold's ``train_interactions``): personalised generators return no
rows for them; non-personalised ones (``random``, ``mostpop``, ``decaypop``) recommend to them as
to anyone else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.candidates.data import TrainData, as_ids, run_positions  # noqa: F401 (re-exported)
from recsys.errors import ConfigError
from recsys.sections.candidates import validate_n
from recsys.sections.generators import check_parameters

# floats held by one dense score block (256 MB at float32); bounds memory of every scorer. 64M,
# not 16M: at 50m (768k items) a block is 83 users, not 20, and the skinny block x items product
# costs 5.3 instead of 9.2 ms CPU per user (768k x 128 audio embeddings)
SCORE_BLOCK_CELLS = 64_000_000


@dataclass(frozen=True)
class Recommendations:
    """Top-n lists for many users, sorted by user (input order) then rank.

    ``uid`` and ``item_id`` are external ids; ``score`` is non-increasing within a user.
    """

    uid: np.ndarray
    item_id: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.uid)

    def __iter__(self):
        """Unpack as ``uids, item_ids, scores = generator.recommend(...)``."""
        return iter((self.uid, self.item_id, self.score))

    def ranks(self) -> np.ndarray:
        """1-based rank of every row within its user's run of rows."""
        return run_positions(self.uid) + 1

    @staticmethod
    def concat(parts: list[Recommendations]) -> Recommendations:
        if not parts:
            empty = np.zeros(0, dtype=np.uint32)
            return Recommendations(empty, empty.copy(), np.zeros(0, dtype=np.float64))
        return Recommendations(
            np.concatenate([p.uid for p in parts]),
            np.concatenate([p.item_id for p in parts]),
            np.concatenate([p.score for p in parts]),
        )


def top_n_dense(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``n`` columns of each row of ``scores``: ties by column ascending, ``-inf`` dropped.

    Returns ``(row, col, value)`` sorted by row, then value descending, then column ascending.
    Wide rows first shrink to a few candidates per row (:func:`_candidates_by_chunk_maxima`), so
    the cost is about one pass over the block, not a selection per row; otherwise only the rows'
    n-th largest values are tie-broken (O(rows x cols), not a sort).
    """
    rows_count, cols_count = scores.shape
    n_eff = min(n, cols_count)
    if rows_count == 0 or n_eff == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=scores.dtype)
    found = _candidates_by_chunk_maxima(scores, n_eff)
    if found is not None:
        rows, cols = found
        values = scores[rows, cols]
        order = np.lexsort((cols, -values, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        keep = run_positions(rows) < n_eff
        return rows[keep], cols[keep], values[keep]
    # the n-th largest value per row; partitioning the negation at n - 1 stays fast when many
    # values repeat at the bottom (introselect degrades on the mirrored problem)
    kth = -np.partition(-scores, n_eff - 1, axis=1)[:, n_eff - 1][:, None]
    gt_rows, gt_cols = np.nonzero(scores > kth)
    n_gt = np.bincount(gt_rows, minlength=rows_count)
    at_kth = scores == kth
    at_kth[kth[:, 0] == -np.inf] = False  # fewer than n finite values: -inf ones are dropped anyway
    eq_rows, eq_cols = np.nonzero(at_kth)  # row-major: columns ascending within a row
    keep = run_positions(eq_rows) < (n_eff - n_gt)[eq_rows]
    rows = np.concatenate([gt_rows, eq_rows[keep]])
    cols = np.concatenate([gt_cols, eq_cols[keep]])
    values = scores[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    finite = values != -np.inf
    return rows[finite], cols[finite], values[finite]


def _candidates_by_chunk_maxima(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, cols)`` of every finite value >= a per-row bound t <= the row's n-th largest.

    Each row is cut into m >= n chunks; t is the n-th largest chunk maximum: at least n values
    are >= t, so the n-th largest value, and every value above it or tied with it, is >= t.
    None when the rows are too narrow to gain, or too many values reach t (many ties): the caller
    then selects exactly.  At 50m (20 users x 768k items per block) this is ~4x faster.
    """
    rows_count, cols_count = scores.shape
    width = -(-cols_count // (4 * n))  # ceil: about 4n chunks per row
    if width < 8:
        return None
    maxima = np.maximum.reduceat(scores, np.arange(0, cols_count, width), axis=1)
    bound = -np.partition(-maxima, n - 1, axis=1)[:, n - 1][:, None]
    candidate = scores >= bound
    candidate &= scores != -np.inf
    rows, cols = np.nonzero(candidate)
    if len(rows) > 16 * n * rows_count:
        return None
    return rows, cols


def top_n_sparse(scores: sp.csr_matrix, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``n`` explicit entries of each row of a CSR matrix (same contract as ``top_n_dense``)."""
    scores = sp.csr_matrix(scores)
    rows_count, cols_count = scores.shape
    # long rows in a block at least 1/16 full: a dense block with -inf holes is faster than one
    # sort of the entries; sparser (a user's own history over 300k items) the sort wins: a dense
    # 200 x 300k block cost history's tuning 0.5 s per block for 150k entries
    if scores.nnz > 8 * n * rows_count and 16 * scores.nnz > rows_count * cols_count:
        dense = np.full(scores.shape, -np.inf, dtype=scores.dtype)
        coo = scores.tocoo()
        dense[coo.row, coo.col] = coo.data
        return top_n_dense(dense, n)
    rows = np.repeat(np.arange(scores.shape[0]), np.diff(scores.indptr))
    cols, values = scores.indices.astype(np.int64), scores.data
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    keep = (run_positions(rows) < n) & (values != -np.inf)
    return rows[keep], cols[keep], values[keep]


class CandidateGenerator:
    """Base class of every candidate generator (template method ``recommend``).

    Subclasses set ``name``, ``defaults`` (hyperparameters with their default values: their
    ``recsys.sections.generators.PARAMETERS`` entry),
    ``requires`` (extra inputs: ``"events"``, ``"embeddings"``) and ``personalised``.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    requires: ClassVar[frozenset[str]] = frozenset()
    personalised: ClassVar[bool] = True
    # a user's scores read that user's rows only (no other user's): tuning fits on the sampled
    # val users alone (``TrainData.restrict_users``), with the same scores for them
    user_local: ClassVar[bool] = False
    # parameters that change only ``recommend``, not ``fit`` (tuning reuses one fit across them)
    score_params: ClassVar[frozenset[str]] = frozenset()
    # ``train_interactions`` columns read besides uid and item_id: the loader fetches only these
    columns: ClassVar[frozenset[str]] = frozenset()
    # set by ``_fit`` when ``_score_block`` scores only these items (sorted internal indices):
    # its blocks then have ``len(score_columns)`` columns; the other items are never recommended
    score_columns: np.ndarray | None = None

    @classmethod
    def needed_columns(cls) -> frozenset[str]:
        """``columns`` plus ``target_events`` when the generator can ``exclude_seen``."""
        return cls.columns | ({"target_events"} if "exclude_seen" in cls.defaults else set())

    def __init__(self, *, seed: int = 42, **params: Any) -> None:
        check_parameters(self.name, params, self.defaults)
        self.seed = int(seed)
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.data: TrainData | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, {self.params})"

    # ---- public API -------------------------------------------------------------------------
    def fit(self, data: TrainData) -> CandidateGenerator:
        """Learn from one fold's training interactions; returns ``self``."""
        missing = [r for r in sorted(self.requires) if getattr(data, r) is None]
        if missing:
            raise ConfigError(
                f"Generator '{self.name}' needs {', '.join(missing)} in its TrainData; load them with "
                f"recsys.candidates.store.load_train_data(..., load={{{', '.join(map(repr, missing))}}})."
            )
        self.data = data
        self.score_columns = None
        for cached in ("seen", "_own"):  # derived from the data of the last fit
            self.__dict__.pop(cached, None)
        self._fit(data)
        return self

    def recommend(self, uids: np.ndarray, n: int) -> Recommendations:
        """Top ``n`` items for each user in ``uids`` (external ids), ties by ``item_id`` asc."""
        return Recommendations.concat([recs for _, recs in self.recommend_blocks(uids, n)])

    def recommend_frame(self, uids, n: int = 10, *, exclude_seen: bool | None = None) -> pd.DataFrame:
        """Top ``n`` per user as a DataFrame ``uid, item_id, rank, score`` (rank 1-based).

        ``exclude_seen`` drops the users' own items (``None``: the generator's parameter; every
        generator takes it here, those without the parameter by filtering a deeper list).

        >>> import pandas as pd
        >>> from recsys.candidates import TrainData, make_generator
        >>> events = pd.DataFrame({"uid": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 12, 11, 12],
        ...                        "timestamp": [1, 2, 3, 4, 5, 6]})
        >>> model = make_generator("itemknn", seed=0).fit(TrainData.from_events(events))
        >>> model.recommend_frame([1], n=2, exclude_seen=True)[["uid", "item_id", "rank"]]
           uid  item_id  rank
        0    1       12     1
        """
        try:
            uids = as_ids(np.atleast_1d(uids), "uid")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if exclude_seen and "exclude_seen" not in self.defaults:
            return self._frame_without_seen(uids, n)
        saved = self.params.get("exclude_seen")
        if exclude_seen is not None and "exclude_seen" in self.defaults:
            self.params["exclude_seen"] = bool(exclude_seen)
        try:
            recs = self.recommend(uids, n)
        finally:
            if exclude_seen is not None and "exclude_seen" in self.defaults:
                self.params["exclude_seen"] = saved
        return pd.DataFrame({"uid": recs.uid, "item_id": recs.item_id, "rank": recs.ranks(),
                             "score": recs.score})

    def _frame_without_seen(self, uids: np.ndarray, n: int) -> pd.DataFrame:
        """:meth:`recommend_frame` minus the users' own items, for a generator with no
        ``exclude_seen`` parameter (popularity, history): each user's list is drawn
        ``n + <items the user has>`` deep, their items dropped, the rest ranked again."""
        if self.data is None:
            raise ConfigError(f"Generator '{self.name}' is not fitted: call fit(data) first.")
        try:
            seen = self._own_items()
        except ValueError as exc:
            raise ConfigError(f"exclude_seen needs the users' own items: {exc}") from None
        users = self.data.users.to_internal(uids)
        own = np.diff(seen.indptr)[users[users >= 0]]
        recs = self.recommend(uids, validate_n(n) + int(own.max(initial=0)))
        user, item = self.data.users.to_internal(recs.uid), self.data.items.to_internal(recs.item_id)
        known = (user >= 0) & (item >= 0)
        mine = np.zeros(len(user), dtype=bool)
        mine[known] = np.asarray(seen[user[known], item[known]]).ravel() > 0
        frame = pd.DataFrame({"uid": recs.uid, "item_id": recs.item_id, "score": recs.score,
                              "deep_rank": recs.ranks()})[~mine]
        frame = frame.sort_values(["uid", "deep_rank"], kind="stable")
        frame["rank"] = frame.groupby("uid").cumcount() + 1
        frame = frame[frame["rank"] <= n]
        return frame[["uid", "item_id", "rank", "score"]].reset_index(drop=True)

    def similar_items(self, item_id: int, n: int = 10) -> pd.DataFrame:
        """The ``n`` items most similar to ``item_id`` (``item_id, rank, score``), for generators
        with an item representation (ItemKNN's similarity, iALS / BPR item factors, audio
        embeddings); the item itself is left out."""
        if self.data is None:
            raise ConfigError(f"Generator '{self.name}' is not fitted: call fit(data) first.")
        try:
            item = as_ids([item_id], "item_id")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        idx = int(self.data.items.to_internal(item)[0])
        if idx < 0:
            raise ConfigError(f"Item {item_id} is not in the data this generator was fitted on.")
        n = validate_n(n)
        neighbours = self._item_neighbours(idx)
        if neighbours is not None:  # a few neighbours: ordered as top_n_dense orders the row
            cols, values = neighbours[0], np.asarray(neighbours[1], dtype=np.float64)
            keep = (cols != idx) & np.isfinite(values)
            cols, values = cols[keep], values[keep]
            order = np.lexsort((cols, -values))[:n]
            cols, values = cols[order], values[order]
        else:
            scores = np.asarray(self._item_similarities(idx), dtype=np.float64).ravel()
            scores[idx] = -np.inf
            _, cols, values = top_n_dense(scores[None, :], n)
        return pd.DataFrame({"item_id": self.data.items.to_external(cols),
                             "rank": np.arange(1, len(cols) + 1), "score": values})

    def _item_neighbours(self, item_idx: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(internal items, similarity)`` of the only items similar to ``item_idx`` (a sparse
        similarity's row); None: every item has a similarity (:meth:`_item_similarities`)."""
        return None

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(columns, vectors)``: the internal indices of the items the model scores and their
        vectors, whose dot product with :meth:`user_vector` is the user's score of each; None
        for a model that does not score by a dot product."""
        return None

    def user_vector(self, user_idx: int) -> np.ndarray | None:
        """The vector of internal user ``user_idx`` for :meth:`retrieval_vectors` (None: the
        model scores nothing for this user)."""
        return None

    def similarity_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(columns, vectors)``: the internal indices of the items with a representation and
        their unit vectors (float32, one row each), whose dot product is the model's item-to-item
        similarity; None for a model whose similarity is not a dot product (ItemKNN)."""
        return None

    def _item_similarities(self, item_idx: int) -> np.ndarray:
        """Similarity of item ``item_idx`` to every item (internal order), ``-inf`` for none."""
        vectors = self.similarity_vectors()
        if vectors is not None:
            columns, unit = vectors
            row = np.full(len(self.data.items), -np.inf)
            position = np.searchsorted(columns, item_idx)
            if position < len(columns) and columns[position] == item_idx:
                row[columns] = unit @ unit[position]
            return row
        raise ConfigError(f"Generator '{self.name}' has no item-to-item similarity; use itemknn, "
                          "ials, bpr or audio.")

    def save(self, path) -> None:
        """Pickle the fitted generator (with the data it was fitted on) to ``path``."""
        import pickle

        from recsys.atomic import write_bytes_atomic

        write_bytes_atomic(path, pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def load(path) -> CandidateGenerator:
        """A generator saved by :meth:`save` (only load files you wrote: pickle runs code)."""
        import pickle
        from pathlib import Path

        model = pickle.loads(Path(path).read_bytes())
        if not isinstance(model, CandidateGenerator):
            raise ConfigError(f"{path} does not hold a saved candidate generator.")
        return model

    def recommend_blocks(self, uids: np.ndarray, n: int) -> Iterator[tuple[int, Recommendations]]:
        """Like :meth:`recommend`, one block at a time: yields ``(users in block, recs)``."""
        n = validate_n(n)
        if self.data is None:
            raise ConfigError(f"Generator '{self.name}' is not fitted: call fit(data) first.")
        uids = np.asarray(uids, dtype=np.uint32)
        items = self.data.items
        if not self.personalised:
            yield from self._recommend_same(uids, n)
            return
        user_idx = self.data.users.to_internal(uids)
        columns = self.score_columns
        block = max(1, SCORE_BLOCK_CELLS // max(1, len(items) if columns is None else len(columns)))
        for start in range(0, len(uids), block):
            idx = user_idx[start : start + block]
            known = np.flatnonzero(idx >= 0)
            if len(known) == 0:
                yield len(idx), Recommendations.concat([])
                continue
            scores = self._score_block(idx[known], n)
            if self.params.get("exclude_seen"):
                scores = self._mask_seen(scores, idx[known])
            if sp.issparse(scores):
                rows, cols, values = top_n_sparse(scores, n)
            else:
                rows, cols, values = top_n_dense(np.asarray(scores), n)
            if columns is not None:
                cols = columns[cols]
            block_uids = uids[start : start + block][known]
            yield len(idx), Recommendations(
                block_uids[rows], items.to_external(cols), values.astype(np.float64)
            )

    def own_items(self, user_idx: int) -> np.ndarray:
        """Internal indices of the items internal user ``user_idx`` has target-type events with
        (what ``exclude_seen`` leaves out)."""
        return self._own_items()[user_idx].indices

    def _own_items(self) -> sp.csr_matrix:
        """users x items, 1 where the user has target-type events (``target_events`` > 0); built
        once per fit (a server asks for it on every request that excludes seen items)."""
        if "_own" not in self.__dict__:
            positive = self.data.column("target_events") > 0
            self._own = self.data.matrix(np.ones(len(positive)), rows=positive)
        return self._own

    def _mask_seen(self, scores, user_idx: np.ndarray):
        """Drop (sparse) or set to ``-inf`` (dense) the users' own items (``target_events`` > 0).

        For generators with ``exclude_seen``: a like target is almost never an item the user has
        already liked, so there the user's own items only take up room in the list.
        """
        if "seen" not in self.__dict__:
            self.seen = self._own_items()
            if self.score_columns is not None:
                self.seen = self.seen[:, self.score_columns].tocsr()
        seen = self.seen[user_idx].tocoo()
        if not sp.issparse(scores):
            scores[seen.row, seen.col] = -np.inf
            return scores
        coo = sp.csr_matrix(scores).tocoo()
        n_items = scores.shape[1]
        keep = ~np.isin(coo.row.astype(np.int64) * n_items + coo.col,
                        seen.row.astype(np.int64) * n_items + seen.col)  # fmt: skip
        return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=scores.shape)

    # ---- hooks --------------------------------------------------------------------------------
    def _fit(self, data: TrainData) -> None:
        raise NotImplementedError

    def _score_block(self, user_idx: np.ndarray, n: int) -> np.ndarray | sp.csr_matrix:
        raise NotImplementedError

    def _item_scores(self) -> np.ndarray:
        """Non-personalised generators: one score per item (internal index order)."""
        raise NotImplementedError

    def _recommend_same(self, uids: np.ndarray, n: int) -> Iterator[tuple[int, Recommendations]]:
        _, cols, values = top_n_dense(self._item_scores()[None, :], n)
        item_ids = self.data.items.to_external(cols)
        block = max(1, SCORE_BLOCK_CELLS // max(1, n))
        for start in range(0, len(uids), block):
            chunk = uids[start : start + block]
            yield len(chunk), Recommendations(
                np.repeat(chunk, len(cols)),
                np.tile(item_ids, len(chunk)),
                np.tile(values.astype(np.float64), len(chunk)),
            )
