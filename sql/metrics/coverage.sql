-- Coverage@k: distinct items across the evaluated users' top-k lists of a model, divided by the
-- number of items in the fold's training history (one row per item in item_features = every
-- item with any event before the fold's cut-off).
--
-- Inputs: recommendations, eval_targets (who is evaluated), item_features (the denominator).
-- Only lists of evaluated users count. Coverage is one number per model: there is no per-user
-- value, so `per_user` does not change this query (uid is always null, users = evaluated users).
--
-- Grain: fold, target, model, subset ('all'), metric ('coverage'), k -> value, users.
-- Parameters (DuckDB variables, unset = default):
--   ks    INTEGER[]  cut-offs         default [10, 100]
--   fold  VARCHAR    only this fold   default every fold
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/coverage.sql"
with params as (
    select
        coalesce(getvariable('ks'), [10, 100])::integer[] as ks,
        getvariable('fold')::varchar as only_fold
),

cutoffs as (
    select unnest(ks) as k from params
),

evaluated_users as (
    select distinct t.fold, t.target, t.uid
    from eval_targets as t
    cross join params as p
    where p.only_fold is null or t.fold = p.only_fold
),

users_per_slice as (
    select fold, target, count(*) as users
    from evaluated_users
    group by fold, target
),

history_items as (
    select fold, count(distinct item_id) as n_items
    from item_features
    group by fold
),

evaluated_recommendations as (
    select r.fold, r.target, r.model, r.item_id, r.rank
    from recommendations as r
    semi join evaluated_users as e on e.fold = r.fold and e.target = r.target and e.uid = r.uid
)

select
    r.fold, r.target, r.model, 'all' as subset, 'coverage' as metric, c.k::integer as k,
    null::uinteger as uid,
    (count(distinct r.item_id) / any_value(h.n_items))::double as value,
    any_value(u.users) as users
from evaluated_recommendations as r
inner join cutoffs as c on r.rank <= c.k
inner join history_items as h on h.fold = r.fold
inner join users_per_slice as u on u.fold = r.fold and u.target = r.target
group by r.fold, r.target, r.model, c.k
order by all
