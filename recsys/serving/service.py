"""The models a server answers with, loaded once: every request is a lookup and a top-n.

``Service.load`` reads the warehouse once, read-only, and closes it: for each target it loads
the evaluated fold's training data (``train_interactions`` and what the generators read, as of
that fold's cut-off) and fits every served generator with the parameters ``recsys evaluate``
used (tuned on val, ``recsys.candidates.tuned.resolve_params``) and the config's seed. A fitted
generator is deterministic, so a user's served list is the list the offline ``recommendations``
table holds for them (the first ``n`` of its top-k). A request then only scores one user (or one
item) against the fitted model; nothing reads the warehouse again, so a running server never
holds the file a build writes.

Users the fold's history does not know get the popularity fallback (DecayPop) and
``Answer.fallback`` says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys import state
from recsys.candidates import store
from recsys.candidates.base import CandidateGenerator
from recsys.candidates.next_song import TABLE as NEXT_SONG_TABLE
from recsys.candidates.next_song import NextSongModel
from recsys.candidates.registry import make_generator
from recsys.candidates.runner import fold_data_loader
from recsys.candidates.tuned import data_hash, resolve_params
from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.errors import ConfigError
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.protocol import TEST_FOLD
from recsys.ranking.ranker import model_dir
from recsys.sections.generators import check_models
from recsys.serving.ann import MIN_ITEMS, ItemIndex
from recsys.serving.catalogue import SEARCH_KINDS, Catalogue, Histories
from recsys.serving.two_stage import ServedRanker
from recsys.warehouse import open_warehouse, require_tables, table_exists

# the model that answers a user the fold's history does not know
FALLBACK = "decaypop"
MAX_N = 1000
MAX_SESSION = 1000  # the longest listening session POST /next takes


class ServingError(ValueError):
    """A request that cannot be answered; ``status`` is the HTTP status it deserves."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Answer:
    """One list: ``items`` as ``(item_id, score)`` in rank order, and who answered."""

    model: str
    target: str
    items: list[tuple[int, float]]
    fallback: bool = False  # a user unknown to the fold's history: popularity answered
    retrieval: str = "exact"  # "ann": an approximate nearest-neighbour index answered


