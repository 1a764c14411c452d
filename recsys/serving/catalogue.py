"""What the web page looks up besides the models: tracks by id, artist or album, and a user's
listening history before the cut-off (which items of a list are repeats).

Yambda has no titles, so a track is its ids: ``item_id``, ``artist_id`` and ``album_id`` (-1:
none), with ``listeners``, the users who listened to it before the fold's cut-off. Both are read
once at start-up into sorted arrays; a lookup is a binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from recsys.columns import Tables

SEARCH_KINDS = ("item", "artist", "album")


@dataclass(frozen=True)
class Catalogue:
    """Every item with a Listen+ history before the cut-off, most listeners first (ties by id)."""

    item_id: np.ndarray
    artist_id: np.ndarray
    album_id: np.ndarray
    listeners: np.ndarray
    by_id: np.ndarray  # positions in item id order

    @classmethod
    def from_histories(cls, histories: Histories, groups: dict[str, np.ndarray]) -> Catalogue:
        """The items of ``histories`` with their listeners (users who listened), and their artist
        and album from ``groups`` (``recsys.candidates.store.load_item_groups``)."""
        items, listeners = np.unique(histories.items, return_counts=True)
        order = np.lexsort((items, -listeners))
        item, listeners = items[order], listeners[order].astype(np.int64)
        known = np.asarray(groups["item_id"], dtype=np.int64)
        at = np.minimum(np.searchsorted(known, item), max(len(known) - 1, 0))
        found = known[at] == item if len(known) else np.zeros(len(item), dtype=bool)

        def column(name: str) -> np.ndarray:
            values = np.asarray(groups[name], dtype=np.int64)
            return np.where(found, values[at], -1) if len(known) else np.full(len(item), -1)

        return cls(item, column("artist"), column("album"), listeners,
                   np.argsort(item, kind="stable"))

    def __len__(self) -> int:
        return len(self.item_id)

    def search(self, query: int | None, by: str | None = None, n: int = 20) -> list[dict]:
        """Tracks whose item, artist or album id is ``query`` (``by`` one kind; None: all three,
        the item first), most listeners first, at most ``n``; no query: the most listened."""
        if query is None:
            return [self._track(p) for p in range(min(n, len(self)))]
        kinds = SEARCH_KINDS if by is None else (by,)
        found: list[int] = []
        for kind in kinds:
            column = getattr(self, f"{kind}_id")
            found += [int(i) for i in np.flatnonzero(column == query)[:n]]
        positions = list(dict.fromkeys(found))[:n]  # in kind order, each kind by listeners
        return [self._track(p) for p in positions]

    def tracks(self, item_ids) -> list[dict]:
        """The tracks of ``item_ids`` in that order; an unknown item has -1 artist and album."""
        ids = np.asarray(item_ids, dtype=np.int64)
        if not len(self):
            return [self.unknown(i) for i in ids]
        sorted_ids = self.item_id[self.by_id]
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(self) - 1)
        return [self._track(int(self.by_id[a])) if sorted_ids[a] == i else self.unknown(i)
                for i, a in zip(ids, at, strict=True)]

    @staticmethod
    def unknown(item_id) -> dict:
        return {"item_id": int(item_id), "artist_id": -1, "album_id": -1, "listeners": 0}

    def _track(self, position: int) -> dict:
        return {"item_id": int(self.item_id[position]), "artist_id": int(self.artist_id[position]),
                "album_id": int(self.album_id[position]),
                "listeners": int(self.listeners[position])}


@dataclass(frozen=True)
class Histories:
    """Each user's items listened to before the cut-off, most listens first (ties by item id):
    what ``eval_targets.is_repeat`` calls a repeat."""

    uids: np.ndarray  # sorted, one per user
    starts: np.ndarray  # user i's rows are starts[i]:starts[i + 1]
    items: np.ndarray
    listens: np.ndarray

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, fold: str) -> Histories:
        rows = con.execute(f"""
            select uid::bigint, item_id::bigint, listen_events::bigint
            from {Tables.train_interactions}
            where fold = ? and target = 'listen_plus' and listen_events > 0
            order by uid, listen_events desc, item_id
            """, [fold]).fetchnumpy()
        uid, items, listens = (np.asarray(v, dtype=np.int64) for v in rows.values())
        uids, starts = np.unique(uid, return_index=True)
        return cls(uids, np.append(starts, len(uid)), items, listens)

    def of(self, uid: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(items, listens)`` of ``uid``; None for a user without listens before the cut-off."""
        i = int(np.searchsorted(self.uids, uid))
        if i == len(self.uids) or self.uids[i] != uid:
            return None
        span = slice(self.starts[i], self.starts[i + 1])
        return self.items[span], self.listens[span]
