"""The HTTP API: JSON lists, OpenAPI, and a 4xx naming the problem for every bad request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import MODELS

from recsys.serving import Service
from recsys.serving.app import create_app


@pytest.fixture(scope="module")
def service(served):
    settings, config = served
    return Service.load(settings, config, models=MODELS, targets=["listen_plus"])


@pytest.fixture(scope="module")
def client(service):
    return TestClient(create_app(service, default_model="history"))


def test_recommendations_similar_and_what_is_loaded(client, service):
    got = client.get("/users/11/recommendations", params={"n": 3}).json()
    want = service.recommend(11, model="history", n=3)
    assert got["model"] == "history" and got["target"] == "listen_plus" and not got["fallback"]
    assert got["history_end_ts"] == service.history_end_ts
    assert [(x["item_id"], x["score"]) for x in got["items"]] == want.items
    got = client.get("/users/11/recommendations",
                     params={"model": "mostpop", "exclude_seen": "true", "n": 2}).json()
    assert [x["item_id"] for x in got["items"]] == \
        [i for i, _ in service.recommend(11, model="mostpop", n=2, exclude_seen=True).items]
    similar = client.get("/items/101/similar", params={"model": "audio", "n": 2}).json()
    assert [x["item_id"] for x in similar["items"]] == \
        [i for i, _ in service.similar(101, model="audio", n=2).items]
    assert client.get("/users/777777/recommendations").json()["fallback"] is True
    assert client.get("/health").json() == {"status": "ok"}
    models = client.get("/models").json()
    assert models["default_model"] == "history" and set(models["targets"]["listen_plus"]) == set(MODELS)
    assert "/users/{uid}/recommendations" in client.get("/openapi.json").json()["paths"]


def test_next_songs_after_a_session(client, service):
    got = client.post("/next", json={"items": [102, 101], "n": 3}).json()
    assert got["model"] == "next_song"
    # after 101 (weight 1): 102 2/3, 103 1/3; after 102 (weight 0.5): 104 0.5
    assert [x["item_id"] for x in got["items"]] == [102, 104, 103]
    assert got["items"] == [{"item_id": i, "score": s} for i, s in service.next([102, 101], 3).items]
    assert len(client.post("/next", json={"items": [999]}).json()["items"]) == 4  # popularity


@pytest.mark.parametrize("payload, words", [
    ({"items": []}, "items"), ({"items": list(range(1001))}, "items"), ({}, "items"),
    ({"items": [101], "n": 0}, "n"), ({"items": ["x"]}, "items"),
])  # fmt: skip
def test_a_bad_session_is_a_422_naming_the_field(client, payload, words):
    response = client.post("/next", json=payload)
    assert response.status_code == 422
    assert any(words in error["loc"] for error in response.json()["detail"])


@pytest.mark.parametrize("path, params, status, words", [
    ("/users/11/recommendations", {"n": 0}, 422, "n"),
    ("/users/11/recommendations", {"n": 1001}, 422, "n"),
    ("/users/11/recommendations", {"n": "ten"}, 422, "n"),
    ("/users/-3/recommendations", {}, 422, "uid"),
    ("/users/11/recommendations", {"model": "sasrec"}, 422, "Unknown model 'sasrec'"),
    ("/users/11/recommendations", {"target": "like"}, 422, "Unknown target 'like'"),
    ("/items/99999/similar", {}, 404, "Item 99999 has no listen_plus history"),
    ("/items/101/similar", {"model": "history"}, 422, "no item-to-item similarity"),
])  # fmt: skip
def test_a_bad_request_is_a_4xx_that_names_the_problem(client, path, params, status, words):
    response = client.get(path, params=params)
    assert response.status_code == status
    detail = response.json()["detail"]
    if isinstance(detail, list):  # FastAPI's validation: the parameter is named in `loc`
        assert any(words in error["loc"] for error in detail), detail
    else:
        assert words in detail
    assert client.get("/health").status_code == 200  # and the server keeps serving
