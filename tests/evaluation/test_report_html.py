"""report.html: the verdict, the best-cell rule, tuning, the tables per convention with the paper's
values, and the sections fed by the new ReportData fields (small hand-made frames)."""

import json
import re

import pandas as pd
import pytest

from recsys.evaluation.paper import paper_values
from recsys.evaluation.report import ReportData, render_html
from recsys.evaluation.report_sections import leader

MODELS = ["mostpop", "itemknn", "two_stage"]
TARGETS = ["listen_plus", "like"]
# standard NDCG@10 per (target, model); other metrics and conventions derive from it
NDCG10 = {("listen_plus", "mostpop"): 0.02, ("listen_plus", "itemknn"): 0.1781,
          ("listen_plus", "two_stage"): 0.1834,
          ("like", "mostpop"): 0.01, ("like", "itemknn"): 0.05, ("like", "two_stage"): 0.052}


def metrics_frame() -> pd.DataFrame:
    rows = []
    for (target, model), base in NDCG10.items():
        for convention, factor in (("standard", 1.0), ("paper", 0.5), ("official", 2.0)):
            for subset, share in (("all", 1.0), ("repeat", 1.5), ("discovery", 0.25),
                                  ("organic", 0.9), ("recommendation", 1.1)):
                for metric in ("ndcg", "recall", "coverage"):
                    if metric == "coverage" and subset != "all":
                        continue
                    for k in (10, 100):
                        value = base * factor * share * (k / 10) ** 0.5
                        rows.append(("test", target, model, convention, subset, metric, k, value,
                                     100 if subset == "all" else 40, value - 0.001, value + 0.001))
    return pd.DataFrame(rows, columns=["fold", "target", "model", "convention", "subset", "metric",
                                       "k", "value", "users", "ci_low", "ci_high"])


def paired_tests_frame() -> pd.DataFrame:
    """two_stage best everywhere; itemknn behind it: significant on listen_plus, not on like."""
    rows = []
    for target, p_runner in (("listen_plus", 0.004), ("like", 0.31)):
        for metric in ("ndcg", "recall"):
            for k in (10, 100):
                for model, p in (("itemknn", p_runner), ("mostpop", 1e-6)):
                    mean = NDCG10[(target, model)]
                    best = NDCG10[(target, "two_stage")]
                    rows.append(("test", target, "standard", "all", metric, k, model, "two_stage",
                                 mean, best, mean - best, 100, p, p, p))
    return pd.DataFrame(rows, columns=[
        "fold", "target", "convention", "subset", "metric", "k", "model", "best_model", "mean",
        "best_mean", "mean_diff", "users", "p_wilcoxon", "p_ttest", "p_holm"])


def report_data(**changes) -> ReportData:
    params = [("listen_plus", "itemknn", {"neighbours": 200, "decay": 0.123456}, "ndcg@100", 0.0912, 4),
              ("listen_plus", "mostpop", {}, None, float("nan"), float("nan"))]
    fields = dict(
        fold="test", targets=TARGETS, ks=[10, 100], models=MODELS,
        metrics=metrics_frame(), tests=paired_tests_frame(),
        item_popularity=pd.DataFrame(), user_history=pd.DataFrame(),
        size="50m", paper=paper_values("50m"),
        tuned_params=pd.DataFrame(
            [(t, m, json.dumps(p), metric, v, n) for t, m, p, metric, v, n in params],
            columns=["target", "model", "params", "metric", "value", "trials"]),
        candidate_recall=pd.DataFrame(
            [("test", "listen_plus", "itemknn", 0.21, 5000),
             ("test", "listen_plus", "merged", 0.34, 5000)],
            columns=["fold", "target", "source", "recall", "targets"]),
        timings=pd.DataFrame(
            [("test", "listen_plus", "itemknn", 12.5, 3.25),
             ("test", "listen_plus", "two_stage", 80.0, None)],
            columns=["fold", "target", "model", "fit_seconds", "predict_seconds"]),
        recall_curve=pd.DataFrame(
            [(t, m, k, 0.01 * k ** 0.5) for t in TARGETS for m in MODELS for k in (1, 10, 100)],
            columns=["target", "model", "k", "value"]),
        per_user_diff=pd.DataFrame(
            [(t, m, "itemknn", d) for t in TARGETS for m in ("mostpop", "two_stage")
             for d in (-0.5, 0.0, 0.0, 0.25)],
            columns=["target", "model", "baseline", "diff"]),
    )
    fields.update(changes)
    return ReportData(**fields)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(report_data())


