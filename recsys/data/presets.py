"""Size presets of the Yambda-schema generator and the public ratios they imitate.

Counts for ``50m`` are the paper's (arXiv 2505.22238, table 1). Unlikes and undislikes have no
published totals; we use the ratio of the published per-user medians (5b): unlikes 15 / likes 45
= 1/3 of likes, undislikes 3 / dislikes 4 = 3/4 of dislikes. ``small`` is 1/10 of ``50m`` in users
and events; items shrink like the public sizes do (distinct items grow about as users^0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from recsys.config import GENERATED_SIZES
from recsys.errors import ConfigError

# the paper's totals per public size (table 1)
PAPER_COUNTS = {
    "50m": {"users": 10_000, "items": 934_057, "listens": 46_467_212, "likes": 881_456,
            "dislikes": 107_776},
    "500m": {"users": 100_000, "items": 3_004_578, "listens": 466_512_103, "likes": 9_033_960,
             "dislikes": 1_128_113},
    "5b": {"users": 1_000_000, "items": 9_390_623, "listens": 4_649_567_411,
           "likes": 89_334_605, "dislikes": 11_579_143},
}
# per-user history length, median / p90 / p95, as the paper gives it (5b: listens per user are
# alike at every size, 4,647 on average at 50m and 4,650 at 5b)
PAPER_HISTORY = {"listens": (3_076, 12_956, 17_030), "likes": (45, 269, 409),
                 "dislikes": (4, 30, 60), "unlikes": (15, 111, 201), "undislikes": (3, 14, 22)}

# public 50m totals
LISTENS_50M = PAPER_COUNTS["50m"]["listens"]
LIKES_50M = PAPER_COUNTS["50m"]["likes"]
DISLIKES_50M = PAPER_COUNTS["50m"]["dislikes"]
ITEMS_50M = PAPER_COUNTS["50m"]["items"]
LIKE_RATE = LIKES_50M / LISTENS_50M  # likes per listen
DISLIKE_RATE = DISLIKES_50M / LISTENS_50M  # dislikes per listen
UNLIKE_SHARE = 15 / 45  # unlikes per like (ratio of per-user medians)
UNDISLIKE_SHARE = 3 / 4  # undislikes per dislike (ratio of per-user medians)

# share of events that are organic (1 - share of recommendation-driven events, 5b)
ORGANIC_SHARE = {"listen": 0.513, "like": 0.577, "dislike": 0.515, "unlike": 0.950, "undislike": 0.902}


@dataclass(frozen=True)
class SizePreset:
    """What one generated size contains.

    Attributes
    ----------
    name : preset name (also the ``flat/<name>`` folder).
    users : number of users.
    listens : total listens (exact).
    catalogue_items : items in the root files (a seed's first items); most receive events (50m:
        ~90%, calibrated so 50m has ~934k items with events; small ~40%, tiny ~75%).
    chunk_users : users generated and written per chunk (bounds memory; part of the seed stream).
    """

    name: str
    users: int
    listens: int
    catalogue_items: int
    chunk_users: int

    @property
    def likes(self) -> int:
        return round(self.listens * LIKE_RATE)

    @property
    def dislikes(self) -> int:
        return round(self.listens * DISLIKE_RATE)


PRESETS: dict[str, SizePreset] = {
    "tiny": SizePreset("tiny", users=400, listens=1_000_000, catalogue_items=60_000, chunk_users=400),
    "small": SizePreset("small", users=1_000, listens=4_646_721, catalogue_items=800_000, chunk_users=500),
    "50m": SizePreset("50m", users=10_000, listens=LISTENS_50M, catalogue_items=1_180_000, chunk_users=500),
    # the public 500m counts; chunks as big as 50m's, so memory does not grow with the users
    "500m": SizePreset("500m", users=PAPER_COUNTS["500m"]["users"],
                       listens=PAPER_COUNTS["500m"]["listens"], catalogue_items=3_200_000,
                       chunk_users=500),
}
assert tuple(PRESETS) == GENERATED_SIZES


def get_preset(size: str) -> SizePreset:
    """The preset called ``size``; a ``ConfigError`` naming the valid ones otherwise."""
    try:
        return PRESETS[size]
    except KeyError:
        raise ConfigError(
            f"Cannot generate size {size!r}: the generator knows {', '.join(PRESETS)}. "
            "Real sizes (50m, 500m, 5b) come from `recsys download`."
        ) from None
