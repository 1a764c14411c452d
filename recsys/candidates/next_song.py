"""Next song: given a listening session (most recent last), the tracks that follow it.

Learned from ``next_song_transitions`` (dbt): how often a listen of item a was followed by a
listen of item b in the same session, before the fold's cut-off. For a session s_1 .. s_L:

    score(i) = sum_j decay ** (L - j) * P(i | s_j) + popularity_weight * popularity(i)

* ``P(i | a)``: the share of a's transitions that went to i (row-normalised counts); items of
  the session the model never saw followed add nothing;
* ``decay`` (default 0.5): the last listen weighs 1, the one before 0.5, ...;
* ``popularity(i)``: transitions into i relative to the most followed-into item, with a small
  weight (default 1e-3): it breaks ties between equal transition scores and fills the list past
  the items any transition reaches (a session of unknown items gets popularity alone).

Scores are computed only over the items the session's transitions reach and the ``n`` most
popular ones, never over the whole catalogue; ties are broken by item id. ``next_many`` scores
many sessions in one sparse product (the offline evaluation), ``next`` one (a request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import scipy.sparse as sp

from recsys.candidates.data import IdMap, run_positions
from recsys.errors import ConfigError
from recsys.warehouse import require_tables

TABLE = "next_song_transitions"
MAX_N = 1000  # the longest list a request may ask for


def session_matrix(sessions: Sequence[Sequence[int]], items: IdMap, *, decay: float = 1.0
                   ) -> sp.csr_matrix:
    """sessions x items: each listen of session s weighs ``decay ** steps back from its end``
    (1 for every listen with ``decay`` = 1); items ``items`` does not know are left out."""
    lengths = np.array([len(s) for s in sessions], dtype=np.int64)
    rows = np.repeat(np.arange(len(sessions)), lengths)
    flat = np.concatenate([np.asarray(s, dtype=np.uint32) for s in sessions]) \
        if len(sessions) else np.zeros(0, np.uint32)
    steps_back = np.concatenate([np.arange(k)[::-1] for k in lengths]) \
        if len(sessions) else np.zeros(0, np.int64)
    known = items.to_internal(flat)
    keep = known >= 0
    return sp.csr_matrix((float(decay) ** steps_back[keep].astype(np.float64),
                          (rows[keep], known[keep])), shape=(len(sessions), len(items)))


@dataclass
class NextSongModel:
    """Row-normalised transition counts between items, with a popularity fallback."""

    items: IdMap
    transitions: sp.csr_matrix  # from x to, rows summing to 1 (items with no transition: empty)
    popularity: np.ndarray  # per internal item, in [0, 1]
    popular: np.ndarray  # internal items by popularity (desc, ties by id), at most MAX_N
    decay: float = 0.5
    popularity_weight: float = 1e-3

    @classmethod
    def fit(cls, from_item: np.ndarray, to_item: np.ndarray, counts: np.ndarray, *,
            decay: float = 0.5, popularity_weight: float = 1e-3) -> NextSongModel:
        """From parallel arrays of (from_item, to_item, count) external ids."""
        if not 0 < decay <= 1 or popularity_weight < 0:
            raise ConfigError(f"next song needs 0 < decay <= 1 and popularity_weight >= 0; got "
                              f"decay={decay}, popularity_weight={popularity_weight}.")
        items = IdMap(np.concatenate([np.asarray(from_item), np.asarray(to_item)]))
        rows, cols = items.to_internal(from_item), items.to_internal(to_item)
        counts = np.asarray(counts, dtype=np.float64)
        matrix = sp.csr_matrix((counts, (rows, cols)), shape=(len(items), len(items)))
        out = np.asarray(matrix.sum(axis=1)).ravel()
        matrix = sp.diags(np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)) @ matrix
        into = np.bincount(cols, weights=counts, minlength=len(items))
        popularity = into / into.max() if len(into) and into.max() > 0 else into
        popular = np.lexsort((np.arange(len(items)), -popularity))[:MAX_N]
        return cls(items, sp.csr_matrix(matrix), popularity, popular, float(decay),
                   float(popularity_weight))

    @classmethod
    def from_warehouse(cls, con: duckdb.DuckDBPyConnection, fold: str, **params) -> NextSongModel:
        """Fitted on ``fold``'s rows of ``next_song_transitions``."""
        require_tables(con, TABLE)
        rows = con.execute(f"select from_item, to_item, transitions from {TABLE} where fold = ?",
                           [fold]).fetchnumpy()
        return cls.fit(rows["from_item"], rows["to_item"], rows["transitions"], **params)

    def next(self, session: Sequence[int], n: int = 10) -> list[tuple[int, float]]:
        """The ``n`` best next items ``(item_id, score)`` after ``session`` (most recent last)."""
        _, items, scores = self.next_many([session], n)
        return list(zip(items.astype(int).tolist(), scores.tolist(), strict=True))

    def next_many(self, sessions: Sequence[Sequence[int]], n: int = 10
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``n`` best next items of every session at once: ``(row, item_id, score)``
        sorted by row (the session's position), then score desc, then item id.

        One sparse product scores every session: its listens' decay weights times the transition
        shares, plus the popularity term on the items reached and on the ``n`` most popular
        (nothing else can enter a list of ``n``)."""
        n = min(int(n), MAX_N)
        query = session_matrix(sessions, self.items, decay=self.decay)
        reached = sp.csr_matrix(query @ self.transitions).tocoo()
        popular = self.popular[:n]
        fill_rows = np.repeat(np.arange(len(sessions)), len(popular))
        fill_cols = np.tile(popular, len(sessions)).astype(np.int64)
        width = np.int64(len(self.items))
        fresh = ~np.isin(fill_rows * width + fill_cols,
                         reached.row.astype(np.int64) * width + reached.col)  # fmt: skip
        row = np.concatenate([reached.row, fill_rows[fresh]]).astype(np.int64)
        col = np.concatenate([reached.col, fill_cols[fresh]]).astype(np.int64)
        score = np.concatenate([reached.data, np.zeros(int(fresh.sum()))]) \
            + self.popularity_weight * self.popularity[col]
        order = np.lexsort((col, -score, row))  # internal order = item id order
        row, col, score = row[order], col[order], score[order]
        keep = run_positions(row) < n
        return row[keep], self.items.to_external(col[keep]), score[keep]
