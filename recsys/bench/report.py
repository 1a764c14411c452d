"""``bench.json`` (merged per size) and its Markdown rendering ``bench.md``, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from recsys.atomic import write_text_atomic
from recsys.config import GENERATED_SIZES, KNOWN_SIZES
from recsys.errors import ConfigError

SCHEMA_VERSION = 1
# the acceptance bounds of the scale issue: `recsys bench` exits 1 when one of its sizes fails one
TARGET_SIZE = "50m"
MAX_PIPELINE_WALL_S = 20 * 60
MAX_PEAK_RSS_MB = 16 * 1024
MIN_SPEEDUP = {"evaluation": 20.0, "dbt_listens_model": 3.0, "listen_plus_aggregation": 3.0}
# stages that are not part of "the pipeline from an empty warehouse" (generation excluded)
NON_PIPELINE_STAGES = ("generate",)


write_atomic = write_text_atomic  # re-exported: bench callers import it from here


def load_results(path: Path) -> dict:
    """The earlier ``bench.json`` (an empty skeleton if there is none)."""
    if not path.exists():
        return {"schema_version": SCHEMA_VERSION, "sizes": {}}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc}); move it away or delete it, then rerun `recsys bench`."
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("sizes"), dict):
        raise ConfigError(f"{path} does not look like a bench.json (no 'sizes' mapping); move it away.")
    return data


def merge_size(results: dict, size: str, entry: dict) -> dict:
    """Replace the entry of one size, keeping the other sizes of an earlier run."""
    merged = dict(results)
    merged["schema_version"] = SCHEMA_VERSION
    merged["sizes"] = {**results.get("sizes", {}), size: entry}
    return merged


def pipeline_totals(stages: list[dict]) -> dict:
    """Sum of wall and CPU time, max of peak RSS, over the pipeline stages (generation excluded)."""
    rows = [s for s in stages if s["name"] not in NON_PIPELINE_STAGES and s.get("kind", "pipeline") == "pipeline"]
    measured = [s for s in rows if s["status"] in ("ok", "failed")]
    total = {
        "wall_s": round(sum(s["wall_s"] for s in measured), 3),
        "cpu_s": round(sum(s["cpu_s"] for s in measured), 3),
        "peak_rss_mb": round(max((s["peak_rss_mb"] for s in measured), default=0.0), 3),
        "complete": bool(rows) and all(s["status"] == "ok" for s in rows),
    }
    if measured:
        top = max(measured, key=lambda s: s["wall_s"])
        total["dominant_stage"] = top["name"]
        total["dominant_share"] = round(top["wall_s"] / total["wall_s"], 3) if total["wall_s"] else 0.0
        top_cpu = max(measured, key=lambda s: s["cpu_s"])
        total["dominant_cpu_stage"] = top_cpu["name"]
        total["dominant_cpu_share"] = round(top_cpu["cpu_s"] / total["cpu_s"], 3) if total["cpu_s"] else 0.0
    return total


def _size_order(sizes: list[str]) -> list[str]:
    known = [s for s in GENERATED_SIZES if s in sizes]
    return known + sorted(s for s in sizes if s not in known)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if abs(value) >= 1 or value == 0 else f"{value:.{max(digits, 2)}f}"


def _stage_table(results: dict, sizes: list[str], key: str, title: str) -> list[str]:
    names: list[str] = []
    for size in sizes:
        for stage in results["sizes"][size]["stages"]:
            if stage["name"] not in names:
                names.append(stage["name"])
    lines = [f"### {title}", "", "| stage | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for name in names:
        cells = []
        for size in sizes:
            stage = next((s for s in results["sizes"][size]["stages"] if s["name"] == name), None)
            if stage is None:
                cells.append("")
            elif stage["status"] in ("ok", "reused"):
                mark = " (reused)" if stage["status"] == "reused" else ""
                cells.append(_fmt(stage[key]) + mark)
            else:
                cells.append(f"{stage['status'].upper()}" + (f" {_fmt(stage[key])}" if stage[key] else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [results["sizes"][s]["totals"] for s in sizes]
    label = "**pipeline peak** (max, generation excluded)" if key == "peak_rss_mb" else "**pipeline total** (generation excluded)"
    lines.append(f"| {label} | " + " | ".join(f"**{_fmt(t[key])}**" for t in totals) + " |")
    return lines + [""]


def _baseline_rows(results: dict, sizes: list[str]) -> list[str]:
    lines = [
        "| size | comparison | ours (s) | pandas (s) | ours / pandas | speed-up (wall) | CPU s ours / pandas | speed-up (CPU) | results agree | repeats |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for size in sizes:
        for name, b in results["sizes"][size].get("baselines", {}).items():
            if name == SERVING:  # its own table (_serving_rows)
                continue
            if b.get("status") != "ok":
                lines.append(f"| {size} | {name} | | | | | | | {b.get('status', '?')}: {b.get('error', '')[:120]} | |")
                continue
            agree = "yes" if b["agree"] else f"NO (max diff {b.get('max_abs_diff')})"
            lines.append(
                f"| {size} | {b['description']} | {b['ours_s']:.3f} | {b['theirs_s']:.3f} | "
                f"{b['ratio_ours_to_theirs']:.3f} | {b['speedup']:.1f}x | "
                f"{b.get('ours_cpu_s', 0):.2f} / {b.get('theirs_cpu_s', 0):.2f} | {b.get('cpu_speedup', 0):.1f}x | "
                f"{agree} | {b['repeats']} |"
            )
    return lines


SERVING = "serving"


def _serving_rows(results: dict, sizes: list[str]) -> list[str]:
    """The load test of `recsys serve` (recsys.bench.load): one row per (size, endpoint)."""
    lines = ["| size | endpoint | requests | p50 (ms) | p99 (ms) | requests/s | statuses | in-process p50 / p99 (ms) | start-up (s) | start from snapshot (s) | resident (MiB) |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for size in sizes:
        b = results["sizes"][size].get("baselines", {}).get(SERVING)
        if b is None:
            continue
        if b.get("status") != "ok":
            lines.append(f"| {size} | | | | | | {b.get('status', '?')}: {b.get('error', '')[:120]} | | | | |")
            continue
        for name, e in b["endpoints"].items():
            statuses = ", ".join(f"{k}: {v:,}" for k, v in e["statuses"].items())
            alone = (b.get("compute") or {}).get(name)
            alone = f"{_fmt(alone['p50_ms'])} / {_fmt(alone['p99_ms'])}" if alone else "–"
            lines.append(f"| {size} | {name} | {e['requests']:,} | {_fmt(e['p50_ms'])} | "
                         f"{_fmt(e['p99_ms'])} | {_fmt(e['rps'])} | {statuses} | {alone} | "
                         f"{_fmt(b['startup_s'])} | {_fmt(b.get('warm_startup_s'))} | "
                         f"{_fmt(b['rss_mb'], 0)} |")
    return lines


def _ann_rows(results: dict, sizes: list[str]) -> list[str]:
    """The ANN index of /items/{id}/similar against exact search (recsys.bench.load.ann_check)."""
    lines = ["| size | model | search | items | build (s) | recall@10 | exact (ms) | ANN (ms) | speed-up |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        b = results["sizes"][size].get("baselines", {}).get(SERVING) or {}
        for model, a in (b.get("ann") or {}).items():
            for search, m in (("similar items", a), ("user lists", a.get("users"))):
                if m:
                    build = _fmt(a["build_s"]) if search == "similar items" else ""
                    lines.append(f"| {size} | {model} | {search} | {m['items']:,} | {build} | "
                                 f"{m['recall_at_10']:.3f} | {_fmt(m['exact_ms'])} | "
                                 f"{_fmt(m['ann_ms'])} | {_fmt(m['speedup'])} |")
    return lines


def render_markdown(results: dict) -> str:
    """The report: one table per measure (stage rows x size columns), dominant stage, baselines."""
    sizes = _size_order(list(results.get("sizes", {})))
    out = ["# Benchmark: every pipeline stage by data size", ""]
    if not sizes:
        return "\n".join(out + ["No sizes measured yet: run `recsys bench --sizes tiny`.", ""])
    out += ["Each stage runs as its own process; wall time, CPU time (user + system) and peak resident",
            "memory (`ru_maxrss` of the process tree, from `os.wait4`) are measured per stage.",
            "Produced by `recsys bench`; raw numbers in `bench.json`.", ""]
    # the git commit of each run stays in bench.json (machine.git_commit), out of the page that
    # `make bench-docs` copies into docs/
    out += ["## Runs", "", "| size | run at (UTC) | state | listens | users | items | machine | load at start |",
            "|---|---|---|---:|---:|---:|---|---|"]
    for size in sizes:
        e = results["sizes"][size]
        m, d = e.get("machine", {}), e.get("dataset", {})
        machine = f"{m.get('cpu_count')} cores, {m.get('memory_gib')} GiB"
        load = ", ".join(str(x) for x in (m.get("load_avg_1_5_15") or []))
        out.append(
            f"| {size} | {e.get('run_at', '')} | {e.get('state', '')} | {d.get('listens', 0):,} | {d.get('users', 0):,} | "
            f"{d.get('items', 0):,} | {machine} | {load} |"
        )
    out += ["", "## Stages", ""]
    out += _stage_table(results, sizes, "wall_s", "Wall time (s)")
    out += _stage_table(results, sizes, "cpu_s", "CPU time, user + system (s)")
    out += _stage_table(results, sizes, "peak_rss_mb", "Peak resident memory (MiB)")
    out += ["### Which stage dominates", ""]
    for size in sizes:
        t = results["sizes"][size]["totals"]
        if "dominant_stage" in t:
            line = (f"- **{size}**: `{t['dominant_stage']}` takes {t['dominant_share']:.0%} of the "
                    f"{_fmt(t['wall_s'])} s pipeline wall time")
            if "dominant_cpu_stage" in t:
                line += (f"; by CPU time `{t['dominant_cpu_stage']}` takes {t['dominant_cpu_share']:.0%} "
                         f"of {_fmt(t['cpu_s'])} s")
            out.append(line + ".")
    out += ["", "## Baselines (same data, same run, medians over repeats)", ""]
    out += ["Time ratio below 1 means ours is faster; speed-up = pandas time / our time. CPU time",
            "(all threads of the process) is shown too: on a shared machine wall time stretches with",
            "the load (see the load average of each run) while CPU time stays close to the work done.", ""]
    out += _baseline_rows(results, sizes)
    out += ["", "## Serving: `recsys serve` under load (loopback, concurrency 8)", "",
            "Start-up = process start to the first `/health` answer (the first start fits the models and",
            "writes `reports/serving/snapshot.pkl`; a second start reads it); resident memory after the load;",
            "latency of the answered (2xx) requests; a share of bad requests (4xx) is sent on purpose; the load",
            "generator shares the machine's cores. In-process: the service call alone, one thread, no HTTP.", ""]
    out += _serving_rows(results, sizes)
    out += ["", "The ANN indexes (faiss IVF) against exact search, Listen+ models: similar items "
            "(`recsys serve --similar ann`; `auto` uses it from 50,000 items) over random items, "
            "and user lists (`--user-retrieval ann`) over random users; recall@10 and median "
            "time per query.", ""]
    out += _ann_rows(results, sizes)
    out += ["", "## Acceptance checks (`recsys bench` exits 1 when one of its sizes fails)", ""]
    out += _acceptance(results, sizes)
    failures = [(s, f) for s in sizes for f in results["sizes"][s].get("failures", [])]
    if failures:
        out += ["", "## Failures", ""]
        out += [f"- **{s}**: {f}" for s, f in failures]
    return "\n".join(out) + "\n"


LAST_PIPELINE_STAGE = "evaluate"


def _judged_at(size: str) -> bool:
    """The speed-up bounds hold from :data:`TARGET_SIZE` up: on smaller data fixed costs
    (process start, dbt's parsing) dominate both sides and the ratios mean little."""
    order = list(KNOWN_SIZES)
    return size in order and order.index(size) >= order.index(TARGET_SIZE)


def acceptance_checks(results: dict, sizes: list[str]) -> list[tuple[str, bool | None]]:
    """``(line, passed)`` for each acceptance bound of ``sizes`` (``None``: said, not judged);
    sizes without results are left out."""
    sizes = [s for s in sizes if s in results["sizes"]]
    checks: list[tuple[str, bool | None]] = []
    if TARGET_SIZE in sizes:
        e = results["sizes"][TARGET_SIZE]
        t = e["totals"]
        # a run stopped after the last pipeline stage (`--until evaluate`, no baselines) measured
        # the whole pipeline
        state = e.get("state", "complete")
        done = t["complete"] and (state == "complete" or state == f"stopped after {LAST_PIPELINE_STAGE}")
        so_far = "" if done else " (incomplete run: stages so far)"
        ok_time = done and t["wall_s"] < MAX_PIPELINE_WALL_S
        ok_mem = done and t["peak_rss_mb"] < MAX_PEAK_RSS_MB
        # an incomplete run never passes, and is no measured failure either (exit code)
        checks.append((f"- {TARGET_SIZE} pipeline (generation excluded) {_fmt(t['wall_s'])} s{so_far} "
                       f"< {MAX_PIPELINE_WALL_S} s: {'PASS' if ok_time else 'FAIL'}",
                       ok_time if done else None))
        checks.append((f"- {TARGET_SIZE} peak memory {_fmt(t['peak_rss_mb'])} MiB{so_far} "
                       f"< {MAX_PEAK_RSS_MB} MiB: {'PASS' if ok_mem else 'FAIL'}",
                       ok_mem if done else None))
    else:
        checks.append((f"- {TARGET_SIZE} not measured yet (`recsys bench --sizes {TARGET_SIZE}`).", None))
    small = [s for s in sizes if not _judged_at(s) and results["sizes"][s].get("baselines")]
    if small:
        checks.append((f"- {', '.join(small)}: baseline speed-ups measured above; their bounds "
                       f"({', '.join(f'{n} >= {v:g}x' for n, v in MIN_SPEEDUP.items())}) are "
                       f"judged from {TARGET_SIZE} up.", None))
    for size in sizes:
        if not _judged_at(size):
            continue
        for name, b in results["sizes"][size].get("baselines", {}).items():
            need = MIN_SPEEDUP.get(name)
            if need is None or b.get("status") != "ok":
                continue
            ok = bool(b["agree"] and b["speedup"] >= need)
            checks.append((f"- {size} {name}: speed-up {b['speedup']:.1f}x >= {need:g}x and results "
                           f"agree: {'PASS' if ok else 'FAIL'}", ok))
    return checks


def _acceptance(results: dict, sizes: list[str]) -> list[str]:
    return [line for line, _ in acceptance_checks(results, sizes)]
