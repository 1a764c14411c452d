"""A loaded :class:`~recsys.serving.service.Service` kept on disk, so that a server starts by
reading it instead of fitting every generator and reading every candidate row again.

:func:`open_service` computes what a load would be made from (:func:`inputs_fingerprint`: the
warehouse build, the tuned parameters, the saved rankers, the config, what is served, and the
code of the package) and reads ``<reports_dir>/serving/snapshot.pkl`` when it was written from
exactly that; otherwise it loads the service from the warehouse and writes the snapshot (atomic:
a temporary file renamed into place). Nothing is reused across builds, parameters or code.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from recsys import state
from recsys.atomic import pickle_atomic, write_bytes_atomic
from recsys.candidates.store import PARAMS_TABLE
from recsys.columns import TARGETS
from recsys.config import Settings
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.protocol import TEST_FOLD
from recsys.ranking.ranker import model_dir
from recsys.serving.service import Service
from recsys.warehouse import open_warehouse, table_exists

PACKAGE = Path(__file__).resolve().parents[1]  # the code a snapshot was computed with


def snapshot_path(settings: Settings) -> Path:
    return Path(settings.reports_dir) / "serving" / "snapshot.pkl"


def inputs_fingerprint(settings: Settings, config: PipelineConfig, *, models, targets, fold: str,
                       two_stage: bool, ann: Any) -> str:
    """What :meth:`Service.load` with these arguments reads and computes from."""
    with open_warehouse(settings, read_only=True) as con:
        build = state.current_build(con)
        params = con.execute(f"select target, model, fingerprint, params from {PARAMS_TABLE} "
                             "order by all").fetchall() if table_exists(con, PARAMS_TABLE) else []
    rankers = {name: state.files_hash(model_dir(settings, name))
               for name in config.two_stage_names if model_dir(settings, name).is_dir()}
    return state.digest({
        "build": build, "params": params, "rankers": rankers, "config": config.raw,
        "warehouse": str(Path(settings.warehouse).resolve()), "models": models,
        "targets": list(targets), "fold": fold, "two_stage": two_stage, "ann": ann,
        "code": state.files_hash(PACKAGE)})


def open_service(settings: Settings, config: PipelineConfig | dict, *,
                 models: Sequence[str] | None = None, targets: Sequence[str] = TARGETS,
                 fold: str = TEST_FOLD, two_stage: bool = True, ann: bool | None = None,
                 ann_users: bool = False, reuse: bool = True, on_fitted: Callable[[str, str], None] | None = None
                 ) -> tuple[Service, dict[str, Any]]:
    """The service from its snapshot when current (``reuse``), else loaded and snapshotted.
    Returns it with ``{"snapshot": path, "reused": bool}``."""
    config = as_config(config)
    wanted = None if models is None else list(models)
    fingerprint = inputs_fingerprint(settings, config, models=wanted, targets=targets, fold=fold,
                                     two_stage=two_stage, ann=(ann, ann_users))
    path = snapshot_path(settings)
    meta = path.with_suffix(".json")
    if reuse and path.is_file() and meta.is_file():
        try:
            if json.loads(meta.read_text()).get("fingerprint") == fingerprint:
                with path.open("rb") as handle:
                    return pickle.load(handle), {"snapshot": str(path), "reused": True}
        except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError):
            pass  # unreadable or from other code: loaded again below
    service = Service.load(settings, config, models=wanted, targets=targets, fold=fold,
                           two_stage=two_stage, ann=ann, ann_users=ann_users,
                           on_fitted=on_fitted)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta.unlink(missing_ok=True)  # the snapshot is current only once both files are written
    pickle_atomic(path, service)
    write_bytes_atomic(meta, json.dumps({"fingerprint": fingerprint,
                                         "build": service.build}).encode())
    return service, {"snapshot": str(path), "reused": False}
