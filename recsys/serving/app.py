"""The HTTP API over a loaded :class:`~recsys.serving.service.Service` (FastAPI).

Every list answer is ``{"model", "target", "fallback", "history_end_ts", "items": [{"item_id",
"score"}, ...]}`` in rank order. A request the service cannot answer is a 4xx with
``{"detail": <a sentence naming the parameter>}``; validation of the parameters themselves
(``n`` out of range, a non-integer id) is FastAPI's 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from recsys.columns import TARGETS
from recsys.serving.service import MAX_N, MAX_SESSION, Answer, Service, ServingError

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
                "history_end_ts": service.history_end_ts,
                "items": [{"item_id": i, "score": s} for i, s in answer.items]}

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

    @app.post("/next")
    def next_songs(session: Session) -> dict:
        return body(service.next(session.items, n=session.n))

    return app
