"""The pipeline config: merged from defaults.yml and a user file, parsed once into typed objects."""

from __future__ import annotations

import re

import pytest

from recsys.config import REPO_ROOT
from recsys.errors import ConfigError
from recsys.pipeline_config import (
    CandidatesConfig,
    PipelineConfig,
    as_config,
    load_config,
    parse_config,
    pipeline_config,
)


def test_the_defaults_parse_into_typed_sections():
    config = pipeline_config()
    assert isinstance(config, PipelineConfig) and isinstance(config.candidates, CandidatesConfig)
    assert config.seed == 42 and config.candidates.top_n == 200
    assert config.evaluation.ks == (10, 100) and config.evaluation.top_k == 100
    assert config.candidates.tuning.trials_of("history") == config.candidates.tuning.trials
    assert config.ranker.top_k == config.evaluation.top_k  # one depth for every model
    assert config.extra_seeds == [41, 43]
    assert config.raw == load_config()  # what manifests and saved rankers record
    assert as_config(config) is config and as_config(load_config()) == config


def test_overrides_are_checked_like_a_file(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("candidates: {top_n: 50}\n")
    config = pipeline_config(path, {"seed": 7, "evaluation.ks": [5], "candidates.tune": None})
    assert (config.seed, config.candidates.top_n, config.evaluation.ks) == (7, 50, (5,))
    assert config.candidates.tune is True  # None: the option was not given
    assert config.with_({"candidates.top_n": 20}).candidates.top_n == 20
    with pytest.raises(ConfigError, match="'candidates.top_n' must be an integer"):
        pipeline_config(None, {"candidates.top_n": "many"})
    with pytest.raises(ConfigError, match="Unknown config key 'candidates.topn'"):
        pipeline_config(None, {"candidates.topn": 5})


@pytest.mark.parametrize("section, value, message", [
    ("candidates", {"models": ["sasrec"]}, "sasrec"),
    ("candidates", {"params": {"ials": {"factor": 3}}}, "factor"),
    ("evaluation", {"ks": [10, 500]}, "top_k"),
    ("evaluation", {"seed_runs": {"models": ["ials"], "seeds": [1, 1]}}, "distinct"),
    ("ranker", {"train_folds": ["test"]}, "never trained on"),
])
def test_every_section_is_checked_when_parsed(section, value, message):
    raw = load_config()
    raw[section].update(value)
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


# the parsers of the raw sections: the only code that indexes the merged mapping
SECTION_PARSERS = {"recsys/pipeline_config.py", *(
    str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "recsys" / "sections").glob("*.py"))}


def test_no_stage_indexes_the_raw_config():
    raw_access = re.compile(r"\bconfig(\[|\.get\()")
    found = []
    for path in sorted((REPO_ROOT / "recsys").rglob("*.py")):
        name = str(path.relative_to(REPO_ROOT))
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if raw_access.search(line.split("#")[0]):
                found.append((name, number, line.strip()))
    assert {f[0] for f in found} & SECTION_PARSERS  # the pattern finds raw reads where they are
    outside = [f for f in found if f[0] not in SECTION_PARSERS]
    assert outside == [], "a stage reads the raw config instead of PipelineConfig"


def test_a_trial_budget_per_target_and_model(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("candidates: {tuning: {trials: 2, model_trials: {itemknn: 4, like.itemknn: 10}}}\n")
    tuning = pipeline_config(path).candidates.tuning
    assert tuning.trials_of("itemknn", "like") == 10  # the target's own budget
    assert tuning.trials_of("itemknn", "listen_plus") == tuning.trials_of("itemknn") == 4
    assert tuning.trials_of("ials", "like") == 2
    path.write_text("candidates: {tuning: {model_trials: {likes.itemknn: 10}}}\n")
    with pytest.raises(ConfigError, match="likes is not a target"):
        pipeline_config(path)
    path.write_text("candidates: {tuning: {model_trials: {like.knn: 10}}}\n")
    with pytest.raises(ConfigError, match="unknown model"):
        pipeline_config(path)
