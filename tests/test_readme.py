"""The README's Python block runs as written: on the tiny generated data (RECSYS_DATA_DIR /
RECSYS_SIZE name it, as a user's environment would), in a scratch folder."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_block(section: str) -> str:
    text = README.read_text()
    start = text.index(f"## {section}")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_the_notebook_block_runs_as_written(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tiny_dataset))
    monkeypatch.setenv("RECSYS_SIZE", "tiny")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(python_block("From Python (a notebook)"), "README.md", "exec"), namespace)
    top, similar, users = namespace["top"], namespace["similar"], namespace["users"]
    assert set(top["uid"]) == set(users.tolist()) and len(users) == 3
    assert top.groupby("uid").size().eq(10).all()
    seen = namespace["events"].merge(top, on=["uid", "item_id"])
    assert seen.empty  # exclude_seen
    assert len(similar) == 10 and (tmp_path / "itemknn.pkl").exists()
    again = namespace["model"].recommend_frame(users, n=10, exclude_seen=True)
    assert again.equals(top)  # the saved and loaded model gives the same lists
