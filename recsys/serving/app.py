"""The HTTP API over a loaded :class:`~recsys.serving.service.Service` (FastAPI).

Every list answer is ``{"model", "target", "fallback", "history_end_ts", "items": [{"item_id",
"score"}, ...]}`` in rank order. A request the service cannot answer is a 4xx with
``{"detail": <a sentence naming the parameter>}``; validation of the parameters themselves
(``n`` out of range, a non-integer id) is FastAPI's 422 naming the parameter.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from recsys.columns import TARGETS
from recsys.serving.service import MAX_N, MAX_SESSION, Answer, Service, ServingError

PAGE = (resources.files("recsys.serving") / "page.html").read_text(encoding="utf-8")
N = Annotated[int, Query(ge=1, le=MAX_N, description="length of the list")]
ID = Annotated[int, Path(ge=0, le=2**32 - 1, description="a user or item id of the dataset")]
TARGET = Annotated[str, Query(description=f"the target the models were fitted for: {', '.join(TARGETS)}")]


class Session(BaseModel):
    """A listening session, most recent listen last, and how many next songs to return."""

    items: list[int] = Field(min_length=1, max_length=MAX_SESSION)
    n: int = Field(10, ge=1, le=MAX_N)


def create_app(service: Service, *, default_model: str) -> FastAPI:
    """The app answering from ``service``; ``default_model`` answers when a request names none."""
    app = FastAPI(title="recsys", description="Recommendations and similar tracks from the models "
                  "`recsys evaluate` fitted, as of the evaluated fold's cut-off.")

    @app.exception_handler(ServingError)
    async def _serving_error(request: Request, exc: ServingError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": str(exc)})

    def body(answer: Answer) -> dict:
        return {"model": answer.model, "target": answer.target, "fallback": answer.fallback,
                "retrieval": answer.retrieval,
                "history_end_ts": service.history_end_ts,
                "items": [{"item_id": i, "score": s} for i, s in answer.items]}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return PAGE

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/models")
    def models() -> dict:
        return {**service.describe(), "default_model": default_model}

    @app.get("/users/{uid}/recommendations")
    def recommendations(uid: ID, n: N = 10, model: str = default_model,
                        target: TARGET = TARGETS[0], exclude_seen: bool | None = None) -> dict:
        return body(service.recommend(uid, model=model, target=target, n=n,
                                      exclude_seen=exclude_seen))

    @app.get("/items/{item_id}/similar")
    def similar(item_id: ID, n: N = 10, model: str = "itemknn",
                target: TARGET = TARGETS[0]) -> dict:
        return body(service.similar(item_id, model=model, target=target, n=n))

    @app.get("/users/{uid}/history")
    def history(uid: ID, n: Annotated[int, Query(ge=1, le=MAX_N)] = 50) -> dict:
        """The user's most listened items before the cut-off (score: listens): the repeats."""
        return body(service.history(uid, n=n))

    @app.get("/items/search")
    def search(q: Annotated[int | None, Query(ge=0, le=2**32 - 1, description="an item, "
                                              "artist or album id; left out: the most "
                                              "listened tracks")] = None,
               by: Annotated[str | None, Query(description="item, artist or album; "
                                               "left out: all three")] = None,
               n: Annotated[int, Query(ge=1, le=MAX_N)] = 20) -> dict:
        """Tracks whose item, artist or album id is ``q``, most listeners first (no ``q``: the
        most listened tracks)."""
        return {"query": q, "by": by, "items": service.search(q, by=by, n=n)}

    @app.get("/tracks")
    def tracks(ids: Annotated[str, Query(description="comma-separated item ids")]) -> dict:
        """Artist, album and listeners before the cut-off of each item, in the order asked."""
        try:
            wanted = [int(i) for i in ids.split(",") if i.strip()]
        except ValueError:
            raise ServingError(f"ids must be comma-separated item ids, got {ids!r}.") from None
        return {"items": service.tracks(wanted)}

    @app.post("/next")
    def next_songs(session: Session) -> dict:
        return body(service.next(session.items, n=session.n))

    return app
