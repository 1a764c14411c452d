"""Tiny hand-made marts with the contract's column names (5 users, 7 items, two folds)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from recsys.candidates.data import TrainData

FOLDS = {"val": (1_000, 1_000, 1_500), "test": (1_500, 1_500, 2_000)}  # history_end, start, end
UIDS = np.array([11, 22, 33, 44, 55], dtype=np.uint32)
ITEMS = np.array([101, 102, 103, 104, 105, 106, 107], dtype=np.uint32)
EMBED_DIM = 3


def make_events(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 120
    listens = pd.DataFrame({
        "uid": rng.choice(UIDS, n), "timestamp": rng.integers(0, 400, n).astype(np.uint32) * 5,
        "item_id": rng.choice(ITEMS, n, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05]),
        "is_organic": rng.integers(0, 2, n).astype(np.uint8),
        "played_ratio_pct": rng.choice([10, 50, 80, 100, 120], n).astype(np.uint16),
        "track_length_seconds": np.full(n, 180, dtype=np.uint32),
    })  # fmt: skip
    m = 25
    likes = pd.DataFrame({
        "uid": rng.choice(UIDS, m), "timestamp": rng.integers(0, 400, m).astype(np.uint32) * 5,
        "item_id": rng.choice(ITEMS, m), "is_organic": np.ones(m, dtype=np.uint8),
    }).drop_duplicates(["uid", "item_id"])  # fmt: skip
    dislikes = pd.DataFrame({
        "uid": np.array([11, 22], dtype=np.uint32), "timestamp": np.array([100, 200], dtype=np.uint32),
        "item_id": np.array([101, 107], dtype=np.uint32), "is_organic": np.ones(2, dtype=np.uint8),
    })  # fmt: skip
    return {"listens": listens, "likes": likes, "dislikes": dislikes}


def target_events(events: dict[str, pd.DataFrame], target: str) -> pd.DataFrame:
    if target == "listen_plus":
        listens = events["listens"]
        return listens[listens["played_ratio_pct"] >= 50][["uid", "item_id", "timestamp"]]
    return events["likes"][["uid", "item_id", "timestamp"]]


def train_interactions(events: dict[str, pd.DataFrame], fold: str, target: str) -> pd.DataFrame:
    cut = FOLDS[fold][0]
    before = {k: v[v["timestamp"] < cut] for k, v in events.items()}
    tev = target_events(before, target).copy()
    tev["decayed"] = 0.5 ** ((cut - tev["timestamp"].astype(float)) / (7 * 86_400))
    agg = tev.groupby(["uid", "item_id"]).agg(
        target_events=("timestamp", "size"), decayed_target_events=("decayed", "sum"),
        first_target_ts=("timestamp", "min"), last_target_ts=("timestamp", "max"),
    ).reset_index()  # fmt: skip
    disliked = before["dislikes"][["uid", "item_id"]].drop_duplicates().assign(is_disliked=1)
    rows = agg.merge(disliked, on=["uid", "item_id"], how="outer")
    listens = before["listens"]
    counts = listens.groupby(["uid", "item_id"]).agg(
        listen_events=("timestamp", "size"),
        listen_plus_events=("played_ratio_pct", lambda s: int((s >= 50).sum())),
    ).reset_index()  # fmt: skip
    liked = before["likes"][["uid", "item_id"]].drop_duplicates().assign(is_liked=1)
    rows = rows.merge(counts, on=["uid", "item_id"], how="left").merge(liked, on=["uid", "item_id"], how="left")
    rows = rows.fillna({"target_events": 0, "decayed_target_events": 0.0, "listen_events": 0,
                        "listen_plus_events": 0, "is_liked": 0, "is_disliked": 0})  # fmt: skip
    for col in ("target_events", "listen_events", "listen_plus_events", "is_liked", "is_disliked"):
        rows[col] = rows[col].astype(np.int64)
    rows.insert(0, "target", target)
    rows.insert(0, "fold", fold)
    return rows


def eval_targets(events: dict[str, pd.DataFrame], fold: str, target: str) -> pd.DataFrame:
    cut, start, end = FOLDS[fold]
    tev = target_events(events, target)
    history_users = tev[tev["timestamp"] < cut]["uid"].unique()
    window = tev[(tev["timestamp"] >= start) & (tev["timestamp"] < end) & tev["uid"].isin(history_users)]
    out = window.groupby(["uid", "item_id"]).agg(
        target_events=("timestamp", "size"), first_target_ts=("timestamp", "min")
    ).reset_index()
    out["is_organic"] = 1
    # 1 when the user had listened to the item before the cut-off (the mart's definition)
    listened = events["listens"][events["listens"]["timestamp"] < cut][["uid", "item_id"]]
    out = out.merge(listened.drop_duplicates().assign(is_repeat=1), on=["uid", "item_id"], how="left")
    out["is_repeat"] = out["is_repeat"].fillna(0).astype(np.int64)
    out.insert(0, "target", target)
    out.insert(0, "fold", fold)
    return out


def embeddings_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(ITEMS) - 1, EMBED_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return pd.DataFrame({"item_id": ITEMS[:-1], "normalized_embed": list(vectors)})  # 107: none


def groups_frame() -> pd.DataFrame:
    """Artists 1 (items 101-103), 2 (104, 105), 3 (106); albums 10 (101, 102), 11 (103),
    20 (104, 105), 30 (106); item 107 has neither."""
    return pd.DataFrame({"item_id": ITEMS[:-1], "artist": [1, 1, 1, 2, 2, 3],
                         "album": [10, 10, 11, 20, 20, 30]})


def train_data(fold: str = "val", target: str = "listen_plus", seed: int = 0) -> TrainData:
    events = make_events(seed)
    return TrainData.from_frames(
        train_interactions(events, fold, target), FOLDS[fold][0],
        events=target_events(events, target), embeddings=embeddings_frame(),
        groups=groups_frame(), fold=fold, target=target,
    )  # fmt: skip


def build_warehouse(path) -> None:
    """A DuckDB file holding the marts the candidate stage reads."""
    events = make_events()
    con = duckdb.connect(str(path))
    folds = pd.DataFrame(
        [(f, *b) for f, b in FOLDS.items()],
        columns=["fold", "history_end_ts", "target_start_ts", "target_end_ts"],
    )
    ti = pd.concat([train_interactions(events, f, t) for f in FOLDS for t in ("listen_plus", "like")])
    et = pd.concat([eval_targets(events, f, t) for f in FOLDS for t in ("listen_plus", "like")])
    emb = embeddings_frame()
    emb = pa.table({"item_id": pa.array(emb["item_id"], pa.uint32()),
                    "normalized_embed": pa.array([v.tolist() for v in emb["normalized_embed"]],
                                                 pa.list_(pa.float32()))})  # fmt: skip
    history = pd.concat([target_events(events, t).assign(target=t) for t in ("listen_plus", "like")])
    history = history[["target", "uid", "item_id", "timestamp"]]
    for name, frame in {"folds": folds, "train_interactions": ti, "eval_targets": et,
                        "history_events": history}.items():  # fmt: skip
        con.register("_f", frame)
        con.execute(f"create table {name} as select * from _f")
        con.unregister("_f")
    con.register("_f", emb)
    con.execute("create table item_embeddings as select * from _f")
    con.register("_f", groups_frame())
    con.execute("create table int_items_mapped as select item_id::uinteger as item_id, "
                "artist::uinteger as artist_id, album::uinteger as album_id from _f")
    con.close()
