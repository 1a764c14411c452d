"""Sections of ``report.html`` that state the verdict and what was tuned: one function each,
returning an HTML string (``report.py`` assembles them)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

import pandas as pd

from recsys.evaluation.tables import (
    HEADLINE_METRICS,
    headline_markdown,
    paper_columns,
    paper_lookup,
)

SIGNIFICANCE = 0.05
_LABELS = {"ndcg": "NDCG", "recall": "Recall"}


def _e(value) -> str:
    return html.escape(str(value))


def standard_all(metrics: pd.DataFrame, fold: str, target: str) -> pd.DataFrame:
    return metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["convention"] == "standard") & (metrics["subset"] == "all")]


def leader(metrics: pd.DataFrame, tests: pd.DataFrame, fold: str, target: str,
           metric: str = "ndcg", k: int = 10) -> dict | None:
    """The best model on (metric, k), the runner-up, and whether the best is significantly ahead
    (Holm-adjusted Wilcoxon p of the runner-up against it below 0.05)."""
    rows = standard_all(metrics, fold, target)
    rows = rows[(rows["metric"] == metric) & (rows["k"] == k)].sort_values(
        ["value", "model"], ascending=[False, True])
    if rows.empty:
        return None
    best = rows.iloc[0]
    out = {"best": best["model"], "value": float(best["value"]), "metric": metric, "k": k,
           "runner_up": None, "runner_value": None, "p_holm": None, "significant": False}
    if len(rows) > 1:
        runner = rows.iloc[1]
        out.update(runner_up=runner["model"], runner_value=float(runner["value"]))
        if tests is not None and not tests.empty:
            t = tests[(tests["fold"] == fold) & (tests["target"] == target)
                      & (tests["convention"] == "standard") & (tests["subset"] == "all")
                      & (tests["metric"] == metric) & (tests["k"] == k)
                      & (tests["model"] == runner["model"]) & (tests["best_model"] == best["model"])]
            if len(t) and pd.notna(t["p_holm"].iloc[0]):
                out["p_holm"] = float(t["p_holm"].iloc[0])
                out["significant"] = out["p_holm"] < SIGNIFICANCE
    return out


def verdict_html(metrics, tests, fold: str, targets: Sequence[str],
                 headline_metrics: Sequence[tuple[str, int]] = HEADLINE_METRICS) -> str:
    """Per target and headline metric (NDCG@10, Recall@100): the best model and whether it beats
    the runner-up significantly (Holm-adjusted Wilcoxon over the models of that column)."""
    lines = []
    for target in targets:
        sentences = [_verdict(lead) for metric, k in headline_metrics
                     if (lead := leader(metrics, tests, fold, target, metric, k)) is not None]
        if sentences:
            lines.append(f"<li><b>{_e(target)}</b>: {'; '.join(sentences)}</li>")
    return "<h2>Verdict</h2><ul>" + "".join(lines) + "</ul>" if lines else ""


def _verdict(lead: dict) -> str:
    name = f"{_LABELS.get(lead['metric'], lead['metric'])}@{lead['k']}"
    if lead["runner_up"] is None:
        return f"{_e(lead['best'])} is the only model ({name} {lead['value']:.4f})"
    if lead["significant"]:
        return (f"<b>{_e(lead['best'])}</b> is best on {name} ({lead['value']:.4f}), ahead of "
                f"{_e(lead['runner_up'])} ({lead['runner_value']:.4f}) with Holm-adjusted "
                f"Wilcoxon p = {lead['p_holm']:.2g}")
    p = "no paired test" if lead["p_holm"] is None else f"p = {lead['p_holm']:.2g}"
    return (f"{_e(lead['best'])} has the highest {name} ({lead['value']:.4f}) but is not "
            f"significantly ahead of {_e(lead['runner_up'])} ({lead['runner_value']:.4f}; "
            f"Holm-adjusted Wilcoxon {p})")


def headline_html(headline: pd.DataFrame | None) -> str:
    if headline is None or headline.empty:
        return ""
    rows = []
    for r in headline.itertuples():
        rows.append(
            f"<tr><td class='name'>{_e(r.target)}</td><td>{_e(r.metric)}@{r.k}</td>"
            f"<td class='name'>{_e(r.model)}</td>"
            f"<td>{_value_ci(r.value, r.ci_low, r.ci_high)}</td><td class='name'>{_e(r.baseline)}"
            f"</td><td>{_value_ci(r.baseline_value, r.baseline_ci_low, r.baseline_ci_high)}</td>"
            f"<td>{r.diff:+.4f}</td><td>{_p(r.p_wilcoxon)}</td><td>{_p(r.p_ttest)}</td></tr>")
    return ("<h2>Two-stage model against the best tuned single model</h2><p class='note'>Best "
            "single model = the tuned generator with the highest standard NDCG@10 on this fold; "
            "brackets: bootstrap intervals; paired tests over the same users (unadjusted; - where "
            "the pair was not tested, i.e. neither was the best model of its column).</p>"
            "<table><tr><th class='name'>target</th><th>metric</th><th class='name'>two-stage "
            "model</th><th>value</th>"
            "<th class='name'>baseline</th><th>baseline value</th><th>difference</th>"
            "<th>Wilcoxon p</th><th>t-test p</th></tr>" + "".join(rows) + "</table>"
            "<details><summary class='note'>as markdown (for the README)</summary><pre>"
            + _e(headline_markdown(headline)) + "</pre></details>")


def segment_headline_html(frame: pd.DataFrame | None) -> str:
    """:func:`headline_html`'s comparison on the repeat and on the discovery targets."""
    if frame is None or frame.empty:
        return ""
    rows = "".join(
        f"<tr><td class='name'>{_e(r.target)}</td><td class='name'>{_e(r.subset)} "
        f"({r.users:,} users)</td><td>{_e(r.metric)}@{r.k}</td><td class='name'>{_e(r.model)}</td>"
        f"<td>{_value_ci(r.value, r.ci_low, r.ci_high)}</td><td class='name'>{_e(r.baseline)}</td>"
        f"<td>{_value_ci(r.baseline_value, r.baseline_ci_low, r.baseline_ci_high)}</td>"
        f"<td>{r.diff:+.4f}</td><td>{_p(r.p_wilcoxon)}</td><td>{_p(r.p_ttest)}</td></tr>"
        for r in frame.itertuples())
    return ("<h3>On repeat and on discovery targets</h3><p class='note'>The same comparison on "
            "the targets the user had listened to before the cut-off (repeat) and on the others "
            "(discovery), each against the single model with the highest NDCG@10 on that "
            "segment (users with a target of the segment).</p><div class='scroll'><table><tr>"
            "<th class='name'>target</th><th class='name'>segment</th><th>metric</th>"
            "<th class='name'>two-stage model</th><th>value</th><th class='name'>baseline</th>"
            "<th>baseline value</th><th>difference</th><th>Wilcoxon p</th><th>t-test p</th></tr>"
            + rows + "</table></div>")


