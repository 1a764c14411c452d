import json
import sys
from pathlib import Path

import pytest

from recsys.bench import runner
from recsys.bench.report import NON_PIPELINE_STAGES
from recsys.bench.stages import BASELINE, Stage
from recsys.config import Settings
from recsys.errors import ConfigError

WRITE_LISTENS = (
    "import sys, pyarrow as pa, pyarrow.parquet as pq, pathlib\n"
    "p = pathlib.Path(sys.argv[1]); p.mkdir(parents=True, exist_ok=True)\n"
    "pq.write_table(pa.table({'uid': pa.array([1, 1, 2], pa.uint32()),"
    " 'item_id': pa.array([5, 6, 5], pa.uint32())}), p / 'listens.parquet')\n"
)


def fake_plan(fail_build: bool):
    def plan(size, paths, **_):
        py = sys.executable
        return [
            Stage("generate", (py, "-c", WRITE_LISTENS, str(paths.flat_dir))),
            Stage("build", (py, "-c", "raise SystemExit(1)" if fail_build else "b = bytearray(8 * 2**20)")),
            Stage("candidates-mostpop", (py, "-c", "sum(range(10**5))")),
            Stage("rank", (py, "-c", "raise SystemExit(3)")),
        ]
    return plan


def fake_baselines(out_dir: Path, **_):
    result = out_dir / "baseline-evaluation.json"
    code = (f"import json; open({str(result)!r}, 'w').write(json.dumps({{'status': 'ok', 'description': 'd', "
            "'ours_s': 0.5, 'theirs_s': 20.0, 'ratio_ours_to_theirs': 0.025, 'speedup': 40.0, "
            "'agree': True, 'repeats': 1}))")
    return [Stage("baseline-evaluation", (sys.executable, "-c", code), kind=BASELINE,
                  extra={"result": str(result), "key": "evaluation"})]


@pytest.fixture
def settings(tmp_path):
    return Settings(reports_dir=tmp_path / "reports", temp_dir=tmp_path / "tmp")


def run(monkeypatch, settings, tmp_path, sizes, fail_build=False, **kw):
    monkeypatch.setattr(runner, "pipeline_plan", fake_plan(fail_build))
    monkeypatch.setattr(runner, "baseline_stages", fake_baselines)
    return runner.run_bench(settings, sizes, root=tmp_path, niceness=0, **kw)


