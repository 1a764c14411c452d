-- The aggregate of the per-user metrics table: the weighted mean over users, and the number of
-- users.
--
-- metrics_per_user is what `recsys evaluate` writes from accuracy.sql, popularity.sql and
-- diversity.sql with per_user = true; this query turns it into the `metrics` rows (coverage.sql
-- supplies coverage, which has no per-user value). The mean is sum(value * weight) / sum(weight):
-- weight is 1 everywhere except the paper convention's NDCG, where it is the user's ideal DCG (so
-- the mean is the paper's ratio of sums). Running accuracy.sql (per_user unset) on the same
-- warehouse gives the same numbers from scratch.
--
-- Grain: fold, target, model, convention, subset, metric, k -> value, users.
-- Parameters (DuckDB variables, unset = default):
--   fold    VARCHAR    only this fold         default every fold
--   models  VARCHAR[]  only these models      default every model
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/aggregate.sql"
select
    m.fold, m.target, m.model, m.convention, m.subset, m.metric, m.k,
    (sum(m.value * m.weight) / sum(m.weight))::double as value,
    count(*) as users
from metrics_per_user as m
where (getvariable('fold') is null or m.fold = getvariable('fold'))
  and (getvariable('models') is null or list_contains(getvariable('models')::varchar[], m.model))
group by m.fold, m.target, m.model, m.convention, m.subset, m.metric, m.k
order by all
