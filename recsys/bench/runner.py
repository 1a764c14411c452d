"""``recsys bench``: run every stage of each chosen size, measure it, and write the report."""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from recsys.bench.machine import machine_info, package_versions
from recsys.bench.measure import StageResult, run_stage
from recsys.bench.report import (
    load_results,
    merge_size,
    pipeline_totals,
    render_markdown,
    write_atomic,
)
from recsys.bench.stages import (
    BASELINE,
    BenchPaths,
    Stage,
    baseline_stages,
    child_env,
    pipeline_plan,
)
from recsys.config import Settings
from recsys.errors import ConfigError
from recsys.pipeline_config import pipeline_config
from recsys.progress import progress_bar, progress_note

# stages everything after them depends on: if one fails, the rest of that size is skipped
_BLOCKING = ("generate", "build")
EVENT_FILES = ("listens", "likes", "dislikes", "unlikes", "undislikes")


def default_repeats(size: str) -> int:
    """Repeats of the baselines (medians reported): 3 up to 50m (about 5 more minutes there), 1 above."""
    return 3 if size in ("tiny", "small", "50m") else 1


def parse_sizes(values: Sequence[str]) -> list[str]:
    """``["tiny,small", "50m"]`` -> ``["tiny", "small", "50m"]`` (comma or repeated option)."""
    sizes: list[str] = []
    for value in values:
        for part in value.replace(",", " ").split():
            if part not in sizes:
                sizes.append(part)
    if not sizes:
        raise ConfigError("No size given: pass --sizes tiny,small (any of tiny, small, 50m).")
    bad = [s for s in sizes if "/" in s or s.startswith(".")]
    if bad:
        raise ConfigError(f"{', '.join(bad)} is not a size name; use tiny, small or 50m.")
    return sizes


def dataset_facts(flat_dir: Path) -> dict:
    """Row counts of the event files (parquet metadata) and distinct users/items of the listens."""
    import pyarrow.parquet as pq

    facts: dict = {}
    for name in EVENT_FILES:
        path = flat_dir / f"{name}.parquet"
        if path.is_file():
            facts[name] = pq.ParquetFile(path).metadata.num_rows
    listens = flat_dir / "listens.parquet"
    if listens.is_file():
        users, items = duckdb.sql(
            "select count(distinct uid), count(distinct item_id) from read_parquet(?)",
            params=[str(listens)],
        ).fetchone()
        facts.update(users=int(users), items=int(items))
    return facts


