"""The stage plan: every stage that reads the pipeline config gets the same ``--config``."""

from pathlib import Path

from recsys.bench.stages import BenchPaths, pipeline_plan


def test_config_reaches_every_stage_that_reads_it(tmp_path: Path) -> None:
    config = tmp_path / "50m.yml"
    plan = pipeline_plan("tiny", BenchPaths(tmp_path, "tiny"), models=["mostpop"], seed=1, config=config)
    by_name = {stage.name: stage.argv for stage in plan}
    for name in ["build", "tune", "build-candidate-features", "candidates", "train-ranker", "rank",
                 "recommendations", "next-song", "evaluate"]:
        argv = list(by_name[name])
        assert "--config" in argv and argv[argv.index("--config") + 1] == str(config), name
    assert "--config" not in by_name["generate"]


def test_no_config_no_flag(tmp_path: Path) -> None:
    plan = pipeline_plan("tiny", BenchPaths(tmp_path, "tiny"), models=["mostpop"], seed=1)
    assert all("--config" not in stage.argv for stage in plan)