def _value_ci(value, low, high) -> str:
    interval = (f"<br><span class='ci'>[{low:.4f}, {high:.4f}]</span>"
                if pd.notna(low) and pd.notna(high) else "")
    return f"{value:.4f}{interval}"


def _p(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.2g}"


def tuning_html(tuned: bool, tuned_params: pd.DataFrame | None) -> str:
    if not tuned:
        return ("<h2>Tuning</h2><p style='font-size:1.3em;color:#a00'><b>Untuned</b>: every "
                "generator was fitted with its code defaults (<code>--no-tune</code>); these are not "
                "tuned baselines.</p>")
    if tuned_params is None or tuned_params.empty:
        return ""
    rows = []
    for r in tuned_params.sort_values(["target", "model"]).itertuples():
        params = json.loads(r.params) if isinstance(r.params, str) else (r.params or {})
        text = ", ".join(f"{k}={_short(v)}" for k, v in sorted(params.items()))
        objective = (f"{r.metric} {r.value:.4f} ({int(r.trials)} trials)"
                     if isinstance(r.metric, str) and pd.notna(r.value) else "not tuned")
        rows.append(f"<tr><td class='name'>{_e(r.target)}</td><td class='name'>{_e(r.model)}</td>"
                    f"<td class='name'>{_e(text)}</td><td>{_e(objective)}</td></tr>")
    return ("<h2>Parameters of every row</h2><p class='note'>Tuned on the val fold (Optuna; the "
            "objective is the value on val, in-sample for val); random and mostpop have nothing "
            "to tune; two_stage lists the ranker's inputs.</p><table><tr><th class='name'>target"
            "</th><th class='name'>model</th><th class='name'>parameters</th><th>val objective</th>"
            "</tr>" + "".join(rows) + "</table>")


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def convention_table_html(metrics, fold: str, target: str, ks, models, convention: str,
                          paper: pd.DataFrame | None) -> str:
    """A paper-style table of one convention; the paper's values and ratios beside ours."""
    rows = metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["convention"] == convention) & (metrics["subset"] == "all")]
    if rows.empty:
        return ""
    values = rows.set_index(["model", "metric", "k"])
    lookup = paper_lookup(paper, target) if convention == "paper" else {}
    columns = paper_columns(ks, convention)
    head = "".join(f"<th>{_e(label.replace('(=HitRate)', '(equals HitRate)'))}</th>"
                   for _, _, label in columns)
    body = []
    for model in models:
        cells = []
        for metric, k, _ in columns:
            key = (model, metric, k)
            text = f"{values.loc[key, 'value']:.4f}" if key in values.index else "-"
            if key in values.index and pd.notna(values.loc[key, "ci_low"]):
                text += (f"<br><span class='ci'>[{values.loc[key, 'ci_low']:.4f}, "
                         f"{values.loc[key, 'ci_high']:.4f}]</span>")
            theirs = lookup.get(key)
            if theirs is not None:
                ratio = (f", {values.loc[key, 'value'] / theirs:.2f}x"
                         if theirs > 0 and key in values.index else "")
                text += f"<br><span class='ci'>paper {theirs:.4f}{ratio}</span>"
            cells.append(f"<td>{text}</td>")
        body.append(f"<tr><td class='name'>{_e(model)}</td>{''.join(cells)}</tr>")
    return (f"<h3>{_e(target)}, {_e(convention)}</h3><table><tr><th class='name'>model</th>{head}"
            f"</tr>{''.join(body)}</table>")