def dbt_slowest_nodes(run_results: Path, top: int = 8) -> list[dict]:
    """The dbt models/tests that took longest in the last dbt invocation (``run_results.json``)."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []
    nodes = sorted(results, key=lambda r: -float(r.get("execution_time") or 0))[:top]
    return [{"node": r.get("unique_id", "?").split(".", 2)[-1], "seconds": round(float(r.get("execution_time") or 0), 2)}
            for r in nodes]


def _skipped(stage: Stage, reason: str) -> StageResult:
    return StageResult(name=stage.name, command=list(stage.argv), status="skipped", error=reason)


def _fresh_warehouse(paths: BenchPaths) -> None:
    """Start from an empty warehouse: remove it, its WAL and a staged build left by a killed run."""
    name = paths.warehouse.name
    for suffix in ("", ".wal", ".building", ".building.wal"):
        paths.warehouse.with_name(name + suffix).unlink(missing_ok=True)
    shutil.rmtree(paths.temp_dir, ignore_errors=True)


def _read_baseline(stage: Stage, result: StageResult) -> dict:
    path = Path(stage.extra["result"])
    if not path.is_file():
        return {"status": "failed", "error": result.error or "the baseline wrote no result"}
    data = json.loads(path.read_text())
    data["stage"] = stage.name
    if result.status != "ok" and data.get("status") == "ok" and not data.get("agree", True):
        data["error"] = "results disagree"
    return data


def bench_size(
    settings: Settings,
    size: str,
    *,
    root: Path,
    previous: dict | None,
    regenerate: bool = False,
    repeats: int | None = None,
    seed: int = 42,
    niceness: int = 10,
    config: Path | None = None,
    until: str | None = None,
    skip: Sequence[str] = (),
    resume: bool = False,
    on_update=None,
) -> dict:
    """Run and measure every stage of one size; returns its ``bench.json`` entry.

    ``on_update(entry)`` is called after each stage so a long run shows partial results.
    ``until`` stops after the stage of that name (e.g. ``generate`` to prepare data ahead);
    ``skip`` leaves out baseline stages (recorded as skipped). ``resume`` keeps the stages the
    ``previous`` run of this size finished (its records, measured then, and the warehouse they
    built) up to the first one it did not, and runs the rest.
    """
    paths = BenchPaths(root, size)
    reports_root = settings.reports_dir
    env = child_env(settings, paths, reports_root)
    logs = paths.logs_dir(reports_root)
    repeats = repeats or default_repeats(size)
    # each stage reads its generators from the config, which follows the generated data's size
    plan = pipeline_plan(size, paths, models=None, seed=seed, config=config)
    plan += baseline_stages(logs, repeats=repeats, listens=paths.flat_dir / "listens.parquet",
                            warehouse=paths.warehouse, dbt_target=paths.dbt_target_dir,
                            config=config)
    if until is not None:
        names = [s.name for s in plan]
        if until not in names:
            raise ConfigError(f"--until {until!r} is not a stage; stages: {', '.join(names)}.")
        plan = plan[: names.index(until) + 1]
    optional = [s.name for s in plan if s.kind == BASELINE]
    wrong = [name for name in skip if name not in optional]
    if wrong:
        raise ConfigError(f"--skip {', '.join(wrong)}: only the stages after the pipeline can be "
                          f"left out: {', '.join(optional)}.")
    entry: dict = {
        "size": size, "run_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), "state": "running",
        "machine": machine_info(), "packages": package_versions(),
        "settings": {"memory_limit": settings.memory_limit, "threads": settings.threads,
                     "niceness": niceness, "seed": seed, "models": None, "baseline_repeats": repeats,
                     "data_dir": str(paths.data_dir), "warehouse": str(paths.warehouse)},
        "dataset": {}, "stages": [], "baselines": {}, "failures": [],
    }
    blocked: str | None = None
    finished = _finished_stages(previous) if resume else {}
    ran = False  # a stage ran in this call: the ones after it cannot keep earlier results
    bar = progress_bar(plan, desc=f"bench {size}", unit="stage", leave=False)
    for stage in bar:
        if stage.name in skip:
            result = _skipped(stage, "left out (--skip)")
        elif stage.name in finished and not ran:
            result = _kept(stage, finished[stage.name], previous)
        elif stage.name == "generate" and paths.has_data() and not regenerate:
            result = _reused_generate(stage, previous)
        elif blocked and stage.kind != BASELINE:
            result = _skipped(stage, f"`{blocked}` did not run")
        else:
            ran = True
            if stage.name == "build":
                _fresh_warehouse(paths)
            result = run_stage(stage.name, stage.argv, env=env, cwd=root,
                               log_path=logs / f"{stage.name}.log", niceness=niceness)
        if stage.name == "generate":
            entry["dataset"] = dataset_facts(paths.flat_dir)
            if paths.has_data():
                bench_config = pipeline_config(config, settings=settings.with_(
                    data_dir=paths.data_dir, size=size))
                entry["settings"]["models"] = list(bench_config.candidates.models)
                entry["settings"]["derived"] = bench_config.derived
        if stage.name.startswith("build") and result.status in ("ok", "failed"):
            result.extra["dbt_slowest_nodes"] = dbt_slowest_nodes(paths.dbt_target_dir / "run_results.json")
        if stage.kind == BASELINE and result.status != "skipped":
            found = _read_baseline(stage, result)
            entry["baselines"][stage.extra["key"]] = found
            entry["baselines"].update(found.pop("also", {}))
        if result.status == "failed":
            entry["failures"].append(f"{stage.name}: {_short(result, entry)}")
            if stage.name in _BLOCKING:
                blocked = stage.name
        record = result.to_dict()
        progress_note(bar, f"bench {size} {stage.name}: {result.status}, {result.wall_s:,.1f} s wall, "
                           f"{result.peak_rss_mb:,.0f} MB peak")
        record["kind"] = stage.kind
        entry["stages"].append(record)
        entry["totals"] = pipeline_totals(entry["stages"])
        if on_update:
            on_update(entry)
    entry["state"] = "complete" if until is None else f"stopped after {until}"
    return entry


def _short(result: StageResult, entry: dict) -> str:
    """One line for the failure list: the baseline's own error, or the log's last line."""
    for b in entry["baselines"].values():
        if b.get("stage") == result.name and b.get("error"):
            return b["error"]
    last = (result.error or "").strip().splitlines()[-1:] or [""]
    return f"exit code {result.returncode}: {last[0]}" + (f" (log: {result.log})" if result.log else "")


def _finished_stages(previous: dict | None) -> dict[str, dict]:
    """The records of ``previous``'s stages that finished (``ok``, or kept from a run before),
    up to its first stage that did not: what a resumed run keeps."""
    kept = {}
    for record in (previous or {}).get("stages", []):
        if record["name"] == "generate":
            continue  # the data follows its own rule (bench/<size>/data reused unless --regenerate)
        if record["status"] not in ("ok", "reused"):
            break
        kept[record["name"]] = record
    return kept


def _kept(stage: Stage, record: dict, previous: dict) -> StageResult:
    """``record`` of an earlier run as this run's result (its numbers, measured then)."""
    names = {f.name for f in fields(StageResult)}
    result = StageResult(**{k: v for k, v in record.items() if k in names})
    result.command = list(stage.argv)
    result.extra = {**record.get("extra", {}),
                    "measured_at": record.get("extra", {}).get("measured_at") or previous.get("run_at")}
    return result


