import pytest
from eval_fixtures import random_fixture, write_warehouse


@pytest.fixture(scope="module")
def random_warehouse(tmp_path_factory):
    fixture = random_fixture(seed=7)
    path = write_warehouse(tmp_path_factory.mktemp("wh") / "random.duckdb", **fixture)
    return path, fixture
