"""The self-contained ``report.html``: tables, plots (embedded PNGs) and how to reproduce them."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from recsys.evaluation import plots
from recsys.evaluation import report_sections as sections
from recsys.evaluation.sql import METRIC_FILES
from recsys.evaluation.tables import paper_columns, paper_frame

_STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: .25em .55em; text-align: right; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; }
td.best { font-weight: bold; background: #b9e4bf; } td.tied { background: #ffd9a8; }
.scroll { overflow-x: auto; max-width: 100%; margin: .8em 0; }
.scroll table { margin: 0; }
.banner { padding: .6em 1em; border-radius: 4px; background: #eef2f8; border: 1px solid #c9d3e3; }
.banner.generated { background: #fff4d6; border-color: #e8c766; }
.ci { color: #777; font-size: .85em; }
img { max-width: 100%; display: block; margin: .6em 0; }
code, pre { background: #f6f6f6; padding: .1em .3em; font-size: .88em; }
pre { padding: .6em; overflow-x: auto; }
.note { color: #555; font-size: .9em; }
.row { display: flex; gap: 1em; flex-wrap: wrap; } .row img { max-width: 49%; }
"""


@dataclass
class ReportData:
    """Everything the report shows; built by the evaluate pipeline."""

    fold: str
    targets: Sequence[str]
    ks: Sequence[int]
    models: Sequence[str]
    metrics: pd.DataFrame  # long, with ci_low / ci_high
    tests: pd.DataFrame  # paired tests (recsys.evaluation.significance.paired_tests + keys)
    item_popularity: pd.DataFrame  # data_item_popularity.sql
    user_history: pd.DataFrame  # data_user_history.sql
    feature_importance: pd.DataFrame | None = None  # ranker_feature_importance (target, feature, gain)
    settings_lines: Sequence[str] = ()
    notes: Sequence[str] = ()
    shell_commands: Sequence[str] = ()
    confidence: float = 0.95
    extra: dict = field(default_factory=dict)
    convention_order: Sequence[str] = ("standard", "paper", "official")
    paper: pd.DataFrame | None = None  # recsys.evaluation.paper.paper_values of the size
    size: str = ""
    tuned: bool = True
    tuned_params: pd.DataFrame | None = None  # target, model, params (JSON), metric, value, trials
    candidate_recall: pd.DataFrame | None = None  # fold, target, source, recall, targets
    timings: pd.DataFrame | None = None  # fold, target, model, fit_seconds, predict_seconds
    recall_curve: pd.DataFrame | None = None  # target, model, k, value (recall_curve.sql)
    headline: pd.DataFrame | None = None  # recsys.evaluation.tables.headline_table rows
    segment_headline: pd.DataFrame | None = None  # the same rows on the repeat / discovery subsets
    per_user_diff: pd.DataFrame | None = None  # target, model, baseline, diff
    seeds: pd.DataFrame | None = None  # recsys.evaluation.seeds.seed_summary rows
    two_stage: str = "two_stage"  # ranker.model_name
    # recsys.evaluation.two_stage.choice_frame: the ranker on tuned and on untuned candidates
    two_stage_choice: pd.DataFrame | None = None
    # (target, model) rows left out of the paired tests, the verdict and the shading (the
    # two-stage model not chosen on val)
    untested: frozenset = frozenset()
    # recsys.evaluation.next_song.score_next_song: the next-song task (None: not scored)
    next_song: pd.DataFrame | None = None
    banner: str = ""  # the data (generated or real), size, code commit and date, first on the page
    generated: bool = False  # the data came from `recsys generate`


def _e(value) -> str:
    return html.escape(str(value))


