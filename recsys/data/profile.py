"""``recsys profile``: the statistics the Yambda paper publishes, computed with DuckDB over parquet.

The queries live in ``sql/analysis/profile_*.sql`` (they run unchanged in the DuckDB shell with
the parameters set), so generated and real data can be compared side by side.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from recsys.config import SQL_DIR
from recsys.data.validate import require_valid_dataset
from recsys.protocol import TEST_FOLD, fold_bounds, listen_plus_threshold

EVENT_NAMES = ("listens", "likes", "dislikes", "unlikes", "undislikes")
SIGNAL_KS = (10, 100)
SIGNAL_HALF_LIFE_HOURS = 24


def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> dict:
    sql = (SQL_DIR / "analysis" / f"{name}.sql").read_text()
    cur = con.execute(sql, params)
    row = cur.fetchone()
    return {d[0]: _plain(v) for d, v in zip(cur.description, row, strict=True)}


def _plain(value):
    """A JSON-friendly Python scalar (DuckDB may hand back numpy or Decimal values)."""
    if hasattr(value, "item"):
        return value.item()
    if value is not None and not isinstance(value, int | float | str):
        return float(value)
    return value


def profile_dataset(root: Path | str, size: str) -> dict:
    """Profile the dataset ``root`` for ``size`` (validated first).

    Returns
    -------
    dict with keys ``users``, ``items``, ``events`` (per file: events, users, items, organic_share,
    history_median/p90/p95), ``listens`` (repeat_listen_ratio, listen_plus_share,
    played_over_100_share, min/max_timestamp, off_grid_timestamps, top_1pct_items_listen_share),
    ``catalogue`` (items_with_1_2_events_share, embedding_coverage, artists, albums, ...) and
    ``folds`` (per fold: listen_plus_users/pairs, like_users/pairs, listen_plus_seen_share) and
    ``signals`` (test fold Listen+ Recall@k of MostPop, DecayPop and the user's own history).
    """
    root = Path(root)
    require_valid_dataset(root, size)
    flat = root / "flat" / size
    paths = {name: str(flat / f"{name}.parquet") for name in (*EVENT_NAMES, "multi_event")}
    con = duckdb.connect()
    try:
        events = {name: _query(con, "profile_events", {"path": paths[name]}) for name in EVENT_NAMES}
        listens = _query(con, "profile_listens", {"path": paths["listens"],
                                                  "listen_plus_threshold": listen_plus_threshold()})
        catalogue = _query(
            con,
            "profile_items",
            {
                "multi_event": paths["multi_event"],
                "embeddings": str(root / "embeddings.parquet"),
                "artists": str(root / "artist_item_mapping.parquet"),
                "albums": str(root / "album_item_mapping.parquet"),
            },
        )
        users = con.execute(
            "select count(distinct uid) from read_parquet($p)", {"p": paths["multi_event"]}
        ).fetchone()[0]
        multi_event_rows = con.execute(
            "select count(*) from read_parquet($p)", {"p": paths["multi_event"]}
        ).fetchone()[0]
        folds = {
            fold: _query(
                con,
                "profile_folds",
                {
                    "listens": paths["listens"],
                    "likes": paths["likes"],
                    "multi_event": paths["multi_event"],
                    "history_end": bounds[0],
                    "target_start": bounds[1],
                    "target_end": bounds[2],
                    "listen_plus_threshold": listen_plus_threshold(),
                },
            )
            for fold, bounds in fold_bounds().items()
        }
        test_bounds = fold_bounds()[TEST_FOLD]
        signals = {
            f"recall@{k}": _query(
                con,
                "profile_signals",
                {
                    "listens": paths["listens"],
                    "multi_event": paths["multi_event"],
                    "history_end": test_bounds[0],
                    "target_start": test_bounds[1],
                    "target_end": test_bounds[2],
                    "listen_plus_threshold": listen_plus_threshold(),
                    "half_life_hours": SIGNAL_HALF_LIFE_HOURS,
                    "k": k,
                },
            )
            for k in SIGNAL_KS
        }
    finally:
        con.close()
    return {
        "root": str(root),
        "size": size,
        "users": users,
        "items": catalogue["items"],
        "multi_event_rows": multi_event_rows,
        "events": events,
        "listens": listens,
        "catalogue": catalogue,
        "folds": folds,
        "signals": signals,
    }


def format_profile(profile: dict) -> str:
    """A plain-text table of ``profile_dataset``'s result."""
    lines = [
        f"dataset {profile['root']} ({profile['size']})",
        f"users {profile['users']:,}   items with events {profile['items']:,}   "
        f"multi_event rows {profile['multi_event_rows']:,}",
        "",
        f"{'events':<11}{'count':>13}{'users':>8}{'items':>10}{'organic':>9}"
        f"{'median':>9}{'p90':>9}{'p95':>9}",
    ]
    for name, e in profile["events"].items():
        lines.append(
            f"{name:<11}{e['events']:>13,}{e['users']:>8,}{e['items']:>10,}"
            f"{_num(e['organic_share'], '.1%'):>9}{_num(e['history_median'], ',.0f'):>9}"
            f"{_num(e['history_p90'], ',.0f'):>9}{_num(e['history_p95'], ',.0f'):>9}"
        )
    lines.append("")
    for section in ("listens", "catalogue"):
        for key, value in profile[section].items():
            lines.append(f"{section}.{key:<32}{_num(value, ',.4g')}")
    lines.append("")
    lines.append(f"{'fold':<6}{'listen+ users':>15}{'pairs':>10}{'like users':>12}{'pairs':>8}{'seen share':>12}")
    for fold, f in profile["folds"].items():
        lines.append(
            f"{fold:<6}{f['listen_plus_users']:>15,}{f['listen_plus_pairs']:>10,}"
            f"{f['like_users']:>12,}{f['like_pairs']:>8,}{_num(f['listen_plus_seen_share'], '.1%'):>12}"
        )
    lines.append("")
    lines.append(f"test fold Listen+ {'most_pop':>10}{'decay_pop':>11}{'history':>9}")
    for name, sig in profile["signals"].items():
        lines.append(
            f"{name:<18}{_num(sig['most_pop_recall'], '.4f'):>10}"
            f"{_num(sig['decay_pop_recall'], '.4f'):>11}{_num(sig['history_recall'], '.4f'):>9}"
        )
    return "\n".join(lines)


def _num(value, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and "%" not in fmt:
        return f"{value:,}"
    return format(value, fmt)
