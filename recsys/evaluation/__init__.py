"""Evaluation: SQL metrics over ``recommendations``, uncertainty, reports (``recsys metrics``;
``recsys evaluate`` is ``recsys.pipeline.run_evaluate``).

Entry points
------------
:func:`recsys.evaluation.scoring.score_and_report`
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
