"""Fixtures of the candidate tests (helpers live in candidate_fixtures.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from candidate_fixtures import make_events, train_data

from recsys.candidates.data import TrainData


@pytest.fixture
def data() -> TrainData:
    return train_data()


@pytest.fixture
def events() -> dict[str, pd.DataFrame]:
    return make_events()
