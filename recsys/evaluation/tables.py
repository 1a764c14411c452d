"""The paper-style tables (rows = models; NDCG, Recall, Coverage at each k, per target) and the
headline comparison of the two-stage model with the best tuned single generator."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

PAPER_METRICS = (("ndcg", "NDCG"), ("recall", "Recall"), ("coverage", "Coverage"))
CSV_COLUMNS = ["fold", "target", "model", "convention", "subset", "metric", "k", "value", "users",
               "ci_low", "ci_high"]
CONVENTION_TITLES = {
    "standard": "standard convention (distinct target items, trec_eval-equal)",
    "paper": "paper convention (the Yambda paper's code: target events, ratio-of-sums NDCG)",
    "official": "official convention (the official code now: Recall over min(n, k); "
                "its NDCG equals HitRate)",
}


def paper_columns(ks: Sequence[int], convention: str = "standard") -> list[tuple[str, int, str]]:
    """(metric, k, label) in the paper's order: every metric at every k. The official
    convention's NDCG is labelled as what it is: HitRate."""
    def label(metric: str, name: str, k: int) -> str:
        if metric == "ndcg" and convention == "official":
            return f"NDCG@{k} (=HitRate)"
        return f"{name}@{k}"

    return [(m, int(k), label(m, name, int(k))) for m, name in PAPER_METRICS for k in ks]


def paper_frame(
    metrics: pd.DataFrame, fold: str, target: str, ks: Sequence[int], models: Sequence[str],
    convention: str = "standard",
) -> pd.DataFrame:
    """One target's paper table as a frame: index = models, columns = labels (NaN when absent)."""
    rows = metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["subset"] == "all") & (metrics["convention"] == convention)]
    values = rows.set_index(["model", "metric", "k"])["value"]
    out = pd.DataFrame(index=list(models))
    for metric, k, label in paper_columns(ks, convention):
        out[label] = [values.get((m, metric, k), float("nan")) for m in models]
    return out


def paper_lookup(paper: pd.DataFrame | None, target: str) -> dict[tuple[str, str, int], float]:
    """``(model, metric, k) -> the paper's value`` for one target (empty without paper values)."""
    if paper is None or paper.empty:
        return {}
    rows = paper[paper["target"] == target]
    return {(r.model, r.metric, int(r.k)): float(r.paper_value) for r in rows.itertuples()}


def paper_table(
    metrics: pd.DataFrame,
    *,
    fold: str,
    targets: Sequence[str],
    ks: Sequence[int],
    models: Sequence[str],
    users: dict[str, int] | None = None,
    convention: str = "standard",
    paper: pd.DataFrame | None = None,
    seeds: pd.DataFrame | None = None,
) -> str:
    """Plain-text table, one block of columns per target, 4 decimals as in the Yambda paper.

    With ``seeds`` (``recsys.evaluation.seeds.seed_summary``), a model fitted with several seeds
    gets a line ``  mean, N seeds`` under its own (single-seed) row. With ``paper``
    (``recsys.evaluation.paper.paper_values``), every model the paper has gets two more lines:
    ``  paper``, the paper's values, and ``  ours/paper``, the ratio (of the seed mean where there
    is one, as the paper's iALS / BPR values are; ``-`` where the paper's value is 0 or one of
    the two is missing).
    """
    columns = paper_columns(ks, convention)
    label_width = max(8, *(len(label) for _, _, label in columns)) + 1
    model_width = max(12, *(len(m) for m in models)) + 2
    lines = []
    header_targets = " " * model_width
    header_labels = "model".ljust(model_width)
    frames = {t: paper_frame(metrics, fold, t, ks, models, convention) for t in targets}
    lookups = {t: paper_lookup(paper, t) for t in targets}
    means = {t: seed_lookup(seeds, fold, t, convention) for t in targets}
    for target in targets:
        title = target + (f" ({users[target]:,} users)" if users and target in users else "")
        block = label_width * len(columns)
        header_targets += " |" + (" " + title)[:block].ljust(block)
        header_labels += " |" + "".join(label.rjust(label_width) for _, _, label in columns)
    lines += [f"{fold} fold, {CONVENTION_TITLES.get(convention, convention)}",
              header_targets.rstrip(), header_labels, "-" * len(header_labels)]
    for model in models:
        line = model.ljust(model_width)
        paper_line = "  paper".ljust(model_width)
        ratio_line = "  ours/paper".ljust(model_width)
        mean_cells = ""
        has_paper = has_mean = False
        n_seeds = 0
        for target in targets:
            row = frames[target].loc[model].to_numpy()
            line += " |" + "".join(_cell(v).rjust(label_width) for v in row)
            mean = [means[target].get((model, metric, k)) for metric, k, _ in columns]
            if any(m is not None for m in mean):
                has_mean = True
                n_seeds = max(n_seeds, *(m[1] for m in mean if m is not None))
            mean_values = [None if m is None else m[0] for m in mean]
            mean_cells += " |" + "".join(_cell(v).rjust(label_width) for v in mean_values)
            ours = [m if m is not None else v for m, v in zip(mean_values, row, strict=True)]
            theirs = [lookups[target].get((model, metric, k)) for metric, k, _ in columns]
            has_paper |= any(v is not None for v in theirs)
            paper_line += " |" + "".join(_cell(v).rjust(label_width) for v in theirs)
            ratios = (_ratio(o, v) for o, v in zip(ours, theirs, strict=True))
            ratio_line += " |" + "".join(c.rjust(label_width) for c in ratios)
        lines.append(line)
        if has_mean:
            lines.append(f"  {n_seeds}-seed mean".ljust(model_width) + mean_cells)
        if has_paper:
            lines += [paper_line, ratio_line]
    return "\n".join(lines)


