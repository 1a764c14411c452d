"""The package's layers (pyproject.toml, [tool.importlinter]): the CLI on top, then bench,
pipeline, evaluation, ranking, candidates, dbt_runner and data, and at the ground the contracts
every stage shares (run_manifest, pipeline_config, tables, state, warehouse, schema, protocol,
config). ``lint-imports`` checks every import, function-local ones too; an import upwards fails
here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_module_imports_a_layer_above_its_own():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
