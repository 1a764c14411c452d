import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from recsys.data.catalogue import build_catalogue
from recsys.data.generate import META_KEY, _plan_root_files, generate_dataset
from recsys.data.presets import PRESETS
from recsys.errors import ConfigError
from recsys.schema import EVENT_FILES, EVENT_TYPES, ROOT_FILES, TIMESTAMP_MAX

FLAT = Path("flat/tiny")


def _events(root: Path, name: str):
    return pq.read_table(root / FLAT / f"{name}.parquet")


def test_layout_and_no_leftover_temp_folders(tiny_dataset):
    assert sorted(p.name for p in (tiny_dataset / FLAT).iterdir()) == sorted(EVENT_FILES)
    assert sorted(p.name for p in tiny_dataset.iterdir()) == sorted([*ROOT_FILES, "flat"])


def test_preset_totals(tiny_dataset):
    listens = _events(tiny_dataset, "listens")
    assert listens.num_rows == PRESETS["tiny"].listens
    assert len(pc.unique(listens["uid"])) == PRESETS["tiny"].users


def test_timestamps_on_grid_and_in_range_and_sorted(tiny_dataset):
    for name in ("listens", "likes", "multi_event"):
        table = _events(tiny_dataset, name)
        ts = table["timestamp"].to_numpy()
        assert ts.max() <= TIMESTAMP_MAX and (ts % 5 == 0).all(), name
        key = table["uid"].to_numpy().astype(np.int64) * 2**32 + ts
        assert (np.diff(key) >= 0).all(), f"{name} is not sorted by uid, timestamp"


def test_ids_are_sparse(tiny_dataset):
    uid = np.unique(_events(tiny_dataset, "listens")["uid"].to_numpy())
    items = pq.read_table(tiny_dataset / "artist_item_mapping.parquet")
    item_id = items["item_id"].to_numpy()
    assert uid.max() > 2 * len(uid) and item_id.max() > 2 * len(item_id)
    assert len(np.unique(item_id)) == len(item_id)
    assert pc.all(pc.is_in(_events(tiny_dataset, "listens")["item_id"], items["item_id"])).as_py()


def test_multi_event_is_the_union_of_the_event_files(tiny_dataset):
    multi = _events(tiny_dataset, "multi_event")
    kinds = pc.value_counts(multi["event_type"].combine_chunks().dictionary_decode()).to_pylist()
    counts = {k["values"]: k["counts"] for k in kinds}
    singular = {"listens": "listen", "likes": "like", "dislikes": "dislike", "unlikes": "unlike",
                "undislikes": "undislike"}
    for name, kind in singular.items():
        assert counts[kind] == _events(tiny_dataset, name).num_rows
    assert multi.schema.field("event_type").type.value_type == "string"
    assert multi["event_type"].chunk(0).dictionary.to_pylist() == list(EVENT_TYPES)
    non_listen = pc.not_equal(multi["event_type"].combine_chunks().dictionary_decode(), "listen")
    assert multi.filter(non_listen)["played_ratio_pct"].null_count == multi.filter(non_listen).num_rows


def test_embeddings_cover_most_items_and_are_unit_norm(tiny_dataset):
    emb = pq.read_table(tiny_dataset / "embeddings.parquet")
    n_items = pq.read_metadata(tiny_dataset / "artist_item_mapping.parquet").num_rows
    assert 0.79 < emb.num_rows / n_items < 0.85
    first = np.array(emb["normalized_embed"][0].as_py())
    raw = np.array(emb["embed"][0].as_py())
    assert first.shape == (128,) and abs(np.linalg.norm(first) - 1) < 1e-5
    assert abs(np.linalg.norm(raw) - 1) > 1e-3
    np.testing.assert_allclose(first, raw / np.linalg.norm(raw), atol=1e-6)


def test_audio_neighbours_share_artists(tiny_dataset):
    """Embeddings carry signal: an item's nearest audio neighbour is often by the same artist."""
    emb = pq.read_table(tiny_dataset / "embeddings.parquet").slice(0, 3000)
    vectors = np.array(emb["normalized_embed"].to_pylist(), dtype=np.float32)
    artists = pq.read_table(tiny_dataset / "artist_item_mapping.parquet").to_pandas().set_index("item_id")
    artist = artists.loc[emb["item_id"].to_numpy(), "artist_id"].to_numpy()
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -2)
    same = (artist[sims.argmax(axis=1)] == artist).mean()
    shuffled = (artist[np.random.default_rng(0).permutation(len(artist))] == artist).mean()
    assert same > 0.3 > 10 * shuffled


def test_same_seed_same_bytes(tiny_dataset, tmp_path):
    again = generate_dataset(tmp_path / "again", "tiny", seed=42)
    assert again.root_files_written
    for name in [*(f"flat/tiny/{n}" for n in EVENT_FILES), *ROOT_FILES]:
        assert (tmp_path / "again" / name).read_bytes() == (tiny_dataset / name).read_bytes(), name


def test_catalogue_is_prefix_stable_and_seeded():
    small, big = build_catalogue(5, 5_000), build_catalogue(5, 9_000)
    for field in ("item_id", "artist_id", "album_id", "weight", "release_ts", "factor"):
        np.testing.assert_array_equal(getattr(small, field), getattr(big, field)[:5_000])
    assert not np.array_equal(build_catalogue(6, 5_000).weight, small.weight)


def _fake_root_files(root: Path, seed: int, items: int) -> None:
    meta = {META_KEY: json.dumps({"seed": seed, "catalogue_items": items}).encode()}
    for name, schema in ROOT_FILES.items():
        pq.write_table(schema.with_metadata(meta).empty_table(), root / name)


def test_root_files_of_another_seed_are_kept_unless_forced(tmp_path):
    _fake_root_files(tmp_path, seed=1, items=10**9)
    with pytest.raises(ConfigError, match="--force"):
        generate_dataset(tmp_path, "tiny", seed=42)
    assert not (tmp_path / "flat" / "tiny" / "listens.parquet").exists()
    assert _plan_root_files(tmp_path, seed=42, n_items=100, force=True) == 100


def test_root_files_of_the_same_seed_are_kept_or_grown(tmp_path):
    _fake_root_files(tmp_path, seed=42, items=1_000)
    assert _plan_root_files(tmp_path, seed=42, n_items=1_000, force=False) is None
    assert _plan_root_files(tmp_path, seed=42, n_items=500, force=False) is None
    assert _plan_root_files(tmp_path, seed=42, n_items=2_000, force=False) == 2_000
    (tmp_path / "embeddings.parquet").unlink()  # incomplete root: refuse
    with pytest.raises(ConfigError):
        _plan_root_files(tmp_path, seed=42, n_items=1_000, force=False)
    assert _plan_root_files(tmp_path / "empty", seed=42, n_items=7, force=False) == 7


def test_unknown_size_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="tiny, small, 50m"):
        generate_dataset(tmp_path, "huge")


def test_the_500m_preset_has_the_public_counts_and_fits_the_sort_keys():
    from recsys.data.events import ITEM_BITS
    from recsys.data.presets import PAPER_COUNTS

    preset, public = PRESETS["500m"], PAPER_COUNTS["500m"]
    assert (preset.users, preset.listens) == (public["users"], public["listens"])
    for name, generated in (("likes", preset.likes), ("dislikes", preset.dislikes)):
        assert abs(generated / public[name] - 1) < 0.05, name
    assert preset.catalogue_items < 1 << ITEM_BITS  # item indices packed into int64 keys
    assert preset.chunk_users == PRESETS["50m"].chunk_users  # memory does not grow with users