def seed_lookup(seeds: pd.DataFrame | None, fold: str, target: str, convention: str
                ) -> dict[tuple[str, str, int], tuple[float, int]]:
    """``(model, metric, k) -> (mean over seeds, seeds)`` for one target (subset all)."""
    if seeds is None or seeds.empty:
        return {}
    rows = seeds[(seeds["fold"] == fold) & (seeds["target"] == target)
                 & (seeds["convention"] == convention) & (seeds["subset"] == "all")]
    return {(r.model, r.metric, int(r.k)): (float(r.mean), int(r.seeds)) for r in rows.itertuples()}


def _cell(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.4f}"


def _ratio(ours, theirs) -> str:
    if theirs is None or pd.isna(ours) or not theirs > 0:
        return "-"
    return f"{ours / theirs:.2f}x"


SUBSET_ORDER = ("all", "repeat", "discovery", "organic", "recommendation")


def subset_table(
    metrics: pd.DataFrame,
    *,
    fold: str,
    target: str,
    ks: Sequence[int],
    models: Sequence[str],
    convention: str = "standard",
) -> str:
    """Plain-text NDCG@k and Recall@k per target subset (all, repeat, discovery, organic,
    recommendation; those present), rows = models, one block of columns per subset headed by its
    number of users."""
    rows = metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["convention"] == convention)]
    subsets = [s for s in SUBSET_ORDER if s in set(rows["subset"])]
    values = rows.set_index(["model", "subset", "metric", "k"])["value"]
    users = rows[rows["metric"].isin(["ndcg", "recall"])].groupby("subset")["users"].max()
    labels = [(m, int(k), f"{name}@{k}") for m, name in (("ndcg", "NDCG"), ("recall", "Recall"))
              for k in ks]
    titles = {s: s + (f" ({int(users[s]):,} users)" if s in users.index else "") for s in subsets}
    longest = max((len(t) for t in titles.values()), default=0)
    # columns wide enough for the labels and for each subset's title over its block
    width = max(9, *(len(label) + 1 for _, _, label in labels), -(-(longest + 1) // len(labels)))
    model_width = max(5, *(len(m) for m in models)) + 2
    block = width * len(labels)
    header_subsets = " " * model_width
    header_labels = "model".ljust(model_width)
    for subset in subsets:
        header_subsets += " |" + (" " + titles[subset]).ljust(block)
        header_labels += " |" + "".join(label.rjust(width) for _, _, label in labels)
    lines = [f"{target}, {fold} fold, {convention} convention: target subsets",
             header_subsets.rstrip(), header_labels, "-" * len(header_labels)]
    for model in models:
        line = model.ljust(model_width)
        for subset in subsets:
            line += " |" + "".join(
                _cell(values.get((model, subset, m, k))).rjust(width) for m, k, _ in labels)
        lines.append(line)
    return "\n".join(lines)


def csv_frame(metrics: pd.DataFrame) -> pd.DataFrame:
    """The long ``reports/metrics.csv`` layout, in a stable row order."""
    frame = metrics.copy()
    for column in ("ci_low", "ci_high"):
        if column not in frame:
            frame[column] = float("nan")
    return frame[CSV_COLUMNS].sort_values(CSV_COLUMNS[:7]).reset_index(drop=True)


HEADLINE_METRICS = (("ndcg", 10), ("recall", 100))


def headline_table(
    metrics: pd.DataFrame,
    tests: pd.DataFrame,
    *,
    fold: str,
    target: str,
    two_stage: str = "two_stage",
    baselines: Sequence[str],
    subset: str = "all",
) -> pd.DataFrame:
    """The two-stage model against the best tuned single generator (highest standard NDCG@10 on
    ``subset``, among ``baselines``), on NDCG@10 and Recall@100, with the paired tests.

    Rows ``target, metric, k, model, value, ci_low, ci_high, baseline, baseline_value,
    baseline_ci_low, baseline_ci_high, diff, p_wilcoxon, p_ttest, users`` (and ``subset`` when it
    is not ``all``); empty when either model is missing.
    """
    rows = metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["convention"] == "standard") & (metrics["subset"] == subset)]
    ranked = rows[(rows["metric"] == "ndcg") & (rows["k"] == 10) & rows["model"].isin(baselines)]
    if ranked.empty or two_stage not in set(rows["model"]):
        return pd.DataFrame()
    ranked = ranked.sort_values(["value", "model"], ascending=[False, True])
    best = ranked["model"].iloc[0]
    indexed = rows.set_index(["model", "metric", "k"])
    out = []
    for metric, k in HEADLINE_METRICS:
        if (two_stage, metric, k) not in indexed.index or (best, metric, k) not in indexed.index:
            continue
        ours, theirs = indexed.loc[(two_stage, metric, k)], indexed.loc[(best, metric, k)]
        pair = _pair_test(tests, fold, target, metric, k, two_stage, best, subset)
        out.append({
            "target": target, "metric": metric, "k": k, "model": two_stage,
            "value": ours["value"], "ci_low": ours.get("ci_low"), "ci_high": ours.get("ci_high"),
            "baseline": best, "baseline_value": theirs["value"],
            "baseline_ci_low": theirs.get("ci_low"), "baseline_ci_high": theirs.get("ci_high"),
            "diff": ours["value"] - theirs["value"], "users": int(ours["users"]), **pair,
            **({} if subset == "all" else {"subset": subset}),
        })  # fmt: skip
    return pd.DataFrame(out)