def subsets_html(metrics, fold: str, target: str, ks, models) -> str:
    """NDCG and Recall per subset, models as rows (standard convention)."""
    rows = metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["convention"] == "standard")]
    subsets = [s for s in ("all", "repeat", "discovery", "organic", "recommendation")
               if s in set(rows["subset"])]
    values = rows.set_index(["model", "subset", "metric", "k"])["value"]
    users = rows[rows["metric"] == "ndcg"].groupby("subset")["users"].max()
    columns = [(s, m, k) for s in subsets for m in ("ndcg", "recall") for k in ks]
    names = {"ndcg": "NDCG", "recall": "Recall"}
    head = "".join(f"<th>{_e(s)} ({int(users.get(s, 0)):,})<br>{names[m]}@{k}</th>"
                   for s, m, k in columns)
    body = []
    for model in models:
        cells = "".join(f"<td>{values[(model, s, m, k)]:.4f}</td>"
                        if (model, s, m, k) in values.index else "<td>-</td>" for s, m, k in columns)
        body.append(f"<tr><td class='name'>{_e(model)}</td>{cells}</tr>")
    return (f"<h3>{_e(target)}</h3><table><tr><th class='name'>model</th>{head}</tr>"
            f"{''.join(body)}</table>")


def candidate_recall_html(recall: pd.DataFrame | None) -> str:
    if recall is None or recall.empty:
        return ("<p class='note'>No <code>candidate_recall</code> rows for this fold (run the "
                "two-stage model).</p>")
    rows = []
    segments = [c for c in ("repeat_recall", "discovery_recall") if c in recall.columns]
    for target, group in recall.groupby("target", sort=True):
        cells = " ".join(f"<tr><td class='name'>{_e(target)}</td><td class='name'>{_e(r.source)}"
                         f"</td><td>{r.recall:.4f}</td>"
                         + "".join(f"<td>{_score(getattr(r, c))}</td>" for c in segments)
                         + f"<td>{int(r.targets):,}</td></tr>"
                         for r in group.sort_values("recall", ascending=False).itertuples())
        rows.append(cells)
    head = "".join(f"<th>{c.split('_')[0]}</th>" for c in segments)
    return ("<table><tr><th class='name'>target</th><th class='name'>source</th><th>recall</th>"
            f"{head}<th>targets</th></tr>" + "".join(rows) + "</table>")


