"""The two-stage models served: each user's list is the offline one, on a whole tiny run."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from recsys.config import Settings
from recsys.pipeline_config import load_config
from recsys.serving import Service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evaluated(tiny_warehouse: Settings, tmp_path_factory):
    """A copy of the suite's tiny warehouse after `recsys evaluate` with both rankers, ten
    places kept for unseen items (the served lists must cut as `recsys rank` does)."""
    from recsys.pipeline import run_evaluate

    work = tmp_path_factory.mktemp("serving_two_stage")
    shutil.copyfile(tiny_warehouse.warehouse, work / tiny_warehouse.warehouse.name)
    settings = Settings(data_dir=tiny_warehouse.data_dir, size="tiny",
                        warehouse=work / tiny_warehouse.warehouse.name, reports_dir=work / "reports",
                        memory_limit="2GB", threads=2, temp_dir=work / "tmp")
    config = load_config(None)
    config["candidates"].update(models=["mostpop", "decaypop", "history", "itemknn", "ials"])
    config["candidates"]["tuning"]["trials"] = 2
    config["ranker"].update(models=["mostpop", "decaypop", "history", "itemknn"],
                            discovery_slots=[10])
    config["evaluation"].update(bootstrap_samples=20, seed_runs={"models": [], "seeds": [42]})
    run_evaluate(settings, config, fold="test", two_stage=True, progress=False)
    return settings, config


def test_every_served_two_stage_list_is_the_offline_one(evaluated):
    settings, config = evaluated
    service = Service.load(settings, config)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        for target in ("listen_plus", "like"):
            assert set(service.rankers[target]) == {"two_stage", "two_stage_untuned"}
            for name, ranker in service.rankers[target].items():
                assert ranker.slots == 10
                rows = con.execute(
                    "select uid, item_id from recommendations where fold = 'test' and target = ? "
                    "and model = ? order by uid, rank", [target, name]).df()
                users = rows["uid"].drop_duplicates().to_numpy()
                assert len(users) > 20
                for uid in users[:: max(1, len(users) // 40)]:  # about 40 users per list
                    want = rows.loc[rows["uid"] == uid, "item_id"].tolist()
                    answer = service.recommend(int(uid), model=name, target=target, n=len(want))
                    assert [i for i, _ in answer.items] == want, (target, name, uid)
                    assert answer.model == name and not answer.fallback
    finally:
        con.close()
    # a user without candidates: popularity, and said so
    answer = service.recommend(4_000_000_000, model="two_stage", n=5)
    assert answer.fallback and answer.model == "decaypop"


def test_the_load_test_gets_no_5xx_and_stops_its_server(evaluated, tmp_path):
    import socket

    import yaml

    from recsys.bench.load import compute_timings, load_test
    from recsys.bench.stages import recsys_executable

    settings, config = evaluated
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    env = {**__import__("os").environ, **settings.env()}
    result = load_test([*recsys_executable(), "serve", "--quiet", "--config", str(path)],
                       settings.warehouse, env=env, requests=40, concurrency=4, bad_share=0.25,
                       log=tmp_path / "server.log")
    assert result["status"] == "ok" and result["agree"], result
    assert result["startup_s"] > 0 and result["warm_startup_s"] > 0 and result["rss_mb"] > 50
    assert set(result["endpoints"]) == {"recommendations", "similar", "similar_ials", "next"}
    for name, stats in result["endpoints"].items():
        assert stats["requests"] == 40 and stats["server_errors"] == 0, (name, stats)
        assert stats["statuses"].get("200", 0) > 0 and stats["statuses"].get("422", 0) > 0
        assert 0 < stats["p50_ms"] <= stats["p99_ms"]
    with socket.socket() as s:  # the server is gone: nobody listens on its port
        assert s.connect_ex(("127.0.0.1", result["port"])) != 0
    # the service calls alone, on the snapshot the server wrote
    alone = compute_timings(settings, config, settings.warehouse, queries=5)
    assert set(alone) == set(result["endpoints"])
    assert all(t["calls"] == 5 and 0 < t["p50_ms"] <= t["p99_ms"] for t in alone.values())