def _pair_test(tests, fold, target, metric, k, a, b, subset="all") -> dict[str, float]:
    empty = {"p_wilcoxon": float("nan"), "p_ttest": float("nan")}
    if tests is None or tests.empty:
        return empty
    rows = tests[(tests["fold"] == fold) & (tests["target"] == target)
                 & (tests["convention"] == "standard") & (tests["subset"] == subset)
                 & (tests["metric"] == metric) & (tests["k"] == k)
                 & (((tests["model"] == a) & (tests["best_model"] == b))
                    | ((tests["model"] == b) & (tests["best_model"] == a)))]
    if rows.empty:
        return empty  # neither is the best model of the group: not tested against each other
    return {"p_wilcoxon": float(rows["p_wilcoxon"].iloc[0]), "p_ttest": float(rows["p_ttest"].iloc[0])}


def headline_markdown(frame: pd.DataFrame) -> str:
    """The headline as a markdown table (for the README)."""
    if frame is None or frame.empty:
        return "(no two-stage model and tuned baseline to compare)"

    def cell(value, low, high) -> str:
        interval = f" [{low:.3f}, {high:.3f}]" if pd.notna(low) and pd.notna(high) else ""
        return f"{value:.4f}{interval}"

    lines = ["| target | metric | two-stage model | best tuned single model | difference "
             "| Wilcoxon p | t-test p |",
             "|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        lines.append(
            f"| {r.target} ({r.users:,} users) | {r.metric}@{r.k} "
            f"| {r.model} {cell(r.value, r.ci_low, r.ci_high)} "
            f"| {r.baseline} {cell(r.baseline_value, r.baseline_ci_low, r.baseline_ci_high)} "
            f"| {r.diff:+.4f} | {_p(r.p_wilcoxon)} | {_p(r.p_ttest)} |")
    return "\n".join(lines)


def _p(value) -> str:
    return "-" if pd.isna(value) else f"{value:.2g}"
