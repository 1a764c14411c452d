"""The benchmark: every pipeline stage measured per data size, plus pandas baselines.

``run_bench`` runs each stage as one child process (``recsys <command>`` against an isolated
dataset and warehouse per size), measures wall time, CPU time and peak memory with ``os.wait4``,
and merges the results into ``reports/bench.json`` and ``reports/bench.md``.
"""

from recsys.bench.measure import StageResult, run_stage
from recsys.bench.runner import parse_sizes, run_bench

__all__ = ["StageResult", "parse_sizes", "run_bench", "run_stage"]