def _reused_generate(stage: Stage, previous: dict | None) -> StageResult:
    result = StageResult(name=stage.name, command=list(stage.argv), status="reused")
    old = next((s for s in (previous or {}).get("stages", []) if s["name"] == "generate"), None)
    if old and old["status"] in ("ok", "reused"):
        for key in ("wall_s", "user_s", "sys_s", "peak_rss_mb"):
            setattr(result, key, old[key])
        result.extra = {"measured_at": old.get("extra", {}).get("measured_at") or previous.get("run_at")}
    else:
        result.error = "existing data reused; generation time not measured (use --regenerate)"
    return result


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_bench(
    settings: Settings,
    sizes: Sequence[str],
    *,
    root: Path | None = None,
    regenerate: bool = False,
    repeats: int | None = None,
    seed: int = 42,
    niceness: int = 10,
    config: Path | None = None,
    until: str | None = None,
    skip: Sequence[str] = (),
    resume: bool = False,
) -> dict:
    """Benchmark each size in turn, merging results into ``<reports>/bench.json`` and ``bench.md``.

    Parameters
    ----------
    settings : Settings
        Memory limit, threads and the reports folder; data and warehouse paths are the benchmark's
        own (``bench/<size>/data``, ``bench/<size>/bench-<size>.duckdb`` under ``root``).
    sizes : sequence of str
        Sizes to run (tiny, small, 50m); other sizes of an earlier run stay in the report.
    regenerate : bool
        Generate the data again even if ``bench/<size>/data`` already holds it.
    repeats : int, optional
        Repeats of each baseline timing (median reported); default 3 up to 50m, 1 above.
    niceness : int
        Nice increment of every stage (the CPU may be shared).
    until : str, optional
        Stop each size after this stage (``generate``: prepare the data of a big size ahead).
    skip : sequence of str
        Baseline stages to leave out (e.g. the pandas baselines of a big size).
    resume : bool
        Continue each size's last run from its first stage that did not finish.

    Returns
    -------
    dict
        The merged ``bench.json`` content.
    """
    root = (root or Path.cwd()).resolve()
    json_path = settings.reports_dir / "bench.json"
    results = load_results(json_path)

    def save(entry: dict) -> None:
        # re-read under a lock: another `recsys bench` (another size) may have written meanwhile
        with _locked(settings.reports_dir / ".bench.lock"):
            merged = merge_size(load_results(json_path), entry["size"], entry)
            merged["updated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
            write_atomic(json_path, json.dumps(merged, indent=2, default=str) + "\n")
            write_atomic(settings.reports_dir / "bench.md", render_markdown(merged))
        results.clear()
        results.update(merged)

    for size in parse_sizes(sizes):
        previous = results.get("sizes", {}).get(size)
        entry = bench_size(settings, size, root=root, previous=previous, regenerate=regenerate,
                           repeats=repeats, seed=seed, niceness=niceness, config=config, until=until,
                           skip=skip, resume=resume, on_update=save)
        save(entry)
    return results


def rerender(settings: Settings) -> dict:
    """Recompute the totals of every size in ``bench.json`` and rewrite ``bench.md`` (no stage runs)."""
    json_path = settings.reports_dir / "bench.json"
    with _locked(settings.reports_dir / ".bench.lock"):
        results = load_results(json_path)
        for entry in results["sizes"].values():
            entry["totals"] = pipeline_totals(entry.get("stages", []))
        write_atomic(json_path, json.dumps(results, indent=2, default=str) + "\n")
        write_atomic(settings.reports_dir / "bench.md", render_markdown(results))
    return results
