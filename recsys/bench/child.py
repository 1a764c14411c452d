"""Entry point of the benchmark's own child processes: ``python -m recsys.bench.child KIND``.

``evaluation`` / ``listen-plus`` / ``dbt-listens``: the side-by-side baselines, and ``serving``:
the load test of ``recsys serve`` (:mod:`recsys.bench.load`); each writes its result as JSON to
``--out`` (also when it fails, with ``status: failed`` and the error), exit code non-zero on
failure, when the two sides disagree or when the server answered a 5xx. (The pipeline's own stages are ``recsys``
commands: ``recsys.pipeline.stages``.)
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

import duckdb

from recsys.bench import baselines
from recsys.bench.report import write_atomic
from recsys.config import DBT_PROJECT_DIR, load_settings
from recsys.protocol import TEST_FOLD
from recsys.warehouse import apply_settings, connect, table_exists


def _test_cutoff(warehouse: Path) -> int:
    """The test fold's history cut-off from the warehouse ``folds`` mart (default if absent)."""
    if not warehouse.exists():
        return baselines.DEFAULT_CUTOFF
    con = connect(warehouse, read_only=True)
    try:
        if table_exists(con, "folds"):
            row = con.execute("select history_end_ts from folds where fold = ?", [TEST_FOLD]).fetchone()
            if row:
                return int(row[0])
    finally:
        con.close()
    return baselines.DEFAULT_CUTOFF


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recsys.bench.child")
    parser.add_argument("kind", choices=["evaluation", "listen-plus", "dbt-listens", "serving"])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--listens", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--dbt-target", type=Path, help="dbt target folder holding compiled/")
    parser.add_argument("--requests", type=int, default=5000, help="serving: requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="serving: requests at a time")
    parser.add_argument("--config", type=Path, help="serving: the pipeline config of the run")
    return parser


def compiled_model_sql(dbt_target: Path, model: str) -> str:
    """The SQL dbt ran for ``model`` (``<target>/compiled/<project>/models/**/<model>.sql``)."""
    # unit tests compile to <folder>/_<x>__models.yml/<model>.sql with fixture rows: not those
    found = sorted(p for p in dbt_target.glob(f"compiled/*/models/**/{model}.sql") if p.parent.suffix != ".yml")
    if not found:
        raise FileNotFoundError(
            f"No compiled SQL of dbt model {model} under {dbt_target}/compiled: run the build stage first."
        )
    return found[0].read_text()


def dbt_listens(args: argparse.Namespace, settings) -> dict:
    sql = compiled_model_sql(args.dbt_target, baselines.DBT_LISTENS_MODEL)
    listen_vars = baselines.ListenVars.from_project(DBT_PROJECT_DIR / "dbt_project.yml")
    con = connect(args.warehouse, read_only=True, settings=settings)
    try:
        folds = [tuple(r) for r in con.execute("select fold, history_end_ts from folds order by fold").fetchall()]
    finally:
        con.close()  # each side opens its own connection in a fresh process
    return baselines.bench_dbt_listens_model(
        args.warehouse, sql, args.listens, folds, listen_vars=listen_vars, repeats=args.repeats
    )


def run(args: argparse.Namespace) -> dict:
    settings = load_settings()
    if args.kind == "evaluation":
        con = connect(args.warehouse, read_only=True, settings=settings)
        try:
            return baselines.bench_evaluation(con, repeats=args.repeats)
        finally:
            con.close()
    if args.kind == "dbt-listens":
        return dbt_listens(args, settings)
    if args.kind == "serving":
        from recsys.bench.load import load_test
        from recsys.bench.stages import recsys_executable

        server = [*recsys_executable(), "serve", "--quiet",
                  *(["--config", str(args.config)] if args.config else [])]
        from recsys.bench.load import ann_check, compute_timings
        from recsys.pipeline_config import pipeline_config

        log = args.out.with_suffix(".server.log") if args.out else None
        result = load_test(server, args.warehouse, requests=args.requests,
                           concurrency=args.concurrency, log=log)
        # the ANN index against exact search, in this process after the server has stopped
        config = pipeline_config(args.config, settings=settings)
        result["compute"] = compute_timings(settings, config, args.warehouse)
        result["ann"] = ann_check(settings, config)
        return result
    cutoff = _test_cutoff(args.warehouse)
    con = duckdb.connect()
    try:
        apply_settings(con, settings)  # the same memory limit, threads and spill folder as the warehouse
        return baselines.bench_listen_plus(con, args.listens, cutoff=cutoff, repeats=args.repeats)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = run(args)
        code = 0 if result.get("agree", True) else 2
    except Exception as exc:  # reported in the JSON and the stage log, never swallowed
        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        code = 1
    if args.out is not None:
        write_atomic(args.out, json.dumps(result, indent=2, default=str))
    else:
        print(json.dumps(result, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