def _img(data: str, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _mark(data: ReportData, target: str, metric: str, k: int, model: str) -> str:
    """The css class of a cell: ``best`` for a model significantly ahead of the runner-up,
    ``tied`` for the top two when the lead is not significant; none for coverage."""
    if metric == "coverage":
        return ""
    lead = sections.leader(_judged(data), data.tests, data.fold, target, metric, k)
    if not lead or lead["runner_up"] is None:
        return ""
    if lead["significant"]:
        return ' class="best"' if model == lead["best"] else ""
    return ' class="tied"' if model in (lead["best"], lead["runner_up"]) else ""


def _judged(data: ReportData) -> pd.DataFrame:
    """The metrics rows the verdict and the shading compare (without ``untested`` ones)."""
    if not data.untested:
        return data.metrics
    pairs = pd.MultiIndex.from_frame(data.metrics[["target", "model"]])
    return data.metrics[~pairs.isin(list(data.untested))]


def _paper_html(data: ReportData, target: str) -> str:
    frame = paper_frame(data.metrics, data.fold, target, data.ks, data.models)
    cis = sections.standard_all(data.metrics, data.fold, target).set_index(["model", "metric", "k"])
    head = "".join(f"<th>{_e(label)}</th>" for _, _, label in paper_columns(data.ks))
    rows = []
    for model in data.models:
        cells = []
        for metric, k, label in paper_columns(data.ks):
            value = frame.loc[model, label]
            css = _mark(data, target, metric, k, model)
            text = "-" if pd.isna(value) else f"{value:.4f}"
            if (model, metric, k) in cis.index and pd.notna(cis.loc[(model, metric, k), "ci_low"]):
                lo, hi = cis.loc[(model, metric, k), ["ci_low", "ci_high"]]
                text += f'<br><span class="ci">[{lo:.4f}, {hi:.4f}]</span>'
            cells.append(f"<td{css}>{text}</td>")
        rows.append(f'<tr><td class="name">{_e(model)}</td>{"".join(cells)}</tr>')
    users = cis["users"].max() if len(cis) else 0
    return (f"<h3>{_e(target)} <span class='note'>({int(users):,} evaluated users)</span></h3>"
            f"<table><tr><th class='name'>model</th>{head}</tr>{''.join(rows)}</table>")


def _values_html(data: ReportData, target: str, names: Sequence[str]) -> str:
    rows = sections.standard_all(data.metrics, data.fold, target)
    present = set(zip(rows["metric"], rows["k"], strict=True))
    columns = [(m, k) for m in names for k in sorted(set(rows["k"])) if (m, k) in present]
    values = rows.set_index(["model", "metric", "k"])["value"]
    head = "".join(f"<th>{_e(plots.LABELS.get(m, m))}@{k}</th>" for m, k in columns)
    body = []
    for model in data.models:
        cells = "".join(
            f"<td>{values[(model, m, k)]:.4f}</td>" if (model, m, k) in values.index else "<td>-</td>"
            for m, k in columns)
        body.append(f'<tr><td class="name">{_e(model)}</td>{cells}</tr>')
    return (f"<h3>{_e(target)}</h3><table><tr><th class='name'>model</th>{head}</tr>"
            f"{''.join(body)}</table>")


def _tests_html(data: ReportData, target: str) -> str:
    """Rows = models, columns = (metric, k); a cell: difference to the best and Holm p-value."""
    if data.tests is None or data.tests.empty:
        return "<p class='note'>No paired tests (fewer than two models).</p>"
    rows = data.tests[(data.tests["fold"] == data.fold) & (data.tests["subset"] == "all")
                      & (data.tests["convention"] == "standard") & (data.tests["target"] == target)]
    columns = [(m, k) for m in ("ndcg", "recall", "map", "mrr") for k in data.ks]
    alpha = 1 - data.confidence
    cells = {(r.model, r.metric, r.k): r for r in rows.itertuples()}
    best = {(r.metric, r.k): r.best_model for r in rows.itertuples()}
    head = "".join(f"<th>{_e(plots.LABELS.get(m, m))}@{k}</th>" for m, k in columns)
    body = []
    for model in data.models:
        tds = []
        for metric, k in columns:
            r = cells.get((model, metric, k))
            if best.get((metric, k)) == model:
                tds.append(_reference_cell(rows, metric, k))
            elif r is None or pd.isna(r.p_holm):
                tds.append("<td>-</td>")
            else:
                mark = " *" if r.p_holm < alpha else ""
                tds.append(f"<td>{r.mean_diff:+.4f}{mark}<br><span class='ci'>p={r.p_holm:.2g}"
                           "</span></td>")
        body.append(f"<tr><td class='name'>{_e(model)}</td>{''.join(tds)}</tr>")
    return (f"<h3>{_e(target)}</h3><table><tr><th class='name'>model</th>{head}</tr>"
            f"{''.join(body)}</table>")


def _with_convention(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None or "convention" in frame:
        return frame
    return frame.assign(convention="standard")


def _reference_cell(rows: pd.DataFrame, metric: str, k: int) -> str:
    """The tested-against model's cell: "best" only when the runner-up (the highest other mean)
    is significantly behind it (Holm-adjusted Wilcoxon p < 0.05)."""
    others = rows[(rows["metric"] == metric) & (rows["k"] == k)]
    runner = others.sort_values(["mean", "model"], ascending=[False, True]).head(1)
    if len(runner) and pd.notna(runner["p_holm"].iloc[0]) \
            and runner["p_holm"].iloc[0] < sections.SIGNIFICANCE:
        return "<td class='best'>best</td>"
    return "<td class='tied'>highest mean<br><span class='ci'>not significant</span></td>"


def render_html(data: ReportData) -> str:
    """The whole report as one HTML string (images inline as base64 PNGs).

    Frames without a ``convention`` column (older callers) are read as the standard convention.
    """
    data = replace(data, metrics=_with_convention(data.metrics), tests=_with_convention(data.tests))
    fold_metrics = data.metrics[(data.metrics["fold"] == data.fold)
                                & (data.metrics["convention"] == "standard")]
    parts = [f"<h1>recsys evaluation: {_e(data.fold)} fold</h1>"]
    if data.banner:
        kind = " generated" if data.generated else ""
        parts.append(f"<p class='banner{kind}'>{_e(data.banner)}</p>")
    parts.append(sections.verdict_html(_judged(data), data.tests, data.fold, data.targets))
    parts.append(sections.headline_html(data.headline))
    parts.append(sections.segment_headline_html(data.segment_headline))
    parts.append(sections.two_stage_choice_html(data.two_stage_choice))
    parts.append(sections.tuning_html(data.tuned, data.tuned_params))
    if data.settings_lines:
        parts.append("<p class='note'>" + "<br>".join(_e(s) for s in data.settings_lines) + "</p>")
    for note in data.notes:
        parts.append(f"<p class='note'>Note: {_e(note)}</p>")
    parts.append("<h2>Paper-style table</h2><p class='note'>Standard convention; mean over "
                 f"evaluated users; brackets: {data.confidence:.0%} bootstrap interval over users; "
                 "bold: the best model, marked only where it beats the runner-up with a "
                 "Holm-adjusted Wilcoxon p below 0.05; shaded: the top two where that lead is not "
                 "significant (no best). Coverage is not ranked.</p>")
    parts += [_paper_html(data, t) for t in data.targets]
    others = [c for c in data.convention_order if c != "standard"]
    if others:
        paper_note = (f" The paper's values for {_e(data.size)} (Tables 6 and 7) and ours / "
                      "the paper's stand under the paper convention's cells."
                      if data.paper is not None and not data.paper.empty else "")
        parts.append("<h2>The paper's conventions</h2><p class='note'>paper: the Yambda paper's "
                     "code (target events with repeats, Recall = hits / n, NDCG a ratio of sums); "
                     "official: the official code now (Recall = hits / min(n, k); its NDCG equals "
                     "HitRate). Coverage in both counts every ranked user's list." + paper_note
                     + "</p>")
        for convention in others:
            for target in data.targets:
                parts.append(sections.convention_table_html(
                    data.metrics, data.fold, target, data.ks, data.models, convention, data.paper))
    parts.append(sections.seeds_html(data.seeds, data.fold, data.ks))
    parts.append("<h2>Repeat vs discovery, organic vs recommendation-driven</h2><p class='note'>"
                 "The same lists scored against target subsets: repeat = items the user had "
                 "listened to before the cut-off, discovery = the rest; organic = the user found "
                 "the track, recommendation = the platform pushed it (users per subset in the "
                 "header).</p>")
    for target in data.targets:
        parts.append(sections.subsets_html(data.metrics, data.fold, target, data.ks, data.models))
        parts.append(_img(plots.subset_bars(fold_metrics, target, "ndcg", data.ks, data.models,
                                            subsets=("all", "repeat", "discovery"),
                                            title="repeat vs discovery targets"),
                          f"repeat and discovery {target}"))
    if data.per_user_diff is not None and not data.per_user_diff.empty:
        parts.append("<h2>Per-user differences against the strongest baseline</h2>")
        for target in data.targets:
            if (data.per_user_diff["target"] == target).any():
                parts.append(_img(plots.difference_summary(data.per_user_diff, target),
                                  f"per-user differences {target}"))
    if data.recall_curve is not None and not data.recall_curve.empty:
        parts.append("<h2>Recall@k curves</h2><div class='row'>")
        for target in data.targets:
            parts.append(_img(plots.recall_curves(data.recall_curve, target, data.models),
                              f"recall curve {target}"))
        parts.append("</div>")
    parts.append("<h2>Candidate recall per generator</h2><p class='note'>Share of the fold's "
                 "distinct targets in each generator's candidates (top "
                 "<code>ranker.candidates_per_model</code>); <code>merged</code> is their union, "
                 "the ranker's ceiling. repeat / discovery: the same share among the targets the "
                 "user had listened to before the cut-off / had not.</p>")
    parts.append(sections.candidate_recall_html(data.candidate_recall))
    parts.append(sections.next_song_html(data.next_song, data.confidence))
    parts.append("<h2>Fit and predict time</h2>")
    parts.append(sections.timings_html(data.timings, data.two_stage))
    parts.append("<h2>Accuracy with intervals</h2>")
    panels = [(m, k) for m in ("ndcg", "recall") for k in data.ks]
    for target in data.targets:
        parts.append(_img(plots.metric_bars(fold_metrics, target, panels, data.models),
                          f"metric bars {target}"))
    parts.append("<h2>Organic vs recommendation-driven targets</h2><p class='note'>The same "
                 "lists scored against the targets the user found (is_organic = 1) and against "
                 "those the platform recommended (is_organic = 0); a user counts in a subset when "
                 "it has at least one such target.</p>")
    for target in data.targets:
        parts.append(_img(plots.subset_bars(fold_metrics, target, "ndcg", data.ks, data.models),
                          f"organic breakdown {target}"))
    parts.append("<h2>Beyond accuracy</h2><p class='note'>Coverage: distinct recommended items / "
                 "items in history. Novelty: mean self-information of recommended items (bits). "
                 "Popularity percentile: 1 = the most popular history item. Diversity: 1 - mean "
                 "cosine similarity of audio embeddings within a list.</p>")
    for target in data.targets:
        parts.append(_values_html(data, target, ("coverage", "novelty", "popularity_bias", "diversity")))
    parts.append("<h2>More accuracy metrics</h2>")
    for target in data.targets:
        parts.append(_values_html(data, target, ("precision", "hitrate", "mrr", "map")))
    parts.append("<h2>Paired tests against the best model</h2><p class='note'>Each model's "
                 "per-user values against those of the model with the highest mean, on the same "
                 "users: mean difference, and the two-sided Wilcoxon signed-rank p-value "
                 f"Holm-adjusted over the models of one column (* below {1 - data.confidence:g}). "
                 "Unadjusted Wilcoxon and paired t-test p-values, every metric and subset: "
                 "<code>paired_tests.csv</code>.</p>")
    parts += [_tests_html(data, t) for t in data.targets]
    parts.append("<h2>The data</h2><p class='note'>Training history of this fold "
                 "(train_interactions, target events only).</p><div class='row'>")
    if not data.item_popularity.empty:
        parts.append(_img(plots.long_tail(data.item_popularity), "item long tail"))
    if not data.user_history.empty:
        parts.append(_img(plots.history_lengths(data.user_history), "history lengths"))
    parts.append("</div>")
    parts.append("<h2>Ranker feature importance</h2>")
    if data.feature_importance is not None and not data.feature_importance.empty:
        parts.append(_img(plots.feature_importance(data.feature_importance), "feature importance"))
    else:
        parts.append("<p class='note'>No <code>ranker_feature_importance</code> table in the "
                     "warehouse (run the two-stage model: <code>recsys evaluate</code> or "
                     "<code>recsys ranker</code>).</p>")
    parts.append("<h2>Reproduce in the DuckDB shell</h2><p class='note'>Every number above "
                 "comes from these files; run them on the same warehouse:</p>")
    by_file: dict[str, list[str]] = {}
    for metric, file in METRIC_FILES.items():
        by_file.setdefault(file, []).append(metric)
    parts.append("<pre>" + "\n".join(_e(c) for c in data.shell_commands) + "</pre>")
    parts.append("<p class='note'>" + "; ".join(
        f"<code>sql/metrics/{_e(f)}</code>: {_e(', '.join(ms))}" for f, ms in by_file.items())
        + ". <code>sql/metrics/README.md</code> has the definitions.</p>")
    # a wide table scrolls inside its own box, never the page
    body = "\n".join(parts).replace("<table>", "<div class='scroll'><table>").replace(
        "</table>", "</table></div>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>recsys evaluation ({_e(data.fold)})</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")
