import os

import pytest

from recsys.atomic import write_text_atomic


def test_write_replaces_the_whole_file(tmp_path):
    path = tmp_path / "sub" / "report.html"
    write_text_atomic(path, "old")
    write_text_atomic(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert os.stat(path).st_mode & 0o777 != 0o600  # not mkstemp's private mode


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "metrics.csv"
    write_text_atomic(path, "complete")
    with pytest.raises(TypeError):
        write_text_atomic(path, None)  # the write fails half-way
    assert path.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]