def timings_html(timings: pd.DataFrame | None, two_stage: str = "two_stage") -> str:
    """Fit and predict seconds per (target, model); the two-stage model's stage serves both
    targets at once, so it is one row (counted once)."""
    if timings is None or timings.empty:
        return "<p class='note'>No <code>model_runs</code> rows for this fold.</p>"
    # a row without fit seconds is counted in another's (a comparison ranker in the stage's)
    single = timings[(timings["model"] != two_stage) & timings["fit_seconds"].notna()
                     ].sort_values(["target", "model"])
    rows = [(r.target, r.model, r.fit_seconds, r.predict_seconds) for r in single.itertuples()]
    stage = timings[timings["model"] == two_stage]
    if len(stage):
        rows.append(("every target", two_stage, float(stage["fit_seconds"].max()), None))
    body = "".join(
        f"<tr><td class='name'>{_e(target)}</td><td class='name'>{_e(model)}</td>"
        f"<td>{fit:.1f}</td><td>{_seconds(predict)}</td></tr>" for target, model, fit, predict in rows)
    total = sum(fit + (0 if predict is None or pd.isna(predict) else predict)
                for _, _, fit, predict in rows)
    return ("<p class='note'>Seconds on this machine for this fold: fit, and predict (scoring, "
            f"top-n, writing). {_e(two_stage)}: its whole stage once, for every target "
            "(candidates of its training folds, features, training, ranking) as fit. Speed "
            "comparisons belong to <code>recsys bench</code>.</p><table><tr><th class='name'>"
            "target</th><th class='name'>model</th><th>fit s</th><th>predict s</th></tr>" + body
            + f"<tr><td class='name' colspan='2'>total</td><td colspan='2'>{total:.1f}</td></tr>"
            "</table>")


def _seconds(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.1f}"


def seeds_html(seeds: pd.DataFrame | None, fold: str, ks: Sequence[int]) -> str:
    """Per (target, convention, model): mean ± standard deviation over the seeds of NDCG and
    Recall at every k, and each seed's value."""
    if seeds is None or seeds.empty:
        return ""
    rows = seeds[(seeds["fold"] == fold) & (seeds["subset"] == "all")
                 & seeds["metric"].isin(["ndcg", "recall"]) & seeds["k"].isin(list(ks))]
    columns = [(m, int(k)) for m in ("ndcg", "recall") for k in ks]
    head = "".join(f"<th>{_e(m.upper() if m == 'ndcg' else m.capitalize())}@{k}</th>"
                   for m, k in columns)
    body = []
    for (target, convention, model), group in rows.groupby(["target", "convention", "model"]):
        cells = group.set_index(["metric", "k"])
        out = ""
        for key in columns:
            if key not in cells.index:
                out += "<td>-</td>"
                continue
            r = cells.loc[key]
            out += (f"<td>{r['mean']:.4f} ± {r['std']:.4f}<br><span class='ci'>"
                    f"{_e(r['values'])}</span></td>")
        body.append(f"<tr><td class='name'>{_e(target)}</td><td class='name'>{_e(convention)}"
                    f"</td><td class='name'>{_e(model)}</td><td>{int(group['seeds'].iloc[0])}</td>"
                    f"{out}</tr>")
    return ("<h2>Seed repeats</h2><p class='note'>Models fitted once per seed of "
            "<code>evaluation.seed_runs</code> with the same parameters: mean ± sample standard "
            "deviation over the seeds, and each seed's value (<code>seed_metrics.csv</code>). "
            "The official code reports iALS and BPR as such means; the tables above show the "
            "config seed's fit, the paper-style text table its mean line.</p>"
            "<table><tr><th class='name'>target</th><th class='name'>convention</th>"
            f"<th class='name'>model</th><th>seeds</th>{head}</tr>{''.join(body)}</table>")


