"""The stage plan: which ``recsys`` command lines make up one benchmark run of one size.

``generate``, then the pipeline's own stages (:func:`recsys.pipeline.stages`, in its order),
then the side-by-side baselines. Every stage is one child process: ``recsys <command>`` with the
environment pointing at an isolated dataset and warehouse for that size (``bench/<size>/data``,
``bench/<size>/bench-<size>.duckdb``), so a benchmark never touches the user's own warehouse;
``make clean`` removes ``bench/``.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from recsys.config import Settings

PIPELINE = "pipeline"
BASELINE = "baseline"


@dataclass(frozen=True)
class BenchPaths:
    """Where one size's benchmark keeps its data, warehouse, logs and pipeline reports."""

    root: Path
    size: str

    @property
    def folder(self) -> Path:
        """Everything of this size's benchmark but its reports (``make clean`` removes ``bench/``)."""
        return self.root / "bench" / self.size

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def flat_dir(self) -> Path:
        return self.data_dir / "flat" / self.size

    @property
    def warehouse(self) -> Path:
        return self.folder / f"bench-{self.size}.duckdb"

    @property
    def temp_dir(self) -> Path:
        return self.folder / "tmp"

    @property
    def dbt_target_dir(self) -> Path:
        return self.folder / "dbt-target"

    def reports_dir(self, reports_root: Path) -> Path:
        return reports_root / "bench-runs" / self.size

    def logs_dir(self, reports_root: Path) -> Path:
        return reports_root / "bench-logs" / self.size

    def has_data(self) -> bool:
        return (self.flat_dir / "listens.parquet").is_file()


@dataclass(frozen=True)
class Stage:
    """One measured step: a name, a command line, and whether it belongs to the pipeline total."""

    name: str
    argv: tuple[str, ...]
    kind: str = PIPELINE
    extra: dict = field(default_factory=dict)


def recsys_executable() -> list[str]:
    """The ``recsys`` console script of this interpreter (falls back to ``python -c``)."""
    script = Path(sys.executable).parent / "recsys"
    if script.is_file():
        return [str(script)]
    found = shutil.which("recsys")
    if found:
        return [found]
    return [sys.executable, "-c", "from recsys.cli import main; main()"]


def child_env(settings: Settings, paths: BenchPaths, reports_root: Path) -> dict[str, str]:
    """The environment of every stage of one size: isolated data, warehouse, temp and dbt paths."""
    env = dict(os.environ)
    bench = settings.with_(
        data_dir=paths.data_dir, size=paths.size, warehouse=paths.warehouse,
        reports_dir=paths.reports_dir(reports_root), temp_dir=paths.temp_dir,
    )
    env.update(bench.env())
    # dbt writes manifest/partial-parse files under target/: keep the benchmark's apart from a
    # developer's concurrent dbt run in the same project folder
    env["DBT_TARGET_PATH"] = str(paths.dbt_target_dir.resolve())
    env["DBT_LOG_PATH"] = str((paths.dbt_target_dir / "logs").resolve())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pipeline_plan(
    size: str,
    paths: BenchPaths,
    *,
    models: list[str] | None,
    seed: int,
    config: Path | None = None,
) -> list[Stage]:
    """``generate``, then :func:`recsys.pipeline.stages` in order, each as a command line (with
    ``--config`` where the stage takes it: the build's folds and candidate_features' ranks follow
    the config too)."""
    from recsys.pipeline import stages

    cfg = ["--config", str(config)] if config else []
    run = recsys_executable()
    plan = [Stage("generate", tuple(run + ["generate", "--size", size, "--seed", str(seed),
                                           "--out", str(paths.data_dir)]))]
    for stage in stages(models):
        plan.append(Stage(stage.name, tuple(run + list(stage.argv) + cfg)))
    return plan


def baseline_stages(
    out_dir: Path, *, repeats: int, listens: Path, warehouse: Path, dbt_target: Path,
    config: Path | None = None, serving_requests: int = 5000,
) -> list[Stage]:
    """The side-by-side baselines and the serving load test (``serve``: ``serving_requests``
    per endpoint at concurrency 8, the server started with the run's ``config``), each one
    child process writing its JSON result to ``out_dir``."""
    child = [sys.executable, "-m", "recsys.bench.child"]
    common = ["--warehouse", str(warehouse), "--repeats", str(repeats)]
    specs = [
        ("baseline-evaluation", "evaluation", "evaluation", []),
        ("baseline-dbt-listens", "dbt-listens", "dbt_listens_model",
         ["--listens", str(listens), "--dbt-target", str(dbt_target)]),
        ("baseline-listen-plus", "listen-plus", "listen_plus_aggregation", ["--listens", str(listens)]),
        ("serve", "serving", "serving",
         ["--requests", str(serving_requests), "--concurrency", "8",
          *(["--config", str(config)] if config else [])]),
    ]
    stages = []
    for name, kind, key, args in specs:
        result = out_dir / f"{name}.json"
        stages.append(Stage(name, tuple(child + [kind, *common, *args, "--out", str(result)]),
                            kind=BASELINE, extra={"result": str(result), "key": key}))
    return stages