def text_of(html: str, tag: str = "") -> str:
    """The page's text; ``tag`` replaces every tag (a space keeps table cells apart)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", tag, html))


def test_the_verdict_opens_the_report_and_names_the_test(page):
    text = text_of(page)
    assert ("listen_plus: two_stage is best on NDCG@10 (0.1834), ahead of itemknn (0.1781) with "
            "Holm-adjusted Wilcoxon p = 0.004") in text
    assert ("like: two_stage has the highest NDCG@10 (0.0520) but is not significantly ahead of "
            "itemknn (0.0500; Holm-adjusted Wilcoxon p = 0.31)") in text
    assert page.index("Verdict") < page.index("Paper-style table")


def test_the_leader_follows_the_holm_adjusted_wilcoxon_of_the_runner_up():
    lead = leader(metrics_frame(), paired_tests_frame(), "test", "like")
    assert (lead["best"], lead["runner_up"], lead["p_holm"], lead["significant"]) == \
        ("two_stage", "itemknn", 0.31, False)
    assert leader(metrics_frame(), paired_tests_frame(), "test", "listen_plus")["significant"]
    assert leader(metrics_frame(), None, "test", "listen_plus")["significant"] is False


def standard_table(page: str, target: str) -> str:
    start = page.index("<h2>Paper-style table</h2>")
    block = page[start:page.index("<h2>", start + 5)]
    return block[block.index(f"<h3>{target}"):][: block[block.index(f"<h3>{target}"):].index("</table>")]


def test_best_is_bold_only_where_the_paired_test_supports_it(page):
    significant, tied = standard_table(page, "listen_plus"), standard_table(page, "like")
    row = significant[significant.index(">two_stage<"):].split("</tr>")[0]
    assert row.count('class="best"') == 4  # NDCG and Recall at 10 and 100, not coverage
    assert 'class="best"' not in tied
    for model in ("two_stage", "itemknn"):  # the top two are shaded as tied, not called best
        assert tied[tied.index(f">{model}<"):].split("</tr>")[0].count('class="tied"') == 4
    assert "Holm-adjusted Wilcoxon p below 0.05" in page  # the rule is stated


def test_one_table_per_convention_and_target_with_the_paper_beside_ours(page):
    for convention in ("paper", "official"):
        for target in TARGETS:
            assert f"<h3>{target}, {convention}</h3>" in page
    assert page.index("<h3>listen_plus, paper</h3>") < page.index("<h3>listen_plus, official</h3>")
    assert "NDCG@10 (equals HitRate)" in page
    official = page[page.index("<h3>listen_plus, official</h3>"):]
    assert "paper 0.0781" not in official.split("</table>")[0]  # paper values: paper convention only
    # itemknn listen_plus, paper convention: ours = 0.1781 * 0.5; the paper's NDCG@10 = 0.0781
    assert f"paper 0.0781, {0.1781 * 0.5 / 0.0781:.2f}x" in page


def test_tuned_parameters_are_listed_per_target_and_model(page):
    text = text_of(page, " ")
    assert "decay=0.1235, neighbours=200" in text and "ndcg@100 0.0912 (4 trials)" in text
    assert "Untuned" not in text


def test_untuned_is_said_prominently():
    page = render_html(report_data(tuned=False))
    assert "Untuned" in text_of(page)
    assert "neighbours=200" not in page
    assert page.index("Untuned") < page.index("Paper-style table")


def test_candidate_recall_timings_curves_and_differences(page):
    text = text_of(page, " ")
    assert "merged 0.3400 5,000" in text and "itemknn 12.5 3.2" in text and "two_stage 80.0 -" in text
    for alt in ("recall curve listen_plus", "per-user differences like", "repeat and discovery like",
                "organic breakdown like", "metric bars like"):
        assert f'alt="{alt}"' in page


def test_headline_is_shown_near_the_top():
    headline = pd.DataFrame([{
        "target": "like", "metric": "ndcg", "k": 10, "model": "two_stage", "value": 0.052,
        "ci_low": 0.05, "ci_high": 0.054, "baseline": "itemknn", "baseline_value": 0.05,
        "baseline_ci_low": float("nan"), "baseline_ci_high": float("nan"), "diff": 0.002,
        "users": 100, "p_wilcoxon": 0.31, "p_ttest": float("nan")}])
    page = render_html(report_data(headline=headline))
    assert page.index("best tuned single model") < page.index("Paper-style table")
    assert "0.0520<br><span class='ci'>[0.0500, 0.0540]</span>" in page
    section = page[page.index("<h2>Two-stage model"):]
    section = section[:section.index("</table>")]
    assert "nan" not in section and section.count("<td>-</td>") == 1  # no t-test p: a dash


def test_old_callers_without_the_new_fields_or_conventions_still_render():
    metrics = metrics_frame()
    metrics = metrics[metrics["convention"] == "standard"].drop(columns="convention")
    tests = paired_tests_frame().drop(columns="convention")
    page = render_html(ReportData(fold="test", targets=TARGETS, ks=[10, 100], models=MODELS,
                                  metrics=metrics, tests=tests, item_popularity=pd.DataFrame(),
                                  user_history=pd.DataFrame()))
    assert "two_stage is best on NDCG@10" in text_of(page)
    assert "<h3>like, paper</h3>" not in page  # no rows of the other conventions


def test_the_verdict_names_every_headline_metric(page):
    text = text_of(page)
    listen_plus = text[text.index("listen_plus: two_stage"):text.index("like: two_stage")]
    assert "best on NDCG@10 (0.1834)" in listen_plus and "best on Recall@100 (0.5800)" in listen_plus
    assert "like: two_stage has the highest NDCG@10" in text
    assert "two_stage has the highest Recall@100 (0.1644) but is not significantly ahead" in text


def test_a_banner_says_what_data_and_code_made_the_report():
    line = "Generated data (recsys generate --size tiny --seed 42); size tiny; code abc"
    page = render_html(report_data(banner=line, generated=True))
    assert f"<p class='banner generated'>{line}</p>" in page
    assert page.index("banner generated") < page.index("Verdict")
    assert "class='banner" not in render_html(report_data())


def test_every_table_scrolls_in_its_own_box(page):
    assert page.count("<table>") > 10
    assert page.count("<div class='scroll'><table>") == page.count("<table>")
    assert ".scroll { overflow-x: auto" in page


def test_the_two_stage_stage_time_is_counted_once():
    timings = pd.DataFrame(
        [("test", t, m, s, p) for t in TARGETS
         for m, s, p in (("itemknn", 10.0, 2.0), ("two_stage", 80.0, None))],
        columns=["fold", "target", "model", "fit_seconds", "predict_seconds"])
    text = text_of(render_html(report_data(timings=timings)), " ")
    assert text.count("two_stage 80.0") == 1 and "every target two_stage 80.0 -" in text
    assert "total 104.0" in text  # 2 x (10 + 2) + 80