def two_stage_choice_html(choice: pd.DataFrame | None) -> str:
    """The two-stage model on tuned and on untuned candidates side by side, and which is the
    headline (``recsys.evaluation.two_stage``)."""
    if choice is None or choice.empty:
        return ""
    rows = "".join(
        f"<tr><td class='name'>{_e(r.target)}</td><td class='name'>{_e(r.model)}</td>"
        f"<td class='name'>{_e(r.candidates)}</td><td>{_score(r[3])}</td><td>{_score(r[4])}</td>"
        f"<td>{_score(r[5])}</td><td class='name'>{'headline' if r.chosen else ''}</td></tr>"
        for r in choice.itertuples(index=False))
    return ("<h2>Candidates of the two-stage model: tuned or untuned generators</h2>"
            "<p class='note'>The same ranker trained on the candidates of the generators tuned on "
            "val (each for its own NDCG@100) and on those of the same generators with their code "
            "defaults (<code>ranker.compare_untuned</code>). The headline model of each target is "
            "the one with the higher val NDCG@10: the ranker's held-out val users (the same for "
            "both), against all their targets. This fold's numbers beside it played no part in "
            "the choice.</p><table><tr><th class='name'>target</th><th class='name'>model</th>"
            "<th class='name'>candidates</th><th>val NDCG@10 (held-out users)</th>"
            "<th>NDCG@10 (this fold)</th><th>Recall@100 (this fold)</th><th class='name'></th>"
            "</tr>" + rows + "</table>")


def next_song_html(table: pd.DataFrame | None, confidence: float) -> str:
    """The next-song task: one row per model, one column per metric@k, mean [interval]; the
    highest mean of each column in bold."""
    if table is None or table.empty:
        return ""
    columns = list(dict.fromkeys(zip(table["metric"], table["k"], strict=True)))
    best = table.groupby(["metric", "k"])["value"].max()

    def cell(r) -> str:
        text = f"{r.value:.4f}"
        if r.value == best[(r.metric, r.k)]:
            text = f"<b>{text}</b>"
        return f"{text} <span class='ci'>[{r.ci_low:.3f}, {r.ci_high:.3f}]</span>"

    cells = {(r.model, r.metric, r.k): cell(r) for r in table.itertuples()}
    rows = "".join(f"<tr><td class='name'>{_e(m)}</td>"
                   + "".join(f"<td>{cells.get((m, *c), '-')}</td>" for c in columns) + "</tr>"
                   for m in dict.fromkeys(table["model"]))
    header = "".join(f"<th>{_e(metric)}@{k}</th>" for metric, k in columns)
    return ("<h2>Next song</h2><p class='note'>Each listening session of the fold's target "
            "window (a gap of <code>session_gap_minutes</code> ends one) with its last listen "
            "hidden: the listens before it are the query, the hidden one the answer "
            f"({int(table['sessions'].max()):,} sessions; brackets: {confidence:.0%} bootstrap "
            "interval over sessions). next_song: the transitions between consecutive listens of "
            "the training history (what <code>recsys serve</code> answers <code>POST /next</code> "
            "with); popularity: the items most often played next; itemknn_session: ItemKNN's "
            "similarity summed over the session; most_played: the user's own most played items. "
            "Re-derive: <code>sql/metrics/next_song.sql</code> over "
            "<code>next_song_recommendations</code>.</p><table><tr><th class='name'>model</th>"
            + header + "</tr>" + rows + "</table>")


def _score(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.4f}"
