"""What a generator is fitted on: one fold's training interactions, with ids mapped once.

:class:`IdMap` converts external ids (sparse ``UINTEGER`` uids and item ids) to contiguous
internal indices and back; internal item indices follow ``item_id`` order, so "ties broken by
column index" is "ties broken by ``item_id``".  :class:`TrainData` holds the fold's
``train_interactions`` rows (and, only when a generator asks, the target-type events and the
audio embeddings), all as NumPy arrays in internal indices.  Sparse user x item matrices are built
straight from those arrays (``scipy.sparse.coo_matrix``), never row by row.  ``interactions`` may
hold only the columns the fitted generators read (``CandidateGenerator.columns``): the loader
fetches no more (at 50m each of the ten mart columns costs ~80 MB per (fold, target)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from recsys.columns import Columns as C

KEY_COLUMNS = (C.uid, C.item_id)
# the item groups a TrainData may hold (``groups``): each item's primary artist and album
GROUP_KINDS = ("artist", "album")

INTERACTION_COLUMNS = (
    C.uid, C.item_id, "target_events", "decayed_target_events", "first_target_ts",
    "last_target_ts", "listen_events", "listen_plus_events", "is_liked", "is_disliked",
)  # fmt: skip


def embedding_matrix(
    embeddings: pd.DataFrame | pa.Table | tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """``(item_ids, (n, d) float32 matrix)`` from ``item_id, normalized_embed`` rows.

    A pyarrow table is flattened without Python objects per row (the fast path for the warehouse);
    an ``(item_ids, matrix)`` pair (already flattened, e.g. shared by several folds) passes through.
    """
    if isinstance(embeddings, tuple):
        ids, vectors = embeddings
        return np.asarray(ids), np.asarray(vectors, dtype=np.float32)
    if isinstance(embeddings, pa.Table):
        ids = embeddings.column(C.item_id).to_numpy()
        lists = embeddings.column(C.normalized_embed).combine_chunks()
        if len(lists) == 0:
            return ids, np.zeros((0, 0), dtype=np.float32)
        lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
        if lists.null_count or (lengths != lengths[0]).any():
            raise ValueError("normalized_embed must be a non-null list of the same length on every row.")
        flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        return ids, flat.reshape(len(lists), int(lengths[0]))
    ids = embeddings[C.item_id].to_numpy()
    vectors = embeddings[C.normalized_embed].to_numpy()
    if len(vectors) == 0:
        return ids, np.zeros((0, 0), dtype=np.float32)
    return ids, np.stack(vectors).astype(np.float32)


def run_positions(keys: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal consecutive ``keys``."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    start_idx = np.flatnonzero(starts)
    return np.arange(len(keys)) - start_idx[np.cumsum(starts) - 1]


UINT32_MAX = 2**32 - 1


def as_ids(values, what: str = "id") -> np.ndarray:
    """``values`` as uint32 ids, the type every id has in the data and the warehouse; a value
    that is not a whole number in ``0 .. 2**32 - 1`` is an error naming it, never wrapped
    (``2**32 + 141`` would otherwise become 141, another user).

    >>> as_ids([1, 2**32 - 1]).tolist()
    [1, 4294967295]
    >>> as_ids([2**32 + 141], "uid")
    Traceback (most recent call last):
    ...
    ValueError: uid 4294967437 is outside 0 .. 4,294,967,295, the uint32 range ids have in Yambda and in the warehouse: map your ids into that range first (e.g. pandas.factorize).
    """
    array = np.asarray(values)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        elif array.size:
            raise ValueError(f"{what}s must be whole numbers (uint32 ids); got {array.dtype} "
                             f"values such as {array.ravel()[0]!r}. Map your ids to integers "
                             "first (e.g. pandas.factorize).")
    if array.size and array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > UINT32_MAX:
            bad = low if low < 0 else high
            raise ValueError(f"{what} {bad} is outside 0 .. {UINT32_MAX:,}, the uint32 range ids "
                             "have in Yambda and in the warehouse: map your ids into that range "
                             "first (e.g. pandas.factorize).")
    return array.astype(np.uint32)


class IdMap:
    """External ids <-> contiguous internal indices ``0..len-1`` (sorted by external id).

    When the largest id is small enough (at most ``max(2 x len(input), 2**24)``, true of Yambda's
    uids and item ids) a direct lookup table replaces sorting: building the map and mapping ids
    are O(n) array indexing instead of a hash ``unique`` and a binary search per id (18 s of the
    23 s a 50m load of 10M interactions used to cost).
    """

    def __init__(self, external_ids: np.ndarray) -> None:
        external = np.asarray(external_ids, dtype=np.uint32)
        self.lookup: np.ndarray | None = None
        largest = int(external.max()) if len(external) else -1
        if 0 <= largest < max(2 * len(external), 1 << 24):
            present = np.zeros(largest + 1, dtype=bool)
            present[external] = True
            self.ids = np.flatnonzero(present).astype(np.uint32)
            self.lookup = np.full(largest + 1, -1, dtype=np.int32)
            self.lookup[self.ids] = np.arange(len(self.ids), dtype=np.int32)
        else:
            self.ids = np.unique(external)

    def __len__(self) -> int:
        return len(self.ids)

    def to_internal(self, external: np.ndarray) -> np.ndarray:
        """Internal index of each id, ``-1`` for ids not in the map."""
        external = np.asarray(external, dtype=np.uint32)
        if len(self.ids) == 0:
            return np.full(len(external), -1, dtype=np.int64)
        if self.lookup is not None:
            out = np.full(len(external), -1, dtype=np.int64)
            inside = external < len(self.lookup)
            out[inside] = self.lookup[external[inside]]
            return out
        pos = np.searchsorted(self.ids, external)
        pos_clipped = np.minimum(pos, len(self.ids) - 1)
        found = self.ids[pos_clipped] == external
        return np.where(found, pos_clipped, -1).astype(np.int64)

    def to_external(self, internal: np.ndarray) -> np.ndarray:
        return self.ids[np.asarray(internal, dtype=np.int64)]


@dataclass
class Events:
    """Target-type events before the cut-off, in internal indices (one row per event)."""

    user: np.ndarray  # int32 internal user index (half the memory of int64: 29M events at 50m)
    item: np.ndarray  # int32 internal item index
    timestamp: np.ndarray  # int64 seconds


@dataclass
class TrainData:
    """One (fold, target)'s training data.

    Attributes
    ----------
    interactions : DataFrame
        ``train_interactions`` rows of the fold and target (``uid``, ``item_id`` and the columns
        the generators read), plus ``user`` / ``item`` internal indices.
    users, items : IdMap
        Every user / item of those rows.
    history_end_ts : int
        The fold's history cut-off (exclusive); decays are measured back from it.
    events : Events or None
        Target-type events (Listen+ listens or likes) before the cut-off, if loaded.
    cache : dict
        Derived artefacts that depend on this data only, keyed by generator and parameters.
    embeddings : ndarray or None
        ``(len(items), d)`` float32 unit vectors; rows of items without an embedding are zero
        and flagged False in ``has_embedding``.
    groups : dict or None
        Per group kind (``"artist"``, ``"album"``): each item's group as a dense index
        ``0..n_groups-1`` (internal item order), -1 for an item without one.
    """

    interactions: pd.DataFrame
    users: IdMap
    items: IdMap
    history_end_ts: int
    fold: str = ""
    target: str = ""
    events: Events | None = None
    embeddings: np.ndarray | None = None
    has_embedding: np.ndarray | None = None
    groups: dict[str, np.ndarray] | None = None
    # artefacts derived from this data alone (e.g. an item-item similarity), reused across the
    # grid points of a tuning run; dropped with the data
    cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_frames(
        cls,
        interactions: pd.DataFrame | dict[str, np.ndarray],
        history_end_ts: int,
        *,
        events: pd.DataFrame | dict[str, np.ndarray] | None = None,
        embeddings: pd.DataFrame | pa.Table | tuple[np.ndarray, np.ndarray] | None = None,
        groups: pd.DataFrame | dict[str, np.ndarray] | None = None,
        fold: str = "",
        target: str = "",
    ) -> TrainData:
        """Build from DataFrames (or dicts of NumPy arrays) with the mart column names.

        ``interactions`` needs ``uid, item_id``; other ``train_interactions`` columns are kept
        when present.  ``events`` has ``uid, item_id, timestamp`` (target-type events; rows at or
        after ``history_end_ts`` are dropped, so one load up to a later fold's cut-off serves an
        earlier fold too); ``embeddings`` has ``item_id, normalized_embed`` (a list of floats per
        row) or is an ``(item_ids, matrix)`` pair; ``groups`` has ``item_id`` and a column per
        group kind (``artist``, ``album``: ids, negative or NaN for none).
        """
        if isinstance(interactions, dict):
            interactions = pd.DataFrame(interactions, copy=False)
        missing = [c for c in KEY_COLUMNS if c not in interactions.columns]
        if missing:
            raise ValueError(f"train_interactions lacks column(s) {', '.join(missing)}.")
        present = [c for c in INTERACTION_COLUMNS if c in interactions.columns]
        frame = interactions.loc[:, present].reset_index(drop=True)
        users, items = IdMap(frame[C.uid].to_numpy()), IdMap(frame[C.item_id].to_numpy())
        frame["user"] = users.to_internal(frame[C.uid].to_numpy())
        frame["item"] = items.to_internal(frame[C.item_id].to_numpy())
        data = cls(frame, users, items, int(history_end_ts), fold=fold, target=target)
        if events is not None:
            data.events = data._map_events(events)
        if embeddings is not None:
            data.embeddings, data.has_embedding = data._map_embeddings(embeddings)
        if groups is not None:
            data.groups = data._map_groups(groups)
        return data

    @classmethod
    def from_events(cls, events: pd.DataFrame, *, cutoff: int | None = None,
                    embeddings: pd.DataFrame | None = None,
                    groups: pd.DataFrame | None = None) -> TrainData:
        """Training data from a DataFrame of your own events (``uid, item_id, timestamp``).

        Every row is one positive event (a Listen+ listen, a like, a purchase); the events
        before ``cutoff`` (default: all) form the history, aggregated per (uid, item_id) as the
        warehouse mart ``train_interactions`` would be. ``embeddings`` (``item_id,
        normalized_embed``) are for the ``audio`` generator, ``groups`` (``item_id, artist,
        album``) for ``artist`` and ``album``.

        >>> import pandas as pd
        >>> events = pd.DataFrame({"uid": [1, 1, 2, 2, 3], "item_id": [10, 11, 10, 12, 11],
        ...                        "timestamp": [5, 6, 7, 8, 9]})
        >>> data = TrainData.from_events(events)
        >>> len(data.users), len(data.items), int(data.interactions["target_events"].sum())
        (3, 3, 5)
        """
        if not isinstance(events, pd.DataFrame):
            raise ValueError(f"events must be a pandas DataFrame, not {type(events).__name__}.")
        needed = [C.uid, C.item_id, C.timestamp]
        missing = [c for c in needed if c not in events.columns]
        if missing:
            raise ValueError(
                f"Your events lack column(s) {', '.join(missing)}: they need {', '.join(needed)} "
                f"(one row per event); they have {', '.join(map(str, events.columns)) or 'none'}."
            )
        bad = [c for c in needed if not pd.api.types.is_integer_dtype(events[c])]
        if bad:
            raise ValueError(
                f"Column(s) {', '.join(bad)} of your events must be integers (ids, timestamps in "
                f"seconds); got {', '.join(f'{c}: {events[c].dtype}' for c in bad)}. Convert "
                "them, e.g. events['uid'].astype('uint32')."
            )
        if (events[needed] < 0).any().any():
            raise ValueError("Ids and timestamps of your events must be non-negative.")
        for column in (C.uid, C.item_id):
            as_ids(events[column].to_numpy(), column)  # ids beyond uint32 are refused, not wrapped
        if events.empty:
            raise ValueError("No event in your events: nothing to fit on.")
        cut = int(events[C.timestamp].max()) + 1 if cutoff is None else int(cutoff)
        history = events.loc[events[C.timestamp] < cut, needed]
        if history.empty:
            raise ValueError(f"No event of yours is before the cut-off {cut}: nothing to fit on.")
        grouped = history.groupby([C.uid, C.item_id], sort=True)[C.timestamp]
        frame = grouped.agg(target_events="size", first_target_ts="min",
                            last_target_ts="max").reset_index()
        frame["listen_events"] = frame["listen_plus_events"] = frame["target_events"]
        frame["is_liked"] = frame["is_disliked"] = 0
        return cls.from_frames(frame, cut, events=history, embeddings=embeddings, groups=groups)

    def _map_events(self, events: pd.DataFrame | dict[str, np.ndarray]) -> Events:
        ts = np.asarray(events[C.timestamp])
        before = ts < self.history_end_ts
        user = self.users.to_internal(np.asarray(events[C.uid])[before]).astype(np.int32)
        item = self.items.to_internal(np.asarray(events[C.item_id])[before]).astype(np.int32)
        keep = (user >= 0) & (item >= 0)
        return Events(user[keep], item[keep], ts[before][keep].astype(np.int64))

    def _map_embeddings(self, embeddings) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = embedding_matrix(embeddings)
        idx = self.items.to_internal(ids)
        keep = idx >= 0
        out = np.zeros((len(self.items), vectors.shape[1]), dtype=np.float32)
        out[idx[keep]] = vectors[keep]
        has = np.zeros(len(self.items), dtype=bool)
        has[idx[keep]] = True
        return out, has

    def _map_groups(self, groups: pd.DataFrame | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = np.asarray(groups[C.item_id])
        idx = self.items.to_internal(ids)
        known = idx >= 0
        out = {}
        for kind in (k for k in GROUP_KINDS if k in groups):
            values = np.asarray(groups[kind], dtype=np.float64)[known]
            valid = np.isfinite(values) & (values >= 0)
            dense = np.full(len(self.items), -1, dtype=np.int64)
            dense[idx[known][valid]] = np.unique(values[valid], return_inverse=True)[1]
            out[kind] = dense
        return out

    def restrict_users(self, uids: np.ndarray) -> TrainData:
        """The same fold and target with only the rows of users ``uids`` (external ids).

        For generators whose scores for a user read that user's rows alone
        (``CandidateGenerator.user_local``): fitted on the restriction, they score those users
        exactly as fitted on everything, in a fraction of the time (tuning on a val-user sample).
        Items are re-indexed to those users' items; ``cache`` starts empty.
        """
        keep_users = np.isin(self.column(C.uid), np.asarray(uids, dtype=np.uint32))
        frame = self.interactions.loc[keep_users, [c for c in INTERACTION_COLUMNS
                                                   if c in self.interactions.columns]]
        out = TrainData.from_frames(frame, self.history_end_ts, fold=self.fold, target=self.target)
        if self.events is not None:
            ev = self.events
            user_ok = np.zeros(len(self.users), dtype=bool)
            user_ok[self.users.to_internal(out.users.ids)] = True
            mask = user_ok[ev.user]
            user = out.users.to_internal(self.users.to_external(ev.user[mask])).astype(np.int32)
            item = out.items.to_internal(self.items.to_external(ev.item[mask])).astype(np.int32)
            keep = item >= 0
            out.events = Events(user[keep], item[keep], ev.timestamp[mask][keep])
        rows = self.items.to_internal(out.items.ids)
        if self.embeddings is not None:
            out.embeddings, out.has_embedding = self.embeddings[rows], self.has_embedding[rows]
        if self.groups is not None:
            out.groups = {kind: group[rows] for kind, group in self.groups.items()}
        return out

    # ---- sparse views ---------------------------------------------------------------------------
    def matrix(self, values: np.ndarray, *, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """users x items CSR of ``values`` (one per interaction row), restricted to mask ``rows``."""
        values = np.asarray(values, dtype=np.float32)
        user, item = self.column("user"), self.column("item")
        if rows is not None:
            values, user, item = values[rows], user[rows], item[rows]
        return sp.coo_matrix(
            (values, (user, item)), shape=(len(self.users), len(self.items))
        ).tocsr()

    def column(self, name: str) -> np.ndarray:
        """One ``interactions`` column as a NumPy array (clear error if it was not loaded)."""
        if name not in self.interactions.columns:
            raise ValueError(
                f"Column {name!r} of train_interactions was not loaded; add it to the generator's "
                "`columns` (recsys.candidates.base.CandidateGenerator) so the loader fetches it."
            )
        return self.interactions[name].to_numpy()

    def recent_positive_rows(self, n: int = 0) -> np.ndarray:
        """Row indices of ``interactions`` with ``target_events`` > 0, each user's ``n`` newest.

        Newest by ``last_target_ts``, ties by item id; ``n`` = 0 keeps every positive row.
        Sorted by user, then newest first (when ``n`` > 0).  One sort, no loop per user.
        """
        rows = np.flatnonzero(self.column("target_events") > 0)
        if n <= 0:
            return rows
        user, item = self.column("user")[rows], self.column("item")[rows]
        last = self.column("last_target_ts")[rows].astype(np.float64)
        order = np.lexsort((item, -last, user))  # per user: newest first, then item id
        rows, user = rows[order], user[order]
        return rows[run_positions(user) < n]

    def decayed_events(self, scale_seconds: float, base: float = 0.5, *,
                       from_user_last: bool = False) -> sp.csr_matrix:
        """users x items CSR of sum over events of ``base ** ((cut-off - t) / scale_seconds)``.

        With ``base=0.5`` the scale is a half-life; DecayPop uses ``base=0.9``. Pairs whose weight
        underflows to 0 stay as explicit entries (the user did interact with the item).
        ``from_user_last``: ages are measured from each user's last event instead of the cut-off
        (the official ItemKNN's profile): the same order within a user, and a user inactive for
        weeks before the cut-off keeps a profile at an hours-long scale instead of underflowing.
        """
        ev = self.events
        origin = self.history_end_ts
        if from_user_last:
            last = np.full(len(self.users), np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(last, ev.user, ev.timestamp)
            origin = last[ev.user]
        age = (origin - ev.timestamp).astype(np.float64)
        weights = np.power(float(base), age / float(scale_seconds))
        return sp.coo_matrix(
            (weights, (ev.user, ev.item)), shape=(len(self.users), len(self.items))
        ).tocsr()
