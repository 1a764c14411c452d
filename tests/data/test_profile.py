"""The realism targets of the generator, asserted on tiny through ``recsys profile``."""

import json

import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.data.presets import (
    DISLIKE_RATE,
    LIKE_RATE,
    ORGANIC_SHARE,
    PRESETS,
    UNDISLIKE_SHARE,
    UNLIKE_SHARE,
)
from recsys.schema import TIMESTAMP_MAX

TINY = PRESETS["tiny"]


def test_counts_follow_the_public_proportions(tiny_profile):
    events = tiny_profile["events"]
    assert tiny_profile["users"] == TINY.users
    assert events["listens"]["events"] == TINY.listens
    assert events["likes"]["events"] == pytest.approx(TINY.listens * LIKE_RATE, rel=0.05)
    assert events["dislikes"]["events"] == pytest.approx(TINY.listens * DISLIKE_RATE, rel=0.07)
    assert events["unlikes"]["events"] == pytest.approx(events["likes"]["events"] * UNLIKE_SHARE, rel=0.07)
    assert events["undislikes"]["events"] == pytest.approx(
        events["dislikes"]["events"] * UNDISLIKE_SHARE, rel=0.1
    )
    assert tiny_profile["multi_event_rows"] == sum(e["events"] for e in events.values())


@pytest.mark.parametrize("name", ["listens", "likes", "dislikes", "unlikes", "undislikes"])
def test_organic_shares_near_public(tiny_profile, name):
    kind = name.removesuffix("s")
    assert tiny_profile["events"][name]["organic_share"] == pytest.approx(ORGANIC_SHARE[kind], abs=0.03)


def test_history_lengths_are_long_tailed(tiny_profile):
    for name, min_ratio in (("listens", 2.5), ("likes", 3.0), ("dislikes", 3.0)):
        e = tiny_profile["events"][name]
        assert e["history_p90"] / e["history_median"] > min_ratio, name
        assert e["history_p95"] > e["history_p90"]


def test_listening_behaviour(tiny_profile):
    listens = tiny_profile["listens"]
    assert 0.3 < listens["repeat_listen_ratio"] < 0.8  # tiny: 0.42 (users.DISTINCT_SHARE)
    assert 0.01 < listens["played_over_100_share"] < 0.1
    assert 0.4 < listens["listen_plus_share"] < 0.8  # tiny: 0.49 (more discoveries, more skips)
    assert listens["off_grid_timestamps"] == 0
    assert listens["min_timestamp"] >= 0 and listens["max_timestamp"] <= TIMESTAMP_MAX
    assert listens["max_timestamp"] > TIMESTAMP_MAX - 86_400  # events up to the last day


def test_item_popularity_has_a_long_tail(tiny_profile):
    catalogue = tiny_profile["catalogue"]
    assert catalogue["items_with_1_2_events_share"] > 0.2
    assert tiny_profile["listens"]["top_1pct_items_listen_share"] > 0.1  # 1% of items, >10% of plays
    assert catalogue["embedding_coverage"] == pytest.approx(7.72 / 9.39, abs=0.02)
    assert catalogue["artists"] < catalogue["albums"] < catalogue["items"]


def test_both_folds_can_be_evaluated(tiny_profile):
    for fold, f in tiny_profile["folds"].items():
        assert f["listen_plus_users"] >= 100, fold
        assert f["like_users"] >= 20, fold
        assert 0.5 < f["listen_plus_seen_share"] < 0.95, fold  # repeats and discoveries


def test_models_have_signal_to_find(tiny_profile):
    """Own history > decayed popularity > plain popularity on the test fold (Listen+). The
    charts' lasting hits make the two popularities close in the first ten places (the paper's
    50m Recall@10: DecayPop 0.0122, MostPop 0.0064; on tiny's 181 users they swap), so their
    order is checked at 100."""
    for k, sig in tiny_profile["signals"].items():
        assert sig["history_recall"] > max(sig["decay_pop_recall"], sig["most_pop_recall"]), k
    at_100 = tiny_profile["signals"]["recall@100"]
    assert at_100["decay_pop_recall"] > at_100["most_pop_recall"]


def test_cli_prints_table_and_json(tiny_dataset):
    runner = CliRunner()
    table = runner.invoke(main, ["profile", str(tiny_dataset), "--size", "tiny"])
    assert table.exit_code == 0, table.output
    assert "listens" in table.output and "listen+ users" in table.output
    as_json = runner.invoke(main, ["profile", str(tiny_dataset), "--size", "tiny", "--json"])
    assert json.loads(as_json.output)["users"] == TINY.users


def test_cli_profile_of_invalid_data_fails(tmp_path):
    result = CliRunner().invoke(main, ["profile", str(tmp_path), "--size", "tiny"])
    assert result.exit_code != 0 and "flat/tiny/listens.parquet: file is missing" in result.output
