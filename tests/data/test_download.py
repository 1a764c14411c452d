import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.data.download import download_dataset, hub_fetcher, hub_paths, mirror_fetcher
from recsys.data.validate import expected_files, validate_dataset
from recsys.errors import ConfigError, HubUnreachableError


@pytest.fixture()
def fake_hub(tiny_dataset: Path, tmp_path: Path) -> Path:
    """A local folder laid out like the hub repository, holding size 50m (tiny files renamed)."""
    hub = tmp_path / "hub"
    for path in expected_files(tiny_dataset, "tiny"):
        rel = path.relative_to(tiny_dataset).as_posix().replace("flat/tiny/", "flat/50m/")
        (hub / rel).parent.mkdir(parents=True, exist_ok=True)
        (hub / rel).symlink_to(path)
    return hub


def test_hub_paths():
    assert hub_paths("5b", ["likes", "embeddings.parquet"]) == ["flat/5b/likes.parquet", "embeddings.parquet"]
    assert len(hub_paths("50m")) == 9
    with pytest.raises(ConfigError, match="50m, 500m, 5b"):
        hub_paths("tiny")
    with pytest.raises(ConfigError, match="Unknown file name"):
        hub_paths("50m", ["listen"])


def test_download_places_files_in_the_public_layout(fake_hub, tmp_path):
    out = tmp_path / "data"
    seen = []
    paths = download_dataset(out, "50m", fetch=mirror_fetcher(fake_hub), progress=seen.append)
    assert len(paths) == 9 and len(seen) == 9
    assert validate_dataset(out, "50m") == []
    assert (out / "flat/50m/listens.parquet").read_bytes() == (fake_hub / "flat/50m/listens.parquet").read_bytes()
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temp files left


def test_download_accepts_a_fetcher_that_returns_a_cache_path(fake_hub, tmp_path):
    cache = tmp_path / "cache"

    def cached_fetch(repo_path: str, out_dir: Path) -> Path:
        target = cache / repo_path.replace("/", "__")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fake_hub / repo_path, target)
        return target

    paths = download_dataset(tmp_path / "data", "50m", ["likes"], fetch=cached_fetch)
    assert paths == [tmp_path / "data/flat/50m/likes.parquet"] and paths[0].exists()


def test_cli_download_from_mirror_then_validate(fake_hub, tmp_path):
    out = tmp_path / "data"
    result = CliRunner().invoke(main, ["download", "--size", "50m", "--out", str(out), "--mirror", str(fake_hub)])
    assert result.exit_code == 0, result.output
    assert "match the schema" in result.output


def test_mirror_without_the_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="has no flat/50m/likes.parquet"):
        download_dataset(tmp_path / "data", "50m", ["likes"], fetch=mirror_fetcher(tmp_path))


def test_unreachable_hub_says_how_to_use_local_files(tmp_path):
    fetch = hub_fetcher(endpoint="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(HubUnreachableError) as err:
        download_dataset(tmp_path / "data", "50m", ["likes"], fetch=fetch)
    assert "unreachable" in str(err.value) and "RECSYS_DATA_DIR" in str(err.value)
    result = CliRunner().invoke(
        main, ["download", "--size", "50m", "--out", str(tmp_path), "--endpoint", "http://127.0.0.1:9"]
    )
    assert result.exit_code != 0 and "unreachable" in result.output
