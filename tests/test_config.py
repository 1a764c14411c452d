from pathlib import Path

import pytest

from recsys.config import DEFAULT_DATA_DIR, DEFAULT_SIZE, DEFAULT_WAREHOUSE, load_settings
from recsys.errors import ConfigError


def test_defaults_when_environment_is_empty():
    s = load_settings({})
    assert s.data_dir == Path(DEFAULT_DATA_DIR)
    assert s.size == DEFAULT_SIZE
    assert s.warehouse == Path(DEFAULT_WAREHOUSE)
    assert s.flat_dir == Path("data/yambda/flat/small")


def test_environment_overrides_defaults():
    s = load_settings({"RECSYS_DATA_DIR": "/x", "RECSYS_SIZE": "tiny", "RECSYS_WAREHOUSE": "/w.duckdb"})
    assert s.flat_dir == Path("/x/flat/tiny")
    assert s.env()["RECSYS_WAREHOUSE"] == "/w.duckdb"


@pytest.mark.parametrize("env", [{"RECSYS_SIZE": ""}, {"RECSYS_THREADS": "zero"}, {"RECSYS_THREADS": "-1"}])
def test_bad_settings_raise_config_error(env):
    with pytest.raises(ConfigError):
        load_settings(env)
