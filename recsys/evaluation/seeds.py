"""Seed repeats: the official code's final iALS / BPR numbers are the mean over three seeds.

``evaluation.seed_runs`` names the models (``models``) and the seeds (``seeds``). The run with the
config's ``seed`` is the model's own row (and the ranker's candidate source); every other seed is
one more fit on the evaluated fold with the same parameters, written to ``recommendations`` as
model ``<model>@seed<N>`` and scored by the same SQL. Those rows never enter the main tables or the
paired tests: :func:`seed_summary` reduces them to the mean and standard deviation over every seed
per metric, which the paper-style tables and report show beside the single-seed row.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

SEP = "@seed"
KEY = ["fold", "target", "convention", "subset", "metric", "k"]


def variant_name(model: str, seed: int) -> str:
    """``ials``, 41 -> ``ials@seed41`` (the ``recommendations`` model of one seed repeat)."""
    return f"{model}{SEP}{int(seed)}"


def base_model(name: str) -> str | None:
    """``ials@seed41`` -> ``ials``; None for a model that is not a seed repeat."""
    model, sep, seed = str(name).rpartition(SEP)
    return model if sep and model and seed.isdigit() else None


def is_variant(names: pd.Series) -> pd.Series:
    return names.map(lambda n: base_model(n) is not None)


def seed_summary(metrics: pd.DataFrame, seeds_of: dict[str, Sequence[int]], main_seed: int
                 ) -> pd.DataFrame:
    """Mean and sample standard deviation over the seeds of every repeated model and metric.

    ``metrics`` holds the main rows (model ``ials``, seed ``main_seed``) and the repeats
    (``ials@seed41``). Only seeds listed in ``seeds_of[model]`` count; a model whose main seed is
    not listed contributes its repeats only. Columns: fold, target, model, convention, subset,
    metric, k, seeds (how many), mean, std, values (``"41:0.1234 42:..."``).
    """
    columns = [*KEY[:2], "model", *KEY[2:], "seeds", "mean", "std", "values"]
    if metrics.empty or not seeds_of:
        return pd.DataFrame(columns=columns)
    rows = metrics.copy()
    base = rows["model"].map(base_model)
    seed = rows["model"].str.rpartition(SEP)[2]
    rows["seed"] = pd.to_numeric(seed.where(base.notna()), errors="coerce")
    rows.loc[base.isna(), "seed"] = main_seed
    rows["base"] = base.fillna(rows["model"])
    rows = rows[rows["base"].isin(list(seeds_of))]
    rows = rows[[int(s) in set(seeds_of[b]) for s, b in zip(rows["seed"], rows["base"], strict=True)]]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for key, group in rows.sort_values("seed").groupby(["base", *KEY], sort=True):
        model, *rest = key
        out.append({**dict(zip(KEY, rest, strict=True)), "model": model, "seeds": len(group),
                    "mean": float(group["value"].mean()),
                    "std": float(group["value"].std(ddof=1)) if len(group) > 1 else float("nan"),
                    "values": " ".join(f"{int(s)}:{v:.4f}" for s, v in zip(group["seed"], group["value"],
                                                                          strict=True))})
    return pd.DataFrame(out)[columns]
