"""Evaluation: SQL metrics over ``recommendations``, uncertainty, reports, ``recsys evaluate``.

Entry points
------------
:func:`recsys.evaluation.pipeline.run_evaluate`
    candidates -> ``recommendations`` (top-k) -> two-stage ranker -> metrics -> reports.
:func:`recsys.evaluation.pipeline.score_and_report`
    Score the ``recommendations`` already in the warehouse and write the reports.
:func:`recsys.evaluation.runner.compute_metrics`
    Run ``sql/metrics/*.sql`` into ``metrics_per_user`` and ``metrics``.
:func:`recsys.evaluation.sql.run_query`
    One metrics query with its DuckDB variables, exactly as the shell runs it.
:mod:`recsys.evaluation.reference`
    Plain-Python metric definitions (the tests' independent reference).
:mod:`recsys.evaluation.significance`
    Bootstrap intervals over users and paired tests against the best model.
"""
