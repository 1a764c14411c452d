"""The package's layers (pyproject.toml, [tool.importlinter]): the CLI on top, then bench,
pipeline, evaluation, ranking, candidates, dbt_runner and data, and at the ground the contracts
every stage shares (run_manifest, pipeline_config, sections, tables, state, warehouse, schema,
protocol, config). ``lint-imports`` checks every import, function-local ones too; an import
upwards fails here."""

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


def test_the_whole_config_is_checked_without_loading_a_stage():
    """Parsing a config with every section (and a typo in it) loads no stage module: the section
    parsers and the generator names they check against sit below the stages."""
    code = (
        "import sys\n"
        "from recsys.errors import ConfigError\n"
        "from recsys.pipeline_config import pipeline_config\n"
        "pipeline_config(overrides={'candidates.models': ['ials', 'itemknn']})\n"
        "try:\n"
        "    pipeline_config(overrides={'candidates.params': {'itemknn': {'kk': 5}}})\n"
        "except ConfigError as exc:\n"
        "    print('refused:', exc)\n"
        "stages = ('recsys.candidates', 'recsys.evaluation', 'recsys.ranking', 'recsys.pipeline.')\n"
        "print(sorted(m for m in sys.modules if m.startswith(stages)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refused: Unknown parameter(s) kk for generator 'itemknn'" in proc.stdout
    assert proc.stdout.strip().endswith("[]"), proc.stdout
