"""Fixtures of the serving tests: the candidate tests' tiny warehouse (tests/candidates)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "candidates"))

from candidate_fixtures import build_warehouse  # noqa: E402
from serving_fixtures import MODELS, PARAMS  # noqa: E402

from recsys.config import Settings  # noqa: E402
from recsys.pipeline_config import load_config  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(settings, config) of a warehouse whose test fold has every MODELS' candidates and
    recommendations (top 5), as `recsys evaluate --no-tune` writes them."""
    from recsys.candidates import run_candidates
    from recsys.pipeline import write_generator_slice
    from recsys.warehouse import open_warehouse

    path = tmp_path_factory.mktemp("serving") / "w.duckdb"
    build_warehouse(path)
    settings = Settings(warehouse=path, reports_dir=path.parent / "reports")
    config = load_config(None)
    config["candidates"].update(models=MODELS, params=PARAMS, tune=False, top_n=20)
    run_candidates(settings, config, folds=["test"], models=MODELS, progress=False)
    with open_warehouse(settings) as con:
        # 101 -> 102 twice, 101 -> 103 once, 102 -> 104 once (the test fold); val's differ
        con.execute("create table next_song_transitions as select * from (values "
                    "('test', 101, 102, 2), ('test', 101, 103, 1), ('test', 102, 104, 1), "
                    "('val', 105, 106, 5)) t(fold, from_item, to_item, transitions)")
        for target in ("listen_plus", "like"):
            for model in MODELS:
                write_generator_slice(con, "test", target, model, 5)
    return settings, config


@pytest.fixture(scope="module")
def service(served):
    """Every MODELS generator of ``served``'s warehouse loaded for Listen+."""
    from recsys.serving import Service

    settings, config = served
    return Service.load(settings, config, models=MODELS, targets=["listen_plus"])
