"""Each protocol number has one definition: the dbt project's vars (recsys.protocol reads them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recsys import protocol
from recsys.config import DBT_PROJECT_DIR, REPO_ROOT

# literals of the protocol: the last timestamp, the folds' cut-offs and target starts (test,
# val), the gap, and the Listen+ threshold as a comparison or a named setting
PROTOCOL_LITERALS = {
    "last_timestamp": r"\b26_?000_?000\b",
    "test cut-off": r"\b25_?911_?800\b",
    "test target start": r"\b25_?913_?600\b",
    "val cut-off": r"\b25_?823_?600\b",
    "val target start": r"\b25_?825_?400\b",
    "gap": r"\bgap\w*\s*[:=]\s*1_?800\b",
    "Listen+ threshold": r"(played_ratio_pct\s*>=\s*50\b|threshold\w*\s*[:=]\s*50\b|min_ratio\w*\s*[:=]\s*50\b)",
}
SOURCES = [("recsys", "*.py"), ("recsys", "*.yml"), ("configs", "*.yml"), ("sql", "*.sql"),
           ("dbt_project/models", "*.sql"), ("dbt_project/macros", "*.sql")]


def definitions(pattern: str, root: Path = REPO_ROOT) -> list[str]:
    found = []
    for folder, glob in SOURCES:
        for path in sorted((root / folder).rglob(glob)):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0] if path.suffix in (".py", ".yml") else line
                if re.search(pattern, code, re.IGNORECASE):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("name", PROTOCOL_LITERALS)
def test_protocol_numbers_are_defined_only_in_the_dbt_vars(name):
    pattern = PROTOCOL_LITERALS[name]
    assert definitions(pattern) == [], f"{name} is defined again outside dbt_project.yml"


def test_a_second_definition_would_be_found(tmp_path):
    (tmp_path / "recsys").mkdir()
    (tmp_path / "recsys" / "settings.py").write_text("LISTEN_PLUS_THRESHOLD = 50  # the paper's\n"
                                                      "CUTOFF = 25_911_800\n")
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "q.sql").write_text("select * from stg_listens where played_ratio_pct >= 50\n")
    assert len(definitions(PROTOCOL_LITERALS["Listen+ threshold"], tmp_path)) == 2
    assert len(definitions(PROTOCOL_LITERALS["test cut-off"], tmp_path)) == 1
    assert (DBT_PROJECT_DIR / "dbt_project.yml").read_text().count("listen_plus_threshold: 50") == 1


def test_python_reads_the_vars():
    assert protocol.listen_plus_threshold() == 50
    bounds = protocol.fold_bounds(3)
    assert list(bounds) == ["test", "val", "val_2"]
    # each fold's target window ends where the next (later) fold's history ends
    assert bounds["val"][2] == bounds["test"][0] and bounds["val_2"][2] == bounds["val"][0]


FOLD_NAME_LITERAL = re.compile(r"""["'](val|test|val_[0-9]+)["']""")


def fold_name_literals(root: Path = REPO_ROOT) -> list[str]:
    """Fold names spelled in Python code outside recsys/protocol.py (doctest examples aside)."""
    found = []
    for path in sorted((root / "recsys").rglob("*.py")):
        if path.name == "protocol.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0].strip()
            if not code.startswith((">>>", "...")) and FOLD_NAME_LITERAL.search(code):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_fold_names_are_defined_once(tmp_path):
    assert fold_name_literals() == [], "a fold name is spelled again: use recsys.protocol"
    assert protocol.var("test_fold") == protocol.TEST_FOLD and protocol.var("val_fold") == protocol.VAL_FOLD
    (tmp_path / "recsys").mkdir()
    (tmp_path / "recsys" / "stage.py").write_text('TRAIN_FOLD = "val"\n>>> f("test")\n')
    assert len(fold_name_literals(tmp_path)) == 1  # the constant, not the doctest line
