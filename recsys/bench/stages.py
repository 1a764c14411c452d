"""The stage plan: which ``recsys`` command lines make up one benchmark run of one size.

Every stage is one child process: ``recsys <command>`` with the environment pointing at an
isolated dataset and warehouse for that size (``data/bench/<size>``,
``warehouse/bench-<size>.duckdb``), so a benchmark never touches the user's own warehouse.
The plan adapts to the commands that are installed (it reads the click group), so a stage whose
command does not exist is reported as ``skipped`` with the reason rather than failing the run.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from recsys.config import Settings

PIPELINE = "pipeline"
BASELINE = "baseline"


@dataclass(frozen=True)
class BenchPaths:
    """Where one size's benchmark keeps its data, warehouse, logs and pipeline reports."""

    root: Path
    size: str

    @property
    def data_dir(self) -> Path:
        return self.root / "data" / "bench" / self.size

    @property
    def flat_dir(self) -> Path:
        return self.data_dir / "flat" / self.size

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / f"bench-{self.size}.duckdb"

    @property
    def temp_dir(self) -> Path:
        return self.root / "warehouse" / f"tmp-bench-{self.size}"

    @property
    def dbt_target_dir(self) -> Path:
        return self.root / "warehouse" / f"dbt-target-bench-{self.size}"

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
    # set when the command is not installed: the stage is reported as skipped with this reason
    missing: str | None = None
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


def installed_commands() -> dict[str, click.Command]:
    """The commands of the ``recsys`` group as installed now."""
    from recsys.cli import main

    return dict(main.commands)


def has_option(command: click.Command | None, flag: str) -> bool:
    return command is not None and any(flag in p.opts for p in command.params)


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


def _cmd(commands: dict[str, click.Command], name: str, args: list[str], stage: str, **kw) -> Stage:
    if name not in commands:
        return Stage(stage, tuple(recsys_executable() + [name] + args),
                     missing=f"`recsys {name}` is not installed", **kw)
    return Stage(stage, tuple(recsys_executable() + [name] + args), **kw)


def pipeline_plan(
    size: str,
    paths: BenchPaths,
    *,
    models: list[str],
    seed: int,
    config: Path | None = None,
    commands: dict[str, click.Command] | None = None,
) -> list[Stage]:
    """The pipeline stages of one size, in order.

    generate -> build (dbt, fresh warehouse) -> tune (every generator on val, Optuna; the
    ranker's val candidates from the chosen fits) -> candidates (every generator, the tuned
    values, both folds and targets, the slices tune wrote kept) -> build-candidate-features (dbt, the mart joining candidates with
    features) -> train-ranker (val) -> rank (test) -> recommendations (each generator's top-k
    of the test fold) -> evaluate (SQL metrics, bootstrap intervals, reports).
    """
    commands = installed_commands() if commands is None else commands
    cfg = ["--config", str(config)] if config else []
    build = commands.get("build")
    # the build's folds (dbt var n_folds) and candidate_features' ranks follow the config too
    build_cfg = cfg if has_option(build, "--config") else []
    plan = [
        _cmd(commands, "generate", ["--size", size, "--seed", str(seed), "--out", str(paths.data_dir)], "generate"),
        _cmd(commands, "build", (["--quiet"] if has_option(build, "--quiet") else []) + build_cfg, "build"),
    ]
    # tuning on val first (as `recsys evaluate` does): the candidate stages then reuse the values
    plan.append(_cmd(commands, "tune", ["--models", ",".join(models)] + cfg, "tune"))
    # every generator in one process, as `recsys evaluate` fits them: each target's training data
    # and events are read once, not once per model; the stage log has
    # each (fold, target, model)'s users, rows and seconds
    cand = commands.get("candidates")
    args = ["--models", ",".join(models)]
    if has_option(cand, "--fold"):
        args += ["--fold", "val,test"]
    if has_option(cand, "--skip-existing"):
        args += ["--skip-existing"]  # the val slices the tune stage wrote from its chosen fits
    plan.append(_cmd(commands, "candidates", args + cfg, "candidates"))
    plan.append(_cmd(commands, "build", ["--select", "candidate_features"] + build_cfg, "build-candidate-features"))
    plan.append(_cmd(commands, "train-ranker", cfg, "train-ranker"))
    plan.append(_cmd(commands, "rank", ["--fold", "test"] + cfg, "rank"))
    child = [sys.executable, "-m", "recsys.bench.child", "recommendations", "--fold", "test",
             "--models", ",".join(models), "--warehouse", str(paths.warehouse)] + cfg
    plan.append(Stage("recommendations", tuple(child)))
    plan.append(evaluation_stage(commands, ["--fold", "test"] + cfg))
    return plan


def evaluation_stage(commands: dict[str, click.Command], cfg: list[str]) -> Stage:
    """Score the existing ``recommendations`` with the SQL metrics, without refitting anything."""
    if "metrics" in commands:
        return _cmd(commands, "metrics", cfg, "evaluate")
    evaluate = commands.get("evaluate")
    if has_option(evaluate, "--skip-fit"):
        return _cmd(commands, "evaluate", ["--skip-fit"] + cfg, "evaluate")
    return Stage("evaluate", tuple(recsys_executable() + ["metrics"]),
                 missing="neither `recsys metrics` nor `recsys evaluate --skip-fit` is installed")


def baseline_stages(
    out_dir: Path, *, repeats: int, listens: Path, warehouse: Path, dbt_target: Path
) -> list[Stage]:
    """The side-by-side baselines, each one child process writing its JSON result to ``out_dir``."""
    child = [sys.executable, "-m", "recsys.bench.child"]
    common = ["--warehouse", str(warehouse), "--repeats", str(repeats)]
    specs = [
        ("baseline-evaluation", "evaluation", "evaluation", []),
        ("baseline-dbt-listens", "dbt-listens", "dbt_listens_model",
         ["--listens", str(listens), "--dbt-target", str(dbt_target)]),
        ("baseline-listen-plus", "listen-plus", "listen_plus_aggregation", ["--listens", str(listens)]),
    ]
    stages = []
    for name, kind, key, args in specs:
        result = out_dir / f"{name}.json"
        stages.append(Stage(name, tuple(child + [kind, *common, *args, "--out", str(result)]),
                            kind=BASELINE, extra={"result": str(result), "key": key}))
    return stages
