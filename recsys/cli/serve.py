"""``recsys serve``: recommendations and similar tracks over HTTP from a built warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.pipeline_config import pipeline_config


@click.command("serve")
@settings_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="The YAML file `recsys evaluate` ran with (its models, seed and "
              "parameters are what is served).")
@click.option("--models", default=None, metavar="NAME[,NAME...]",
              help="Generators to serve (default: candidates.models of the config).")
@click.option("--default-model", default=None,
              help="Model of a request that names none (default: the two-stage model, "
              "ranker.model_name, when its ranker is saved; else `history`).")
@click.option("--similar", "similar", type=click.Choice(["auto", "ann", "exact"]),
              default="auto", show_default=True,
              help="How /items/{id}/similar searches ials, bpr and audio item vectors: an "
              "approximate nearest-neighbour index (faiss IVF), exact search, or auto: the index "
              "for a model with 50,000 items or more.")
@click.option("--user-retrieval", type=click.Choice(["exact", "ann"]), default="exact",
              show_default=True,
              help="How ials, bpr and audio find a user's items: score every item (the lists "
              "`recsys evaluate` wrote) or an ANN index over the item vectors (faster on a large "
              "catalogue; its recall against exact is measured by `recsys bench`).")
@click.option("--refit", is_flag=True,
              help="Fit and load from the warehouse even when the snapshot of the last start "
              "(<reports>/serving/snapshot.pkl) was made from the same inputs.")
@click.option("--quiet", is_flag=True, help="No progress lines while the models load.")
def serve(settings, host, port, config_path, models, default_model, similar, user_retrieval,
          refit, quiet):
    """Serve the fitted models over HTTP (FastAPI + uvicorn); a web page at /, docs at /docs.

    Loads once, read-only, from the warehouse `recsys evaluate` built: every served generator
    fitted on the test fold's history with the parameters evaluate used, and each saved
    two-stage ranker with the test fold's rows of `candidate_features` (its candidates and
    point-in-time features), so a user's list is the one the `recommendations` table holds.
    Then the warehouse is closed; requests never read it. What was loaded is kept in
    <reports>/serving/snapshot.pkl: the next start reads it instead when the build, tuned
    parameters, saved rankers, config and code are the same (--refit: never).

    \b
    Endpoints:
      GET /users/{uid}/recommendations?n=10&model=two_stage&target=listen_plus&exclude_seen=false
      GET /items/{item_id}/similar?n=10&model=itemknn      (itemknn, ials, bpr, audio)
      POST /next  {"items": [item ids, most recent last], "n": 10}
      GET /users/{uid}/history?n=50   the user's listens before the cut-off
      GET /items/search?q=ID&by=artist   tracks by item, artist or album id
      GET /tracks?ids=1,2,3   artist and album of items
      GET /   the web page    GET /models   GET /health   GET /docs

    \b
    Example:
      recsys serve --port 8000 &
      curl 'localhost:8000/users/100/recommendations?n=5'
    """
    import uvicorn

    from recsys.serving.app import create_app
    from recsys.serving.snapshot import open_service

    config = run_or_fail(pipeline_config, config_path, settings=settings)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None

    def fitted(target: str, model: str) -> None:
        if not quiet:
            click.echo(f"loaded {target}/{model}", err=True)

    ann = {"auto": None, "ann": True, "exact": False}[similar]
    service, loaded = run_or_fail(open_service, settings, config, models=names, ann=ann,
                                  ann_users=user_retrieval == "ann", reuse=not refit,
                                  on_fitted=fitted)
    if not quiet:
        click.echo(f"{'read' if loaded['reused'] else 'wrote'} {loaded['snapshot']}", err=True)
    default = default_model or _default_model(service, config.two_stage_name)
    if default not in service.served(next(iter(service.models))):
        raise click.BadParameter(f"{default!r} is not a served model.", param_hint="--default-model")
    uvicorn.run(create_app(service, default_model=default), host=host, port=port,
                log_level="warning" if quiet else "info")


def _default_model(service, two_stage: str) -> str:
    """The two-stage model when it is served, else `history`, else the first served model."""
    served = service.served(next(iter(service.models)))
    return next((m for m in (two_stage, "history") if m in served), served[0])


COMMANDS = [serve]