@dataclass
class Service:
    """Fitted generators per (target, model) of one fold, ready for requests."""

    fold: str
    history_end_ts: int  # the cut-off every served model and feature is as of
    build: str | None  # the warehouse build the models were fitted on
    models: dict[str, dict[str, CandidateGenerator]]  # target -> model -> fitted generator
    params: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # lists are drawn this long and cut to n (candidates.top_n: what the offline lists are cut
    # from), so a list whose draw depends on its length (random) is the offline one too
    depth: int = 1
    # target -> two-stage model name -> its saved ranker over the fold's candidate rows
    rankers: dict[str, dict[str, ServedRanker]] = field(default_factory=dict)
    # the next-song model of the fold (None: the warehouse has no next_song_transitions)
    next_song: NextSongModel | None = None
    # the fold's tracks and users' listens before the cut-off (the web page's search and marks)
    catalogue: Catalogue | None = None
    histories: Histories | None = None
    # target -> model -> the ANN index answering its similar items (recsys.serving.ann)
    indexes: dict[str, dict[str, ItemIndex]] = field(default_factory=dict)
    # target -> model -> the ANN index answering its user recommendations (empty: exact)
    user_indexes: dict[str, dict[str, ItemIndex]] = field(default_factory=dict)
    # a request that sets exclude_seen changes the generator's parameter while it runs
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, settings: Settings, config: PipelineConfig | dict, *,
             models: Sequence[str] | None = None, targets: Sequence[str] = TARGETS,
             fold: str = TEST_FOLD, two_stage: bool = True, ann: bool | None = None,
             ann_users: bool = False,
             on_fitted: Callable[[str, str], None] | None = None) -> Service:
        """Fit ``models`` (default ``candidates.models``; DecayPop always, as the fallback) on
        ``fold``'s history for each target; with ``two_stage``, also load every two-stage model
        of the config whose ranker is saved (``reports/ranker/<name>/<target>``) with the fold's
        candidate rows. ``ann``: similar items of the models with item vectors from an ANN
        index (None: for those with at least ``ann.MIN_ITEMS`` items; False: always exact);
        ``ann_users``: user recommendations of the models that score by a dot product (ials,
        bpr, audio) from an ANN index too (default exact: the offline lists).
        ``on_fitted(target, model)`` after each model is ready."""
        config = as_config(config)
        names = check_models([*(models if models is not None else config.candidates.models),
                              FALLBACK])
        unknown = [t for t in targets if t not in TARGETS]
        if unknown:
            raise ConfigError(f"Unknown target(s) {', '.join(unknown)}; use {', '.join(TARGETS)}.")
        digest = data_hash(settings)
        fitted: dict[str, dict[str, CandidateGenerator]] = {}
        params: dict[str, dict[str, dict[str, Any]]] = {}
        rankers: dict[str, dict[str, ServedRanker]] = {}
        with open_warehouse(settings, read_only=True) as con:
            con.execute("set enable_progress_bar = false")  # DuckDB's bar would go to stdout
            require_tables(con, Tables.folds, Tables.train_interactions, Tables.eval_targets)
            cutoff = store.history_end(con, fold)
            build = state.current_build(con)
            for target in targets:
                data = fold_data_loader(con, config, names, target)(fold)
                fitted[target], params[target] = {}, {}
                for name in names:
                    chosen = resolve_params(con, config, target, name, digest)
                    fitted[target][name] = make_generator(
                        name, seed=config.seed, params=chosen).fit(data)
                    params[target][name] = dict(fitted[target][name].params)
                    if on_fitted is not None:
                        on_fitted(target, name)
                rankers[target] = {}
                saved = [r.two_stage_name for r in config.rankers
                         if (model_dir(settings, r.two_stage_name) / f"{target}.txt").is_file()]
                if two_stage and saved:
                    require_tables(con, Tables.candidate_features)
                for name in saved if two_stage else []:
                    rankers[target][name] = ServedRanker.load(
                        con, settings, name, target, fold, config.ranker.top_k)
                    if on_fitted is not None:
                        on_fitted(target, name)
            next_song = NextSongModel.from_warehouse(con, fold) \
                if table_exists(con, NEXT_SONG_TABLE) else None
            histories = Histories.load(con, fold)  # one read; the catalogue counts its items
            catalogue = Catalogue.from_histories(histories, store.load_item_groups(con))
        indexes = {target: _indexes(models, ann, config.seed) for target, models in fitted.items()}
        user_indexes = {target: _user_indexes(models, indexes[target], config.seed)
                        if ann_users else {} for target, models in fitted.items()}
        return cls(fold, cutoff, build, fitted, params, depth=config.candidates.top_n,
                   rankers=rankers, next_song=next_song, catalogue=catalogue,
                   histories=histories, indexes=indexes, user_indexes=user_indexes)

    def __getstate__(self) -> dict:  # a snapshot: the lock is made anew when read back
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ---- requests ---------------------------------------------------------------------------
    def recommend(self, uid: int, *, model: str, target: str = TARGETS[0], n: int = 10,
                  exclude_seen: bool | None = None) -> Answer:
        """User ``uid``'s top ``n`` of ``model``; ``exclude_seen`` None = the model's setting."""
        if model in self.rankers.get(target, {}):
            n = _check_n(n)
            items = self.rankers[target][model].recommend(uid, n, bool(exclude_seen))
            if items is not None:
                return Answer(model, target, items)
            model = FALLBACK  # a user without candidates on this fold
        generator = self._generator(model, target)
        n = _check_n(n)
        users = np.array([uid], dtype=np.uint32)
        known = generator.data.users.to_internal(users)[0] >= 0
        if not known:
            generator, model = self.models[target][FALLBACK], FALLBACK
        index = self.user_indexes.get(target, {}).get(model)
        if index is not None:
            return Answer(model, target, _retrieve(generator, index, uid, n, exclude_seen),
                          retrieval="ann")
        try:
            if exclude_seen is None:
                frame = generator.recommend_frame(users, max(n, self.depth))
            else:  # sets the generator's exclude_seen while it runs: one request at a time
                with self._lock:
                    frame = generator.recommend_frame(users, max(n, self.depth),
                                                      exclude_seen=exclude_seen)
        except ConfigError as exc:  # exclude_seen asked of a model that cannot
            raise ServingError(str(exc)) from None
        return Answer(model, target, _pairs(frame.head(n)), fallback=not known)

    def similar(self, item_id: int, *, model: str, target: str = TARGETS[0], n: int = 10
                ) -> Answer:
        """The ``n`` items nearest ``item_id`` by ``model``'s item representation."""
        generator = self._generator(model, target)
        n = _check_n(n)
        internal = int(generator.data.items.to_internal(np.array([item_id], dtype=np.uint32))[0])
        if internal < 0:
            raise ServingError(f"Item {item_id} has no {target} history before the cut-off of "
                               f"fold {self.fold}; ask for an item users played.", status=404)
        index = self.indexes.get(target, {}).get(model)
        if index is not None:
            columns, scores = index.nearest(internal, n)
            items = generator.data.items.to_external(columns).astype(int).tolist()
            return Answer(model, target, list(zip(items, scores.astype(float).tolist(),
                                                  strict=True)), retrieval="ann")
        try:
            frame = generator.similar_items(item_id, n)
        except ConfigError as exc:  # a model without item similarity
            raise ServingError(str(exc)) from None
        return Answer(model, target, _pairs(frame))

    def next(self, items: Sequence[int], n: int = 10) -> Answer:
        """The ``n`` songs to follow a listening session (``items``, most recent last)."""
        n = _check_n(n)
        if not 1 <= len(items) <= MAX_SESSION:
            raise ServingError(f"items must hold 1 to {MAX_SESSION} item ids (a listening "
                               f"session, most recent last), got {len(items)}.")
        if self.next_song is None:
            raise ServingError(f"The warehouse has no {NEXT_SONG_TABLE}: build it (`recsys build`) "
                               "and restart the server.", status=404)
        return Answer("next_song", "listen", self.next_song.next(items, n))

    def history(self, uid: int, n: int = 50) -> Answer:
        """User ``uid``'s ``n`` most listened items before the cut-off (score: listens)."""
        n = _check_n(n)
        found = None if self.histories is None else self.histories.of(uid)
        if found is None:
            raise ServingError(f"User {uid} has no listens before the cut-off of fold "
                               f"{self.fold}; ask for a user of the dataset.", status=404)
        items, listens = found
        return Answer("listens", "listen_plus",
                      list(zip(items[:n].tolist(), listens[:n].astype(float).tolist(), strict=True)))

    def search(self, query: int | None, by: str | None = None, n: int = 20) -> list[dict]:
        """Tracks whose item, artist or album id is ``query`` (``by`` one of those kinds), most
        listeners first; no query: the most listened tracks."""
        n = _check_n(n)
        if by is not None and by not in SEARCH_KINDS:
            raise ServingError(f"by must be one of {', '.join(SEARCH_KINDS)} (or left out: "
                               f"all three), got {by!r}.")
        return [] if self.catalogue is None else self.catalogue.search(query, by, n)

    def tracks(self, item_ids: Sequence[int]) -> list[dict]:
        """Artist, album and listeners of each of ``item_ids`` (at most :data:`MAX_N`)."""
        if not 1 <= len(item_ids) <= MAX_N:
            raise ServingError(f"ids must hold 1 to {MAX_N} item ids, got {len(item_ids)}.")
        if self.catalogue is None:
            return [Catalogue.unknown(i) for i in item_ids]
        return self.catalogue.tracks(item_ids)

    def describe(self) -> dict[str, Any]:
        """What is loaded: fold, cut-off, build, and per target each model with its parameters."""
        return {"fold": self.fold, "history_end_ts": self.history_end_ts, "build": self.build,
                "fallback": FALLBACK,
                "tracks": 0 if self.catalogue is None else len(self.catalogue),
                # a user with listens before the cut-off, for a first request
                "example_user": None if self.histories is None or not len(self.histories.uids)
                else int(self.histories.uids[0]),
                "next_song": None if self.next_song is None else {
                    "items": len(self.next_song.items),
                    "transitions": int(self.next_song.transitions.nnz)},
                "targets": {t: {**{m: {"params": self.params[t][m],
                                       "users": len(g.data.users), "items": len(g.data.items),
                                       # items in the ANN index answering /similar (None: exact)
                                       "ann_items": len(self.indexes[t][m])
                                       if m in self.indexes.get(t, {}) else None,
                                       # items in the ANN index answering its users (None: exact)
                                       "user_ann_items": len(self.user_indexes[t][m])
                                       if m in self.user_indexes.get(t, {}) else None}
                                   for m, g in models.items()},
                                **{m: {"features": len(r.ranker.feature_names),
                                       "users": len(r.uids), "candidate_rows": r.rows,
                                       "discovery_slots": r.slots}
                                   for m, r in self.rankers.get(t, {}).items()}}
                            for t, models in self.models.items()}}

    def served(self, target: str) -> list[str]:
        """Model names a request for ``target`` may ask for: two-stage models first."""
        return [*self.rankers.get(target, {}), *self.models.get(target, {})]

    def _generator(self, model: str, target: str) -> CandidateGenerator:
        if target not in self.models:
            raise ServingError(f"Unknown target {target!r}; this server answers "
                               f"{', '.join(self.models)}.")
        if model not in self.models[target]:
            raise ServingError(f"Unknown model {model!r}; this server answers "
                               f"{', '.join(self.served(target))}.")
        return self.models[target][model]


