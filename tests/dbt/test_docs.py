"""`dbt docs generate` works, and every mart column a user reads is described."""

from __future__ import annotations

import json

import pytest
from dbt_helpers import dbt_paths

from recsys.dbt_runner import run_dbt

pytestmark = pytest.mark.slow

KEYS = {"fold", "uid", "item_id", "artist_id", "album_id"}
# feature marts whose columns candidate_features copies (their docs describe those columns)
FEATURE_MARTS = ("user_features", "item_features", "user_item_features", "user_artist_features",
                 "user_album_features")


@pytest.fixture(scope="module")
def docs(tiny_warehouse, tmp_path_factory):
    work = tmp_path_factory.mktemp("docs")
    run_dbt(tiny_warehouse, ["docs", "generate"], **dbt_paths(work))
    target = work / "dbt_target"
    assert (target / "index.html").is_file()
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    return manifest, catalog


def _described(manifest, name: str) -> dict[str, str]:
    node = manifest["nodes"][f"model.recsys.{name}"]
    assert node["description"].strip(), f"{name} has no description"
    return {c.lower(): v["description"] for c, v in node["columns"].items() if v["description"].strip()}


def test_every_mart_column_is_described(docs):
    manifest, catalog = docs
    marts = [n for n in catalog["nodes"].values() if "/marts/" in
             manifest["nodes"][n["unique_id"]]["original_file_path"]]
    assert len(marts) >= 12
    feature_docs = {}
    for name in FEATURE_MARTS:
        feature_docs |= _described(manifest, name)
    missing = []
    for node in marts:
        name = node["metadata"]["name"]
        described = _described(manifest, name)
        allowed = described | feature_docs if name == "candidate_features" else described
        missing += [f"{name}.{c}" for c in node["columns"] if c.lower() not in allowed
                    and c.lower() not in KEYS]
    assert missing == []


def test_no_documented_column_is_missing_from_the_sql(docs):
    manifest, catalog = docs
    stale = []
    for node in catalog["nodes"].values():
        documented = manifest["nodes"][node["unique_id"]]["columns"]
        stale += [f"{node['metadata']['name']}.{c}" for c in documented
                  if c.lower() not in {k.lower() for k in node["columns"]}]
    assert stale == []
