"""Entry point of the baseline child processes: ``python -m recsys.bench.child {evaluation,listen-plus}``.

Run by ``recsys bench`` as measured stages; each writes its result as JSON to ``--out`` (also
when it fails, with ``status: failed`` and the error) and exits non-zero on failure.
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
from recsys.config import load_settings
from recsys.warehouse import connect, table_exists


def _test_cutoff(warehouse: Path) -> int:
    """The test fold's history cut-off from the warehouse ``folds`` mart (default if absent)."""
    if not warehouse.exists():
        return baselines.DEFAULT_CUTOFF
    con = connect(warehouse, read_only=True)
    try:
        if table_exists(con, "folds"):
            row = con.execute("select history_end_ts from folds where fold = 'test'").fetchone()
            if row:
                return int(row[0])
    finally:
        con.close()
    return baselines.DEFAULT_CUTOFF


def run(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m recsys.bench.child")
    parser.add_argument("kind", choices=["evaluation", "listen-plus"])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--listens", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.kind == "evaluation":
        con = connect(args.warehouse, read_only=True, settings=settings)
        try:
            sql_metrics, description = baselines.resolve_sql_metrics()
            return baselines.bench_evaluation(
                con, sql_metrics, repeats=args.repeats, sql_description=description
            )
        finally:
            con.close()
    cutoff = _test_cutoff(args.warehouse)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{settings.memory_limit}'")
        if settings.threads:
            con.execute(f"SET threads = {int(settings.threads)}")
        return baselines.bench_listen_plus(con, args.listens, cutoff=cutoff, repeats=args.repeats)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv[:-1] else None
    try:
        result = run(argv)
        code = 0 if result.get("agree", True) else 2
    except Exception as exc:  # reported in the JSON and the stage log, never swallowed
        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        code = 1
    if out is not None:
        write_atomic(out, json.dumps(result, indent=2, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
