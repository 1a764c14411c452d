import json

import pytest

from recsys.bench.report import (
    load_results,
    merge_size,
    pipeline_totals,
    render_markdown,
    write_atomic,
)
from recsys.errors import ConfigError


def stage(name, wall, cpu=1.0, rss=100.0, status="ok", kind="pipeline"):
    return {"name": name, "status": status, "kind": kind, "wall_s": wall, "cpu_s": cpu,
            "user_s": cpu, "sys_s": 0.0, "peak_rss_mb": rss}


def entry(size, stages, baselines=None):
    return {"size": size, "stages": stages, "totals": pipeline_totals(stages),
            "baselines": baselines or {}, "machine": {"cpu_count": 2, "memory_gib": 23.4},
            "dataset": {"listens": 1000}}


def test_totals_exclude_generation_and_baselines():
    stages = [stage("generate", 100, rss=9000), stage("build", 30, rss=500), stage("rank", 10, rss=800),
              stage("baseline-evaluation", 50, rss=5000, kind="baseline")]
    t = pipeline_totals(stages)
    assert t["wall_s"] == 40 and t["peak_rss_mb"] == 800 and t["complete"] is True
    assert t["dominant_stage"] == "build" and t["dominant_share"] == 0.75
    assert t["dominant_cpu_stage"] == "build" and t["dominant_cpu_share"] == 0.5


def test_50m_acceptance_lines():
    ok = entry("50m", [stage("build", 600, rss=4000)],
               {"evaluation": {"status": "ok", "description": "e", "ours_s": 1.0, "theirs_s": 30.0,
                               "ratio_ours_to_theirs": 1 / 30, "speedup": 30.0, "agree": True, "repeats": 1}})
    md = render_markdown(merge_size({"sizes": {}}, "50m", ok))
    assert "600 s < 1200 s: PASS" in md and "< 16384 MiB: PASS" in md
    assert "50m evaluation: speed-up 30.0x >= 20x and results agree: PASS" in md
    slow = entry("50m", [stage("build", 1300, rss=4000)])
    assert "1,300 s < 1200 s: FAIL" in render_markdown(merge_size({"sizes": {}}, "50m", slow))


def test_sizes_are_columns_in_size_order():
    results = {"sizes": {}}
    for size in ("50m", "tiny", "small"):
        results = merge_size(results, size, entry(size, [stage("build", 1)]))
    md = render_markdown(results)
    assert "| stage | tiny | small | 50m |" in md


def test_write_atomic_and_load(tmp_path):
    path = tmp_path / "r" / "bench.json"
    assert load_results(path) == {"schema_version": 1, "sizes": {}}
    write_atomic(path, json.dumps({"sizes": {"tiny": {}}}))
    assert load_results(path) == {"sizes": {"tiny": {}}}
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # no temp file left behind
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_results(path)


def test_empty_report_says_how_to_start():
    assert "recsys bench --sizes tiny" in render_markdown({"sizes": {}})


def test_an_incomplete_50m_run_never_passes():
    partial = entry("50m", [stage("build", 600, rss=4000)])
    partial["state"] = "running"
    md = render_markdown(merge_size({"sizes": {}}, "50m", partial))
    assert "(incomplete run: stages so far) < 16384 MiB: FAIL" in md


def test_a_run_stopped_after_the_last_pipeline_stage_is_judged():
    run = entry("50m", [stage("build", 600, rss=4000), stage("evaluate", 100, rss=900)])
    run["state"] = "stopped after evaluate"  # `recsys bench --until evaluate`: no baselines
    md = render_markdown(merge_size({"sizes": {}}, "50m", run))
    assert "700 s < 1200 s: PASS" in md and "incomplete" not in md
    run["state"] = "stopped after build"
    assert "incomplete run" in render_markdown(merge_size({"sizes": {}}, "50m", run))


def test_speed_up_bounds_are_judged_from_50m_and_a_failure_is_a_failed_check():
    from recsys.bench.report import acceptance_checks

    slow = {"evaluation": {"status": "ok", "description": "e", "ours_s": 1.0, "theirs_s": 2.0,
                           "ratio_ours_to_theirs": 0.5, "speedup": 2.0, "agree": True, "repeats": 1}}
    results = {"sizes": {}}
    for size in ("tiny", "50m"):
        results = merge_size(results, size, entry(size, [stage("build", 600, rss=4000)], slow))
    tiny = acceptance_checks(results, ["tiny"])
    assert [ok for _, ok in tiny] == [None, None]  # 50m not measured; tiny's ratio not judged
    assert "tiny: baseline speed-ups measured above" in tiny[1][0]
    at_50m = dict(acceptance_checks(results, ["50m"]))
    assert at_50m["- 50m evaluation: speed-up 2.0x >= 20x and results agree: FAIL"] is False
    assert sorted(map(str, at_50m.values())) == ["False", "True", "True"]


def test_recsys_bench_exits_1_when_an_acceptance_check_fails(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import recsys.bench as bench_package
    from recsys.bench.report import write_atomic
    from recsys.cli import main

    slow_run = entry("50m", [stage("build", 1300, rss=4000)])

    def fake_run(settings, sizes, **_):
        results = merge_size({"sizes": {}}, "50m", slow_run)
        write_atomic(settings.reports_dir / "bench.md", render_markdown(results))
        return results

    monkeypatch.setattr(bench_package, "run_bench", fake_run)
    monkeypatch.setenv("RECSYS_REPORTS_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["bench", "--sizes", "50m"])
    assert result.exit_code == 1
    assert "1 acceptance check(s) failed" in result.output and "1,300 s < 1200 s: FAIL" in result.output


def test_the_serving_load_test_has_its_own_table():
    serving = {"status": "ok", "startup_s": 12.5, "warm_startup_s": 3.0, "rss_mb": 900.0,
               "peak_rss_mb": 950.0,
               "endpoints": {"next": {"requests": 100, "p50_ms": 1.5, "p99_ms": 9.0, "rps": 400.0,
                                      "statuses": {"200": 95, "422": 5}, "server_errors": 0}},
               "compute": {"next": {"model": "next", "calls": 300, "p50_ms": 0.8, "p99_ms": 1.2}},
               "ann": {"ials": {"items": 768_000, "build_s": 4.2, "queries": 300,
                                "recall_at_10": 0.955, "exact_ms": 21.0, "ann_ms": 0.7,
                                "speedup": 30.0}}}
    md = render_markdown(merge_size({"sizes": {}}, "small",
                                    entry("small", [stage("build", 1)], {"serving": serving})))
    assert "| small | next | 100 | 1.5 | 9.0 | 400 | 200: 95, 422: 5 | 0.80 / 1.2 | 12.5 | 3.0 | 900 |" in md
    assert "| small | serving |" not in md  # not a side-by-side baseline row
    assert "| small | ials | similar items | 768,000 | 4.2 | 0.955 | 21.0 | 0.70 | 30.0 |" in md