def _indexes(models: dict[str, CandidateGenerator], ann: bool | None, seed: int
             ) -> dict[str, ItemIndex]:
    """An ANN index per model with item vectors: all of them (``ann`` True), those with at
    least ``MIN_ITEMS`` vectors (None) or none (False)."""
    out = {}
    for name, generator in models.items() if ann is not False else ():
        vectors = generator.similarity_vectors()
        if vectors is not None and len(vectors[0]) > 1 and (ann or len(vectors[0]) >= MIN_ITEMS):
            out[name] = ItemIndex.build(*vectors, seed=seed)
    return out


def _user_indexes(models: dict[str, CandidateGenerator], similar: dict[str, ItemIndex],
                  seed: int) -> dict[str, ItemIndex]:
    """An ANN index over the retrieval vectors of each model that has them (the similar-items
    index where the vectors are the same, as audio's unit embeddings are)."""
    out = {}
    for name, generator in models.items():
        vectors = generator.retrieval_vectors()
        if vectors is None or len(vectors[0]) < 2:
            continue
        same = name in similar and similar[name].vectors is vectors[1]
        out[name] = similar[name] if same else ItemIndex.build(*vectors, seed=seed)
    return out


def _retrieve(generator: CandidateGenerator, index: ItemIndex, uid: int, n: int,
              exclude_seen: bool | None) -> list[tuple[int, float]]:
    """User ``uid``'s top ``n`` by the index: the items with the largest inner product with the
    user's vector, the user's own items left out when ``exclude_seen`` (None: the model's)."""
    user = int(generator.data.users.to_internal(np.array([uid], dtype=np.uint32))[0])
    vector = generator.user_vector(user)
    if vector is None:
        return []
    exclude = generator.params.get("exclude_seen") if exclude_seen is None else exclude_seen
    own = generator.own_items(user) if exclude else np.empty(0, dtype=np.int64)
    columns, scores = index.search(vector, n + len(own))
    keep = ~np.isin(columns, own)
    items = generator.data.items.to_external(columns[keep][:n]).astype(int).tolist()
    return list(zip(items, scores[keep][:n].astype(float).tolist(), strict=True))


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_N:
        raise ServingError(f"n must be an integer between 1 and {MAX_N}, got {n!r}.")
    return int(n)


def _pairs(frame) -> list[tuple[int, float]]:
    return list(zip(frame["item_id"].astype(int).tolist(), frame["score"].astype(float).tolist(),
                    strict=True))
