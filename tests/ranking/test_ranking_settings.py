import pytest

from recsys.errors import ConfigError
from recsys.pipeline_config import load_config
from recsys.sections.ranker import ranker_config


def test_defaults_are_documented_and_deterministic():
    cfg = ranker_config(load_config())
    params = cfg.lightgbm_params()
    assert cfg.model_name == "two_stage"
    assert params["objective"] == "lambdarank"
    assert params["deterministic"] is True and params["force_row_wise"] is True
    assert params["seed"] == cfg.seed == 42
    assert params["num_threads"] == 2
    assert cfg.top_k == 100
    assert "random" not in cfg.models and cfg.candidates_per_model == 200


@pytest.mark.parametrize(
    "section",
    [{"candidates_per_model": 0}, {"valid_share": 1.0}, {"models": "ials"}, {"seed": "x"},
     {"params": [1]}],
)
def test_bad_values_name_the_key(section):
    config = load_config()
    config["ranker"].update(section)
    with pytest.raises(ConfigError, match="ranker"):
        ranker_config(config)


def test_unknown_key_in_user_file_is_an_error(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("ranker:\n  candidates_per_modle: 5\n")
    with pytest.raises(ConfigError, match="candidates_per_modle"):
        load_config(path)


def test_extra_params_accept_any_lightgbm_parameter(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("ranker:\n  extra_params: {max_bin: 63}\n  params: {num_leaves: 7}\n")
    params = ranker_config(load_config(path)).lightgbm_params()
    assert params["max_bin"] == 63 and params["num_leaves"] == 7
