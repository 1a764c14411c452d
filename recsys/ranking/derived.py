"""Ratio features the ranker derives from ``candidate_features`` columns at read time.

Trees split on one column at a time, so a ratio of two columns (the share of a user's listens
that went to this item, the share of the user's listens that were repeats, an item's trend over
the last days) is hard for them to learn from the raw counts. Each derived feature is a SQL
expression over columns of the mart, all of them point-in-time (computed as of the fold's
cut-off), so the ratios are too. A derived feature is used only when all its inputs exist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Derived:
    """``numerator * scale / denominator`` (NULL when the denominator is 0 or NULL)."""

    numerator: str
    denominator: str
    scale: float = 1.0

    def inputs(self) -> tuple[str, str]:
        return (self.numerator, self.denominator)

    def sql(self, alias: str = "cf") -> str:
        num, den = (f'{alias}."{c}"' for c in self.inputs())
        return f"cast({num} as double) * {self.scale!r} / nullif(cast({den} as double), 0)"


DERIVED_FEATURES: dict[str, Derived] = {
    # share of the user's listens that went to this item (all time, decayed, last 7 / 30 days)
    "ui_listen_share": Derived("ui_listen_events", "user_listen_events"),
    "ui_decayed_listen_share": Derived("ui_decayed_listen_events", "user_decayed_listen_events"),
    "ui_listens_7d_share": Derived("ui_listens_7d", "user_listens_7d"),
    "ui_listens_30d_share": Derived("ui_listens_30d", "user_listens_30d"),
    # listens per distinct item: how much the user repeats (1 = never)
    "user_listens_per_item": Derived("user_listen_events", "user_distinct_items"),
    # item trend: daily rate over the last day / last 7 days, last 7 / last 30 days
    "item_trend_1d_7d": Derived("item_listens_1d", "item_listens_7d", 7.0),
    "item_trend_7d_30d": Derived("item_listens_7d", "item_listens_30d", 30.0 / 7.0),
    # share of the item's recent listens that came from this user
    "ui_item_listens_30d_share": Derived("ui_listens_30d", "item_listens_30d"),
}


def derivable(columns: Collection[str]) -> list[str]:
    """Derived feature names whose inputs are all among ``columns`` (in definition order)."""
    present = set(columns)
    return [name for name, d in DERIVED_FEATURES.items() if set(d.inputs()) <= present]
