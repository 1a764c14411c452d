"""The snapshot of a loaded service: read back when its inputs are the same, never otherwise."""

from __future__ import annotations

import duckdb
from serving_fixtures import MODELS

from recsys.serving.snapshot import open_service, snapshot_path


def _answers(service) -> list:
    return [service.recommend(11, model="ials", n=3).items,
            service.similar(101, model="audio", n=3).items,
            service.next([102, 101], 3).items, service.history(11, 3).items,
            service.search(1, by="artist")]


def test_a_second_start_reads_the_snapshot_until_an_input_changes(served, tmp_path):
    settings, config = served
    settings = settings.with_(reports_dir=tmp_path / "reports")
    kwargs = {"models": MODELS, "targets": ["listen_plus"], "ann": True}
    first, loaded = open_service(settings, config, **kwargs)
    assert not loaded["reused"] and snapshot_path(settings).is_file()
    second, loaded = open_service(settings, config, **kwargs)
    assert loaded["reused"] and second is not first
    assert _answers(second) == _answers(first)
    assert second.similar(101, model="audio", n=3).retrieval == "ann"  # the index came back
    # other models asked for, or the code's defaults: loaded again
    assert not open_service(settings, config, **{**kwargs, "models": ["history"]})[1]["reused"]
    assert not open_service(settings, config, **kwargs, reuse=False)[1]["reused"]
    # a tuned parameter recorded since: loaded again
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create table if not exists candidate_params (target varchar, model varchar, "
                    "fingerprint varchar, params varchar, metric varchar, value double, "
                    "trials integer, tuned_at timestamp)")
        con.execute("insert into candidate_params values ('listen_plus', 'ials', 'x', "
                    "'{\"factors\": 4}', 'ndcg@100', 0.1, 1, now())")
    try:
        assert not open_service(settings, config, **kwargs)[1]["reused"]
        assert open_service(settings, config, **kwargs)[1]["reused"]
    finally:
        with duckdb.connect(str(settings.warehouse)) as con:
            con.execute("delete from candidate_params where fingerprint = 'x'")
