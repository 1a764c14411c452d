"""The served lists are the offline ones; requests that cannot be answered say why."""

from __future__ import annotations

import duckdb
import pytest
from serving_fixtures import MODELS

from recsys.serving import Service, ServingError


@pytest.fixture(scope="module")
def service(served):
    settings, config = served
    return Service.load(settings, config, models=MODELS)


def offline(settings, target, model):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("select uid, item_id, score from recommendations where fold = 'test' "
                           "and target = ? and model = ? order by uid, rank",
                           [target, model]).df()
    finally:
        con.close()


@pytest.mark.parametrize("target", ["listen_plus", "like"])
@pytest.mark.parametrize("model", MODELS)
def test_a_served_list_is_the_offline_list(served, service, model, target):
    rows = offline(served[0], target, model)
    assert len(rows), "the fixture must give every model a list"
    for uid, lst in rows.groupby("uid"):
        answer = service.recommend(int(uid), model=model, target=target, n=5)
        assert not answer.fallback and answer.model == model
        assert [i for i, _ in answer.items] == lst["item_id"].tolist(), (model, uid)
        # the table stores scores as float32
        assert [s for _, s in answer.items] == pytest.approx(lst["score"].tolist(), rel=1e-5, abs=1e-6)


def test_an_unknown_user_gets_popularity_and_is_told(service):
    answer = service.recommend(123_456, model="history", n=3)
    popular = service.recommend(123_456, model="decaypop", n=3)
    assert answer.fallback and answer.model == "decaypop" and answer.items == popular.items
    assert len(answer.items) == 3


def test_similar_items_and_what_cannot_be_answered(service):
    item = service.models["listen_plus"]["itemknn"].data.items.to_external([0])[0]
    answer = service.similar(int(item), model="ials", n=3)
    assert len(answer.items) == 3 and int(item) not in [i for i, _ in answer.items]
    with pytest.raises(ServingError, match="Item 99999 has no listen_plus history") as err:
        service.similar(99_999, model="itemknn")
    assert err.value.status == 404
    for call, match in [
        (lambda: service.similar(int(item), model="history"), "no item-to-item similarity"),
        (lambda: service.recommend(1, model="sasrec"), "Unknown model 'sasrec'"),
        (lambda: service.recommend(1, model="history", target="skip"), "Unknown target"),
        (lambda: service.recommend(1, model="history", n=0), "n must be an integer between 1"),
        (lambda: service.recommend(1, model="history", n=1001), "n must be an integer between 1"),
    ]:  # fmt: skip
        with pytest.raises(ServingError, match=match) as err:
            call()
        assert err.value.status == 422


def test_the_loaded_models_are_described(served, service):
    info = service.describe()
    assert info["fold"] == "test" and info["fallback"] == "decaypop"
    assert set(info["targets"]["like"]) == set(MODELS)
    assert info["targets"]["listen_plus"]["ials"]["params"]["factors"] == 4
