from click.testing import CliRunner

from recsys.bench import stages
from recsys.cli import main
from recsys.cli.bench import bench


def test_sizes_space_separated_after_the_option(monkeypatch, tmp_path):
    seen = {}

    def fake_run_bench(settings, sizes, **kw):
        seen["sizes"] = sizes
        (settings.reports_dir).mkdir(parents=True, exist_ok=True)
        (settings.reports_dir / "bench.md").write_text("report")
        return {"sizes": {}}

    monkeypatch.setattr("recsys.bench.run_bench", fake_run_bench)
    monkeypatch.setenv("RECSYS_REPORTS_DIR", str(tmp_path))
    out = CliRunner().invoke(bench, ["--sizes", "tiny", "small"])  # what `make bench` passes
    assert out.exit_code == 0, out.output
    assert seen["sizes"] == ["tiny", "small"]
    CliRunner().invoke(bench, ["--sizes", "tiny,small", "--sizes", "50m"])
    assert seen["sizes"] == ["tiny,small", "50m"]  # split by parse_sizes


def test_plan_is_generate_then_the_pipelines_stages_as_installed_commands(tmp_path):
    from recsys.pipeline import stages as pipeline_stages

    paths = stages.BenchPaths(tmp_path, "tiny")
    plan = stages.pipeline_plan("tiny", paths, models=["mostpop", "ials"], seed=1,
                                config=tmp_path / "c.yml")
    names = [s.name for s in plan]
    assert names == ["generate", "build", "tune", "candidates", "build-candidate-features",
                     "train-ranker", "rank", "recommendations", "next-song", "evaluate"]
    assert names[1:] == [s.name for s in pipeline_stages(["mostpop", "ials"])]
    assert plan[0].argv[-7:] == ("generate", "--size", "tiny", "--seed", "1", "--out", str(paths.data_dir))
    recsys = stages.recsys_executable()
    for stage in plan:  # every stage is a recsys command that exists and takes its options
        assert list(stage.argv[:len(recsys)]) == recsys
        command = main.commands[stage.argv[len(recsys)]]
        args = list(stage.argv[len(recsys) + 1:])
        command.make_context(command.name, args, resilient_parsing=False)
    assert plan[-1].argv[-2:] == ("--config", str(tmp_path / "c.yml"))


def test_child_env_isolates_the_benchmark(tmp_path):
    from recsys.config import Settings

    paths = stages.BenchPaths(tmp_path, "small")
    env = stages.child_env(Settings(memory_limit="3GB"), paths, tmp_path / "reports")
    assert env["RECSYS_SIZE"] == "small"
    assert env["RECSYS_DATA_DIR"] == str((tmp_path / "bench" / "small" / "data").resolve())
    assert env["RECSYS_WAREHOUSE"].endswith("bench-small.duckdb")
    assert env["RECSYS_MEMORY_LIMIT"] == "3GB"
    assert env["DBT_TARGET_PATH"] == str((tmp_path / "bench" / "small" / "dbt-target").resolve())
