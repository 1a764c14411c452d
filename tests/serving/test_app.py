"""The HTTP API: JSON lists, OpenAPI, and a 4xx naming the problem for every bad request."""

from __future__ import annotations

import duckdb
import pytest
from fastapi.testclient import TestClient
from serving_fixtures import MODELS

from recsys.serving.app import create_app


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
    ("/items/search", {"q": 1, "by": "genre"}, 422, "by must be one of item, artist, album"),
    ("/items/search", {"q": -1}, 422, "q"),
    ("/tracks", {"ids": "101,x"}, 422, "ids must be comma-separated item ids"),
    ("/tracks", {}, 422, "ids"),
    ("/users/999/history", {}, 404, "User 999 has no listens before the cut-off"),
    ("/users/11/history", {"n": 0}, 422, "n"),
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


@pytest.fixture(scope="module")
def listened(served):
    """(uid, item_id, listen_events) of the test fold's Listen+ rows with a listen, in pandas."""
    settings, _ = served
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute("select * from train_interactions where fold = 'test' "
                           "and target = 'listen_plus'").df()
    return rows[rows["listen_events"] > 0][["uid", "item_id", "listen_events"]]


def test_the_web_page_finds_tracks_by_item_artist_and_album(client, listened):
    listeners = listened.groupby("item_id").size().reset_index(name="n")
    popular = listeners.sort_values(["n", "item_id"], ascending=[False, True])
    top = client.get("/items/search", params={"n": 3}).json()["items"]
    assert [t["item_id"] for t in top] == popular["item_id"].head(3).tolist()
    assert [t["listeners"] for t in top] == popular["n"].head(3).tolist()
    # artist 1 holds items 101-103 (candidate_fixtures.groups_frame), most listeners first
    by_artist = client.get("/items/search", params={"q": 1, "by": "artist"}).json()["items"]
    assert [t["item_id"] for t in by_artist] == \
        popular[popular["item_id"].isin([101, 102, 103])]["item_id"].tolist()
    assert {(t["artist_id"], t["album_id"]) for t in by_artist if t["item_id"] == 103} == {(1, 11)}
    album = client.get("/items/search", params={"q": 20, "by": "album"}).json()["items"]
    assert sorted(t["item_id"] for t in album) == [104, 105]
    # any kind: item 101 first, then nothing else has id 101
    assert [t["item_id"] for t in client.get("/items/search", params={"q": 101}).json()["items"]] \
        == [101]
    tracks = client.get("/tracks", params={"ids": "106,999"}).json()["items"]
    assert tracks[0]["artist_id"] == 3 and tracks[0]["album_id"] == 30
    assert tracks[1] == {"item_id": 999, "artist_id": -1, "album_id": -1, "listeners": 0}


def test_a_users_history_is_its_listens_before_the_cut_off(client, listened):
    own = listened[listened["uid"] == 11].sort_values(["listen_events", "item_id"],
                                                      ascending=[False, True])
    got = client.get("/users/11/history", params={"n": 2}).json()
    assert got["model"] == "listens"
    assert [(x["item_id"], x["score"]) for x in got["items"]] == \
        list(zip(own["item_id"].head(2).tolist(), own["listen_events"].head(2).astype(float).tolist(),
                 strict=True))


def test_the_page_is_served_at_the_root(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert all(f'id="{name}"' in response.text for name in ("next-list", "list-a", "list-b"))
    assert client.get("/models").json()["example_user"] == 11