def test_bench_json_and_md_shapes(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"])
    data = json.loads((settings.reports_dir / "bench.json").read_text())
    entry = data["sizes"]["tiny"]
    assert entry["state"] == "complete"
    assert [s["name"] for s in entry["stages"]] == [
        "generate", "build", "candidates-mostpop", "rank", "baseline-evaluation"]
    assert [s["status"] for s in entry["stages"]] == ["ok", "ok", "ok", "failed", "ok"]
    assert entry["machine"]["cpu_count"] >= 1 and entry["machine"]["memory_gib"] > 0
    assert "duckdb" in entry["packages"]
    assert entry["dataset"] == {"listens": 3, "users": 2, "items": 2}
    # the generators come from the config as the generated data sets it (3 listens: no tier)
    assert entry["settings"]["models"] == list(runner.pipeline_config().candidates.models)
    assert entry["settings"]["derived"] == {}
    # totals: generation and baselines are not part of the pipeline
    pipeline = [s for s in entry["stages"] if s["kind"] == "pipeline" and s["name"] not in NON_PIPELINE_STAGES
                and s["status"] in ("ok", "failed")]
    assert entry["totals"]["wall_s"] == pytest.approx(sum(s["wall_s"] for s in pipeline), abs=1e-2)
    assert entry["totals"]["complete"] is False  # rank failed
    assert entry["totals"]["dominant_stage"] in ("build", "candidates-mostpop", "rank")
    assert entry["baselines"]["evaluation"]["speedup"] == 40.0
    assert any(f.startswith("rank:") for f in entry["failures"])

    md = (settings.reports_dir / "bench.md").read_text()
    assert "| stage | tiny |" in md
    assert "| build |" in md and "| rank | FAILED " in md
    assert "40.0x" in md and "Which stage dominates" in md
    assert (settings.reports_dir / "bench-logs" / "tiny" / "build.log").exists()


def test_sizes_merge_and_generation_is_reused(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"])
    first = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    run(monkeypatch, settings, tmp_path, ["small", "tiny"])
    data = json.loads((settings.reports_dir / "bench.json").read_text())
    assert set(data["sizes"]) == {"tiny", "small"}
    gen = data["sizes"]["tiny"]["stages"][0]
    assert gen["status"] == "reused"
    assert gen["wall_s"] == first["stages"][0]["wall_s"]  # the earlier measurement is kept
    md = (settings.reports_dir / "bench.md").read_text()
    assert "| stage | tiny | small |" in md and "(reused)" in md


def test_regenerate_runs_generation_again(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"])
    run(monkeypatch, settings, tmp_path, ["tiny"], regenerate=True)
    data = json.loads((settings.reports_dir / "bench.json").read_text())
    assert data["sizes"]["tiny"]["stages"][0]["status"] == "ok"


def test_failed_build_skips_the_rest_and_is_reported(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"], fail_build=True)
    entry = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    status = {s["name"]: s["status"] for s in entry["stages"]}
    assert status["build"] == "failed" and status["candidates-mostpop"] == "skipped"
    assert any(f.startswith("build: exit code 1") for f in entry["failures"])
    assert "FAILED" in (settings.reports_dir / "bench.md").read_text()


def test_parse_sizes():
    assert runner.parse_sizes(["tiny,small", "50m", "tiny"]) == ["tiny", "small", "50m"]
    assert runner.parse_sizes(["tiny small"]) == ["tiny", "small"]
    with pytest.raises(ConfigError):
        runner.parse_sizes([])
    with pytest.raises(ConfigError):
        runner.parse_sizes(["../etc"])


def test_dbt_slowest_nodes(tmp_path):
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"results": [
        {"unique_id": "model.recsys.a", "execution_time": 1.0},
        {"unique_id": "model.recsys.b", "execution_time": 3.0},
        {"unique_id": "test.recsys.unique_b.123", "execution_time": 2.0},
    ]}))
    assert runner.dbt_slowest_nodes(path, top=2) == [{"node": "b", "seconds": 3.0}, {"node": "unique_b.123", "seconds": 2.0}]
    assert runner.dbt_slowest_nodes(tmp_path / "missing.json") == []


def test_until_stops_after_the_stage(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"], until="generate")
    entry = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    assert [s["name"] for s in entry["stages"]] == ["generate"] and entry["state"] == "stopped after generate"
    with pytest.raises(ConfigError, match="not a stage"):
        run(monkeypatch, settings, tmp_path, ["tiny"], until="nope")


def test_skip_leaves_out_a_baseline_and_only_a_baseline(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"], skip=["baseline-evaluation"])
    entry = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    assert entry["stages"][-1]["name"] == "baseline-evaluation"
    assert entry["stages"][-1]["status"] == "skipped" and "evaluation" not in entry["baselines"]
    assert not any("baseline-evaluation" in f for f in entry["failures"])
    with pytest.raises(ConfigError, match="only the stages after the pipeline"):
        run(monkeypatch, settings, tmp_path, ["tiny"], skip=["build"])


def test_resume_keeps_the_finished_stages_and_runs_from_the_first_that_did_not(
        monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"])  # build, candidates ok; rank fails
    first = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    warehouse = tmp_path / "bench" / "tiny" / "bench-tiny.duckdb"
    warehouse.write_bytes(b"built")  # what the kept build left: a resumed run keeps it
    run(monkeypatch, settings, tmp_path, ["tiny"], resume=True)
    again = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    by_name = {s["name"]: s for s in again["stages"]}
    for name in ("build", "candidates-mostpop"):  # kept: the first run's numbers
        assert by_name[name]["wall_s"] == next(s for s in first["stages"] if s["name"] == name)["wall_s"]
        assert by_name[name]["extra"]["measured_at"] == first["run_at"]
    assert by_name["rank"]["status"] == "failed" and "measured_at" not in by_name["rank"]["extra"]
    assert warehouse.read_bytes() == b"built"
    run(monkeypatch, settings, tmp_path, ["tiny"])  # without --resume: built again
    assert not warehouse.exists()


def test_compiled_model_sql_skips_unit_test_copies(tmp_path):
    from recsys.bench.child import compiled_model_sql

    folder = tmp_path / "compiled" / "recsys" / "models" / "intermediate"
    (folder / "_intermediate__models.yml").mkdir(parents=True)
    (folder / "_intermediate__models.yml" / "m.sql").write_text("select 'fixture rows'")
    (folder / "m.sql").write_text("select 'the model'")
    assert compiled_model_sql(tmp_path, "m") == "select 'the model'"
    with pytest.raises(FileNotFoundError, match="run the build stage first"):
        compiled_model_sql(tmp_path, "other")


def test_a_concurrent_run_of_another_size_is_kept(monkeypatch, settings, tmp_path):
    """Each save re-reads bench.json, so two runs of different sizes do not erase each other."""
    from recsys.bench.report import merge_size, pipeline_totals, write_atomic

    real_save_target = settings.reports_dir / "bench.json"

    def plan(size, paths, **_):
        # while this run is going, "another process" writes size small
        other = merge_size({"sizes": {}}, "small", {"size": "small", "stages": [], "totals": pipeline_totals([])})
        write_atomic(real_save_target, json.dumps(other))
        return fake_plan(False)(size, paths)

    monkeypatch.setattr(runner, "pipeline_plan", plan)
    monkeypatch.setattr(runner, "baseline_stages", fake_baselines)
    runner.run_bench(settings, ["tiny"], root=tmp_path, niceness=0)
    assert set(json.loads(real_save_target.read_text())["sizes"]) == {"tiny", "small"}


def test_rerender_recomputes_totals(monkeypatch, settings, tmp_path):
    run(monkeypatch, settings, tmp_path, ["tiny"])
    path = settings.reports_dir / "bench.json"
    data = json.loads(path.read_text())
    data["sizes"]["tiny"]["totals"] = {}
    path.write_text(json.dumps(data))
    out = runner.rerender(settings)
    assert out["sizes"]["tiny"]["totals"]["wall_s"] > 0
    assert "| stage | tiny |" in (settings.reports_dir / "bench.md").read_text()


def test_a_large_input_records_its_derived_settings(monkeypatch, settings, tmp_path):
    """The bench entry says which settings the generated data's size chose (here a 3-row file
    measured as 50m's listens)."""
    import recsys.pipeline_config as pipeline_config_module
    from recsys.scale import DataScale

    monkeypatch.setattr(pipeline_config_module, "measure",
                        lambda data_dir, size: DataScale(46_467_212, "flat/tiny/listens.parquet"))
    run(monkeypatch, settings, tmp_path, ["tiny"])
    entry = json.loads((settings.reports_dir / "bench.json").read_text())["sizes"]["tiny"]
    assert "audio" not in entry["settings"]["models"]
    assert entry["settings"]["derived"]["ranker.max_train_queries"] == 1500
